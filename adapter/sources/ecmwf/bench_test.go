package ecmwf

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/hazardsync/hazardsync/indicators/grid/bench"
)

// The speed target: one storm, 52 members × 3 thresholds of swaths,
// 5,040 areas, a 1e8-cell population grid: ≤ 1 s per storm on 2 cores. The
// workload is the grid benchmarks' (indicators/grid/bench, 0–10°E × 0–10°N);
// the baseline measured in the same run is that workload's 200-footprint
// exposure cycle (each footprint on its own), the engine's own target.

var (
	benchOnce   sync.Once
	benchW      *bench.Workload
	benchEngine *grid.Engine
)

func benchWorkload(b *testing.B) (*bench.Workload, *grid.Engine) {
	if testing.Short() {
		b.Skip("full exposure workload skipped in -short mode")
	}
	benchOnce.Do(func() {
		benchW = bench.Generate(bench.Full, 1)
		benchEngine = grid.NewEngineFromLayers(benchW.Areas, benchW.Geo, benchW.Width, benchW.Height, benchW.Pop, benchW.U18)
	})
	return benchW, benchEngine
}

// benchStorm crosses the workload from the south-east corner to the
// north-west: 51 ensemble members and the deterministic run, all counted.
func benchStorm() indicators.Event {
	st := ensembleStorm("05A", "PAX", FixtureRun, 51, [2]float64{10.5, 0.5}, [2]float64{0.5, 9.5}, 96, 45, 120, true, true)
	var members []Member
	for _, gm := range st.members {
		m := Member{Number: gm.number, Kind: "perturbed"}
		for _, p := range gm.points {
			r := map[string][4]float64{}
			for t, th := range genThresholds {
				r[formatThreshold(th)] = p.radiiKm[t]
			}
			w, pr, rm := p.windMS, p.mslpPa, p.rmaxKm
			m.Points = append(m.Points, Point{Time: FixtureRun.Add(time.Duration(p.hour) * time.Hour), Hour: p.hour,
				Lat: p.lat, Lon: p.lon, MaxWindMS: &w, MSLPPa: &pr, RMaxKm: &rm, Radii: r})
		}
		members = append(members, m)
	}
	return indicators.Event{ID: "ecmwf:05a", Type: indicators.TropicalCyclone, Phase: indicators.Forecast,
		Version: FixtureRun.Format(time.RFC3339), Properties: map[string]any{"member_count": len(members)},
		Footprints: Swaths(members, genThresholds[:])}
}

func BenchmarkEnsembleStorm(b *testing.B) {
	w, e := benchWorkload(b)
	ev := benchStorm()
	b.Logf("%d member swaths, %d pieces", len(ev.Footprints), pieces(ev.Footprints))
	b.Run("baseline_200_footprint_cycle", func(b *testing.B) {
		fps := w.Geometries()
		c0 := cpuTime()
		for b.Loop() {
			e.ResetCache()
			for _, f := range fps {
				if _, err := e.Expose([]orb.Geometry{f}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/cycle")
		b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/cycle")
	})
	// The same 200 footprints in one ExposeEach call, as a sync's overlay
	// measures them.
	b.Run("baseline_200_footprints_each", func(b *testing.B) {
		var sets [][]orb.Geometry
		for _, f := range w.Geometries() {
			sets = append(sets, []orb.Geometry{f})
		}
		c0 := cpuTime()
		for b.Loop() {
			e.ResetCache()
			if _, err := e.ExposeEach(sets); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/cycle")
		b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/cycle")
	})
	b.Run("storm_52x3", func(b *testing.B) {
		hits := 0
		c0 := cpuTime()
		for b.Loop() {
			e.ResetCache()
			hits = 0
			for _, th := range genThresholds {
				areas, err := indicators.EnsembleExposure(e, ev, indicators.EventFilter{Phase: indicators.Forecast}, th)
				if err != nil {
					b.Fatal(err)
				}
				hits += len(areas)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/storm")
		b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/storm")
		b.ReportMetric(float64(hits), "area-thresholds")
	})
}

func pieces(fps []indicators.Footprint) int {
	n := 0
	for _, f := range fps {
		if mp, ok := f.Geometry.(orb.MultiPolygon); ok {
			n += len(mp)
		}
	}
	return n
}

// cpuTime is the process's CPU time: on a shared machine wall time mostly
// measures the neighbours, CPU seconds / 2 cores is the unloaded wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
