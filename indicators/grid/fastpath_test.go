package grid

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

// Rows with many events take other paths than the usual handful: per-column
// sums when the events are dense (an edge running along a row), the generic
// sort when they are spread out (a zigzag). Both must match the clip oracle,
// and a reused rasterizer must not carry anything over between polygons.
func TestRasterizeLongRowsMatchClipOracle(t *testing.T) {
	const w, h = 120, 12
	geo := Geo{X0: 0, Y0: 1.2, DX: 0.01, DY: 0.1}
	// A sliver whose long edges cross a whole row each (dense path).
	sliver := orb.Polygon{{{0.05, 0.31}, {1.15, 0.47}, {1.15, 0.52}, {0.05, 0.44}, {0.05, 0.31}}}
	// A zigzag band: many short steep edges per row (spread-out path).
	var zig orb.Ring
	for i := 0; i <= 40; i++ {
		zig = append(zig, orb.Point{0.02 + float64(i)*0.029, 0.6 + 0.25*float64(i%2)})
	}
	zig = append(zig, orb.Point{1.18, 1.1}, orb.Point{0.02, 1.1}, zig[0])
	rng := rand.New(rand.NewPCG(7, 8))
	var blob orb.Ring
	for i := 0; i < 200; i++ {
		a := 2 * math.Pi * float64(i) / 200
		rad := 0.9 + 0.1*rng.Float64() // one radius per vertex: star-shaped, so simple
		blob = append(blob, orb.Point{0.6 + 0.55*rad*math.Cos(a), 0.6 + 0.45*rad*math.Sin(a)})
	}
	// A comb on a wide grid: dozens of events per row, spread far apart
	// (generic sort path).
	const cw, ch = 1000, 4
	cgeo := Geo{X0: 0, Y0: 0.4, DX: 0.01, DY: 0.1}
	comb := orb.Ring{{0.05, 0.05}}
	for i := 0; i < 13; i++ {
		x := 0.1 + float64(i)*0.75
		comb = append(comb, orb.Point{x, 0.05}, orb.Point{x + 0.013, 0.37}, orb.Point{x + 0.2, 0.36}, orb.Point{x + 0.21, 0.05})
	}
	comb = append(comb, orb.Point{9.95, 0.02}, orb.Point{0.05, 0.02}, orb.Point{0.05, 0.05})
	cases := []struct {
		p    orb.Polygon
		geo  Geo
		w, h int
	}{{sliver, geo, w, h}, {orb.Polygon{zig}, geo, w, h}, {orb.Polygon{comb}, cgeo, cw, ch}, {orb.Polygon{blob}, geo, w, h}, {sliver, geo, w, h}}
	for i, tc := range cases {
		cov := Rasterize(tc.p, tc.geo, tc.w, tc.h)
		for r := 0; r < tc.h; r++ {
			for c := 0; c < tc.w; c++ {
				require.InDelta(t, clipOracle(tc.p, tc.geo, tc.h, r, c), cov.At(r, c), 1e-9, "polygon %d cell %d,%d", i, r, c)
			}
		}
	}
}

// The cycle's row cursor gives the same range sums as adding the cells.
func TestRowWalkerMatchesDirectSums(t *testing.T) {
	const w, h = 1000, 3
	rng := rand.New(rand.NewPCG(3, 4))
	pop, u18 := make([]float32, w*h), make([]float32, w*h)
	for i := range pop {
		pop[i] = float32(math.Exp(8 * rng.Float64()))
		u18[i] = pop[i] * float32(rng.Float64())
	}
	z := &zones{Width: w, Height: h, Pop: pop, U18: u18}
	z.prefixes()
	for r := 0; r < h; r++ {
		var rw rowWalker
		rw.reset(z, r)
		for x := 0; x < w; {
			// Steps of 1 to 200 cells: short direct sums and block jumps.
			y := min(w, x+1+rng.IntN(200))
			ps, us := rw.advance(y)
			var wp, wu float64
			for c := x; c < y; c++ {
				wp += float64(pop[r*w+c])
				wu += float64(u18[r*w+c])
			}
			require.InDelta(t, wp, ps, 1e-12*max(1, rw.p), "row %d [%d,%d)", r, x, y)
			require.InDelta(t, wu, us, 1e-12*max(1, rw.u), "row %d [%d,%d)", r, x, y)
			x = y
		}
	}
}
