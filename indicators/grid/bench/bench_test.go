package bench

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

// The full workload (1e8 cells, 400 MB per layer) is built once per process
// and only by benchmarks; `go test` runs the small one below.
var (
	fullOnce   sync.Once
	fullW      *Workload
	fullEngine *grid.Engine
	fullPopd   int
	fullBuild  time.Duration
)

func full(b *testing.B) (*Workload, *grid.Engine) {
	if testing.Short() {
		b.Skip("full exposure workload skipped in -short mode")
	}
	fullOnce.Do(func() {
		fullW = Generate(Full, 1)
		fullPopd = fullW.Populated()
		t0 := time.Now()
		fullEngine = grid.NewEngineFromLayers(fullW.Areas, fullW.Geo, fullW.Width, fullW.Height, fullW.Pop, fullW.U18)
		fullBuild = time.Since(t0)
	})
	return fullW, fullEngine
}

// cycle is one cold cycle: every footprint's exposure on its own (all
// hazard × area pairs, population and under-18, exact fractions).
func cycle(e *grid.Engine, fps []orb.Geometry) (pairs int, err error) {
	for _, f := range fps {
		x, err := e.Expose([]orb.Geometry{f})
		if err != nil {
			return 0, err
		}
		pairs += len(x)
	}
	return pairs, nil
}

// BenchmarkExposureCycle: target ≤ 0.5 s on 2 cores for 200 footprints ×
// 5,040 areas × 1e8 cells (geo-compute.md P1).
func BenchmarkExposureCycle(b *testing.B) {
	w, e := full(b)
	fps := w.Geometries()
	var pairs int
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		e.ResetCache()
		var err error
		if pairs, err = cycle(e, fps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/cycle")
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/cycle")
	b.ReportMetric(float64(pairs), "pairs")
	b.ReportMetric(float64(e.EdgeBytes())/1e6, "area-edge-MB")
}

// BenchmarkExposureUnion: the union of all 200 footprints at once, as the
// recipes ask for it.
func BenchmarkExposureUnion(b *testing.B) {
	w, e := full(b)
	fps := w.Geometries()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		e.ResetCache()
		if _, err := e.Expose(fps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/union")
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/union")
}

// BenchmarkExposureNoChange: a cycle in which no footprint changed
// (target ≤ 5 ms).
func BenchmarkExposureNoChange(b *testing.B) {
	w, e := full(b)
	fps := w.Geometries()
	e.ResetCache()
	if _, err := cycle(e, fps); err != nil {
		b.Fatal(err)
	}
	if _, err := e.Expose(fps); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := cycle(e, fps); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Expose(fps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/cycle")
}

// BenchmarkPrecompute: zones + prefixes + totals for 5,040 areas × 1e8
// cells (target ≤ 10 s), and the memory it holds (target ≤ 16 B per
// populated cell, value layers included).
func BenchmarkPrecompute(b *testing.B) {
	w, e := full(b)
	b.ReportMetric(fullBuild.Seconds(), "s/first-build")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		grid.NewEngineFromLayers(w.Areas, w.Geo, w.Width, w.Height, w.Pop, w.U18)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/precompute")
	b.ReportMetric(float64(e.PrecomputeBytes())/float64(fullPopd), "B/populated-cell")
	b.ReportMetric(float64(maxRSS())/float64(fullPopd), "peak-RSS-B/populated-cell")
}

// BenchmarkReload: loading the persisted precompute (target ≤ 2 s).
func BenchmarkReload(b *testing.B) {
	w, e := full(b)
	cache := state.NewGridCache(b.TempDir(), false)
	if err := e.Persist(cache); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := grid.LoadEngine(w.Areas, w.Geo, w.Width, w.Height, cache); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/reload")
}

// BenchmarkZonalTotals: exact population of each area over 1e8 cells, no
// precompute (target ≤ 1 s, P2).
func BenchmarkZonalTotals(b *testing.B) {
	w, _ := full(b)
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		grid.ZonalTotals(w.Areas, w.Geo, w.Width, w.Height, w.Pop)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/zonal")
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/zonal")
}

// cpuTime is the process's user+system CPU time: on this shared machine it
// moves far less with the load than wall time, so changes can be compared.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// TestSmallWorkload keeps the generator and the engine honest on every
// `go test`: areas tile the grid, so zonal totals, precompute totals and a
// whole-grid footprint all give the grid total.
func TestSmallWorkload(t *testing.T) {
	w := Generate(Small, 1)
	require.Len(t, w.Areas, 120)
	require.Len(t, w.Footprints, 20)
	for _, a := range w.Areas {
		require.Len(t, a.Geometry.(orb.Polygon)[0], 41)
	}
	var total float64
	for _, v := range w.Pop {
		if v > 0 {
			total += float64(v)
		}
	}
	zt := ZonalSum(grid.ZonalTotals(w.Areas, w.Geo, w.Width, w.Height, w.Pop))
	require.InDelta(t, 1, zt/total, 1e-9)
	e := grid.NewEngineFromLayers(w.Areas, w.Geo, w.Width, w.Height, w.Pop, w.U18)
	x, err := e.Expose([]orb.Geometry{orb.Polygon{{{-1, -1}, {11, -1}, {11, 11}, {-1, 11}, {-1, -1}}}})
	require.NoError(t, err)
	var exp float64
	for _, a := range x {
		exp += a.Population
	}
	require.InDelta(t, 1, exp/total, 1e-9)
	pairs, err := cycle(e, w.Geometries())
	require.NoError(t, err)
	require.Greater(t, pairs, 20)
}

// ZonalSum adds zonal totals.
func ZonalSum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}
