package schedule

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// eventually polls cond every millisecond; the 5 s cap only turns a hang
// into a failure, it is not a speed assertion.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func status(s *Scheduler, name string) JobStatus {
	for _, st := range s.Status() {
		if st.Name == name {
			return st
		}
	}
	return JobStatus{}
}

func hasDeadline(c *FakeClock, at time.Time) bool {
	return slices.ContainsFunc(c.Deadlines(), func(d time.Time) bool { return d.Equal(at) })
}

// start runs s in the background and stops it at the end of the test.
func start(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		stopped := make(chan struct{})
		go func() { s.Stop(0); close(stopped) }()
		// A failed test may leave a run that ignores its context; keep a
		// fake clock moving so Stop's own waits can end.
		fake, _ := s.clock.(*FakeClock)
		giveUp := time.After(5 * time.Second)
		for waiting := true; waiting; {
			select {
			case <-stopped:
				waiting = false
			case <-giveUp:
				t.Error("Stop did not return")
				return
			case <-time.After(time.Millisecond):
				if fake != nil {
					fake.Advance(time.Minute)
				}
			}
		}
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Run did not return")
		}
	})
}

func counter(n *atomic.Int32) func(context.Context) error {
	return func(context.Context) error { n.Add(1); return nil }
}

func TestIntervalFires(t *testing.T) {
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	var n atomic.Int32
	s.Update([]Job{{Name: "usgs", Interval: 10 * time.Minute, Run: counter(&n)}})
	start(t, s)

	eventually(t, func() bool { return status(s, "usgs").NextRun.Equal(t0.Add(10 * time.Minute)) }, "first tick armed")
	clock.Advance(9 * time.Minute)
	assert.Equal(t, int32(0), n.Load(), "nothing runs before the tick")

	for i := 1; i <= 3; i++ {
		clock.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		want := t0.Add(time.Duration(i+1) * 10 * time.Minute)
		eventually(t, func() bool {
			st := status(s, "usgs")
			return st.Runs == i && st.NextRun.Equal(want)
		}, "run and next tick")
		assert.Equal(t, int32(i), n.Load())
	}
	st := status(s, "usgs")
	assert.Equal(t, "every 10m0s", st.Schedule)
	assert.Equal(t, t0.Add(30*time.Minute), st.LastStart)
	assert.Empty(t, st.LastError)
	assert.Zero(t, st.Skipped)
}

func TestIntervalDropsMissedTicks(t *testing.T) {
	// After a long stall (suspend, clock jump) the job runs once and goes
	// back on its grid, rather than firing once per missed tick.
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	var n atomic.Int32
	s.Update([]Job{{Name: "gdacs", Interval: 10 * time.Minute, Run: counter(&n)}})
	start(t, s)
	eventually(t, func() bool { return !status(s, "gdacs").NextRun.IsZero() }, "armed")
	clock.Advance(65 * time.Minute)
	eventually(t, func() bool { return status(s, "gdacs").NextRun.Equal(t0.Add(70 * time.Minute)) }, "back on the grid")
	eventually(t, func() bool { return status(s, "gdacs").Runs == 1 }, "one run")
	assert.Equal(t, int32(1), n.Load())
}

func TestCronNextTime(t *testing.T) {
	tests := []struct {
		spec       string
		prev, now  time.Time
		want       time.Time
		wantPeriod time.Duration
	}{
		{"*/15 * * * *", t0.Add(7 * time.Minute), t0.Add(7 * time.Minute), t0.Add(15 * time.Minute), 15 * time.Minute},
		{"0 6,18 * * *", t0, t0, time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC), 12 * time.Hour},
		{"0 6,18 * * *", t0.Add(8 * time.Hour), t0.Add(8 * time.Hour), time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC), 12 * time.Hour},
		// NHC-style advisory hours, local to the zone given.
		{"CRON_TZ=Asia/Kabul 30 6 * * *", t0, t0, time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC), 24 * time.Hour},
		// missed ticks: the next one after now, not after prev
		{"*/15 * * * *", t0, t0.Add(2*time.Hour + 7*time.Minute), t0.Add(2*time.Hour + 15*time.Minute), 15 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			p, err := newPlan(Job{Name: "x", Cron: tc.spec, Run: counter(new(atomic.Int32))})
			require.NoError(t, err)
			got := p.nextBase(tc.prev, tc.now)
			assert.True(t, tc.want.Equal(got), "got %s want %s", got, tc.want)
			assert.Equal(t, tc.wantPeriod, p.period)
			assert.Equal(t, tc.wantPeriod*8/10, p.timeout, "default timeout is 80% of the period")
		})
	}

	// And the scheduler arms its timer there.
	clock := NewFakeClock(t0.Add(7 * time.Minute))
	s := New(nil, clock)
	var n atomic.Int32
	s.Update([]Job{{Name: "nhc", Cron: "*/15 * * * *", Run: counter(&n)}})
	start(t, s)
	eventually(t, func() bool { return status(s, "nhc").NextRun.Equal(t0.Add(15 * time.Minute)) }, "cron tick armed")
	clock.Set(t0.Add(15 * time.Minute))
	eventually(t, func() bool { return status(s, "nhc").NextRun.Equal(t0.Add(30 * time.Minute)) }, "next cron tick")
	eventually(t, func() bool { return n.Load() == 1 }, "cron run")
}

func TestJobValidation(t *testing.T) {
	run := counter(new(atomic.Int32))
	tests := []struct {
		name string
		job  Job
		err  string
	}{
		{"ok interval", Job{Name: "a", Interval: time.Minute, Run: run}, ""},
		{"ok cron", Job{Name: "a", Cron: "0 * * * *", Run: run}, ""},
		{"both", Job{Name: "a", Interval: time.Minute, Cron: "0 * * * *", Run: run}, "not both"},
		{"neither", Job{Name: "a", Run: run}, "needs a positive interval or a cron expression"},
		{"bad cron", Job{Name: "a", Cron: "every hour", Run: run}, `cron "every hour"`},
		{"six-field cron", Job{Name: "a", Cron: "0 0 * * * *", Run: run}, "cron"},
		{"negative jitter", Job{Name: "a", Interval: time.Minute, Jitter: -time.Second, Run: run}, "negative jitter"},
		{"no run", Job{Name: "a", Interval: time.Minute}, "no run function"},
		{"no name", Job{Interval: time.Minute, Run: run}, "no name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.job.Validate()
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.err)
			}
		})
	}

	s := New(nil, NewFakeClock(t0))
	s.Update([]Job{{Name: "bad", Cron: "nope", Run: run}})
	st := s.Status()
	require.Len(t, st, 1)
	assert.Contains(t, st[0].Invalid, `cron "nope"`)
}

func TestTimeoutDefaultsBelowThePeriod(t *testing.T) {
	run := counter(new(atomic.Int32))
	tests := []struct {
		job  Job
		want time.Duration
	}{
		{Job{Name: "a", Interval: 10 * time.Minute, Run: run}, 8 * time.Minute},
		{Job{Name: "a", Interval: 10 * time.Minute, Timeout: 3 * time.Minute, Run: run}, 3 * time.Minute},
		{Job{Name: "a", Interval: 10 * time.Minute, Timeout: 10 * time.Minute, Run: run}, 8 * time.Minute},
		{Job{Name: "a", Interval: 10 * time.Minute, Timeout: time.Hour, Run: run}, 8 * time.Minute},
	}
	for _, tc := range tests {
		p, err := newPlan(tc.job)
		require.NoError(t, err)
		assert.Equal(t, tc.want, p.timeout, "timeout %s", tc.job.Timeout)
	}
}

func TestJitterStaysWithinBounds(t *testing.T) {
	run := counter(new(atomic.Int32))
	tests := []struct {
		name     string
		job      Job
		maxDelay time.Duration
	}{
		{"interval", Job{Name: "a", Interval: 10 * time.Minute, Jitter: 30 * time.Second, Run: run}, 30 * time.Second},
		{"cron", Job{Name: "a", Cron: "*/5 * * * *", Jitter: time.Minute, Run: run}, time.Minute},
		{"capped at half the period", Job{Name: "a", Interval: 4 * time.Minute, Jitter: time.Hour, Run: run}, 2 * time.Minute},
		{"none", Job{Name: "a", Interval: 4 * time.Minute, Run: run}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPlan(tc.job)
			require.NoError(t, err)
			assert.Equal(t, tc.maxDelay, p.jitter)
			seen := map[time.Duration]bool{}
			for range 2000 {
				d := p.jitterDelay()
				require.GreaterOrEqual(t, d, time.Duration(0))
				if tc.maxDelay == 0 {
					require.Zero(t, d)
				} else {
					require.Less(t, d, tc.maxDelay)
				}
				seen[d] = true
			}
			if tc.maxDelay > 0 {
				assert.Greater(t, len(seen), 1000, "delays are spread, not constant")
			}
		})
	}

	// The armed timers land in [tick, tick+jitter).
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	var n atomic.Int32
	s.Update([]Job{{Name: "a", Interval: 10 * time.Minute, Jitter: 30 * time.Second, Run: counter(&n)}})
	start(t, s)
	for i := 1; i <= 20; i++ {
		tick := t0.Add(time.Duration(i) * 10 * time.Minute)
		var next time.Time
		eventually(t, func() bool { next = status(s, "a").NextRun; return !next.Before(tick) }, "armed")
		require.False(t, next.Before(tick), "tick %d at %s", i, next)
		require.True(t, next.Before(tick.Add(30*time.Second)), "tick %d at %s", i, next)
		clock.Set(next)
	}
}

func TestOverlappingRunIsSkipped(t *testing.T) {
	clock := NewFakeClock(t0)
	logs := &testutil.SyncBuffer{}
	s := New(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), clock)
	var concurrent, maxConcurrent, runs atomic.Int32
	release := make(chan struct{})
	s.Update([]Job{{Name: "slow", Interval: time.Minute, Run: func(ctx context.Context) error {
		c := concurrent.Add(1)
		defer concurrent.Add(-1)
		if c > maxConcurrent.Load() {
			maxConcurrent.Store(c)
		}
		runs.Add(1)
		<-release // ignores its context: the worst case for overlap
		return nil
	}}})
	start(t, s)

	eventually(t, func() bool { return !status(s, "slow").NextRun.IsZero() }, "armed")
	clock.Advance(time.Minute)
	eventually(t, func() bool { return status(s, "slow").Running }, "first run going")
	for i := 2; i <= 4; i++ {
		clock.Set(t0.Add(time.Duration(i) * time.Minute))
		eventually(t, func() bool { return status(s, "slow").Skipped == i-1 }, "tick skipped")
	}
	assert.Equal(t, 3, strings.Count(logs.String(), "level=WARN"), logs.String())
	// A trigger (what every config reload does) is served by the running
	// run: not a skip, no warning.
	s.TriggerAll()
	eventually(t, func() bool { return strings.Contains(logs.String(), "trigger is served by it") }, "trigger seen")
	assert.Equal(t, 3, status(s, "slow").Skipped)
	assert.Equal(t, 3, strings.Count(logs.String(), "level=WARN"), "a trigger while running is not a warning")
	assert.Equal(t, int32(1), runs.Load())

	close(release)
	eventually(t, func() bool { return !status(s, "slow").Running }, "run finished")
	clock.Set(t0.Add(5 * time.Minute))
	eventually(t, func() bool { return runs.Load() == 2 }, "next tick runs again")
	assert.Equal(t, int32(1), maxConcurrent.Load())
}

func TestTimeoutCancelsRunContext(t *testing.T) {
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	type seen struct {
		deadline time.Time
		err      error
	}
	got := make(chan seen, 1)
	s.Update([]Job{{Name: "hang", Interval: 10 * time.Minute, Timeout: 2 * time.Minute, Run: func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		<-ctx.Done()
		got <- seen{dl, ctx.Err()}
		return ctx.Err()
	}}})
	start(t, s)
	eventually(t, func() bool { return !status(s, "hang").NextRun.IsZero() }, "armed")
	clock.Advance(10 * time.Minute)
	eventually(t, func() bool { return status(s, "hang").Running }, "running")
	clock.Advance(time.Minute)
	assert.Empty(t, got, "not cancelled before the timeout")
	clock.Advance(time.Minute)
	var r seen
	select {
	case r = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("run context was not cancelled at its timeout")
	}
	assert.True(t, r.deadline.Equal(t0.Add(12*time.Minute)), "deadline %s", r.deadline)
	assert.ErrorIs(t, r.err, context.DeadlineExceeded)
	eventually(t, func() bool { return !status(s, "hang").Running }, "finished")
	assert.Contains(t, status(s, "hang").LastError, "exceeded its timeout of 2m0s")
}

func TestUpdateKeepsUnchangedAndRestartsChanged(t *testing.T) {
	clock := NewFakeClock(t0)
	s := New(nil, clock)

	probes := map[string]*probe{}
	blocking := func(name string) func(context.Context) error {
		p := &probe{release: make(chan struct{})}
		probes[name] = p
		return func(ctx context.Context) error {
			p.started.Add(1)
			select {
			case <-p.release:
			case <-ctx.Done():
				p.ctxErr.Store(ctx.Err())
			}
			p.finished.Add(1)
			return nil
		}
	}
	keep := Job{Name: "keep", Interval: 10 * time.Minute, RunAtStart: true, Spec: "h1", Run: blocking("keep")}
	change := Job{Name: "change", Interval: 10 * time.Minute, RunAtStart: true, Spec: "h1", Run: blocking("change")}
	drop := Job{Name: "drop", Interval: 10 * time.Minute, RunAtStart: true, Spec: "h1", Run: blocking("drop")}
	s.Update([]Job{keep, change, drop})
	start(t, s)
	for _, name := range []string{"keep", "change", "drop"} {
		eventually(t, func() bool { st := status(s, name); return st.Running && !st.NextRun.IsZero() }, name+" running")
	}
	clock.Advance(5 * time.Minute)

	var added atomic.Int32
	keep2 := keep
	keep2.Run = blocking("keep2")
	change2 := change
	change2.Spec = "h2" // config changed, same timing
	change2.Interval = 20 * time.Minute
	s.Update([]Job{keep2, change2, {Name: "new", Interval: 10 * time.Minute, Run: counter(&added)}})

	eventually(t, func() bool { return status(s, "new").NextRun.Equal(t0.Add(15 * time.Minute)) }, "new job armed")
	eventually(t, func() bool { return status(s, "change").NextRun.Equal(t0.Add(25 * time.Minute)) }, "changed job re-armed")
	st := status(s, "keep")
	assert.True(t, st.NextRun.Equal(t0.Add(10*time.Minute)), "unchanged job keeps its timer: %s", st.NextRun)
	assert.True(t, st.Running, "unchanged job keeps its in-flight run")
	// The restarted job's RunAtStart met its own in-flight run: skipped, so
	// two runs of one source never overlap across a restart.
	eventually(t, func() bool { return status(s, "change").Skipped == 1 }, "restart skipped while running")
	assert.Equal(t, int32(1), probes["change"].started.Load())

	names := []string{}
	for _, st := range s.Status() {
		names = append(names, st.Name)
	}
	assert.Equal(t, []string{"change", "keep", "new"}, names, "removed job leaves the status")
	assert.Nil(t, probes["drop"].ctxErr.Load(), "removed job's in-flight run is left to finish")
	close(probes["drop"].release)
	eventually(t, func() bool { return probes["drop"].finished.Load() == 1 }, "drop finished")

	// Unchanged job's next run uses the new Run func.
	close(probes["keep"].release)
	eventually(t, func() bool { return !status(s, "keep").Running }, "keep finished")
	clock.Set(t0.Add(10 * time.Minute))
	eventually(t, func() bool { return probes["keep2"].started.Load() == 1 }, "keep's next run uses the new func")
	clock.Set(t0.Add(15 * time.Minute))
	eventually(t, func() bool { return added.Load() == 1 }, "new job ran")
	assert.Equal(t, int32(1), probes["drop"].started.Load(), "removed job never runs again")
	assert.Nil(t, probes["keep"].ctxErr.Load())
	close(probes["change"].release)
	close(probes["keep2"].release)
}

// probe is a run that blocks until released or cancelled.
type probe struct {
	started  atomic.Int32
	release  chan struct{}
	ctxErr   atomic.Value
	finished atomic.Int32
}

func TestTriggerAllRunsEveryJobWithoutMovingTheSchedule(t *testing.T) {
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	var a, b atomic.Int32
	s.Update([]Job{{Name: "a", Interval: 10 * time.Minute, Run: counter(&a)}, {Name: "b", Cron: "0 * * * *", Run: counter(&b)}})
	start(t, s)
	eventually(t, func() bool { return !status(s, "a").NextRun.IsZero() && !status(s, "b").NextRun.IsZero() }, "armed")
	clock.Advance(time.Minute)
	s.TriggerAll()
	eventually(t, func() bool { return a.Load() == 1 && b.Load() == 1 }, "both ran")
	assert.True(t, status(s, "a").NextRun.Equal(t0.Add(10*time.Minute)))
	assert.True(t, status(s, "b").NextRun.Equal(t0.Add(time.Hour)))
}

func TestPanickingRunIsAnError(t *testing.T) {
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	s.Update([]Job{{Name: "p", Interval: time.Minute, RunAtStart: true, Run: func(context.Context) error { panic("boom") }}})
	start(t, s)
	eventually(t, func() bool { return status(s, "p").Runs == 1 }, "run recorded")
	assert.Equal(t, "run panicked: boom", status(s, "p").LastError)
}

func TestStopDrainsWithGraceThenCancels(t *testing.T) {
	tests := []struct {
		name       string
		finishSelf bool // the run returns by itself within the grace
		wantErr    error
	}{
		{"run finishes within grace", true, nil},
		{"run cancelled after grace", false, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewFakeClock(t0)
			s := New(nil, clock)
			release := make(chan struct{})
			ctxErr := make(chan error, 1)
			s.Update([]Job{{Name: "sync", Interval: time.Hour, RunAtStart: true, Run: func(ctx context.Context) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				ctxErr <- ctx.Err()
				return nil
			}}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runDone := make(chan error, 1)
			go func() { runDone <- s.Run(ctx) }()
			eventually(t, func() bool { return status(s, "sync").Running }, "running")

			stopDone := make(chan struct{})
			go func() { s.Stop(10 * time.Minute); close(stopDone) }()
			eventually(t, func() bool { return hasDeadline(clock, t0.Add(10*time.Minute)) }, "grace timer armed")
			select {
			case <-stopDone:
				t.Fatal("Stop returned while a run was in flight")
			default:
			}
			if tc.finishSelf {
				close(release)
			} else {
				clock.Advance(9 * time.Minute)
				assert.Empty(t, ctxErr, "not cancelled before the grace ends")
				clock.Advance(time.Minute)
			}
			select {
			case <-stopDone:
			case <-time.After(5 * time.Second):
				t.Fatal("Stop did not return")
			}
			assert.Equal(t, tc.wantErr, <-ctxErr)
			select {
			case err := <-runDone:
				assert.NoError(t, err)
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after Stop")
			}
			// Stopped: ticks and triggers start nothing.
			s.TriggerAll()
			clock.Advance(2 * time.Hour)
			assert.Equal(t, 1, status(s, "sync").Runs)
		})
	}
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	s := New(nil, NewFakeClock(t0))
	var n atomic.Int32
	s.Update([]Job{{Name: "a", Interval: time.Minute, RunAtStart: true, Run: counter(&n)}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	eventually(t, func() bool { return status(s, "a").Runs == 1 }, "ran")
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	assert.Error(t, s.Run(context.Background()), "Run twice is refused")
}

func TestStopAfterContextEndUsesItsGrace(t *testing.T) {
	// The daemon cancels Run's ctx and then calls Stop(configured grace);
	// the configured grace must win over DefaultGrace.
	clock := NewFakeClock(t0)
	s := New(nil, clock)
	ctxErr := make(chan error, 1)
	s.Update([]Job{{Name: "sync", Interval: time.Hour, RunAtStart: true, Run: func(ctx context.Context) error {
		<-ctx.Done()
		ctxErr <- ctx.Err()
		return nil
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(ctx) }()
	eventually(t, func() bool { return status(s, "sync").Running }, "running")
	cancel()
	eventually(t, func() bool { return hasDeadline(clock, t0.Add(DefaultGrace)) }, "Run's default grace armed")
	stopDone := make(chan struct{})
	go func() { s.Stop(10 * time.Second); close(stopDone) }()
	eventually(t, func() bool { return hasDeadline(clock, t0.Add(10*time.Second)) }, "Stop's grace armed")
	assert.False(t, hasDeadline(clock, t0.Add(DefaultGrace)), "default grace replaced")
	clock.Advance(10 * time.Second)
	select {
	case <-stopDone:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	assert.Equal(t, context.Canceled, <-ctxErr)
	require.NoError(t, <-runDone)
}

func TestRunContextValuesReachRuns(t *testing.T) {
	type key struct{}
	s := New(nil, NewFakeClock(t0))
	got := make(chan any, 1)
	s.Update([]Job{{Name: "a", Interval: time.Minute, RunAtStart: true, Run: func(ctx context.Context) error {
		got <- ctx.Value(key{})
		return nil
	}}})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "request-id"))
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	select {
	case v := <-got:
		assert.Equal(t, "request-id", v)
	case <-time.After(5 * time.Second):
		t.Fatal("no run")
	}
	cancel()
	s.Stop(0)
}

func TestRealClock(t *testing.T) {
	s := New(nil, nil)
	var n atomic.Int32
	s.Update([]Job{{Name: "fast", Interval: 2 * time.Millisecond, Run: counter(&n)}})
	start(t, s)
	eventually(t, func() bool { return n.Load() >= 2 }, "two real ticks")

	ctx, cancel := RealClock{}.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	assert.True(t, errors.Is(ctx.Err(), context.DeadlineExceeded))
}
