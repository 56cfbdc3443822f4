package runner_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/indicators"
)

// namedSink is a memSink with a name and a switchable whole-sink failure.
type namedSink struct {
	memSink
	name    string
	mu      sync.Mutex
	down    error // every value fails (retryable)
	refuse  error // set-up fails (Ensure)
	ensured int
	release chan struct{} // when set, Write waits for it (a slow sink)
	hang    bool          // Write blocks until its context ends (a hung server)
}

func (n *namedSink) Name() string { return n.name }
func (n *namedSink) Ensure(context.Context, []indicators.Definition) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.refuse != nil {
		return n.refuse
	}
	n.ensured++
	return nil
}
func (n *namedSink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	n.mu.Lock()
	down, release, hang := n.down, n.release, n.hang
	n.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if release != nil {
		<-release
	}
	if down != nil {
		for _, v := range vals {
			ack(adapter.Outcome{Value: v, Err: adapter.Classify(adapter.Retryable, n.name, "", down)})
		}
		return nil
	}
	return n.memSink.Write(ctx, vals, ack)
}

func (n *namedSink) setDown(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = err
}

func (n *namedSink) values() map[indicators.Key]indicators.Value {
	n.memSink.mu.Lock()
	defer n.memSink.mu.Unlock()
	out := map[indicators.Key]indicators.Value{}
	for k, v := range n.memSink.got {
		out[k] = v
	}
	return out
}

func multiRunner(t *testing.T, st adapter.Store, src adapter.Source, sinks ...adapter.Sink) *runner.Runner {
	t.Helper()
	r := newRunner(st, src, nil)
	m := map[string]adapter.Sink{}
	for _, s := range sinks {
		m[s.Name()] = s
	}
	r.Configure(runner.Setup{Config: r.Config(), Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: m})
	return r
}

// TestFailingSinkNeverHoldsBackAnother: with one sink down, the other gets
// every value; the down one keeps them queued and gets them all once it
// recovers, none twice; a sink added later gets everything it lacks.
func TestFailingSinkNeverHoldsBackAnother(t *testing.T) {
	q1 := quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))
	q2 := quake("q1", "2", indicators.SeverityRed, rect(0.5, 0, 1.5, 1))
	src := &scriptedSource{batches: []adapter.Batch{
		{Complete: true, Events: []indicators.Event{q1}}, {NotModified: true}, {Complete: true, Events: []indicators.Event{q2}}}}
	good := &namedSink{name: "good"}
	bad := &namedSink{name: "bad"}
	bad.setDown(errors.New("503 Service Unavailable"))
	r := multiRunner(t, openState(t), src, good, bad)

	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err, "a value that failed is retried, not an error of the sync")
	assert.Equal(t, 4, res.Summary.Sinks["good"].Sent)
	assert.Equal(t, 4, res.Summary.Sinks["bad"].Failed)
	assert.Equal(t, 4, res.Summary.Sinks["bad"].Pending)
	assert.Equal(t, 4, res.Summary.Sent, "totals are the sinks' sums")
	assert.Equal(t, 4, res.Summary.Pending)
	assert.Len(t, good.values(), 4)
	assert.Empty(t, bad.values())
	ds := r.Deliveries()
	require.Len(t, ds, 2)
	assert.Equal(t, "bad", ds[0].Sink)
	assert.Contains(t, ds[0].LastError, "503")
	assert.Equal(t, 4, ds[0].Pending)
	assert.Empty(t, ds[1].LastError)
	assert.Zero(t, ds[1].Pending)
	all := r.Delivery()
	assert.Equal(t, "bad, good", all.Sink)
	assert.Len(t, all.Sinks, 2)

	// Recovery: the down sink catches up; the other is sent nothing again.
	bad.setDown(nil)
	goodPosts := good.posts
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Summary.Sinks["bad"].Sent)
	assert.Zero(t, res.Summary.Sinks["good"].Sent)
	assert.Equal(t, 4, res.Summary.Sinks["good"].Unchanged)
	assert.Equal(t, goodPosts, good.posts, "nothing re-sent to the healthy sink")
	assert.Equal(t, good.values(), bad.values(), "both hold the same values")
	assert.Equal(t, 4, bad.posts, "each value once")

	// A change reaches both; a sink added now gets everything it lacks.
	late := &namedSink{name: "late"}
	r.Configure(runner.Setup{Config: r.Config(), Areas: r.Areas(), Exposure: r.Exposure(),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: map[string]adapter.Sink{"good": good, "bad": bad, "late": late}})
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, res.Summary.Sinks["good"].Sent, res.Summary.Sinks["bad"].Sent)
	assert.Positive(t, res.Summary.Sinks["good"].Sent)
	assert.Len(t, late.values(), 4, "the new sink gets every current value")
	assert.Equal(t, good.values(), late.values())
	assert.Equal(t, good.values(), bad.values())
	assert.Equal(t, 1, good.ensured, "a kept sink is not ensured again")
	assert.Equal(t, 1, late.ensured)
}

// TestSinkEnsureFailureFailsOnlyThatSink: a sink refusing set-up (403)
// fails only its own delivery; the sync's error names it.
func TestSinkEnsureFailureFailsOnlyThatSink(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}}}
	good := &namedSink{name: "good"}
	bad := &namedSink{name: "bad"}
	bad.refuse = adapter.Classify(adapter.Auth, "bad", "", errors.New("403 Forbidden"))
	r := multiRunner(t, openState(t), src, good, bad)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "preparing indicators on bad")
	assert.NotContains(t, err.Error(), "good")
	assert.Equal(t, 4, res.Summary.Sinks["good"].Sent)
	assert.Equal(t, 4, res.Summary.Sinks["bad"].Failed)
	assert.Contains(t, res.Summary.Sinks["bad"].Error, "403")
	assert.Len(t, good.values(), 4)
}

// TestSinksDeliverConcurrently: a slow sink does not delay another's
// delivery within a sync.
func TestSinksDeliverConcurrently(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}}}
	fast := &namedSink{name: "fast"}
	slow := &namedSink{name: "slow", release: make(chan struct{})}
	r := multiRunner(t, openState(t), src, fast, slow)
	done := make(chan error, 1)
	go func() { _, err := r.Once(context.Background(), runner.SyncOptions{}); done <- err }()
	require.Eventually(t, func() bool { return len(fast.values()) == 4 }, 10*time.Second, 5*time.Millisecond,
		"the fast sink delivers while the slow one hangs")
	assert.Empty(t, slow.values())
	close(slow.release)
	require.NoError(t, <-done)
	assert.Len(t, slow.values(), 4)
}

// TestHungSinkHoldsBackOthersAtMostMaxDuration: with several sinks, a
// sink that hangs is given up after delivery.max_duration, so the sync (and
// the others' next one) goes on; what it did not send stays queued and
// goes, once, with the next sync.
func TestHungSinkHoldsBackOthersAtMostMaxDuration(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}, {NotModified: true}}}
	good := &namedSink{name: "good"}
	hung := &namedSink{name: "hung", hang: true}
	st := openState(t)
	r := multiRunner(t, st, src, good, hung)
	cfg := r.Config()
	cfg.Delivery.MaxDuration = 200 * time.Millisecond
	r.Configure(runner.Setup{Config: cfg, Areas: r.Areas(), Exposure: indicators.NewAreaWeighted(r.Areas()),
		Sources: map[string]adapter.Source{"feed": src}, Sinks: map[string]adapter.Sink{"good": good, "hung": hung}})

	done := make(chan error, 1)
	var res runner.SyncResult
	go func() {
		var err error
		res, err = r.Once(context.Background(), runner.SyncOptions{})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the sync waited for the hung sink past delivery.max_duration")
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hung")
	assert.Equal(t, 4, res.Summary.Sinks["good"].Sent)
	assert.Len(t, good.values(), 4)
	n, err := st.Sink("hung").PendingCount()
	require.NoError(t, err)
	assert.Equal(t, 4, n, "the hung sink's values stay queued")

	hung.mu.Lock()
	hung.hang = false
	hung.mu.Unlock()
	postsBefore := good.posts
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Summary.Sinks["hung"].Sent, "the next sync sends what was left")
	assert.Len(t, hung.values(), 4)
	assert.Equal(t, postsBefore, good.posts, "nothing sent twice to the other sink")
}

// TestDryRunQueuesForNoSink: a dry run diffs per sink and queues nothing.
func TestDryRunQueuesForNoSink(t *testing.T) {
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{
		quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))}}}}
	a, b := &namedSink{name: "a"}, &namedSink{name: "b"}
	st := openState(t)
	r := multiRunner(t, st, src, a, b)
	res, err := r.Once(context.Background(), runner.SyncOptions{DryRun: true})
	require.NoError(t, err)
	assert.Len(t, res.Changed, 4, "each value once, whatever the number of sinks")
	for _, n := range []string{"a", "b"} {
		c, err := st.Sink(n).PendingCount()
		require.NoError(t, err)
		assert.Zero(t, c, n)
	}
	assert.Zero(t, a.posts+b.posts)
}

// openState is a fresh state store.
func openState(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}
