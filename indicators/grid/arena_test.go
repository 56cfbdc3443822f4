package grid

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// countMappings wraps the platform's mappings for one test and reports how
// many regions are live.
func countMappings(t *testing.T) func() int {
	t.Helper()
	live := 0
	m, u := mapAnon, unmapAnon
	t.Cleanup(func() { mapAnon, unmapAnon = m, u })
	mapAnon = func(n int) ([]byte, error) {
		b, err := m(n)
		if err == nil {
			live++
		}
		return b, err
	}
	unmapAnon = func(b []byte) { live--; u(b) }
	return func() int { return live }
}

// failMappings makes every mapping fail for one test, as on a platform
// without them.
func failMappings(t *testing.T) {
	t.Helper()
	m := mapAnon
	t.Cleanup(func() { mapAnon = m })
	mapAnon = func(int) ([]byte, error) { return nil, errors.New("no mappings") }
}

// waitReleased collects until a's cleanup ran (cleanups run on their own
// goroutine after a collection finds the owner unreachable).
func waitReleased(t *testing.T, a *arena) {
	t.Helper()
	for i := 0; i < 200 && !a.released(); i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	require.True(t, a.released(), "arena released once its zones are unreachable")
}

func TestArenaAlloc(t *testing.T) {
	// Platforms without mappings (arena_heap.go) keep everything on the heap.
	b, err := mapAnonymous(4096)
	mappings := err == nil
	if mappings {
		unmapAnonymous(b)
	}
	for _, tc := range []struct {
		name   string
		n      int
		mapped int // of the two arrays (float64, int32)
	}{
		{"empty", 0, 0},
		{"small stays on the heap", arenaMin/8 - 1, 0},
		{"float64 mapped, int32 on the heap", arenaMin / 8, 1},
		{"both mapped", arenaMin/4 + 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := countMappings(t)
			a := &arena{}
			f := arenaAlloc[float64](a, tc.n)
			i := arenaAlloc[int32](a, tc.n)
			require.Len(t, f, tc.n)
			require.Len(t, i, tc.n)
			nonzero := 0
			for k := range f {
				if f[k] != 0 || i[k] != 0 {
					nonzero++
				}
				f[k], i[k] = float64(k), int32(k)
			}
			require.Zero(t, nonzero, "zeroed")
			if tc.n > 0 {
				require.Equal(t, float64(tc.n-1), f[tc.n-1])
				require.Equal(t, int32(tc.n-1), i[tc.n-1])
			}
			want := 0
			if mappings {
				want = tc.mapped
			}
			require.Equal(t, want, live())
			require.Equal(t, want > 0, a.mappedBytes() > 0)
			a.free()
			require.Zero(t, live())
			require.Zero(t, a.mappedBytes())
			a.free() // a second free is harmless
			require.True(t, a.released())
		})
	}
	t.Run("nil arena is the heap", func(t *testing.T) {
		live := countMappings(t)
		require.Len(t, arenaAlloc[float32](nil, arenaMin), arenaMin)
		require.Zero(t, live())
	})
}

// bigWorld is the test world on a grid big enough for its arrays to be
// mapped (400×400 cells).
func bigWorld(t *testing.T) *testWorld {
	tw := newTestWorld(t, 3, 3, 5)
	tw.geo.DX, tw.geo.DY, tw.w, tw.h = 0.01, 0.01, 400, 400
	tw.pop = make([]float32, tw.w*tw.h)
	for k := range tw.pop {
		tw.pop[k] = float32(1+(k/tw.w*7+k%tw.w*13)%17) * 0.75
	}
	return tw
}

func TestEngineArenaReleasedWhenDropped(t *testing.T) {
	tw := bigWorld(t)
	fp := []orb.Geometry{indicators.Circle(orb.Point{62.2, 11.9}, 120, 96)}
	cache := &memCache{}
	opts := Options{Grid: tw.tiffLayer(t, "pop.tif", tw.pop), Cache: cache}
	live := countMappings(t)

	// Built, then reloaded from the cache (each reload a new engine, as a
	// daemon's config reload makes): each engine's arena is freed once the
	// engine is dropped.
	var want []indicators.AreaExposure
	for _, name := range []string{"built", "reloaded"} {
		e, err := NewEngine(tw.areas, opts)
		require.NoError(t, err, name)
		mem := e.z.mem
		require.GreaterOrEqual(t, mem.mappedBytes(), 4*len(tw.pop), "%s: value layer mapped", name)
		got, err := e.Expose(fp)
		require.NoError(t, err, name)
		if want == nil {
			want = got
		}
		require.Equal(t, want, got, name)
		e = nil
		waitReleased(t, mem)
		require.Zero(t, live(), name)
	}
	require.Equal(t, 1, cache.stores)
	require.Equal(t, 1, cache.loads-1, "the second engine reloaded")

	// A cache entry rejected halfway leaves nothing mapped.
	cache.data[len(cache.data)-1] ^= 0xff
	var key [32]byte
	copy(key[:], cache.data[16:48]) // the header's inputs key
	_, _, err := loadCache(cache, key)
	require.ErrorContains(t, err, "checksum")
	require.Zero(t, live())
}

func TestEngineSameNumbersOnTheHeap(t *testing.T) {
	tw := bigWorld(t)
	fps := []orb.Geometry{indicators.Circle(orb.Point{62.2, 11.9}, 120, 96), indicators.Circle(orb.Point{60.5, 13.5}, 60, 48)}
	grid := tw.tiffLayer(t, "pop.tif", tw.pop)
	mapped, err := NewEngine(tw.areas, Options{Grid: grid})
	require.NoError(t, err)
	require.Positive(t, mapped.z.mem.mappedBytes())
	want, err := mapped.Expose(fps)
	require.NoError(t, err)

	failMappings(t)
	cache := &memCache{}
	for _, name := range []string{"built on the heap", "reloaded on the heap"} {
		e, err := NewEngine(tw.areas, Options{Grid: grid, Cache: cache})
		require.NoError(t, err, name)
		require.Zero(t, e.z.mem.mappedBytes(), name)
		got, err := e.Expose(fps)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}
	require.Equal(t, 1, cache.stores)
}
