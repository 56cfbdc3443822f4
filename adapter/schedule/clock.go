package schedule

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// Clock is the scheduler's notion of time. Everything that waits goes
// through it (ticks, run timeouts, the shutdown grace), so tests drive the
// scheduler with FakeClock instead of sleeping.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
	// WithTimeout is context.WithTimeout on this clock.
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// Timer is the part of *time.Timer the scheduler uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (RealClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// FakeClock is a manual clock for tests: time moves only when Advance or Set
// is called, and timers due by then fire at that moment.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

// NewFakeClock starts a fake clock at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

type fakeTimer struct {
	clock *FakeClock
	at    time.Time
	ch    chan time.Time
	fn    func()
}

func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *FakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// afterFunc runs fn in its own goroutine once d has passed; the returned
// func cancels it.
func (c *FakeClock) afterFunc(d time.Duration, fn func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: c.now.Add(d), fn: fn}
	if d <= 0 {
		go fn()
		return func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return t.Stop
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// WithTimeout cancels the context when the fake clock passes the deadline;
// its Err is then context.DeadlineExceeded, as with the real one.
func (c *FakeClock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	deadline := c.Now().Add(d)
	stop := c.afterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return &fakeDeadlineCtx{Context: ctx, deadline: deadline}, func() { stop(); cancel(context.Canceled) }
}

type fakeDeadlineCtx struct {
	context.Context
	deadline time.Time
}

func (c *fakeDeadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *fakeDeadlineCtx) Err() error {
	err := c.Context.Err()
	if err != nil && errors.Is(context.Cause(c.Context), context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// Advance moves the clock forward by d, firing every timer due by then in
// deadline order.
func (c *FakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Set moves the clock to t (never backwards), firing due timers.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	var due, rest []*fakeTimer
	for _, x := range c.timers {
		if !x.at.After(c.now) {
			due = append(due, x)
		} else {
			rest = append(rest, x)
		}
	}
	c.timers = rest
	now := c.now
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, x := range due {
		if x.fn != nil {
			go x.fn()
			continue
		}
		select {
		case x.ch <- now:
		default:
		}
	}
}

// Timers is the number of timers waiting to fire, so tests can wait until
// the code under test has armed its timers before advancing.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Deadlines lists the pending timers' fire times, earliest first.
func (c *FakeClock) Deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Time, len(c.timers))
	for i, t := range c.timers {
		out[i] = t.at
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}
