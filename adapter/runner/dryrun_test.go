package runner_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// heatForecast names area W with a daily maximum of x °C starting at from.
func heatForecast(version string, x float64, from time.Time) indicators.Event {
	return indicators.Event{ID: "om:heat:W", Version: version, Type: indicators.Heat, Phase: indicators.Forecast,
		Issued: from.Add(-time.Hour), Areas: []string{"W"}, Footprints: []indicators.Footprint{{Geometry: orb.Point{0.5, 0.5},
			Unit: "°C", Value: &x, Intensity: x, ValidFrom: from, ValidTo: from.Add(24 * time.Hour)}}}
}

func warningRunner(t *testing.T, src adapter.Source, sink adapter.Sink) (*runner.Runner, *state.Store) {
	t.Helper()
	r, st := setup(t, src, sink)
	cfg := r.Config()
	cfg.Indicators = append(cfg.Indicators, indicators.Definition{Shortcode: "EW", Name: "Heat warning", Type: indicators.String,
		Recipe: "early_warning_level", Params: map[string]any{"trigger": "heat"}})
	r.Configure(runner.Setup{Config: cfg, Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()), Sinks: sinks(sink),
		Sources: map[string]adapter.Source{"feed": src}})
	return r, st
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// TestDryRunLeavesStateByteIdentical: a dry run fetches, computes and runs
// the warning ledger, but the state file is byte-identical afterwards, and a
// second dry run shows nothing held from the first (once --dry-run wrote 61
// ledger keys and 9 cursor/event sets; the next dry run showed held values).
func TestDryRunLeavesStateByteIdentical(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{
		{Complete: true, Events: []indicators.Event{quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}},
		{Complete: true, Cursor: adapter.Cursor{ETag: `"2"`}, Events: []indicators.Event{heatForecast("2", 45, t0)}},
		{Complete: true, Cursor: adapter.Cursor{ETag: `"3"`}},
	}}
	sink := &memSink{}
	r, st := warningRunner(t, src, sink)
	_, err := r.Once(context.Background(), runner.SyncOptions{}) // a real sync first
	require.NoError(t, err)
	before := fileHash(t, st.Path())

	res, err := r.Once(context.Background(), runner.SyncOptions{DryRun: true})
	require.NoError(t, err)
	lvl := map[string]string{}
	for _, v := range res.Current {
		if v.Indicator == "EW" {
			lvl[v.Code] = v.Text
		}
	}
	require.Equal(t, map[string]string{"W": "warning"}, lvl, "the dry run computes the warning")
	assert.Equal(t, before, fileHash(t, st.Path()), "the dry run wrote to the state")

	res, err = r.Once(context.Background(), runner.SyncOptions{DryRun: true})
	require.NoError(t, err)
	for _, v := range res.Current {
		assert.NotEqual(t, "EW", v.Indicator, "nothing held from the first dry run: %v", v)
	}
	assert.Equal(t, before, fileHash(t, st.Path()))
	cur, err := st.Cursor("feed")
	require.NoError(t, err)
	assert.Empty(t, cur.ETag, "cursor untouched")
	assert.Equal(t, 1, sink.posts/4, "only the real sync posted")
}

// TestHysteresisIsPure: the same (ledger, values, now) always gives the
// same result, and the ledger passed in is never modified.
func TestHysteresisIsPure(t *testing.T) {
	cfg := config.Defaults()
	cfg.Indicators = []indicators.Definition{{Shortcode: "EW", Name: "x", Type: indicators.String, Recipe: "early_warning_level",
		Params: map[string]any{"trigger": "heat"}}}
	areas := []indicators.Area{{Code: "W", Level: 1}, {Code: "E", Level: 1}}
	prev := map[string]runner.LedgerEntry{"EW|W": {Level: "alert", Since: t0.Add(-48 * time.Hour),
		History: []runner.Transition{{Level: "alert", At: t0.Add(-48 * time.Hour)}}}}
	vals := []indicators.Value{{Indicator: "EW", Code: "E", Date: "2026-11-27", Type: indicators.String, Text: "watch"}}
	out1, ent1, ch1 := runner.Hysteresis(cfg, areas, vals, t0, prev)
	out2, ent2, ch2 := runner.Hysteresis(cfg, areas, vals, t0, prev)
	assert.Equal(t, out1, out2)
	assert.Equal(t, ent1, ent2)
	assert.Equal(t, ch1, ch2)
	assert.Len(t, prev["EW|W"].History, 1, "the previous ledger is not modified")
	assert.ElementsMatch(t, []string{"EW|W", "EW|E"}, ch1)
	require.Len(t, out1, 2)
	assert.Equal(t, "alert", out1[1].Text, "W is held at alert until clear_after passes")
	assert.Equal(t, true, out1[1].Attributes["held"])
}

// agingEngine counts the runner's EndSync calls.
type agingEngine struct {
	*indicators.AreaWeighted
	ends int
}

func (a *agingEngine) EndSync() { a.ends++ }

// TestEverySyncEndsTheEnginesSync: the runner tells an engine whose caches
// age by sync (indicators.CacheAger) each time a sync's recipes are done,
// dry runs included.
func TestEverySyncEndsTheEnginesSync(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{
		{Complete: true, Events: []indicators.Event{quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}},
		{Complete: true, Cursor: adapter.Cursor{ETag: `"2"`}},
	}}
	sink := &memSink{}
	r, _ := setup(t, src, sink)
	eng := &agingEngine{AreaWeighted: indicators.NewAreaWeighted(r.Areas())}
	r.Configure(runner.Setup{Config: r.Config(), Areas: r.Areas(), Exposure: eng, Sinks: sinks(sink),
		Sources: map[string]adapter.Source{"feed": src}})
	_, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	_, err = r.Once(context.Background(), runner.SyncOptions{DryRun: true})
	require.NoError(t, err)
	require.Equal(t, 2, eng.ends)
}

// TestKeptValuesShareEqualAttributes: what a real sync keeps for the status
// page holds one map per distinct attribute set, not one per value.
func TestKeptValuesShareEqualAttributes(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{
		{Complete: true, Events: []indicators.Event{quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}},
	}}
	sink := &memSink{}
	r, _ := setup(t, src, sink)
	_, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	byContent := map[string]map[string]any{}
	shared := 0
	for _, v := range r.CurrentValues() {
		if len(v.Attributes) == 0 {
			continue
		}
		k := fmt.Sprint(v.Attributes) // fmt sorts map keys
		if m, ok := byContent[k]; ok {
			require.Equal(t, reflect.ValueOf(m).Pointer(), reflect.ValueOf(v.Attributes).Pointer(), "equal attributes, one map")
			shared++
		} else {
			byContent[k] = v.Attributes
		}
	}
	require.Positive(t, shared, "some values have equal attributes")
}
