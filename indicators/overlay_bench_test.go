package indicators_test

import (
	"testing"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid/bench"
)

// BenchmarkOverlay measures the exact overlay of make bench-e2e's country
// (5,040 admin-2 areas of 300 vertices, 200 footprints of 64–800 vertices)
// on one goroutine: "cold" prepares every area a footprint meets (a sync's
// first overlay), "warm" has them prepared (only the pairs are measured).
func BenchmarkOverlay(b *testing.B) {
	w := bench.Shapes(bench.Size{AreasX: 72, AreasY: 70, EdgeSegments: 75, Footprints: 200}, 1)
	fps := make([]orb.Geometry, len(w.Footprints))
	for i, f := range w.Footprints {
		fps[i] = f.Geometry
	}
	run := func(b *testing.B, o *indicators.Overlay) {
		n := 0
		for _, g := range fps {
			n += len(o.Measure(g))
		}
		if n == 0 {
			b.Fatal("no pairs")
		}
		b.ReportMetric(float64(n), "pairs")
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			run(b, indicators.NewOverlay(w.Areas, indicators.OverlayOptions{}))
		}
	})
	b.Run("warm", func(b *testing.B) {
		o := indicators.NewOverlay(w.Areas, indicators.OverlayOptions{})
		run(b, o)
		for b.Loop() {
			run(b, o)
		}
	})
}
