package grid

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// insideWorld is an 8×8 tiling of jittered quads on a 200×200 grid, plus
// a parent area over the 4×4 block in the south-west (nested levels: its
// cells list two areas) and random people, for the whole-area fast path.
func insideWorld(t *testing.T, seed uint64) (*Engine, *rand.Rand) {
	const n, w = 8, 200
	rng := rand.New(rand.NewPCG(seed, 99))
	geo := Geo{X0: 0, Y0: 10, DX: 10.0 / w, DY: 10.0 / w}
	corner := make([][]orb.Point, n+1)
	for i := range corner {
		corner[i] = make([]orb.Point, n+1)
		for j := range corner[i] {
			x, y := float64(i)*10/n, float64(j)*10/n
			if i > 0 && i < n && j > 0 && j < n {
				x += (rng.Float64() - 0.5) * 0.4
				y += (rng.Float64() - 0.5) * 0.4
			}
			corner[i][j] = orb.Point{x, y}
		}
	}
	var areas []indicators.Area
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			ring := orb.Ring{corner[i][j], corner[i+1][j], corner[i+1][j+1], corner[i][j+1], corner[i][j]}
			areas = append(areas, indicators.Area{Code: fmt.Sprintf("A%d_%d", i, j), Level: 2, Geometry: orb.Polygon{ring}})
		}
	}
	var parent orb.Ring
	for i := 0; i <= 4; i++ {
		parent = append(parent, corner[i][0])
	}
	for j := 1; j <= 4; j++ {
		parent = append(parent, corner[4][j])
	}
	for i := 3; i >= 0; i-- {
		parent = append(parent, corner[i][4])
	}
	for j := 3; j >= 0; j-- {
		parent = append(parent, corner[0][j])
	}
	areas = append(areas, indicators.Area{Code: "P", Level: 1, Geometry: orb.Polygon{parent}})
	pop, u18 := make([]float32, w*w), make([]float32, w*w)
	for i := range pop {
		pop[i] = float32(math.Exp(6 * rng.Float64()))
		u18[i] = pop[i] * float32(rng.Float64())
	}
	return NewEngineFromLayers(areas, geo, w, w, pop, u18), rng
}

// randomBlob is a star-shaped polygon around (cx, cy).
func randomBlob(rng *rand.Rand, cx, cy, rad float64) orb.Polygon {
	var ring orb.Ring
	for k := 0; k < 64; k++ {
		a := 2 * math.Pi * float64(k) / 64
		r := rad * (0.8 + 0.2*rng.Float64())
		ring = append(ring, orb.Point{cx + r*math.Cos(a), cy + r*math.Sin(a)})
	}
	return orb.Polygon{append(ring, ring[0])}
}

// The fast path (areas covered whole take their totals, the sweep skips
// their cells) equals the full sweep to 1e-9, on random footprints from
// smaller than an area to larger than the grid, with nested levels.
func TestInsideAreasMatchFullSweep(t *testing.T) {
	wholeSeen := 0
	for seed := uint64(1); seed <= 3; seed++ {
		e, rng := insideWorld(t, seed)
		for k := 0; k < 25; k++ {
			p := randomBlob(rng, 10*rng.Float64(), 10*rng.Float64(), 0.3+6*rng.Float64())
			cov := Rasterize(p, e.z.Geo, e.z.Width, e.z.Height)
			if cov.Rows == 0 {
				continue
			}
			covs, sets := []*Coverage{cov}, []*edgeSet{newEdgeSet(p, e.z.Geo, e.z.Height)}
			for _, in := range e.insideZones(cov) {
				if in {
					wholeSeen++
				}
			}
			fast := e.accumulate(covs, sets)
			slow := e.finish(e.sums(covs, sets, nil, nil), covs)
			require.Len(t, fast, len(slow), "seed %d footprint %d", seed, k)
			for i := range slow {
				f, s := fast[i], slow[i]
				require.Equal(t, s.Code, f.Code)
				tol := func(v float64) float64 { return 1e-9 * max(1, math.Abs(v)) }
				require.InDelta(t, s.Population, f.Population, tol(s.Population), "%s", s.Code)
				require.InDelta(t, s.Under18, f.Under18, tol(s.Under18), "%s", s.Code)
				require.InDelta(t, s.AreaKm2, f.AreaKm2, tol(s.AreaKm2), "%s", s.Code)
			}
		}
	}
	require.Greater(t, wholeSeen, 50, "the footprints must cover some areas whole, or the fast path is not tested")
}

// An area is covered whole only if every cell of it is: a footprint that
// leaves out one corner cell of an area does not mark it.
func TestInsideZonesNeedsEveryCell(t *testing.T) {
	e, _ := insideWorld(t, 1)
	full := orb.Polygon{{{-1, -1}, {11, -1}, {11, 11}, {-1, 11}, {-1, -1}}}
	in := e.insideZones(Rasterize(full, e.z.Geo, e.z.Width, e.z.Height))
	for zi := range e.areas {
		require.True(t, in[zi], e.areas[zi].Code)
	}
	// A notch of a tenth of a cell at the grid's south-west corner: area
	// A0_0 and the parent lose their whole cover, nothing else does.
	notch := orb.Polygon{{{-1, -1}, {11, -1}, {11, 11}, {-1, 11}, {-1, 0.005}, {0.005, 0.005}, {0.005, -1}, {-1, -1}}}
	in = e.insideZones(Rasterize(notch, e.z.Geo, e.z.Width, e.z.Height))
	for zi, a := range e.areas {
		require.Equal(t, a.Code != "A0_0" && a.Code != "P", in[zi], a.Code)
	}
}
