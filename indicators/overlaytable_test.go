package indicators

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// capEvent is a CAP-like warning: one polygon, orange, forecast phase off.
func capEvent(id string, g orb.Geometry) Event {
	return Event{ID: id, Version: "1", Source: "cap", Type: Flood, Phase: Observed, Severity: SeverityOrange,
		Issued: now.Add(-time.Hour), Footprints: []Footprint{{Geometry: g, Intensity: 3, Unit: "level"}}}
}

// Touching is not hitting: a CAP polygon drawn along W's boundary warns W
// only; E, which shares an edge or a corner with it, gets no alert, no
// presence and no intensity. A sliver of positive area does hit.
func TestTouchingIsNotHitting(t *testing.T) {
	recipes := map[string]Definition{
		"alert_level":     {Shortcode: "AL", Name: "A", Type: String, Recipe: "alert_level", AdminLevels: []int{1}, Params: map[string]any{"hazard_types": []string{"flood"}}},
		"hazard_presence": {Shortcode: "HP", Name: "P", Type: Integer, Recipe: "hazard_presence", AdminLevels: []int{1}, Params: map[string]any{"hazard_types": []string{"flood"}}},
		"max_intensity":   {Shortcode: "MI", Name: "I", Type: Float, Recipe: "max_intensity", AdminLevels: []int{1}, Params: map[string]any{"hazard_types": []string{"flood"}, "unit": "level"}},
		"area_exposed":    {Shortcode: "AE", Name: "K", Type: Float, Recipe: "area_exposed_km2", AdminLevels: []int{1}, Params: map[string]any{"hazard_types": []string{"flood"}}},
		"multi_hazard": {Shortcode: "MH", Name: "M", Type: Float, Recipe: "multi_hazard_index", AdminLevels: []int{1},
			Params: map[string]any{"components": []any{map[string]any{"name": "flood", "hazard_types": []string{"flood"}}}}},
	}
	cases := []struct {
		name string
		g    orb.Geometry
		want []string // areas hit
	}{
		{"same polygon as W (shares W's east edge with E)", rect(0, 0, 1, 1), []string{"W"}},
		{"inside W, shared edge with E along part of it", rect(0.5, 0.25, 1, 0.75), []string{"W"}},
		{"E's west edge, from outside", rect(0.5, 1, 1.5, 1.5), nil},
		{"corner only", orb.Polygon{{{1, 1}, {1.5, 1.5}, {0.5, 1.5}, {1, 1}}}, nil},
		{"vertex of a triangle on the shared edge", orb.Polygon{{{0.2, 0.5}, {1, 0.5}, {0.2, 0.9}, {0.2, 0.5}}}, []string{"W"}},
		{"sliver 1e-4° into E", rect(0.5, 0.25, 1.0001, 0.75), []string{"E", "W"}},
		{"clockwise ring along the edge", orb.Polygon{{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}}, []string{"W"}},
	}
	for _, c := range cases {
		for name, def := range recipes {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				got := compute(t, def, []Event{capEvent("cap:1", c.g)})
				var codes []string
				for code := range got {
					codes = append(codes, code)
				}
				assert.ElementsMatch(t, c.want, codes)
				for _, v := range got {
					assert.Equal(t, "cap:1@1", v.Attributes["events"])
				}
			})
		}
	}
}

// Property: whatever a footprint that only touches an area looks like (any
// polygon on the far side of a shared straight edge or beyond a shared
// corner), the area is never hit.
func TestPropertyTouchingNeverHits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	area := rect(0, 0, 1, 1)
	for i := 0; i < 300; i++ {
		// A random star-shaped polygon in x ≥ 1 with one vertex on x = 1
		// (or a segment of it along x = 1).
		cx, cy := 1+0.2+rng.Float64(), rng.Float64()*1.4-0.2
		var r orb.Ring
		n := 3 + rng.IntN(12)
		for k := 0; k < n; k++ {
			a := 2 * math.Pi * float64(k) / float64(n)
			rr := 0.1 + rng.Float64()*0.3
			r = append(r, orb.Point{math.Max(1, cx+rr*math.Cos(a)), cy + rr*math.Sin(a)})
		}
		y := rng.Float64()
		r = append(r, orb.Point{1, y})
		if rng.IntN(2) == 0 {
			r = append(r, orb.Point{1, y + 0.1*rng.Float64()})
		}
		r = append(r, r[0])
		g, err := NormalizeGeometry(orb.Polygon{r})
		if err != nil {
			continue
		}
		assert.False(t, Intersects(area, g), "footprint %v only touches", r)
		// Pushed 1e-3° into the area, it hits.
		moved := orb.Polygon{append(orb.Ring(nil), g.(orb.Polygon)[0]...)}
		for k := range moved[0] {
			moved[0][k][0] -= 1e-3
		}
		assert.True(t, Intersects(area, moved), "footprint %v overlaps", moved)
	}
}

func TestHitThresholds(t *testing.T) {
	as := twoAreas()
	w := 1 // index of W
	// 10% of W (0.1° wide strip), and 0.5% of W.
	big := Event{ID: "big", Type: Flood, Phase: Observed, Severity: SeverityRed, Footprints: []Footprint{{Geometry: rect(0.9, 0, 1, 1)}}}
	small := Event{ID: "small", Type: Flood, Phase: Observed, Severity: SeverityRed, Footprints: []Footprint{{Geometry: rect(0, 0, 0.005, 1)}}}
	wKm2 := GeodesicAreaKm2(as[w].Geometry)
	for _, c := range []struct {
		name       string
		opts       OverlayOptions
		big, small bool
	}{
		{"default: any positive area", OverlayOptions{}, true, true},
		{"min share 1%", OverlayOptions{MinShare: 0.01}, true, false},
		{"min share 20%", OverlayOptions{MinShare: 0.2}, false, false},
		{"min km² half of the small strip's", OverlayOptions{MinKm2: wKm2 * 0.0025}, true, true},
		{"min km² above the small strip", OverlayOptions{MinKm2: wKm2 * 0.05}, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := []Event{big, small}
			tab := NewOverlay(as, c.opts).build(evs, nil)
			assert.Equal(t, c.big, tab.hit(&evs[0].Footprints[0], w))
			assert.Equal(t, c.small, tab.hit(&evs[1].Footprints[0], w))
		})
	}
}

func TestOverlayPairsMeasures(t *testing.T) {
	as := twoAreas()
	evs := []Event{{ID: "f", Type: Flood, Footprints: []Footprint{{Geometry: rect(0.5, 0, 1.25, 1)}}}}
	tab := NewOverlay(as, OverlayOptions{}).build(evs, nil)
	ps := tab.hitsOf(&evs[0].Footprints[0])
	require.Len(t, ps, 3) // C, W, E
	for _, p := range ps {
		a := as[p.Area]
		want := IntersectionAreaKm2(a.Geometry, evs[0].Footprints[0].Geometry)
		assert.InEpsilon(t, want, p.Km2, 1e-12, a.Code)
		assert.InEpsilon(t, want/GeodesicAreaKm2(a.Geometry), p.Share, 1e-12, a.Code)
		assert.True(t, p.KnownPopulation && p.KnownUnder18)
		assert.InEpsilon(t, *a.Baseline.Population*p.Share, p.Population, 1e-12, a.Code)
	}
	assert.InEpsilon(t, 0.5, ps[1].Share, 1e-9, "W half covered")
	assert.InEpsilon(t, 0.25, ps[2].Share, 1e-9, "E a quarter")
}

// countingEngine is a grid-like engine that counts Expose calls and gives
// 10 people per km² of the footprint's bound overlap (any figure will do:
// the overlay must carry the engine's numbers, not its own).
type countingEngine struct {
	areas []Area
	calls atomic.Int64
}

func (e *countingEngine) Method() string { return "test-grid" }

func (e *countingEngine) Expose(fps []orb.Geometry) ([]AreaExposure, error) {
	e.calls.Add(1)
	var out []AreaExposure
	for _, a := range e.areas {
		var km2 float64
		for _, f := range fps {
			km2 += IntersectionAreaKm2(a.Geometry, f)
		}
		if km2 > 0 {
			out = append(out, AreaExposure{Code: a.Code, AreaKm2: km2, Population: 10 * km2, Under18: 4 * km2, KnownPopulation: true, KnownUnder18: true})
		}
	}
	return out, nil
}

// scene builds n footprints over a lattice of areas.
func scene(nAreas, nFps int, seed uint64) ([]Area, []Event) {
	var as []Area
	for i := 0; i < nAreas; i++ {
		for j := 0; j < nAreas; j++ {
			as = append(as, Area{Code: fmt.Sprintf("A%d_%d", i, j), Level: 2, Geometry: rect(float64(i)*0.1, float64(j)*0.1, float64(i+1)*0.1, float64(j+1)*0.1),
				Baseline: Baseline{Population: F(1000), Under18: F(400)}})
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var evs []Event
	for k := 0; k < nFps; k++ {
		c := orb.Point{rng.Float64() * float64(nAreas) * 0.1, rng.Float64() * float64(nAreas) * 0.1}
		evs = append(evs, Event{ID: fmt.Sprintf("e%d", k), Version: "1", Type: Flood, Phase: Observed, Severity: Severity(1 + k%3),
			Footprints: []Footprint{{Geometry: Circle(c, 3+10*rng.Float64(), 24), Intensity: float64(k % 7), Unit: "m"}}})
	}
	return as, evs
}

func tableOf(t *testing.T, tab *overlayTable, evs []Event) [][]Pair {
	t.Helper()
	require.NoError(t, tab.err)
	var out [][]Pair
	for i := range evs {
		for j := range evs[i].Footprints {
			out = append(out, tab.hitsOf(&evs[i].Footprints[j]))
		}
	}
	return out
}

// Nothing recomputed that did not change: a second sync with the same
// footprints (re-read, so new slices) measures nothing and asks the engine
// nothing; moving 10% of them measures exactly those.
func TestOverlayCacheByGeometry(t *testing.T) {
	as, evs := scene(12, 50, 7)
	eng := &countingEngine{areas: as}
	ov := NewOverlay(as, OverlayOptions{})
	first := tableOf(t, ov.build(evs, eng), evs)
	st := ov.Stats()
	assert.Equal(t, OverlayStats{Footprints: 50, Computed: 50, Reused: 0, Pairs: st.Pairs, Duration: st.Duration}, st)
	assert.EqualValues(t, 50, eng.calls.Load(), "one engine call per footprint")

	again := cloneEvents(evs)
	assert.Equal(t, first, tableOf(t, ov.build(again, eng), again))
	st = ov.Stats()
	assert.Equal(t, 0, st.Computed)
	assert.Equal(t, 50, st.Reused)
	assert.EqualValues(t, 50, eng.calls.Load(), "no engine call when nothing changed")

	moved := cloneEvents(evs)
	for k := 0; k < 5; k++ {
		moved[k*10].Footprints[0].Geometry = Circle(orb.Point{0.6, 0.6}, 4+float64(k), 24)
	}
	tableOf(t, ov.build(moved, eng), moved)
	st = ov.Stats()
	assert.Equal(t, 5, st.Computed)
	assert.Equal(t, 45, st.Reused)
	assert.EqualValues(t, 55, eng.calls.Load())

	// A fresh overlay agrees with the cached one on every pair.
	assert.Equal(t, tableOf(t, NewOverlay(as, OverlayOptions{}).build(moved, eng), moved), tableOf(t, ov.build(moved, eng), moved))

	// People come from the engine for this footprint alone.
	ps := tableOf(t, ov.build(moved, eng), moved)
	for i, pairs := range ps {
		for _, p := range pairs {
			assert.InEpsilon(t, 10*p.Km2, p.Population, 1e-9, "footprint %d area %d", i, p.Area)
		}
	}
}

func cloneEvents(evs []Event) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = e
		out[i].Footprints = append([]Footprint(nil), e.Footprints...)
	}
	return out
}

// Deterministic whatever the scheduling: 1, 2 and 8 workers, footprints in
// any order, give the same pairs for every footprint.
func TestOverlayDeterministicAcrossWorkers(t *testing.T) {
	as, evs := scene(15, 80, 11)
	var ref map[string][]Pair
	for _, workers := range []int{1, 2, 8} {
		for round := 0; round < 3; round++ {
			perm := cloneEvents(evs)
			rand.New(rand.NewPCG(uint64(round), uint64(workers))).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			ov := NewOverlay(as, OverlayOptions{})
			ov.workers = workers
			tab := ov.build(perm, nil)
			got := map[string][]Pair{}
			for i := range perm {
				got[perm[i].ID] = tab.hitsOf(&perm[i].Footprints[0])
			}
			if ref == nil {
				ref = got
				continue
			}
			require.Equal(t, ref, got, "workers=%d round=%d", workers, round)
		}
	}
}

// Recipes give identical values whether the overlay is shared across syncs
// (cached) or built fresh.
func TestRecipesSameWithCachedOverlay(t *testing.T) {
	as, evs := scene(10, 30, 5)
	ov := NewOverlay(as, OverlayOptions{})
	defs := []Definition{
		{Shortcode: "AL", Name: "A", Type: String, Recipe: "alert_level", Params: map[string]any{"hazard_types": []string{"flood"}}},
		{Shortcode: "MI", Name: "I", Type: Float, Recipe: "max_intensity", Params: map[string]any{"hazard_types": []string{"flood"}, "unit": "m"}},
	}
	for _, def := range defs {
		r, _ := LookupRecipe(def.Recipe)
		fresh, err := r.Compute(def, &Input{Events: evs, Areas: as, Now: now, Date: "2026-11-27"})
		require.NoError(t, err)
		require.NotEmpty(t, fresh)
		for i := 0; i < 2; i++ {
			cached, err := r.Compute(def, &Input{Events: cloneEvents(evs), Areas: as, Now: now, Date: "2026-11-27", Overlay: ov})
			require.NoError(t, err)
			assert.Equal(t, fresh, cached)
		}
	}
}

// Early warnings read the same overlay: a cyclone wind radius drawn along
// W's eastern boundary warns W, not E.
func TestWarningTouchingIsNotHitting(t *testing.T) {
	issued := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	as := twoAreas()
	tc := Event{ID: "tc", Version: "a1", Type: TropicalCyclone, Phase: Forecast, Issued: issued, Footprints: []Footprint{
		{Geometry: rect(0.5, 0, 1, 1), Band: "50 kt", Intensity: 50, Unit: "kt", ValidFrom: issued.Add(48 * time.Hour)}}}
	in := &Input{Events: []Event{tc}, Areas: as, Exposure: NewAreaWeighted(as), Now: issued, Date: "2026-11-27", Triggers: DefaultTriggers()}
	for _, def := range []Definition{
		{Shortcode: "EW", Name: "x", Type: String, Recipe: "early_warning_level", AdminLevels: []int{1}, Params: map[string]any{"trigger": "cyclone"}},
		{Shortcode: "LT", Name: "x", Type: Float, Recipe: "lead_time_hours", AdminLevels: []int{1}, Params: map[string]any{"trigger": "cyclone"}},
		{Shortcode: "CAR", Name: "x", Type: Integer, Recipe: "children_at_risk", AdminLevels: []int{1}, Params: map[string]any{"trigger": "cyclone"}},
	} {
		r, _ := LookupRecipe(def.Recipe)
		vals, err := r.Compute(def, in)
		require.NoError(t, err)
		require.Len(t, vals, 1, def.Recipe)
		assert.Equal(t, "W", vals[0].Code, def.Recipe)
	}
	assert.Equal(t, LevelNone, EvaluateArea(DefaultTriggers()["cyclone"], 120*time.Hour, as[2], []Event{tc}, issued, LevelWatch).Level)
}

// The warning recipes look only at the events that reach each area; the
// result must equal evaluating each area against every event.
func TestWarningsSameAsEvaluatingEveryEvent(t *testing.T) {
	issued := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	as, evs := scene(12, 40, 9)
	for i := range evs {
		evs[i].Type, evs[i].Phase, evs[i].Issued = TropicalCyclone, Forecast, issued
		fp := &evs[i].Footprints[0]
		fp.Unit, fp.Intensity, fp.ValidFrom = "kt", []float64{34, 50, 64}[i%3], issued.Add(time.Duration(6*(i%20))*time.Hour)
	}
	evs = append(evs, dailyForecast("h", Heat, "°C", as[5].Code, orb.Point{0.55, 0.05}, issued, 33, 40))
	in := &Input{Events: evs, Areas: as, Now: issued, Date: "2026-11-27", Triggers: DefaultTriggers()}
	def := Definition{Shortcode: "EW", Name: "x", Type: String, Recipe: "early_warning_level", Params: map[string]any{"trigger": "cyclone"}}
	r, _ := LookupRecipe(def.Recipe)
	vals, err := r.Compute(def, in)
	require.NoError(t, err)
	require.NotEmpty(t, vals)
	got := map[string]string{}
	for _, v := range vals {
		got[v.Code] = v.Text
	}
	tr := DefaultTriggers()["cyclone"]
	for _, a := range as {
		reach := EvaluateArea(tr, tr.Windows["readiness"], a, evs, issued, LevelWatch)
		if reach.Level == LevelNone {
			assert.NotContains(t, got, a.Code)
			continue
		}
		assert.Equal(t, LevelNames[reach.Level], got[a.Code], a.Code)
	}
}

// GeoJSON edges are straight in lon/lat. A triangle whose long hypotenuse
// runs diagonally has the area of the lon/lat region under it: summed here
// in thin meridian strips of closed-form band areas (an oracle that never
// projects an edge). Before long edges were densified this was off by 7e-4
// of the area, and a sliver of a cone edge across an area by 94%.
func TestLongEdgesAreStraightInLonLat(t *testing.T) {
	for _, c := range []struct{ lon, lat0, lat1 float64 }{{4, 0, 4.5}, {3, 55, 62}, {6, -20, -10}} {
		tri := orb.Polygon{{{0, c.lat0}, {c.lon, c.lat0}, {c.lon, c.lat1}, {0, c.lat0}}}
		const n = 4000
		var want float64
		for i := 0; i < n; i++ {
			x := (float64(i) + 0.5) / n
			want += BandAreaKm2(c.lat0, c.lat0+(c.lat1-c.lat0)*x, c.lon/n)
		}
		assert.InEpsilon(t, want, GeodesicAreaKm2(tri), 2e-7, "%+v", c)
		// The same through the overlay: the triangle's share of its box.
		box := rect(0, c.lat0, c.lon, c.lat1)
		assert.InEpsilon(t, want, IntersectionAreaKm2(box, tri), 2e-7, "%+v", c)
	}
}

// SameAreas (whether a reloaded overlay may keep the old one's prepared
// areas and measures) holds for an equal area set only: any change to a
// code, a vertex, the structure, a baseline or the order is another set.
func TestOverlaySameAreas(t *testing.T) {
	as, _ := scene(6, 1, 3)
	clone := func() []Area {
		out := make([]Area, len(as))
		for i, a := range as {
			out[i] = a
			out[i].Geometry = orb.Clone(a.Geometry)
		}
		return out
	}
	ref := NewOverlay(as, OverlayOptions{})
	require.True(t, ref.SameAreas(NewOverlay(clone(), OverlayOptions{MinShare: 0.5})), "equal areas (options aside)")
	pop := 1001.0
	for name, change := range map[string]func([]Area) []Area{
		"a code":       func(c []Area) []Area { c[1].Code += "x"; return c },
		"the order":    func(c []Area) []Area { c[0], c[1] = c[1], c[0]; return c },
		"one fewer":    func(c []Area) []Area { return c[1:] },
		"a baseline":   func(c []Area) []Area { c[2].Baseline.Population = &pop; return c },
		"multipolygon": func(c []Area) []Area { c[3].Geometry = orb.MultiPolygon{c[3].Geometry.(orb.Polygon)}; return c },
		"a vertex one ulp off": func(c []Area) []Area {
			r := c[4].Geometry.(orb.Polygon)[0]
			r[2][1] = math.Nextafter(r[2][1], 0)
			return c
		},
	} {
		require.False(t, ref.SameAreas(NewOverlay(change(clone()), OverlayOptions{})), name)
	}
}

// The prepared areas are dropped after a build that measured new
// footprints (unless kept) and prepared again when needed: the tables are
// the same either way, build after build, as a fresh overlay's.
func TestOverlayPreparedAreasDroppedOrKept(t *testing.T) {
	as, evs := scene(12, 40, 11)
	eng := &countingEngine{areas: as}
	dropped, kept := NewOverlay(as, OverlayOptions{}), NewOverlay(as, OverlayOptions{})
	kept.SetKeepPrepared(true)
	rng := rand.New(rand.NewPCG(5, 6))
	cur := evs
	for round := range 4 {
		if round > 0 { // a few footprints move
			cur = cloneEvents(cur)
			for k := 0; k < 4; k++ {
				c := orb.Point{rng.Float64() * 1.2, rng.Float64() * 1.2}
				cur[rng.IntN(len(cur))].Footprints[0].Geometry = Circle(c, 3+10*rng.Float64(), 24)
			}
		}
		want := tableOf(t, NewOverlay(as, OverlayOptions{}).build(cur, eng), cur)
		require.Equal(t, want, tableOf(t, dropped.build(cur, eng), cur), "round %d, dropped", round)
		require.Equal(t, want, tableOf(t, kept.build(cur, eng), cur), "round %d, kept", round)
		require.Zero(t, dropped.IndexBytes(), "round %d: dropped after the build", round)
		require.Positive(t, kept.IndexBytes(), "round %d", round)
	}
	// A build that measured nothing new leaves them as they are.
	before := kept.IndexBytes()
	kept.build(cur, eng)
	require.Equal(t, before, kept.IndexBytes())
}

// Measures kept by one overlay and restored into a new one over the same
// areas (another process) are used as they were: the new overlay measures
// nothing and asks the engine for nothing, and its table is the first
// one's. Only footprints not among them are measured; what the first
// build after the restore did not use is dropped.
func TestOverlayKeptMeasuresRestored(t *testing.T) {
	as, evs := scene(10, 30, 21)
	eng := &countingEngine{areas: as}
	first := NewOverlay(as, OverlayOptions{})
	want := tableOf(t, first.build(evs, eng), evs)
	kept := first.KeptMeasures()
	require.Len(t, kept, 30)

	again := NewOverlay(as, OverlayOptions{})
	require.Equal(t, first.AreaSetKey(), again.AreaSetKey(), "the area set's key is the same in every process")
	again.RestoreMeasures(kept)
	calls := eng.calls.Load()
	require.Equal(t, want, tableOf(t, again.build(evs, eng), evs))
	st := again.Stats()
	require.Equal(t, 0, st.Computed)
	require.Equal(t, 30, st.Restored)
	require.Equal(t, calls, eng.calls.Load(), "no people asked of the engine")
	require.Equal(t, kept, again.KeptMeasures(), "what it keeps in turn")

	// A restored measure is used as kept, not recomputed: a marked one
	// shows up in the table.
	marked := slices.Clone(kept)
	first0 := StrongGeometryKey(evs[0].Footprints[0].Geometry)
	at := slices.IndexFunc(marked, func(m KeptMeasure) bool { return m.Key == first0 })
	require.GreaterOrEqual(t, at, 0)
	mark := []Pair{{Area: 3, Km2: 12345, Share: 1}}
	marked[at].Pairs = mark
	third := NewOverlay(as, OverlayOptions{})
	third.RestoreMeasures(marked)
	moved := cloneEvents(evs)
	moved[5].Footprints[0].Geometry = Circle(orb.Point{0.5, 0.5}, 7, 24)
	tab := third.build(moved, eng)
	require.Equal(t, mark, tab.hitsOf(&moved[0].Footprints[0]), "the kept measure was used as kept")
	require.Equal(t, 1, third.Stats().Computed, "only the moved footprint is measured")
	require.Equal(t, 29, third.Stats().Restored)
	require.Nil(t, third.restored, "what the build did not use is dropped")
}
