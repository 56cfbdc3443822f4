package grid

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

// TestRasterizeOverlappingPartsCountOnce: a geometry whose parts overlap (a
// storm swath is overlapping convex pieces) covers each cell by the union
// of its parts, also in cells that edges of two or three parts cross —
// summing the parts' shares there counted the overlap twice. The reference
// is inclusion–exclusion over axis-aligned rectangles, cell by cell.
func TestRasterizeOverlappingPartsCountOnce(t *testing.T) {
	const w, h = 12, 10
	geo := unitGeo(h)
	rng := rand.New(rand.NewPCG(7, 11))
	type box struct{ x0, y0, x1, y1 float64 }
	inter := func(bs ...box) box {
		o := bs[0]
		for _, b := range bs[1:] {
			o = box{math.Max(o.x0, b.x0), math.Max(o.y0, b.y0), math.Min(o.x1, b.x1), math.Min(o.y1, b.y1)}
		}
		return o
	}
	inCell := func(b box, r, c int) float64 {
		cx0, cy0 := float64(c), float64(h-r-1)
		return overlap1D(b.x0, b.x1, cx0, cx0+1) * overlap1D(b.y0, b.y1, cy0, cy0+1)
	}
	for n := 0; n < 200; n++ {
		k := 2 + n%2
		var bs []box
		var mp orb.MultiPolygon
		for range k {
			x0, y0 := 1+rng.Float64()*6, 1+rng.Float64()*5
			b := box{x0, y0, x0 + 0.3 + rng.Float64()*4, y0 + 0.3 + rng.Float64()*3}
			bs = append(bs, b)
			ring := rect(b.x0, b.y0, b.x1, b.y1)
			if rng.IntN(2) == 0 {
				ring.Reverse() // orientation must not matter
			}
			mp = append(mp, orb.Polygon{ring})
		}
		cov := Rasterize(mp, geo, w, h)
		var sum, want float64
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				u := 0.0
				for i := range bs {
					u += inCell(bs[i], r, c)
					for j := i + 1; j < len(bs); j++ {
						u -= inCell(inter(bs[i], bs[j]), r, c)
					}
				}
				if len(bs) == 3 {
					u += inCell(inter(bs...), r, c)
				}
				require.InDelta(t, u, cov.At(r, c), 1e-9, "case %d cell %d,%d", n, r, c)
				sum += cov.At(r, c)
				want += u
			}
		}
		require.InDelta(t, want, cov.CellSum(w), 1e-9, "case %d", n)
		require.InDelta(t, sum, cov.CellSum(w), 1e-9, "case %d", n)
	}
}
