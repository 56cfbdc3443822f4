package postgis

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// BenchmarkWrite writes 1000 changed values per iteration three ways and
// reports the one-statement batches' speed as a ratio against one transaction
// per value (batch_size 1, the baseline, measured in the same iteration),
// and what one refused value per batch costs (the savepoint path).
// Run with `make postgis-bench`.
func BenchmarkWrite(b *testing.B) {
	const n = 1000
	d := newDB(b)
	ctx := context.Background()
	sinkWith := func(batch int) *Sink {
		c := d.cfg
		c.BatchSize = batch
		s, err := New(c, slog.New(slog.DiscardHandler))
		require.NoError(b, err)
		b.Cleanup(s.Close)
		_, err = s.Migrate(ctx)
		require.NoError(b, err)
		return s
	}
	pipelined, baseline := sinkWith(500), sinkWith(1)
	values := func(round int, refuse bool) []indicators.Value {
		out := make([]indicators.Value, n)
		for i := range out {
			out[i] = indicators.Value{Indicator: "children_exposed", Code: fmt.Sprintf("A_%04d", i), AdminLevel: 2,
				Date: "2026-03-10", Type: indicators.Integer, Number: float64(round*n + i),
				Attributes: map[string]any{"phase": "observed", "events": "usgs:us1 v1"}}
			if refuse && i%500 == 250 {
				out[i].Date = "2026-02-30"
			}
		}
		return out
	}
	timed := func(s *Sink, vals []indicators.Value) time.Duration {
		start := time.Now()
		require.NoError(b, s.Write(ctx, vals, func(adapter.Outcome) {}))
		return time.Since(start)
	}
	var tPipe, tBase, tRefused time.Duration
	round := 0
	for b.Loop() {
		round++
		tPipe += timed(pipelined, values(3*round, false))
		tBase += timed(baseline, values(3*round+1, false))
		tRefused += timed(pipelined, values(3*round+2, true))
	}
	b.ReportMetric(float64(tPipe.Microseconds())/float64(round*n), "µs/value")
	b.ReportMetric(float64(tBase.Microseconds())/float64(round*n), "baseline-µs/value")
	b.ReportMetric(float64(tBase)/float64(tPipe), "x-faster-than-baseline")
	b.ReportMetric(float64(tRefused)/float64(tPipe), "x-cost-one-refused-per-batch")
}
