package indicators

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// benchScene: a 70×70 lattice of areas of ~200 vertices each (4,900 areas)
// over 20°×20°, and 200 circular footprints of 20–80 km — the shape of an
// admin-2 country on a busy day.
func benchScene() ([]Area, []Event) {
	rng := rand.New(rand.NewPCG(1, 2))
	var as []Area
	n, side := 70, 20.0/70
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x0, y0 := float64(i)*side, float64(j)*side
			var r orb.Ring
			for k := 0; k < 50; k++ { // 4 edges × 50 points
				t := float64(k) / 50
				r = append(r, orb.Point{x0 + t*side, y0})
			}
			for k := 0; k < 50; k++ {
				t := float64(k) / 50
				r = append(r, orb.Point{x0 + side, y0 + t*side})
			}
			for k := 0; k < 50; k++ {
				t := float64(k) / 50
				r = append(r, orb.Point{x0 + side - t*side, y0 + side})
			}
			for k := 0; k < 50; k++ {
				t := float64(k) / 50
				r = append(r, orb.Point{x0, y0 + side - t*side})
			}
			r = append(r, r[0])
			as = append(as, Area{Code: string(rune('A'+i%26)) + string(rune('a'+j%26)) + string(rune(i)) + string(rune(j)), Level: 2,
				Geometry: orb.Polygon{r}, Baseline: Baseline{Population: F(1e5), Under18: F(4e4)}})
		}
	}
	var evs []Event
	for k := 0; k < 200; k++ {
		c := orb.Point{rng.Float64() * 20, rng.Float64() * 20}
		evs = append(evs, Event{ID: "e" + string(rune(k)), Type: Flood, Phase: Observed, Severity: Severity(1 + k%3),
			Footprints: []Footprint{{Geometry: Circle(c, 20+60*rng.Float64(), 64)}}})
	}
	return as, evs
}

// BenchmarkAlertLevel: one alert_level indicator over the scene. "cold" is
// the first indicator of a sync (geometries prepared), "warm" every further
// one (the sync's prepared shapes reused).
func BenchmarkAlertLevel(b *testing.B) {
	as, evs := benchScene()
	def := Definition{Shortcode: "A", Name: "A", Type: String, Recipe: "alert_level"}
	r, _ := LookupRecipe("alert_level")
	run := func(b *testing.B, in *Input) {
		vals, err := r.Compute(def, in)
		if err != nil || len(vals) == 0 {
			b.Fatal(err, len(vals))
		}
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			run(b, &Input{Events: evs, Areas: as, Now: time.Now(), Date: "2026-11-27"})
		}
	})
	b.Run("warm", func(b *testing.B) {
		in := &Input{Events: evs, Areas: as, Now: time.Now(), Date: "2026-11-27"}
		run(b, in)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			run(b, in)
		}
	})
}
