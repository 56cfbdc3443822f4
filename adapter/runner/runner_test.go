package runner_test

import (
	"context"
	"errors"
	"sync"
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

// scriptedSource returns the batches it is given, one per fetch.
type scriptedSource struct {
	mu      sync.Mutex
	batches []adapter.Batch
	errs    []error
	calls   int
}

func (s *scriptedSource) Fetch(_ context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.calls
	s.calls++
	if i < len(s.errs) && s.errs[i] != nil {
		return adapter.Batch{}, s.errs[i]
	}
	if i >= len(s.batches) {
		return adapter.Batch{NotModified: true, Cursor: cur}, nil
	}
	return s.batches[i], nil
}

// memSink records deliveries; fail decides per value.
type memSink struct {
	mu        sync.Mutex
	got       map[indicators.Key]indicators.Value
	posts     int
	fail      func(indicators.Value) error
	wholeFail error
}

func (m *memSink) Name() string                                          { return "mem" }
func (m *memSink) Ensure(context.Context, []indicators.Definition) error { return nil }
func (m *memSink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	if m.wholeFail != nil {
		return m.wholeFail
	}
	for _, v := range vals {
		var err error
		if m.fail != nil {
			err = m.fail(v)
		}
		m.mu.Lock()
		m.posts++
		if err == nil {
			if m.got == nil {
				m.got = map[indicators.Key]indicators.Value{}
			}
			m.got[v.Key()] = v
		}
		m.mu.Unlock()
		ack(adapter.Outcome{Value: v, Err: err})
	}
	return nil
}

func rect(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

var t0 = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func setup(t *testing.T, src adapter.Source, sink adapter.Sink) (*runner.Runner, *state.Store) {
	t.Helper()
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return newRunner(st, src, sink), st
}

// sinks is the Setup.Sinks of one sink.
func sinks(s adapter.Sink) map[string]adapter.Sink {
	if s == nil {
		return nil
	}
	return map[string]adapter.Sink{s.Name(): s}
}

// testAreas are two neighbours, W and E.
func testAreas() []indicators.Area {
	return []indicators.Area{
		{Code: "W", Level: 1, Geometry: rect(0, 0, 1, 1), Baseline: indicators.Baseline{Population: indicators.F(1000), Under18: indicators.F(400)}},
		{Code: "E", Level: 1, Geometry: rect(1, 0, 2, 1), Baseline: indicators.Baseline{Population: indicators.F(2000), Under18: indicators.F(1000)}},
	}
}

func newRunner(st adapter.Store, src adapter.Source, sink adapter.Sink) *runner.Runner {
	areas := testAreas()
	cfg := config.Defaults()
	cfg.Sources = map[string]config.SourceSpec{"feed": {Name: "feed", Kind: "test", Enabled: true, Interval: time.Minute}}
	cfg.Indicators = []indicators.Definition{
		{Shortcode: "AL", Name: "Alert", Type: indicators.String, Recipe: "alert_level"},
		{Shortcode: "KIDS", Name: "Kids", Type: indicators.Integer, Recipe: "children_exposed"},
	}
	r := runner.New(runner.Options{Store: st, Clock: func() time.Time { return t0 }})
	r.Configure(runner.Setup{Config: cfg, Areas: areas, Exposure: indicators.NewAreaWeighted(areas), Sinks: sinks(sink),
		Sources: map[string]adapter.Source{"feed": src}})
	return r
}

func quake(id, version string, sev indicators.Severity, g orb.Geometry) indicators.Event {
	return indicators.Event{ID: id, Version: version, Type: indicators.Earthquake, Phase: indicators.Observed,
		Severity: sev, Issued: t0.Add(-time.Hour), Footprints: []indicators.Footprint{{Geometry: g}}}
}

func TestSyncDeliversThenSendsNothingWhenUnchanged(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}}}
	sink := &memSink{}
	r, _ := setup(t, src, sink)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Summary.Values) // alert W,E + kids W,E
	assert.Equal(t, 4, res.Summary.Sent)
	assert.Equal(t, "orange", sink.got[indicators.Key{Indicator: "AL", Date: "2026-11-27", Code: "E"}].Text)
	assert.InDelta(t, 200, sink.got[indicators.Key{Indicator: "KIDS", Date: "2026-11-27", Code: "W"}].Number, 0.5)

	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Summary.Sent)
	assert.Equal(t, 4, res.Summary.Unchanged)
	assert.Equal(t, 4, sink.posts, "no POST for unchanged values")
}

func TestVanishedHazardGetsExplicitZeroToday(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{
		{Complete: true, Events: []indicators.Event{quake("q1", "1", indicators.SeverityRed, rect(0.2, 0.2, 0.8, 0.8))}},
		{Complete: true}, // the event left the feed
	}}
	sink := &memSink{}
	r, _ := setup(t, src, sink)
	_, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, "red", sink.got[indicators.Key{Indicator: "AL", Date: "2026-11-27", Code: "W"}].Text)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Summary.Sent, "alert and kids for W cleared")
	assert.Equal(t, "none", sink.got[indicators.Key{Indicator: "AL", Date: "2026-11-27", Code: "W"}].Text)
	assert.Equal(t, 0.0, sink.got[indicators.Key{Indicator: "KIDS", Date: "2026-11-27", Code: "W"}].Number)
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Summary.Sent, "a cleared value is not cleared again")
}

func TestCrashBetweenOutboxAndDeliveryLosesNothing(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir)
	require.NoError(t, err)
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}}}}
	// The first process dies after delivering one value: the sink's context
	// is cancelled mid-write, as a kill would leave it.
	ctx, cancel := context.WithCancel(context.Background())
	delivered := 0
	dying := &memSink{fail: func(v indicators.Value) error {
		delivered++
		if delivered > 1 {
			cancel()
			return context.Canceled
		}
		return nil
	}}
	r := newRunner(st, src, dying)
	res, _ := r.Once(ctx, runner.SyncOptions{})
	assert.Equal(t, 1, res.Summary.Sent)
	require.NoError(t, st.Close())

	st2, err := state.Open(dir)
	require.NoError(t, err)
	defer st2.Close()
	pending, err := st2.Sink("mem").Pending()
	require.NoError(t, err)
	assert.Len(t, pending, 3, "the undelivered values survived the crash in the outbox")
	healthy := &memSink{}
	r2 := newRunner(st2, src, healthy) // the source now has nothing new
	res, err = r2.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Summary.Sent)
	assert.Equal(t, 0, res.Summary.Pending)
	all := map[indicators.Key]bool{}
	for k := range dying.got {
		all[k] = true
	}
	for k := range healthy.got {
		assert.False(t, all[k], "delivered twice: %v", k)
		all[k] = true
	}
	assert.Len(t, all, 4, "every value delivered exactly once")
}

func TestRejectedValueIsRecordedOthersDelivered(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}}}}
	sink := &memSink{fail: func(v indicators.Value) error {
		if v.Code == "E" && v.Indicator == "AL" {
			return adapter.Classify(adapter.Permanent, "geosight", "", errors.New("Georepo entity does not exist."))
		}
		return nil
	}}
	r, st := setup(t, src, sink)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Summary.Sent)
	assert.Equal(t, 1, res.Summary.Rejected)
	rej, err := st.Sink("mem").Rejections(10)
	require.NoError(t, err)
	require.Len(t, rej, 1)
	assert.Equal(t, "Georepo entity does not exist.", rej[0].Reason)
	_, ok, err := st.Sink("mem").LastDelivered(indicators.Key{Indicator: "AL", Date: "2026-11-27", Code: "E"})
	require.NoError(t, err)
	assert.False(t, ok, "a rejected value is not marked delivered")
	p, _ := st.Sink("mem").Pending()
	assert.Empty(t, p, "and does not block the outbox")
}

func TestRetryableFailureStaysPendingAndAuthFailureMarksNothing(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}}}}
	sink := &memSink{wholeFail: adapter.Classify(adapter.Auth, "geosight", "", errors.New(`HTTP 403: {"detail":"Invalid token."}`))}
	r, st := setup(t, src, sink)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Invalid token.")
	assert.Equal(t, 0, res.Summary.Sent)
	assert.Equal(t, 4, res.Summary.Failed)
	p, _ := st.Sink("mem").Pending()
	assert.Len(t, p, 4, "nothing marked delivered")
	assert.Contains(t, r.Delivery().LastError, "Invalid token.")

	sink.wholeFail = nil
	sink.fail = func(indicators.Value) error {
		return adapter.Classify(adapter.Retryable, "geosight", "", errors.New("HTTP 502"))
	}
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Summary.Failed)
	p, _ = st.Sink("mem").Pending()
	assert.Len(t, p, 4)
}

func TestBrokenSourceNeverStopsOthers(t *testing.T) {
	good := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityRed, rect(0, 0, 1, 1))}}}}
	bad := &scriptedSource{errs: []error{adapter.Classify(adapter.Permanent, "bad", "http://x", errors.New("malformed JSON at line 3"))}}
	panicky := panicSource{}
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	sink := &memSink{}
	r := newRunner(st, good, sink)
	cfg := r.Config()
	cfg.Sources["bad"] = config.SourceSpec{Name: "bad", Kind: "test", Enabled: true}
	cfg.Sources["panicky"] = config.SourceSpec{Name: "panicky", Kind: "test", Enabled: true}
	r.Configure(runner.Setup{Config: cfg, Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()),
		Sources: map[string]adapter.Source{"feed": good, "bad": bad, "panicky": panicky}, Sinks: sinks(sink)})
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Summary.SourceErr)
	assert.Equal(t, "red", sink.got[indicators.Key{Indicator: "AL", Date: "2026-11-27", Code: "W"}].Text)
	for _, h := range r.SourceHealth() {
		switch h.Name {
		case "bad":
			assert.False(t, h.Healthy)
			assert.Contains(t, h.LastError, "malformed JSON at line 3")
			assert.Contains(t, h.LastError, "url=http://x")
		case "panicky":
			assert.Contains(t, h.LastError, "panicked")
		default:
			assert.True(t, h.Healthy)
		}
	}
}

type panicSource struct{}

func (panicSource) Fetch(context.Context, adapter.Cursor) (adapter.Batch, error) { panic("boom") }

func TestIncrementalBatchMergesAndClosedEnds(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{
		{Events: []indicators.Event{quake("a", "1", indicators.SeverityGreen, rect(0, 0, 1, 1)), quake("b", "1", indicators.SeverityGreen, rect(1, 0, 2, 1))}},
		{Events: []indicators.Event{func() indicators.Event {
			e := quake("a", "2", indicators.SeverityGreen, nil)
			e.Closed = true
			return e
		}()}},
	}}
	r, st := setup(t, src, &memSink{})
	require.NoError(t, r.FetchSource(context.Background(), "feed"))
	evs, _ := st.Events("feed")
	assert.Len(t, evs, 2)
	require.NoError(t, r.FetchSource(context.Background(), "feed"))
	evs, _ = st.Events("feed")
	require.Len(t, evs, 1)
	assert.Equal(t, "b", evs[0].ID)
	require.NoError(t, r.FetchSource(context.Background(), "feed")) // not modified
	evs, _ = st.Events("feed")
	assert.Len(t, evs, 1)
}

func TestDryRunSendsAndStoresNothing(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))}}}}
	sink := &memSink{}
	r, st := setup(t, src, sink)
	res, err := r.Once(context.Background(), runner.SyncOptions{DryRun: true})
	require.NoError(t, err)
	assert.Len(t, res.Changed, 4)
	assert.Equal(t, 0, sink.posts)
	p, _ := st.Sink("mem").Pending()
	assert.Empty(t, p)
}

// TestStalePendingValueNeverWins: a process died after queueing a value the
// feed has since taken back (the kill-9 fault run found this). The next sync
// computes the value last delivered again: it must queue it over the stale
// pending one, so GeoSight ends with the current value, not the dead run's.
func TestStalePendingValueNeverWins(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir)
	require.NoError(t, err)
	defer st.Close()
	orange := quake("q1", "1", indicators.SeverityOrange, rect(0, 0, 2, 1))
	red := quake("q1", "2", indicators.SeverityRed, rect(0, 0, 2, 1))
	sink := &memSink{}
	// Sync 1 delivers orange.
	r := newRunner(st, &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{orange}}}}, sink)
	_, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	// Sync 2 sees red, queues it and dies before delivering anything.
	dead := &memSink{wholeFail: context.Canceled}
	r = newRunner(st, &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{red}}}}, dead)
	_, _ = r.Once(context.Background(), runner.SyncOptions{})
	pending, err := st.Sink("mem").Pending()
	require.NoError(t, err)
	require.NotEmpty(t, pending, "red is queued")
	// Sync 3: the feed is back to orange.
	r = newRunner(st, &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{orange}}}}, sink)
	_, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, "orange", sink.got[indicators.Key{Indicator: "AL", Date: "2026-11-27", Code: "W"}].Text,
		"GeoSight holds the current value, not the dead run's")
	pending, err = st.Sink("mem").Pending()
	require.NoError(t, err)
	assert.Empty(t, pending)
}

// TestSyncRecordsItsAsOfClockAndEvents: the summary says which time the
// values were computed for (the replay time here, days before the wall
// clock), and the events behind them are kept for the status map.
func TestSyncRecordsItsAsOfClockAndEvents(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}}}
	r, _ := setup(t, src, &memSink{})
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, t0, res.Summary.AsOf)
	assert.Equal(t, t0, r.LastRun().AsOf)
	assert.WithinDuration(t, time.Now(), r.LastRun().Started, time.Minute, "started stays the wall clock")
	require.Len(t, r.ActiveEvents(), 1)
	assert.Equal(t, "q1", r.ActiveEvents()[0].ID)
}

// fullDiskStore fails every outbox write, as a full disk does.
type fullDiskStore struct{ adapter.Store }

func (s fullDiskStore) Sink(name string) adapter.SinkStore { return fullDiskSink{s.Store.Sink(name)} }

type fullDiskSink struct{ adapter.SinkStore }

func (fullDiskSink) Enqueue([]indicators.Value) error {
	return errors.New("write hazardsync.db: no space left on device")
}

func TestOutboxWriteFailureCountsEveryValueFailed(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}}}
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	sink := &memSink{}
	r := newRunner(fullDiskStore{st}, src, sink)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no space left on device")
	assert.Contains(t, err.Error(), "4 values not queued")
	assert.Equal(t, 4, res.Summary.Failed, "nothing was queued: every changed value failed")
	assert.Equal(t, 0, res.Summary.Sent)
	assert.Zero(t, sink.posts)
	runs, err := st.Runs(1)
	require.NoError(t, err)
	require.Len(t, runs, 1, "the failed run is in the history")
	assert.Equal(t, 4, runs[0].Failed)
}
