package grid

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

// TestRasterizePartsInsideOthersChangeNothing states the invariant the
// swath double count broke: a part lying inside another (or repeated) adds
// nothing to a geometry's coverage, cell by cell, whatever the shapes.
func TestRasterizePartsInsideOthersChangeNothing(t *testing.T) {
	const w, h = 40, 30
	geo := Geo{X0: 10, Y0: 5, DX: 0.1, DY: 0.1}
	rng := rand.New(rand.NewPCG(3, 5))
	for n := 0; n < 100; n++ {
		cx, cy := 11+rng.Float64()*2, 2.5+rng.Float64()*1.2
		k := 3 + rng.IntN(20)
		var ring orb.Ring
		for i := 0; i < k; i++ {
			a := 2 * math.Pi * (float64(i) + rng.Float64()*0.8) / float64(k)
			ring = append(ring, orb.Point{cx + 0.9*math.Cos(a), cy + 0.9*math.Sin(a)})
		}
		// Points on a circle in angular order: convex, so shrinking it
		// towards its vertices' mean (inside it) keeps the copy inside.
		var mx, my float64
		for _, p := range ring {
			mx, my = mx+p[0]/float64(k), my+p[1]/float64(k)
		}
		ring = append(ring, ring[0])
		shrunk := func(f float64) orb.Polygon {
			var r orb.Ring
			for _, p := range ring {
				r = append(r, orb.Point{mx + (p[0]-mx)*f, my + (p[1]-my)*f})
			}
			return orb.Polygon{r}
		}
		whole := Rasterize(orb.Polygon{ring}, geo, w, h)
		mp := orb.MultiPolygon{orb.Polygon{ring}, shrunk(0.6), shrunk(0.97), orb.Polygon{ring}}
		got := Rasterize(mp, geo, w, h)
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				require.InDelta(t, whole.At(r, c), got.At(r, c), 1e-9, "case %d cell %d,%d", n, r, c)
			}
		}
	}
}
