package geosight

import (
	"context"
	"slices"
	"sync"
	"time"
)

// adaptive is the number of value POSTs in flight, adapted to the server:
// GeoSight's throughput stops growing once its workers share the CPU (on a
// 2-core server with 4 uwsgi workers, 2 in flight deliver as much as 4 and
// answer twice as fast), and a busy server answers 502. It starts at one,
// which shows the server's unloaded latency, and doubles while throughput
// grows (slow start); then it grows by one while throughput grows or
// latency stays near that best, shrinks by one (not below two) when latency
// rises 30% above it without a throughput gain, and halves on a 5xx or a
// transport error.
// geosight.concurrency is its ceiling.
type adaptive struct {
	mu       sync.Mutex
	cond     *sync.Cond
	limit    int
	max      int
	inflight int

	now        func() time.Time
	winStart   time.Time
	winDone    int
	winLatency time.Duration
	lastRate   float64
	minLatency time.Duration
	recent     []time.Duration // the last windows' mean latencies
	// onChange, when set, is told every new limit (for logs).
	onChange func(limit int, why string)
	// fixed pins the limit (FixConcurrency).
	fixed bool
	// slow: still doubling (slow start); prev is the limit before.
	slow bool
	prev int
}

// latencyFloor is the lowest limit that rising latency alone leads to.
const latencyFloor = 2

// yardstickWindows is how many windows the best latency is taken over.
const yardstickWindows = 10

func newAdaptive(ceiling int) *adaptive {
	a := &adaptive{max: max(1, ceiling), limit: 1, prev: 1, slow: true, now: time.Now}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// Limit is the current concurrency.
func (a *adaptive) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}

// acquire waits for a slot under the current limit.
func (a *adaptive) acquire(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.inflight >= a.limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.cond.Wait()
	}
	a.inflight++
	if a.winStart.IsZero() {
		a.winStart = a.now()
	}
	return nil
}

// release frees a slot; latency is the request's time, congested says the
// server answered 5xx or the connection failed.
func (a *adaptive) release(latency time.Duration, congested bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	defer a.cond.Broadcast()
	if a.fixed {
		return
	}
	if congested {
		a.slow = false
		if a.limit > 1 {
			a.set(max(1, a.limit/2), "server error")
		}
		a.resetWindow()
		return
	}
	a.winDone++
	a.winLatency += latency
	// Judge over a few round trips of the current limit.
	if a.winDone < max(2*a.limit, 8) {
		return
	}
	elapsed := a.now().Sub(a.winStart)
	if elapsed <= 0 {
		elapsed = time.Nanosecond
	}
	rate := float64(a.winDone) / elapsed.Seconds()
	avg := a.winLatency / time.Duration(a.winDone)
	// The yardstick is the best window of the last few, so one lucky
	// window on a noisy server does not weigh forever.
	a.recent = append(a.recent, avg)
	if len(a.recent) > yardstickWindows {
		a.recent = a.recent[1:]
	}
	a.minLatency = slices.Min(a.recent)
	gain := rate > a.lastRate*1.1
	queued := float64(avg) > 1.3*float64(a.minLatency)
	if a.slow {
		if gain && a.limit < a.max {
			a.prev = a.limit
			a.set(min(a.max, 2*a.limit), "slow start: throughput grew")
			a.lastRate = rate
			a.resetWindow()
			return
		}
		a.slow = false
		if !gain && a.limit > a.prev {
			// Doubling bought nothing: back to the last limit that did.
			a.set(a.prev, "slow start over: no gain from doubling")
			a.resetWindow()
			return
		}
	}
	switch {
	case gain && a.limit < a.max:
		a.set(a.limit+1, "throughput grew")
	case queued && !gain && a.limit > latencyFloor:
		// Latency alone never takes it below two: any server with two
		// workers is not hurt by two, and a noisy one would otherwise drift
		// to one. Errors still can.
		a.set(a.limit-1, "latency rose without more throughput")
	case !queued && a.limit < a.max:
		a.set(a.limit+1, "latency near its best")
	}
	a.lastRate = rate
	a.resetWindow()
}

func (a *adaptive) set(n int, why string) {
	if n == a.limit {
		return
	}
	a.limit = n
	if a.onChange != nil {
		a.onChange(n, why)
	}
}

func (a *adaptive) resetWindow() {
	a.winStart, a.winDone, a.winLatency = a.now(), 0, 0
}
