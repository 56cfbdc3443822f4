package grid

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// The per-area sweep of one footprint (area-rows covered whole take their
// sums, mostly covered ones their sums less the uncovered cells) equals the
// segment sweep to 1e-9, on random footprints from smaller than an area to
// larger than the grid, with nested levels.
func TestSumsOneMatchesSegmentSweep(t *testing.T) {
	var whole, most, some int
	for seed := uint64(1); seed <= 3; seed++ {
		e, rng := insideWorld(t, seed)
		for k := 0; k < 25; k++ {
			p := randomBlob(rng, 10*rng.Float64(), 10*rng.Float64(), 0.3+6*rng.Float64())
			cov := Rasterize(p, e.z.Geo, e.z.Width, e.z.Height)
			if cov.Rows == 0 {
				continue
			}
			covs, sets := []*Coverage{cov}, []*edgeSet{newEdgeSet(p, e.z.Geo, e.z.Height)}
			fast := e.finish(e.sumsOne(covs[0], sets[0], nil))
			slow := e.finish(e.sums(covs, sets))
			require.Len(t, fast, len(slow), "seed %d footprint %d", seed, k)
			for i := range slow {
				f, s := fast[i], slow[i]
				require.Equal(t, s.Code, f.Code)
				tol := func(v float64) float64 { return 1e-9 * max(1, math.Abs(v)) }
				require.InDelta(t, s.Population, f.Population, tol(s.Population), "%s", s.Code)
				require.InDelta(t, s.Under18, f.Under18, tol(s.Under18), "%s", s.Code)
				require.InDelta(t, s.AreaKm2, f.AreaKm2, tol(s.AreaKm2), "%s", s.Code)
				switch {
				case s.Fraction > 1-1e-12:
					whole++
				case s.Fraction > 0.5:
					most++
				default:
					some++
				}
			}
		}
	}
	// Every path is taken: whole areas, mostly covered (sums less the
	// rest) and partly covered (the covered cells summed).
	require.Greater(t, whole, 50)
	require.Greater(t, most, 50)
	require.Greater(t, some, 50)
}

// Without an under-18 layer, under-18 is population × the area's share on
// both paths alike.
func TestSumsOneWithoutUnder18Layer(t *testing.T) {
	e, rng := insideWorld(t, 4)
	areas := slices.Clone(e.areas)
	for i := range areas {
		pop, u18 := 1000.0, float64(100+10*i)
		areas[i].Baseline = indicators.Baseline{Population: &pop, Under18: &u18}
	}
	e = NewEngineFromLayers(areas, e.z.Geo, e.z.Width, e.z.Height, e.z.Pop, nil)
	for k := 0; k < 10; k++ {
		p := randomBlob(rng, 10*rng.Float64(), 10*rng.Float64(), 0.5+4*rng.Float64())
		cov := Rasterize(p, e.z.Geo, e.z.Width, e.z.Height)
		if cov.Rows == 0 {
			continue
		}
		covs, sets := []*Coverage{cov}, []*edgeSet{newEdgeSet(p, e.z.Geo, e.z.Height)}
		fast := e.finish(e.sumsOne(covs[0], sets[0], nil))
		slow := e.finish(e.sums(covs, sets))
		require.Len(t, fast, len(slow))
		for i := range slow {
			require.InDelta(t, slow[i].Under18, fast[i].Under18, 1e-9*max(1, slow[i].Under18), slow[i].Code)
			require.True(t, fast[i].KnownUnder18)
		}
	}
}

// An area-row is covered whole only if every cell of it is: a footprint
// over the whole grid gives every area its totals; one that leaves out a
// tenth of a cell at the grid's south-west corner takes exactly that
// tenth's people from A0_0 and the parent, and nothing from anyone else.
func TestSumsOneNeedsEveryCell(t *testing.T) {
	e, _ := insideWorld(t, 1)
	expose := func(p orb.Polygon) map[string]indicators.AreaExposure {
		cov := Rasterize(p, e.z.Geo, e.z.Width, e.z.Height)
		out := map[string]indicators.AreaExposure{}
		for _, x := range e.finish(e.sumsOne(cov, newEdgeSet(p, e.z.Geo, e.z.Height), nil)) {
			out[x.Code] = x
		}
		return out
	}
	full := expose(orb.Polygon{{{-1, -1}, {11, -1}, {11, 11}, {-1, 11}, {-1, -1}}})
	notch := expose(orb.Polygon{{{-1, -1}, {11, -1}, {11, 11}, {-1, 11}, {-1, 0.005}, {0.005, 0.005}, {0.005, -1}, {-1, -1}}})
	corner := float64(e.z.Pop[(e.z.Height-1)*e.z.Width]) * 0.01 // 0.005° × 0.005° of a 0.05° cell
	for zi, a := range e.areas {
		pop, _, km2, ok := e.Totals(a.Code)
		require.True(t, ok)
		require.InDelta(t, pop, full[a.Code].Population, 1e-9*pop, a.Code)
		require.InDelta(t, km2, full[a.Code].AreaKm2, 1e-9*km2, a.Code)
		want := e.z.TotPop[zi]
		if a.Code == "A0_0" || a.Code == "P" {
			want -= corner
		}
		require.InDelta(t, want, notch[a.Code].Population, 1e-9*pop, a.Code)
	}
}

// convexPiece is a random convex polygon: points on an ellipse at sorted
// random angles (a swath piece, a circle).
func convexPiece(rng *rand.Rand, cx, cy, rx, ry float64) orb.Polygon {
	n := 4 + rng.IntN(40)
	as := make([]float64, n)
	for i := range as {
		as[i] = 2 * math.Pi * rng.Float64()
	}
	slices.Sort(as)
	var ring orb.Ring
	for _, a := range as {
		ring = append(ring, orb.Point{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	if rng.IntN(2) == 0 {
		slices.Reverse(ring)
	}
	return orb.Polygon{append(ring, ring[0])}
}

// Footprints of convex pieces (one, or overlapping ones as a storm swath
// is made of) classify areas as covered whole or not at all; the result
// equals the segment sweep to 1e-9, and the classes are right: a whole
// area's exposure is its totals, a none area has none.
func TestClassifiedConvexPiecesMatchSegmentSweep(t *testing.T) {
	var whole, none, maybe int
	for seed := uint64(1); seed <= 3; seed++ {
		e, rng := insideWorld(t, seed)
		for k := 0; k < 20; k++ {
			var g orb.Geometry
			if k%2 == 0 {
				g = convexPiece(rng, 10*rng.Float64(), 10*rng.Float64(), 0.5+5*rng.Float64(), 0.5+5*rng.Float64())
			} else {
				// A track of overlapping pieces.
				var mp orb.MultiPolygon
				x, y := 10*rng.Float64(), 10*rng.Float64()
				for i := 0; i < 3; i++ {
					mp = append(mp, convexPiece(rng, x, y, 1+2*rng.Float64(), 1+2*rng.Float64()))
					x, y = x+rng.Float64()-0.5, y+rng.Float64()-0.5
				}
				g = mp
			}
			cls := e.classify(g)
			require.NotNil(t, cls)
			cov := Rasterize(g, e.z.Geo, e.z.Width, e.z.Height)
			if cov.Rows == 0 {
				continue
			}
			covs, sets := []*Coverage{cov}, []*edgeSet{newEdgeSet(g, e.z.Geo, e.z.Height)}
			fast := e.finish(e.sumsOne(covs[0], sets[0], cls))
			slow := e.finish(e.sums(covs, sets))
			require.Len(t, fast, len(slow), "seed %d footprint %d", seed, k)
			got := map[string]indicators.AreaExposure{}
			for i := range slow {
				f, s := fast[i], slow[i]
				require.Equal(t, s.Code, f.Code)
				tol := func(v float64) float64 { return 1e-9 * max(1, math.Abs(v)) }
				require.InDelta(t, s.Population, f.Population, tol(s.Population), "%s", s.Code)
				require.InDelta(t, s.Under18, f.Under18, tol(s.Under18), "%s", s.Code)
				require.InDelta(t, s.AreaKm2, f.AreaKm2, tol(s.AreaKm2), "%s", s.Code)
				got[s.Code] = s
			}
			for zi, a := range e.areas {
				switch cls[zi] {
				case clsWhole:
					whole++
					require.InDelta(t, e.z.TotPop[zi], got[a.Code].Population, 1e-9*e.z.TotPop[zi], a.Code)
				case clsNone:
					none++
					require.NotContains(t, got, a.Code)
				default:
					maybe++
				}
			}
		}
	}
	require.Greater(t, whole, 20)
	require.Greater(t, none, 20)
	require.Greater(t, maybe, 20)
}

// Only simple convex rings are classified: a notched ring, a pentagram
// (every turn the same way, twice around) and a polygon with a hole sweep
// every area.
func TestClassifyNeedsConvexPieces(t *testing.T) {
	e, _ := insideWorld(t, 1)
	square := orb.Ring{{1, 1}, {9, 1}, {9, 9}, {1, 9}, {1, 1}}
	require.NotNil(t, e.classify(orb.Polygon{square}))
	require.NotNil(t, e.classify(orb.MultiPolygon{{square}, {square}}))
	notched := orb.Ring{{1, 1}, {9, 1}, {9, 9}, {5, 5}, {1, 9}, {1, 1}}
	var star orb.Ring
	for i := 0; i <= 5; i++ {
		a := math.Pi/2 + float64(2*i%5)*2*math.Pi/5
		star = append(star, orb.Point{5 + 4*math.Cos(a), 5 + 4*math.Sin(a)})
	}
	hole := orb.Ring{{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}}
	for name, g := range map[string]orb.Geometry{
		"notched": orb.Polygon{notched}, "pentagram": orb.Polygon{star}, "hole": orb.Polygon{square, hole},
		"one of two": orb.MultiPolygon{{square}, {notched}}, "ring": square,
	} {
		require.Nil(t, e.classify(g), name)
	}
}

// ExposeEach gives every set exactly what Expose gives it on its own —
// bit for bit — whatever the batch holds: swaths of overlapping convex
// pieces (classified), blobs (swept), a repeated footprint, one off the
// grid, unions of two (through Expose), an empty set, and sets already in
// the result cache. No set's result depends on the others in its batch.
func TestExposeEachEqualsExposePerSet(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		e, rng := insideWorld(t, seed)
		swath := func() orb.Geometry {
			var mp orb.MultiPolygon
			x, y := rng.Float64()*10, rng.Float64()*10
			r := 0.3 + 2*rng.Float64()
			for k := 0; k < 4; k++ {
				nx, ny := x+(rng.Float64()-0.5)*3, y+(rng.Float64()-0.5)*3
				mp = append(mp, capsule(x, y, nx, ny, r))
				x, y = nx, ny
			}
			return mp
		}
		var sets [][]orb.Geometry
		for k := 0; k < 12; k++ {
			sets = append(sets, []orb.Geometry{swath()})
		}
		sets = append(sets,
			[]orb.Geometry{randomBlob(rng, 5, 5, 3)},
			[]orb.Geometry{randomBlob(rng, 2, 7, 0.4)},
			sets[3], // repeated
			[]orb.Geometry{randomBlob(rng, 40, 40, 1)}, // off the grid
			[]orb.Geometry{swath(), randomBlob(rng, 6, 3, 1)},
			nil,
		)
		// Expose on its own, in a fresh engine per set: no shared cache.
		want := make([][]indicators.AreaExposure, len(sets))
		for i, s := range sets {
			fresh, _ := insideWorld(t, seed)
			r, err := fresh.Expose(s)
			require.NoError(t, err)
			want[i] = r
		}
		// Some already cached, the rest in one batch.
		_, err := e.Expose(sets[0])
		require.NoError(t, err)
		_, err = e.Expose(sets[13])
		require.NoError(t, err)
		got, err := e.ExposeEach(sets)
		require.NoError(t, err)
		require.Len(t, got, len(sets))
		for i := range sets {
			require.Equal(t, want[i], got[i], "seed %d set %d", seed, i)
		}
		// Each set alone in its batch gives the same too.
		e.ResetCache()
		for _, i := range []int{2, 12, 15} {
			one, err := e.ExposeEach(sets[i : i+1])
			require.NoError(t, err)
			require.Equal(t, want[i], one[0], "seed %d set %d alone", seed, i)
		}
	}
}

// capsule is the convex hull of two circles of radius r around (x0, y0)
// and (x1, y1): the piece of a swath between two track points.
func capsule(x0, y0, x1, y1, r float64) orb.Polygon {
	th := math.Atan2(y1-y0, x1-x0)
	var ring orb.Ring
	for k := 0; k <= 16; k++ {
		a := th + math.Pi/2 + math.Pi*float64(k)/16
		ring = append(ring, orb.Point{x0 + r*math.Cos(a), y0 + r*math.Sin(a)})
	}
	for k := 0; k <= 16; k++ {
		a := th - math.Pi/2 + math.Pi*float64(k)/16
		ring = append(ring, orb.Point{x1 + r*math.Cos(a), y1 + r*math.Sin(a)})
	}
	return orb.Polygon{append(ring, ring[0])}
}

// More sets than one sweep takes (maxBatch) are swept in batches, with the
// same results.
func TestExposeEachBeyondOneBatch(t *testing.T) {
	e, rng := insideWorld(t, 7)
	ref, _ := insideWorld(t, 7)
	var sets [][]orb.Geometry
	for k := 0; k < maxBatch+9; k++ {
		x, y := rng.Float64()*10, rng.Float64()*10
		sets = append(sets, []orb.Geometry{orb.MultiPolygon{capsule(x, y, x+rng.Float64()*3, y+rng.Float64()*3, 0.2+rng.Float64())}})
	}
	got, err := e.ExposeEach(sets)
	require.NoError(t, err)
	for i, s := range sets {
		want, err := ref.Expose(s)
		require.NoError(t, err)
		require.Equal(t, want, got[i], "set %d", i)
	}
}
