// Package schedule runs each source on its own interval or cron schedule:
// at most one run per source at a time (a tick that finds the previous run
// still going is skipped and counted; a manual trigger is served by it), each run bounded by a timeout below
// its period, jitter to spread polls, and hot updates that restart only the
// jobs whose schedule or config changed.
package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultGrace is how long Run lets in-flight runs finish after its context
// ends, unless Stop was called with another grace.
const DefaultGrace = 30 * time.Second

// cancelWait bounds the wait for runs to return after their contexts were
// cancelled: a run that ignores its context must not hang shutdown.
const cancelWait = 5 * time.Second

// Job is one scheduled task, usually one source's sync.
type Job struct {
	Name string
	// Exactly one of Interval and Cron (standard 5 fields, evaluated in UTC
	// unless prefixed with CRON_TZ=<zone>).
	Interval time.Duration
	Cron     string
	// Jitter delays each run by a random amount in [0, Jitter), capped at
	// half the period so runs keep their order.
	Jitter time.Duration
	// Timeout bounds one run (context deadline); zero or a value not below
	// the period means 80% of the period.
	Timeout    time.Duration
	RunAtStart bool
	// Spec is an opaque hash of the job's config: a changed Spec restarts
	// the job on Update even if its timing did not change.
	Spec string
	Run  func(ctx context.Context) error
}

// Validate reports what is wrong with the job's schedule.
func (j Job) Validate() error {
	_, err := newPlan(j)
	return err
}

// JobStatus is one job's state for the status page and metrics.
type JobStatus struct {
	Name      string    `json:"name"`
	Schedule  string    `json:"schedule"`
	Running   bool      `json:"running"`
	LastStart time.Time `json:"last_start,omitzero"`
	LastEnd   time.Time `json:"last_end,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	NextRun   time.Time `json:"next_run,omitzero"`
	Runs      int       `json:"runs"`
	Skipped   int       `json:"skipped"`
	// Invalid is set when the job's schedule was refused; it never runs.
	Invalid string `json:"invalid,omitempty"`
}

// plan is a validated job's timing.
type plan struct {
	interval time.Duration
	cron     cron.Schedule
	period   time.Duration
	jitter   time.Duration
	timeout  time.Duration
	desc     string
}

func newPlan(j Job) (plan, error) {
	var p plan
	switch {
	case j.Name == "":
		return p, errors.New("job has no name")
	case j.Run == nil:
		return p, fmt.Errorf("job %s: no run function", j.Name)
	case j.Interval != 0 && j.Cron != "":
		return p, fmt.Errorf("job %s: give interval or cron, not both", j.Name)
	case j.Cron != "":
		sched, err := cron.ParseStandard(j.Cron)
		if err != nil {
			return p, fmt.Errorf("job %s: cron %q: %v", j.Name, j.Cron, err)
		}
		p.cron, p.desc = sched, "cron "+j.Cron
		// The shortest gap over the next few firings stands in for the
		// period (cron gaps vary: "0 6,18 * * *" has 12 h, "*/5" has 5 m).
		t := sched.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		for range 8 {
			n := sched.Next(t)
			if g := n.Sub(t); p.period == 0 || g < p.period {
				p.period = g
			}
			t = n
		}
	case j.Interval > 0:
		p.interval, p.period, p.desc = j.Interval, j.Interval, "every "+j.Interval.String()
	default:
		return p, fmt.Errorf("job %s: needs a positive interval or a cron expression", j.Name)
	}
	if j.Jitter < 0 {
		return p, fmt.Errorf("job %s: negative jitter %s", j.Name, j.Jitter)
	}
	p.jitter = min(j.Jitter, p.period/2)
	p.timeout = j.Timeout
	if p.timeout <= 0 || p.timeout >= p.period {
		p.timeout = p.period * 8 / 10
	}
	return p, nil
}

// nextBase is the next scheduled time after prev that is also after now
// (missed ticks are dropped, not caught up one by one).
func (p plan) nextBase(prev, now time.Time) time.Time {
	if p.cron != nil {
		b := p.cron.Next(prev.UTC())
		if !b.After(now) {
			b = p.cron.Next(now.UTC())
		}
		return b
	}
	b := prev.Add(p.interval)
	if !b.After(now) {
		b = b.Add((now.Sub(b)/p.interval + 1) * p.interval)
	}
	return b
}

func (p plan) jitterDelay() time.Duration {
	if p.jitter <= 0 {
		return 0
	}
	return rand.N(p.jitter)
}

// specHash says whether two versions of a job are the same job.
func specHash(j Job) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s\x00%d\x00%d\x00%t\x00%s", j.Interval, j.Cron, j.Jitter, j.Timeout, j.RunAtStart, j.Spec))
	return hex.EncodeToString(h[:8])
}

// jobState is one named job across updates; its running flag is what keeps
// two runs of the same name from overlapping, even across a restart.
type jobState struct {
	job     Job
	plan    plan
	hash    string
	invalid error
	removed bool

	loopStop chan struct{} // nil when no loop is running
	trigger  chan struct{}

	running   bool
	lastStart time.Time
	lastEnd   time.Time
	lastErr   error
	next      time.Time
	runs      int
	skipped   int
}

// Scheduler runs jobs. Create with New, give it jobs with Update, then Run.
type Scheduler struct {
	log   *slog.Logger
	clock Clock

	mu       sync.Mutex
	jobs     map[string]*jobState
	started  bool
	stopping bool

	base       context.Context // parent of every run's context
	cancelRuns context.CancelFunc
	runs       sync.WaitGroup
	loops      sync.WaitGroup

	stopOnce     sync.Once
	explicitStop bool               // the stop under way came from Stop, not from Run's ctx
	regrace      chan time.Duration // a later Stop's grace for a stop begun by Run
	stopped      chan struct{}      // closed when Stop begins
	done         chan struct{}      // closed when Stop has finished
}

// New makes a scheduler. A nil clock is the wall clock, a nil logger
// discards.
func New(logger *slog.Logger, clock Clock) *Scheduler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = RealClock{}
	}
	base, cancel := context.WithCancel(context.Background())
	return &Scheduler{log: logger, clock: clock, jobs: map[string]*jobState{}, base: base, cancelRuns: cancel,
		stopped: make(chan struct{}), done: make(chan struct{}), regrace: make(chan time.Duration, 1)}
}

// Update replaces the job set. Jobs whose timing and Spec are unchanged keep
// their timers and any in-flight run (their Run func is swapped for the new
// one from the next run on); changed jobs are restarted; removed jobs stop
// scheduling and their in-flight run is left to finish within its timeout.
// Invalid jobs are logged and shown in Status but not run.
func (s *Scheduler) Update(jobs []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.Name] {
			s.log.Error("duplicate job name; keeping the first", "job", j.Name)
			continue
		}
		seen[j.Name] = true
		h := specHash(j)
		js, ok := s.jobs[j.Name]
		if ok && !js.removed && js.hash == h && js.invalid == nil {
			js.job.Run = j.Run
			continue
		}
		p, err := newPlan(j)
		if !ok {
			js = &jobState{trigger: make(chan struct{}, 1)}
			s.jobs[j.Name] = js
		}
		s.stopLoop(js)
		js.job, js.plan, js.hash, js.invalid, js.removed, js.next = j, p, h, err, false, time.Time{}
		if err != nil {
			s.log.Error("job not scheduled", "job", j.Name, "err", err)
			continue
		}
		if ok {
			s.log.Info("job changed; restarting its schedule", "job", j.Name, "schedule", p.desc)
		} else {
			s.log.Info("job added", "job", j.Name, "schedule", p.desc, "timeout", p.timeout, "jitter", p.jitter)
		}
		if s.started && !s.stopping {
			s.startLoop(js)
		}
	}
	for name, js := range s.jobs {
		if seen[name] || js.removed {
			continue
		}
		s.stopLoop(js)
		s.log.Info("job removed", "job", name, "in_flight", js.running)
		if js.running {
			js.removed = true // dropped from the map when its run ends
		} else {
			delete(s.jobs, name)
		}
	}
}

// startLoop and stopLoop are called with s.mu held.
func (s *Scheduler) startLoop(js *jobState) {
	stop := make(chan struct{})
	js.loopStop = stop
	s.loops.Add(1)
	go s.loop(js, js.job, js.plan, stop)
}

func (s *Scheduler) stopLoop(js *jobState) {
	if js.loopStop != nil {
		close(js.loopStop)
		js.loopStop = nil
	}
}

// loop arms one timer at a time for job j until stop is closed. j and p
// are this loop's own copy: an Update starts a new loop rather than
// changing this one.
func (s *Scheduler) loop(js *jobState, j Job, p plan, stop chan struct{}) {
	defer s.loops.Done()
	if j.RunAtStart {
		s.fire(js, stop, "start")
	}
	base := p.nextBase(s.clock.Now(), s.clock.Now())
	for {
		at := base.Add(p.jitterDelay())
		t := s.clock.NewTimer(at.Sub(s.clock.Now()))
		s.mu.Lock()
		if js.loopStop == stop {
			js.next = at
		}
		s.mu.Unlock()
		for fired := false; !fired; {
			select {
			case <-stop:
				t.Stop()
				return
			case <-js.trigger:
				// A manual run does not move the schedule.
				s.fire(js, stop, "trigger")
			case <-t.C():
				s.fire(js, stop, "schedule")
				fired = true
			}
		}
		base = p.nextBase(base, s.clock.Now())
	}
}

// fire starts a run unless the job's previous run is still going.
func (s *Scheduler) fire(js *jobState, stop chan struct{}, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	if js.loopStop != stop {
		// This loop is being replaced; hand a manual trigger to its
		// successor instead of losing it.
		if reason == "trigger" {
			select {
			case js.trigger <- struct{}{}:
			default:
			}
		}
		return
	}
	name := js.job.Name
	if js.running && reason == "trigger" {
		// A manual trigger (a reload, an operator) asks for a run now; one is
		// going, so it is served. Not a skip and nothing to warn about: every
		// reload restarts the changed jobs and triggers the rest.
		s.log.Debug("run already going; the trigger is served by it", "job", name, "running_since", js.lastStart)
		return
	}
	if js.running {
		js.skipped++
		// Only an overrun of the schedule is worth a warning; a job restarted
		// by a reload while its last run finishes is routine.
		lvl := slog.LevelWarn
		if reason == "start" {
			lvl = slog.LevelInfo
		}
		s.log.Log(context.Background(), lvl, "previous run still going; skipping this one", "job", name, "reason", reason,
			"running_since", js.lastStart, "skipped", js.skipped)
		return
	}
	run, timeout := js.job.Run, js.plan.timeout
	ctx, cancel := s.clock.WithTimeout(s.base, timeout)
	js.running = true
	js.lastStart = s.clock.Now()
	s.runs.Add(1)
	s.log.Debug("run starting", "job", name, "reason", reason, "timeout", timeout)
	go func() {
		defer s.runs.Done()
		err := safeRun(ctx, run)
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("run exceeded its timeout of %s: %w", timeout, err)
		}
		cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		js.running = false
		js.lastEnd = s.clock.Now()
		js.lastErr = err
		js.runs++
		dur := js.lastEnd.Sub(js.lastStart)
		if err != nil {
			s.log.Warn("run failed", "job", name, "duration", dur, "err", err)
		} else {
			s.log.Debug("run done", "job", name, "duration", dur)
		}
		if js.removed && s.jobs[name] == js {
			delete(s.jobs, name)
		}
	}()
}

func safeRun(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("run panicked: %v", r)
		}
	}()
	return run(ctx)
}

// Run schedules the jobs until ctx ends or Stop is called. When ctx ends it
// stops as Stop(DefaultGrace) would; either way it returns once in-flight
// runs have finished or been cancelled.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("schedule: Run called twice")
	}
	s.started = true
	if !s.stopping {
		// Runs keep ctx's values but not its cancellation: shutdown drains
		// them with a grace period instead of cutting them off.
		s.cancelRuns()
		s.base, s.cancelRuns = context.WithCancel(context.WithoutCancel(ctx))
		names := make([]string, 0, len(s.jobs))
		for name, js := range s.jobs {
			if js.invalid == nil && !js.removed {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			s.startLoop(s.jobs[name])
		}
	}
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		s.stop(DefaultGrace, false)
	case <-s.stopped:
	}
	<-s.done
	return nil
}

// Stop stops starting runs, waits up to grace for in-flight runs, then
// cancels their contexts and waits (briefly) for them to return. Later calls
// wait for the first to finish.
// A Stop that arrives while Run is already stopping because its context
// ended replaces Run's DefaultGrace (counted from when stopping began), so a
// daemon that cancels ctx and then calls Stop(configured grace) gets its
// grace whichever goroutine noticed first.
func (s *Scheduler) Stop(grace time.Duration) { s.stop(grace, true) }

func (s *Scheduler) stop(grace time.Duration, explicit bool) {
	first := false
	s.stopOnce.Do(func() { first = true; s.explicitStop = explicit })
	if !first {
		if explicit {
			select {
			case s.regrace <- grace:
			default:
			}
		}
		<-s.done
		return
	}
	s.mu.Lock()
	s.stopping = true
	close(s.stopped)
	var inFlight []string
	for name, js := range s.jobs {
		s.stopLoop(js)
		if js.running {
			inFlight = append(inFlight, name)
		}
	}
	s.mu.Unlock()
	s.loops.Wait()

	drained := make(chan struct{})
	go func() { s.runs.Wait(); close(drained) }()
	if len(inFlight) > 0 {
		sort.Strings(inFlight)
		s.log.Info("waiting for in-flight runs", "jobs", inFlight, "grace", grace)
	}
	began := s.clock.Now()
	t := s.clock.NewTimer(grace)
	regrace := s.regrace
	if s.explicitStop {
		regrace = nil // an explicit grace is final
	}
	for waiting := true; waiting; {
		select {
		case <-drained:
			t.Stop()
			waiting = false
		case g := <-regrace:
			t.Stop()
			regrace = nil
			s.log.Info("shutdown grace set by Stop", "grace", g)
			t = s.clock.NewTimer(began.Add(g).Sub(s.clock.Now()))
		case <-t.C():
			waiting = false
			s.log.Warn("grace period over; cancelling in-flight runs", "jobs", s.runningNames())
			s.cancelRuns()
			t2 := s.clock.NewTimer(cancelWait)
			select {
			case <-drained:
				t2.Stop()
			case <-t2.C():
				s.log.Error("runs ignored cancellation; shutting down without them", "jobs", s.runningNames())
			}
		}
	}
	s.cancelRuns()
	close(s.done)
}

func (s *Scheduler) runningNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, js := range s.jobs {
		if js.running {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TriggerAll asks every job to run now (a job already running skips, as on
// a tick). Its schedule is not moved.
func (s *Scheduler) TriggerAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, js := range s.jobs {
		if js.invalid != nil || js.removed {
			continue
		}
		select {
		case js.trigger <- struct{}{}:
		default: // one is already waiting
		}
	}
}

// Status lists the jobs by name.
func (s *Scheduler) Status() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.jobs))
	for name, js := range s.jobs {
		if js.removed {
			continue
		}
		st := JobStatus{Name: name, Schedule: js.plan.desc, Running: js.running, LastStart: js.lastStart,
			LastEnd: js.lastEnd, NextRun: js.next, Runs: js.runs, Skipped: js.skipped}
		if js.lastErr != nil {
			st.LastError = js.lastErr.Error()
		}
		if js.invalid != nil {
			st.Invalid = js.invalid.Error()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
