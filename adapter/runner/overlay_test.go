package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// The runner keeps one overlay across syncs (and across a reload that keeps
// the areas): a sync where no footprint changed measures nothing.
func TestRunnerOverlayReusedAcrossSyncs(t *testing.T) {
	ev := []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1)),
		quake("q2", "1", indicators.SeverityRed, rect(1.2, 0.2, 1.4, 0.4)),
	}
	moved := []indicators.Event{ev[0], quake("q2", "2", indicators.SeverityRed, rect(1.3, 0.2, 1.5, 0.4))}
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: ev}, {NotModified: true}, {Complete: true, Events: moved}}}
	store, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	sink := &memSink{}
	r := runner.New(runner.Options{Store: store, Metrics: adapter.NewMetrics(), Clock: func() time.Time { return t0 }})
	r.Configure(runner.Setup{Config: newRunner(store, src, sink).Config(), Areas: testAreas(), Exposure: indicators.NewAreaWeighted(testAreas()),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: sinks(sink)})
	sync := func() indicators.OverlayStats {
		res, err := r.Once(context.Background(), runner.SyncOptions{})
		require.NoError(t, err)
		return res.Overlay
	}
	st := sync()
	assert.Equal(t, [4]int{2, 2, 0, 3}, [4]int{st.Footprints, st.Computed, st.Reused, st.Pairs}, "q1 hits W and E, q2 hits E")
	st = sync()
	assert.Equal(t, [4]int{2, 0, 2, 3}, [4]int{st.Footprints, st.Computed, st.Reused, st.Pairs}, "nothing changed: nothing measured")

	// A reload with equal areas (a new slice) keeps the cache; q2 moved:
	// only it is measured.
	areas := []indicators.Area{
		{Code: "W", Level: 1, Geometry: rect(0, 0, 1, 1), Baseline: indicators.Baseline{Population: indicators.F(1000), Under18: indicators.F(400)}},
		{Code: "E", Level: 1, Geometry: rect(1, 0, 2, 1), Baseline: indicators.Baseline{Population: indicators.F(2000), Under18: indicators.F(1000)}},
	}
	cfg := config.Defaults()
	cfg.Sources = map[string]config.SourceSpec{"feed": {Name: "feed", Kind: "test", Enabled: true, Interval: time.Minute}}
	cfg.Indicators = []indicators.Definition{{Shortcode: "AL", Name: "Alert", Type: indicators.String, Recipe: "alert_level"}}
	r.Configure(runner.Setup{Config: cfg, Areas: areas, Exposure: indicators.NewAreaWeighted(areas), Sources: map[string]adapter.Source{"feed": src}, Sinks: sinks(sink)})
	st = sync()
	assert.Equal(t, [4]int{2, 1, 1, 3}, [4]int{st.Footprints, st.Computed, st.Reused, st.Pairs})

	// Other areas: everything is measured again.
	areas[1].Geometry = rect(1, 0, 2, 2)
	r.Configure(runner.Setup{Config: cfg, Areas: areas, Exposure: indicators.NewAreaWeighted(areas), Sources: map[string]adapter.Source{"feed": src}, Sinks: sinks(sink)})
	st = sync()
	assert.Equal(t, 2, st.Computed)
}
