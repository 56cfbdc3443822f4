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

// clockRunner is newRunner with a movable clock and a dating mode.
func clockRunner(t *testing.T, src adapter.Source, sink adapter.Sink, dating string, now *time.Time) *runner.Runner {
	t.Helper()
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r := newRunner(st, src, sink)
	cfg := r.Config()
	cfg.Delivery.Dating = dating
	r.Configure(runner.Setup{Config: cfg, Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: sinks(sink), Clock: func() time.Time { return *now }})
	return r
}

// TestDatingByChangeMultiDay simulates days of syncs: an unchanged value is
// never re-sent (day 2 sends 0 values where it used to re-send every value
// as an insert), a change is dated the day it happened, and a hazard that
// goes away still gets an explicit 0 / none, even ten days after its value
// was sent (beyond the old 7-day look-back).
func TestDatingByChangeMultiDay(t *testing.T) {
	q := quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))
	q2 := quake("q1", "2", indicators.SeverityRed, rect(0.5, 0, 1.5, 1))
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	src := &scriptedSource{batches: []adapter.Batch{
		{Complete: true, Events: []indicators.Event{q}},  // day 0
		{Complete: true, Events: []indicators.Event{q}},  // day 1: same
		{Complete: true, Events: []indicators.Event{q}},  // day 2: same
		{Complete: true, Events: []indicators.Event{q2}}, // day 3: red
	}}
	sink := &memSink{}
	now := day(0)
	r := clockRunner(t, src, sink, config.DatingOnChange, &now)
	sync := func(n int) runner.SyncResult {
		now = day(n)
		res, err := r.Once(context.Background(), runner.SyncOptions{})
		require.NoError(t, err)
		return res
	}
	res := sync(0)
	require.Equal(t, 4, res.Summary.Sent)
	for n := 1; n <= 2; n++ {
		res = sync(n)
		assert.Zero(t, res.Summary.Sent, "day %d: nothing changed, nothing sent", n)
		assert.Equal(t, 4, res.Summary.Unchanged)
	}
	res = sync(3)
	// The alert levels changed (orange → red); the children counts carry
	// the new event version in their provenance.
	require.Len(t, res.Changed, 4)
	for _, v := range res.Changed {
		assert.Equal(t, indicators.Date("2026-11-30"), v.Date, "dated the day it changed")
	}
	for n := 4; n <= 13; n++ {
		res = sync(n) // the feed says "not modified": the event stays
		assert.Zero(t, res.Summary.Sent, "day %d", n)
	}
	// Day 14: the event is closed upstream.
	src.mu.Lock()
	src.batches = append(make([]adapter.Batch, src.calls), adapter.Batch{Complete: true})
	src.mu.Unlock()
	res = sync(14)
	got := map[string]any{}
	for _, v := range res.Changed {
		assert.Equal(t, indicators.Date("2026-12-11"), v.Date)
		got[v.Indicator+"|"+v.Code] = v.Payload()
	}
	assert.Equal(t, map[string]any{"AL|W": "none", "AL|E": "none", "KIDS|W": 0.0, "KIDS|E": 0.0}, got,
		"stale values cleared though sent 14 days ago")
	res = sync(15)
	assert.Zero(t, res.Summary.Sent, "a cleared value is not cleared again")
	// GeoSight holds the first value on day 0, the change on day 3 and the
	// clearing on day 14: 3 × 4 rows, not 4 per day (64).
	assert.Len(t, sink.got, 12)
}

// TestDatingDailySnapshot: the opt-in daily mode re-dates and re-sends
// every value every day.
func TestDatingDailySnapshot(t *testing.T) {
	q := quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{q}}}}
	sink := &memSink{}
	now := t0
	r := clockRunner(t, src, sink, config.DatingDaily, &now)
	_, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Summary.Sent, "same day: nothing")
	now = t0.AddDate(0, 0, 1)
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Summary.Sent, "a new day: a full snapshot")
	for _, v := range res.Changed {
		assert.Equal(t, indicators.Date("2026-11-28"), v.Date)
	}
}

// TestUnchangedWarningNotResent: a warning whose forecast did not change is
// not re-sent by later syncs: the level value carries when the level is
// first reached, not a lead time that shrinks every sync (with lead times
// counted from now, every warned area was re-sent at every sync).
func TestUnchangedWarningNotResent(t *testing.T) {
	fc := heatForecast("1", 45, t0.Add(30*time.Hour))
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{fc}}}}
	sink := &memSink{}
	r, _ := warningRunner(t, src, sink)
	now := t0
	cfg := r.Config()
	r.Configure(runner.Setup{Config: cfg, Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: sinks(sink), Clock: func() time.Time { return now }})
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	var ew *indicators.Value
	for i, v := range res.Changed {
		if v.Indicator == "EW" {
			ew = &res.Changed[i]
		}
	}
	require.NotNil(t, ew, "the warning is sent once")
	for _, later := range []time.Duration{10 * time.Minute, 2 * time.Hour, 9 * time.Hour} {
		now = t0.Add(later)
		res, err = r.Once(context.Background(), runner.SyncOptions{})
		require.NoError(t, err)
		assert.Zero(t, res.Summary.Sent, "%s later, nothing changed", later)
		ws := r.Warnings()
		require.Len(t, ws, 1)
		assert.Equal(t, indicators.WholeLeadHours((30*time.Hour - later).Hours()), ws[0].LeadTimeHours, "the status page's lead time still counts down")
	}
}

// countingStore counts the delivered-value reads a sync makes.
type countingStore struct {
	adapter.Store
	lastDelivered, deliveredOn int
}

func (c *countingStore) Sink(name string) adapter.SinkStore {
	return countingSink{SinkStore: c.Store.Sink(name), c: c}
}

type countingSink struct {
	adapter.SinkStore
	c *countingStore
}

func (c countingSink) LastDelivered(k indicators.Key) (indicators.Value, bool, error) {
	c.c.lastDelivered++
	return c.SinkStore.LastDelivered(k)
}

func (c countingSink) DeliveredOn(d indicators.Date) ([]indicators.Value, error) {
	c.c.deliveredOn++
	return c.SinkStore.DeliveredOn(d)
}

// TestDailyDiffReadsEachDayOnce: comparing with what was delivered reads
// each date's delivered values once, not the store once per value (a
// transaction per value was a fifth of a country-scale sync where nothing
// changed).
func TestDailyDiffReadsEachDayOnce(t *testing.T) {
	q := quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{q}}}}
	sink := &memSink{}
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	r := newRunner(cs, src, sink)
	cfg := r.Config()
	cfg.Delivery.Dating = config.DatingDaily
	r.Configure(runner.Setup{Config: cfg, Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: sinks(sink)})
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, 4, res.Summary.Sent)

	cs.lastDelivered, cs.deliveredOn = 0, 0
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Summary.Sent, "nothing changed: nothing sent")
	assert.Equal(t, 4, res.Summary.Unchanged)
	assert.Zero(t, cs.lastDelivered, "no read per value")
	assert.Equal(t, 1, cs.deliveredOn, "one read of the day")
}
