package grid

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testWorld is a small Demoland: lon 60–64, lat 10–14 at 0.05°, tiled by a
// jittered nx×ny mesh of districts, with a varying population surface.
type testWorld struct {
	geo   Geo
	w, h  int
	pop   []float32
	areas []indicators.Area
}

func newTestWorld(t testing.TB, nx, ny int, seed uint64) *testWorld {
	tw := &testWorld{geo: Geo{X0: 60, Y0: 14, DX: 0.05, DY: 0.05}, w: 80, h: 80}
	tw.pop = make([]float32, tw.w*tw.h)
	for r := 0; r < tw.h; r++ {
		for c := 0; c < tw.w; c++ {
			tw.pop[r*tw.w+c] = float32(1+(r*7+c*13)%17) * 0.75
		}
	}
	rng := rand.New(rand.NewPCG(seed, 9))
	pts := make([][]orb.Point, nx+1)
	for i := range pts {
		pts[i] = make([]orb.Point, ny+1)
		for j := range pts[i] {
			x, y := 60+4*float64(i)/float64(nx), 10+4*float64(j)/float64(ny)
			if i > 0 && i < nx {
				x += (rng.Float64() - 0.5) * 0.3
			}
			if j > 0 && j < ny {
				y += (rng.Float64() - 0.5) * 0.3
			}
			pts[i][j] = orb.Point{x, y}
		}
	}
	for i := 0; i < nx; i++ {
		for j := 0; j < ny; j++ {
			// Densify edges so shared boundaries are identical polylines.
			var ring orb.Ring
			corner := []orb.Point{pts[i][j], pts[i+1][j], pts[i+1][j+1], pts[i][j+1]}
			for k := 0; k < 4; k++ {
				a, b := corner[k], corner[(k+1)%4]
				for s := 0; s < 5; s++ {
					f := float64(s) / 5
					ring = append(ring, orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])})
				}
			}
			ring = append(ring, ring[0])
			tw.areas = append(tw.areas, indicators.Area{
				Code: fmt.Sprintf("A%02d%02d", i, j), Level: 2, Geometry: orb.Polygon{ring},
				Baseline: indicators.Baseline{Population: indicators.F(1000), Under18: indicators.F(400)},
			})
		}
	}
	return tw
}

func (tw *testWorld) total() float64 {
	var s float64
	for _, v := range tw.pop {
		s += float64(v)
	}
	return s
}

func (tw *testWorld) tiffLayer(t testing.TB, name string, vals []float32) Layer {
	var b bytes.Buffer
	require.NoError(t, WriteTiff(&b, vals, tw.w, tw.h, tw.geo, WriteOptions{Tile: 16, Deflate: true, FloatPredictor: true}))
	return bytesLayer(name, b.Bytes())
}

func sumBy(xs []indicators.AreaExposure, f func(indicators.AreaExposure) float64) float64 {
	var s float64
	for _, x := range xs {
		s += f(x)
	}
	return s
}

func TestEngineConservation(t *testing.T) {
	tw := newTestWorld(t, 5, 4, 1)
	e := NewEngineFromLayers(tw.areas, tw.geo, tw.w, tw.h, append([]float32(nil), tw.pop...), nil)
	var totPop, totKm2 float64
	for _, a := range tw.areas {
		p, _, km, ok := e.Totals(a.Code)
		require.True(t, ok)
		totPop += p
		totKm2 += km
	}
	require.InDelta(t, 1, totPop/tw.total(), 1e-9, "zonal totals over a tiling sum to the grid total")
	require.InDelta(t, 1, totKm2/indicators.BandAreaKm2(10, 14, 4), 1e-9)

	// A footprint covering everything exposes everyone, once.
	whole := orb.Polygon{rect(59, 9, 65, 15)}
	x, err := e.Expose([]orb.Geometry{whole})
	require.NoError(t, err)
	require.Len(t, x, len(tw.areas))
	require.InDelta(t, 1, sumBy(x, func(a indicators.AreaExposure) float64 { return a.Population })/tw.total(), 1e-9)
	for _, a := range x {
		require.InDelta(t, 1, a.Share, 1e-9)
		require.InDelta(t, 1, a.Fraction, 1e-9)
		require.InDelta(t, 0.4*a.Population, a.Under18, 1e-6, "under-18 from the baseline share")
		require.Equal(t, Method, a.Method)
	}

	// Any footprint: the per-area exposures sum to the footprint's own
	// population, computed independently by a dense per-cell sum.
	circle := indicators.Circle(orb.Point{61.73, 12.21}, 95, 128)
	cov := Rasterize(circle, tw.geo, tw.w, tw.h)
	var want float64
	for r := 0; r < tw.h; r++ {
		for c := 0; c < tw.w; c++ {
			want += cov.At(r, c) * float64(tw.pop[r*tw.w+c])
		}
	}
	x, err = e.Expose([]orb.Geometry{circle})
	require.NoError(t, err)
	require.InDelta(t, 1, sumBy(x, func(a indicators.AreaExposure) float64 { return a.Population })/want, 1e-9)
	require.InDelta(t, 1, sumBy(x, func(a indicators.AreaExposure) float64 { return a.AreaKm2 })/indicators.GeodesicAreaKm2(circle), 1e-3)
}

func TestEngineAnalyticUniformGrid(t *testing.T) {
	// One person per cell, one area = the whole grid: exposure of a
	// rectangle is its area in cells, exactly.
	tw := newTestWorld(t, 1, 1, 2)
	for i := range tw.pop {
		tw.pop[i] = 1
	}
	e := NewEngineFromLayers(tw.areas, tw.geo, tw.w, tw.h, tw.pop, nil)
	cases := []struct {
		name string
		fps  []orb.Geometry
		want float64 // cells
	}{
		{"rectangle", []orb.Geometry{orb.Polygon{rect(60.512, 10.33, 62.001, 13.07)}}, (62.001 - 60.512) * (13.07 - 10.33) / 0.0025},
		{"rectangle with hole", []orb.Geometry{orb.Polygon{rect(60.5, 10.5, 63.5, 13.5), rect(61.013, 11.02, 62.1, 12.3)}},
			(9 - (62.1-61.013)*(12.3-11.02)) / 0.0025},
		{"two overlapping rectangles count their union", []orb.Geometry{orb.Polygon{rect(60.5, 10.5, 62.5, 12.5)}, orb.Polygon{rect(61.5, 11.5, 63.5, 13.5)}},
			(4 + 4 - 1) / 0.0025},
		{"same footprint twice counts once", []orb.Geometry{orb.Polygon{rect(60.5, 10.5, 62.5, 12.5)}, orb.Polygon{rect(60.5, 10.5, 62.5, 12.5)}}, 4 / 0.0025},
		{"rectangle half off the grid", []orb.Geometry{orb.Polygon{rect(63, 11, 66, 12)}}, 1 / 0.0025},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := e.Expose(tc.fps)
			require.NoError(t, err)
			require.Len(t, x, 1)
			require.InDelta(t, 1, x[0].Population/tc.want, 1e-9)
		})
	}
}

func TestEngineNestedLevelsAndFallback(t *testing.T) {
	tw := newTestWorld(t, 2, 2, 3)
	country := indicators.Area{Code: "C", Level: 0, Geometry: orb.Polygon{rect(60, 10, 64, 14)},
		Baseline: indicators.Baseline{Population: indicators.F(1)}}
	offGrid := indicators.Area{Code: "OFF", Level: 2, Geometry: orb.Polygon{rect(70, 10, 71, 11)},
		Baseline: indicators.Baseline{Population: indicators.F(5000), Under18: indicators.F(2000)}}
	areas := append([]indicators.Area{country, offGrid}, tw.areas...)
	e := NewEngineFromLayers(areas, tw.geo, tw.w, tw.h, tw.pop, nil)
	fp := []orb.Geometry{orb.Polygon{rect(61, 10.5, 70.5, 13)}}
	x, err := e.Expose(fp)
	require.NoError(t, err)
	by := map[string]indicators.AreaExposure{}
	for _, a := range x {
		by[a.Code] = a
	}
	var districts float64
	for _, a := range tw.areas {
		districts += by[a.Code].Population
	}
	require.InDelta(t, 1, by["C"].Population/districts, 1e-9, "the country's exposure is its districts' sum")
	assert.False(t, by["C"].KnownUnder18, "no under-18 share for the country")
	require.Equal(t, "area-weighted", by["OFF"].Method)
	require.InDelta(t, 1250, by["OFF"].Population, 1)
}

func TestEngineUnder18GridAndCache(t *testing.T) {
	tw := newTestWorld(t, 3, 3, 4)
	u18 := make([]float32, len(tw.pop))
	for i, v := range tw.pop {
		u18[i] = v * float32(0.3+0.2*float64(i%5)/4)
	}
	cache := &memCache{}
	opts := Options{Grid: tw.tiffLayer(t, "pop.tif", tw.pop), Under18: tw.tiffLayer(t, "u18.tif", u18), Cache: cache}
	e1, err := NewEngine(tw.areas, opts)
	require.NoError(t, err)
	require.Equal(t, 1, cache.stores, "precompute persisted")
	require.Equal(t, cacheKey(e1.key), cache.key)

	fp := []orb.Geometry{indicators.Circle(orb.Point{62.2, 11.9}, 120, 96)}
	x1, err := e1.Expose(fp)
	require.NoError(t, err)
	// Under-18 exposure from the grid, checked against a dense sum.
	cov := Rasterize(fp[0], tw.geo, tw.w, tw.h)
	var want float64
	for r := 0; r < tw.h; r++ {
		for c := 0; c < tw.w; c++ {
			want += cov.At(r, c) * float64(u18[r*tw.w+c])
		}
	}
	require.InDelta(t, 1, sumBy(x1, func(a indicators.AreaExposure) float64 { return a.Under18 })/want, 1e-9)

	// Reload: same numbers, from the cache, nothing stored again.
	e2, err := NewEngine(tw.areas, opts)
	require.NoError(t, err)
	require.Equal(t, 1, cache.stores, "reloaded, not rebuilt")
	x2, err := e2.Expose(fp)
	require.NoError(t, err)
	require.Equal(t, x1, x2)

	// A damaged cache is rebuilt, not trusted.
	cache.data[len(cache.data)/2] ^= 0xff
	_, _, err = loadCache(cache, e2.key)
	require.ErrorContains(t, err, "checksum")
	e3, err := NewEngine(tw.areas, opts)
	require.NoError(t, err)
	require.Equal(t, 2, cache.stores, "rebuilt and stored again")
	x3, err := e3.Expose(fp)
	require.NoError(t, err)
	require.Equal(t, x1, x3)

	// Different areas → different key → no reuse of the old entry.
	e4, err := NewEngine(tw.areas[:4], opts)
	require.NoError(t, err)
	require.NotEqual(t, e1.Version(), e4.Version())
	require.Equal(t, 3, cache.stores)
	require.Equal(t, cacheKey(e4.key), cache.key)
}

func TestEngineResultCache(t *testing.T) {
	tw := newTestWorld(t, 3, 3, 5)
	e := NewEngineFromLayers(tw.areas, tw.geo, tw.w, tw.h, tw.pop, nil)
	a := orb.Polygon{rect(60.5, 10.5, 62.5, 12.5)}
	b := indicators.Circle(orb.Point{63, 13}, 50, 64)
	x1, err := e.Expose([]orb.Geometry{a, b})
	require.NoError(t, err)
	x2, err := e.Expose([]orb.Geometry{b, a}) // order does not matter
	require.NoError(t, err)
	require.Equal(t, x1, x2)
	x2[0].Population = -1 // callers may not corrupt the cache
	x3, _ := e.Expose([]orb.Geometry{a, b})
	require.Equal(t, x1, x3)
	require.Len(t, e.covCache, 2)
	xb, _ := e.Expose([]orb.Geometry{b})
	require.Len(t, e.covCache, 2, "coverage of b reused")
	require.Less(t, sumBy(xb, func(a indicators.AreaExposure) float64 { return a.Population }),
		sumBy(x1, func(a indicators.AreaExposure) float64 { return a.Population }))
	bands, err := e.ExposeBands([]indicators.Footprint{{Geometry: a, Band: "MMI 6"}, {Geometry: b, Band: "MMI 7"}})
	require.NoError(t, err)
	require.Equal(t, xb, bands["MMI 7"])
	require.False(t, math.IsNaN(bands["MMI 6"][0].Population))
}

// The precompute key changes with anything about the areas that the
// precompute depends on, and only with the areas (same areas, same key).
func TestPrecomputeKeySeesEveryAreaChange(t *testing.T) {
	tw := newTestWorld(t, 3, 3, 1)
	key := func(as []indicators.Area) string {
		e := prepareEngine(as, tw.geo, tw.w, tw.h, nil)
		var b bytes.Buffer
		hashAreas(&b, as, e.shares)
		return hex.EncodeToString(b.Bytes())
	}
	clone := func() []indicators.Area {
		as := slices.Clone(tw.areas)
		for i := range as {
			as[i].Geometry = orb.Clone(as[i].Geometry)
		}
		return as
	}
	ref := key(tw.areas)
	require.Equal(t, ref, key(clone()), "equal areas, equal key")
	ring := func(as []indicators.Area) orb.Ring { return as[4].Geometry.(orb.Polygon)[0] }
	for name, change := range map[string]func(as []indicators.Area) []indicators.Area{
		"a vertex one ulp off": func(as []indicators.Area) []indicators.Area {
			r := ring(as)
			r[1][0] = math.Nextafter(r[1][0], math.Inf(1))
			return as
		},
		"a code": func(as []indicators.Area) []indicators.Area { as[2].Code += "x"; return as },
		"the order": func(as []indicators.Area) []indicators.Area {
			as[0], as[1] = as[1], as[0]
			return as
		},
		"one area fewer": func(as []indicators.Area) []indicators.Area { return as[:len(as)-1] },
		"a ring split in two": func(as []indicators.Area) []indicators.Area {
			r := ring(as)
			as[4].Geometry = orb.Polygon{r[:3], r[3:]}
			return as
		},
		"a polygon as a multipolygon": func(as []indicators.Area) []indicators.Area {
			as[4].Geometry = orb.MultiPolygon{as[4].Geometry.(orb.Polygon)}
			return as
		},
		"an area moved off the grid (its share)": func(as []indicators.Area) []indicators.Area {
			r := ring(as)
			for i := range r {
				r[i][0] += 1000 * tw.geo.DX
			}
			return as
		},
	} {
		require.NotEqual(t, ref, key(change(clone())), name)
	}
}

// Results kept by one engine and restored into another of the same
// version (another process) are served as kept, for unions and single
// footprints alike; what the next sync does not use is dropped.
func TestEngineKeptResultsRestored(t *testing.T) {
	tw := newTestWorld(t, 4, 4, 3)
	build := func() *Engine {
		return NewEngineFromLayers(tw.areas, tw.geo, tw.w, tw.h, slices.Clone(tw.pop), nil)
	}
	a := indicators.Circle(orb.Point{tw.geo.X0 + 3*tw.geo.DX, tw.geo.Y0 - 3*tw.geo.DY}, 0.3, 32)
	b := indicators.Circle(orb.Point{tw.geo.X0 + 7*tw.geo.DX, tw.geo.Y0 - 5*tw.geo.DY}, 0.2, 32)
	sets := [][]orb.Geometry{{a}, {a, b}, {b}}
	first := build()
	want, err := first.ExposeEach(sets)
	require.NoError(t, err)
	first.EndSync()
	kept := first.KeptResults()
	require.Len(t, kept, 3)

	second := build()
	require.Equal(t, first.Version(), second.Version())
	marked := slices.Clone(kept)
	for i := range marked {
		marked[i].Res = slices.Clone(marked[i].Res)
		marked[i].Res[0].Population = -float64(i + 1) // shows it was served
	}
	second.RestoreResults(marked)
	got, err := second.ExposeEach([][]orb.Geometry{{b, a}, {a}, {b}}) // order does not matter
	require.NoError(t, err)
	for _, r := range got {
		require.Negative(t, r[0].Population, "served as kept")
	}
	second.EndSync()
	require.Nil(t, second.restored)

	third := build()
	third.RestoreResults(kept)
	got, err = third.ExposeEach(sets)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, kept, func() []indicators.KeptResult { third.EndSync(); return third.KeptResults() }())
}
