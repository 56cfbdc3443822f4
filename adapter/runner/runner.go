// Package runner performs syncs: fetch → compute → diff → outbox → deliver,
// over the contracts of package adapter (Source, Sink, Store). The daemon
// builds sources and sinks through their registries and hands them over in
// a Setup.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Runner performs syncs: fetch → compute → diff → outbox → deliver.
//
// Fetching and computing are split: each source is fetched on its own
// schedule and its events are stored with its cursor in one transaction;
// a sync then computes every indicator from the stored events of all
// sources. So a slow or broken source never delays another, a crash after a
// fetch loses nothing (the events are stored), and a crash after the outbox
// write loses nothing (the outbox is delivered on the next run, and the
// sinks' upsert keys make a replay harmless).
//
// Every sink has its own outbox, diff and health: a value is queued for a
// sink when it differs from what THAT sink last got or has queued, so a sink
// added later, or one that was down, gets everything it lacks. Sinks are
// delivered to concurrently, each with its own error: one failing never
// fails another's acks.
type Runner struct {
	store   adapter.Store
	metrics *adapter.Metrics
	logger  *slog.Logger

	mu      sync.RWMutex // guards the fields below (swapped on reload)
	clock   func() time.Time
	cfg     config.Config
	areas   []indicators.Area
	engine  indicators.ExposureEngine
	sources map[string]adapter.Source
	sinks   map[string]*sinkState
	extra   func(*indicators.Input)
	overlay *indicators.Overlay // kept across syncs while the areas stay the same
	kept    KeptStore
	// keptDigest is what the kept file holds (keptDigest), so a sync that
	// measured nothing new does not write it again.
	keptDigest [32]byte
	health     map[string]*adapter.SourceHealth
	lastRun    adapter.RunSummary
	current    []indicators.Value
	warnings   []adapter.Warning
	events     []indicators.Event // active in the latest sync, for the status map

	syncMu  sync.Mutex // one compute-and-deliver pass at a time
	fetchMu sync.Map   // per-source mutex: one run per source at a time
}

// sinkState is what the runner keeps of one sink between syncs.
type sinkState struct {
	sink     adapter.Sink
	ensured  string                 // hash of the definitions last ensured on the sink
	delivery adapter.DeliveryHealth // guarded by Runner.mu
}

// Options build a runner: what never changes while it runs.
type Options struct {
	Store   adapter.Store
	Metrics *adapter.Metrics // nil: no metrics
	Logger  *slog.Logger     // nil: slog.Default()
	// Clock is the time values are computed for (nil: the wall clock); a
	// Setup may replace it.
	Clock func() time.Time
}

// New returns a runner; Configure gives it something to run.
func New(o Options) *Runner {
	return &Runner{store: o.Store, metrics: o.Metrics, logger: o.Logger, clock: o.Clock,
		health: map[string]*adapter.SourceHealth{}, sinks: map[string]*sinkState{}}
}

// Setup is what a runner computes with; Configure swaps it atomically.
type Setup struct {
	Config   config.Config
	Areas    []indicators.Area
	Exposure indicators.ExposureEngine
	Sources  map[string]adapter.Source
	// Sinks are the delivery targets by instance name (the name keys their
	// delivery state in the store). Give pointers: a sink given again as the
	// same value keeps what the runner knows of it (indicators ensured).
	Sinks map[string]adapter.Sink
	// Extend lets the daemon add inputs (facilities, grids) without the
	// runner knowing about them.
	Extend func(*indicators.Input)
	// Clock, when set, replaces the runner's clock (replay_time).
	Clock func() time.Time
	// Kept, when set, keeps the overlay's measures and the engine's
	// results beyond the process (kept.go): read when the areas are new,
	// written after a sync that is not a dry run.
	Kept KeptStore
}

// Configure installs a new setup. Health of sources and sinks that still
// exist is kept; a sink replaced by another value is ensured again.
func (r *Runner) Configure(s Setup) {
	// The overlay is indexed, and takes over the old one's cache when the
	// areas did not change, outside the lock: the status page keeps reading.
	ov := indicators.NewOverlay(s.Areas, s.Config.Overlay.Options())
	ov.SetKeepPrepared(s.Config.Memory.KeepOverlayAreas)
	r.mu.RLock()
	old, digest := r.overlay, r.keptDigest
	r.mu.RUnlock()
	ov.KeepFrom(old)
	if s.Kept != nil && !ov.SameAreas(old) {
		// New areas (or a new process): what an earlier process measured
		// over them, if it is kept.
		digest = restoreKept(s.Kept, ov, s.Exposure, r.log())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg, r.areas, r.engine, r.sources, r.extra = s.Config, s.Areas, s.Exposure, s.Sources, s.Extend
	r.overlay, r.kept, r.keptDigest = ov, s.Kept, digest
	if s.Clock != nil {
		r.clock = s.Clock
	}
	keep := map[string]*adapter.SourceHealth{}
	for name, spec := range s.Config.Sources {
		h := r.health[name]
		if h == nil {
			h = &adapter.SourceHealth{Name: name, Healthy: true}
		}
		h.Kind, h.Enabled = spec.Kind, spec.Enabled
		keep[name] = h
	}
	r.health = keep
	sinks := make(map[string]*sinkState, len(s.Sinks))
	for name, sk := range s.Sinks {
		st := r.sinks[name]
		switch {
		case st == nil:
			st = &sinkState{delivery: adapter.DeliveryHealth{Sink: name}}
		case st.sink != sk:
			st = &sinkState{delivery: st.delivery}
		}
		st.sink = sk
		sinks[name] = st
	}
	r.sinks = sinks
}

// Now is the runner's clock: the time values are computed for.
func (r *Runner) Now() time.Time {
	r.mu.RLock()
	c := r.clock
	r.mu.RUnlock()
	if c != nil {
		return c()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.logger != nil {
		return r.logger
	}
	return slog.Default()
}

// SinkNames lists the configured sinks, sorted.
func (r *Runner) SinkNames() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.sinks))
	for n := range r.sinks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Sink returns the configured sink of that name (nil when none).
func (r *Runner) Sink(name string) adapter.Sink {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if st := r.sinks[name]; st != nil {
		return st.sink
	}
	return nil
}

// Config returns the config in force.
func (r *Runner) Config() config.Config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg
}

// AreaSetKey identifies the current areas (indicators.Overlay.AreaSetKey);
// false before Configure.
func (r *Runner) AreaSetKey() ([16]byte, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.overlay == nil {
		return [16]byte{}, false
	}
	return r.overlay.AreaSetKey(), true
}

// Areas returns the areas in force.
func (r *Runner) Areas() []indicators.Area {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.areas
}

// Exposure returns the exposure engine in force (nil when none).
func (r *Runner) Exposure() indicators.ExposureEngine {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.engine
}

// FetchSource polls one source and stores what it returned. Errors are
// recorded in the source's health and returned; they never touch other
// sources.
func (r *Runner) FetchSource(ctx context.Context, name string) error {
	_, err := r.fetchSource(ctx, name, true, r.view(nil, nil))
	return err
}

// FetchOptions narrow one fetch (a backfill's view of the store and clock).
type FetchOptions struct {
	// Store, when set, is used instead of the runner's store.
	Store adapter.Store
	// Now, when set, is the clock events are checked against.
	Now func() time.Time
}

// FetchSourceWith is FetchSource through a narrowed store and clock.
func (r *Runner) FetchSourceWith(ctx context.Context, name string, o FetchOptions) error {
	_, err := r.fetchSource(ctx, name, true, r.view(o.Store, o.Now))
	return err
}

// view is the store and clock one fetch or sync works with.
type view struct {
	store adapter.Store
	now   func() time.Time
}

func (r *Runner) view(st adapter.Store, now func() time.Time) view {
	if st == nil {
		st = r.store
	}
	if now == nil {
		now = r.Now
	}
	return view{store: st, now: now}
}

// fetchSource is FetchSource; with commit unset (a dry run) nothing is
// stored and the source's new event set is returned instead.
func (r *Runner) fetchSource(ctx context.Context, name string, commit bool, v view) ([]indicators.Event, error) {
	r.mu.RLock()
	src, ok := r.sources[name]
	spec := r.cfg.Sources[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("source %s: not configured", name)
	}
	lock, _ := r.fetchMu.LoadOrStore(name, &sync.Mutex{})
	if !lock.(*sync.Mutex).TryLock() {
		return nil, fmt.Errorf("source %s: previous run still going; skipped", name)
	}
	defer lock.(*sync.Mutex).Unlock()

	log := r.log().With("source", name, "type", spec.Kind)
	start := time.Now() // wall clock: health and durations are about the real run
	cur, err := v.store.Cursor(name)
	if err != nil {
		return nil, fmt.Errorf("source %s: reading cursor: %w", name, err)
	}
	fctx := ctx
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	batch, ferr := safeFetch(fctx, name, src, cur)
	dur := time.Since(start)
	if r.metrics != nil {
		r.metrics.FetchDuration.WithLabelValues(name).Observe(dur.Seconds())
	}
	if ferr != nil && adapter.ClassOf(ferr) != adapter.NoNewData {
		if fctx.Err() != nil && ctx.Err() == nil {
			ferr = adapter.Classify(adapter.Retryable, name, "", fmt.Errorf("run timed out after %s (sources.%s.timeout): %w", spec.Timeout, name, ferr))
		}
		r.recordSource(name, start, dur, ferr, nil, 0)
		log.Warn("fetch failed", "class", adapter.ClassOf(ferr).String(), "err", ferr)
		return nil, ferr
	}
	var events []indicators.Event
	if ferr != nil || batch.NotModified {
		// Nothing new upstream: keep the stored events, take any new cursor.
		events, err = v.store.Events(name)
		if err != nil {
			return nil, err
		}
		if batch.Cursor.ETag == "" && batch.Cursor.LastModified == "" && batch.Cursor.Versions == nil && batch.Cursor.Extra == nil {
			batch.Cursor = cur
		}
	} else {
		prev, err := v.store.Events(name)
		if err != nil {
			return nil, err
		}
		events = mergeEvents(name, prev, batch)
	}
	events = dropEnded(events, v.now())
	if commit {
		if err := v.store.CommitFetch(name, batch.Cursor, events); err != nil {
			return nil, fmt.Errorf("source %s: storing events: %w", name, err)
		}
	}
	r.recordSource(name, start, dur, nil, batch.Problems, len(events))
	if batch.NotModified || ferr != nil {
		log.Debug("no new data", "events", len(events))
	} else {
		log.Debug("fetched", "events", len(events), "problems", len(batch.Problems), "duration", dur.Round(time.Millisecond))
	}
	for _, p := range batch.Problems {
		log.Warn("item skipped", "err", p)
	}
	return events, nil
}

// safeFetch turns a panicking source into an error: one broken parser must
// not take the daemon down.
func safeFetch(ctx context.Context, name string, s adapter.Source, cur adapter.Cursor) (b adapter.Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = adapter.Classify(adapter.Permanent, name, "", fmt.Errorf("source panicked (a bug: please report it): %v", p))
		}
	}()
	return s.Fetch(ctx, cur)
}

func (r *Runner) recordSource(name string, start time.Time, dur time.Duration, err error, problems []error, events int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.health[name]
	if h == nil {
		h = &adapter.SourceHealth{Name: name}
		r.health[name] = h
	}
	h.LastAttempt, h.Duration = start, dur
	if err != nil {
		h.Healthy, h.LastError, h.ErrorClass = false, err.Error(), adapter.ClassOf(err).String()
		if r.metrics != nil {
			r.metrics.FetchSuccess.WithLabelValues(name).Set(0)
			r.metrics.FetchErrors.WithLabelValues(name, adapter.ClassOf(err).String()).Inc()
		}
		return
	}
	h.Healthy, h.LastSuccess, h.LastError, h.ErrorClass, h.Events = true, start, "", "", events
	h.Problems = h.Problems[:0]
	for i, p := range problems {
		if i == 20 {
			h.Problems = append(h.Problems, fmt.Sprintf("... and %d more", len(problems)-20))
			break
		}
		h.Problems = append(h.Problems, p.Error())
	}
	if r.metrics != nil {
		r.metrics.FetchSuccess.WithLabelValues(name).Set(1)
		r.metrics.LastSuccess.WithLabelValues(name).Set(float64(start.Unix()))
		r.metrics.SourceEvents.WithLabelValues(name).Set(float64(events))
	}
}

// mergeEvents applies a batch over a source's stored events.
func mergeEvents(source string, prev []indicators.Event, b adapter.Batch) []indicators.Event {
	byID := map[string]indicators.Event{}
	if !b.Complete {
		for _, e := range prev {
			byID[e.ID] = e
		}
	}
	for _, e := range b.Events {
		if e.Source == "" {
			e.Source = source
		}
		if e.Closed {
			delete(byID, e.ID)
			continue
		}
		byID[e.ID] = e
	}
	out := make([]indicators.Event, 0, len(byID))
	for _, e := range byID {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// dropEnded removes closed events and events whose validity ended.
func dropEnded(evs []indicators.Event, now time.Time) []indicators.Event {
	out := evs[:0]
	for _, e := range evs {
		if e.ActiveAt(now) {
			out = append(out, e)
		}
	}
	return out
}

// SyncOptions are one sync's choices.
type SyncOptions struct {
	// DryRun computes and diffs but writes nothing and sends nothing.
	DryRun bool
	// Progress, when set, is told about delivery progress (done, total),
	// summed over the sinks.
	Progress func(done, total int)
	// NoStaleReset skips the explicit 0 / "none" for series that have no
	// value now: a backfilled past day cannot tell a hazard that ended from
	// one that left the feed's window since.
	NoStaleReset bool
	// Store, when set, is used instead of the runner's store (a backfill's
	// view narrowed to one past day).
	Store adapter.Store
	// Now, when set, is the time values are computed for instead of the
	// runner's clock (a backfilled day).
	Now func() time.Time

	// fetched are a dry run's fetched event sets by source, used instead
	// of the stored ones (a dry run stores nothing).
	fetched map[string][]indicators.Event
}

// SyncResult is a sync's summary plus, for dry runs, what would be sent.
type SyncResult struct {
	Summary adapter.RunSummary
	// Changed are the values that were (or in a dry run, would be) queued
	// for at least one sink.
	Changed []indicators.Value
	// Current are all values computed this sync (for previews and maps).
	Current []indicators.Value
	Events  []indicators.Event
	// Overlay is what the sync's overlay measured and reused.
	Overlay indicators.OverlayStats
}

// Sync computes every indicator from the stored events, queues for each
// sink what changed for it and delivers the sinks' outboxes concurrently.
func (r *Runner) Sync(ctx context.Context, opt SyncOptions) (SyncResult, error) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	v := r.view(opt.Store, opt.Now)
	// start is the time values are computed for (the replay time in demos);
	// wall is when the sync really ran, for the history and the status page.
	start, wall := v.now(), time.Now()
	r.mu.RLock()
	cfg, areas, engine, extra, overlay := r.cfg, r.areas, r.engine, r.extra, r.overlay
	kept, keptDigest := r.kept, r.keptDigest
	sinks := r.sinkList()
	r.mu.RUnlock()
	log := r.log()
	res := SyncResult{Summary: adapter.RunSummary{Started: wall, AsOf: start, DryRun: opt.DryRun}}
	for _, h := range r.SourceHealth() {
		if h.Enabled && !h.Healthy {
			res.Summary.SourceErr++
		}
	}

	events, err := r.activeEvents(v.store, cfg, start, opt.fetched)
	if err != nil {
		return res, err
	}
	res.Events = events
	res.Summary.Events = len(events)
	in := &indicators.Input{Events: events, Areas: areas, Exposure: engine, Now: start,
		Date: indicators.DateOf(start, cfg.Location()), Triggers: cfg.Triggers, Overlay: overlay}
	if extra != nil {
		extra(in)
	}
	// Each recipe's values, joined once at their total size: appending
	// ~35,000 values of ~100 bytes as they came copied them ~3 times.
	parts := make([][]indicators.Value, 0, len(cfg.Indicators))
	total := 0
	for _, def := range cfg.Indicators {
		rec, ok := indicators.LookupRecipe(def.Recipe)
		if !ok {
			return res, fmt.Errorf("indicator %s: unknown recipe %s", def.Shortcode, def.Recipe)
		}
		compute := def
		if def.RollupFrom != nil {
			compute.AdminLevels = []int{*def.RollupFrom}
		}
		vals, err := rec.Compute(compute, in)
		if err != nil {
			// One broken indicator must not block the others.
			log.Error("indicator failed", "indicator", def.Shortcode, "err", err)
			res.Summary.Failed++
			continue
		}
		parts = append(parts, vals)
		total += len(vals)
	}
	current := make([]indicators.Value, 0, total)
	for _, vals := range parts {
		current = append(current, vals...)
	}
	parts = nil // the recipes' slices can go at the next collection
	if a, ok := engine.(indicators.CacheAger); ok {
		a.EndSync()
	}
	res.Overlay = r.reportOverlay(in)
	if kept != nil && !opt.DryRun && overlay != nil {
		if d, err := saveKept(kept, overlay, engine, keptDigest); err != nil {
			log.Warn("kept measures not saved: the next process measures every footprint", "err", err)
		} else if d != keptDigest {
			r.mu.Lock()
			if r.overlay == overlay {
				r.keptDigest = d
			}
			r.mu.Unlock()
		}
	}
	current, ledger, err := applyHysteresis(v.store, cfg, areas, current, start, !opt.DryRun)
	if err != nil {
		return res, fmt.Errorf("warning ledger: %w", err)
	}
	current, err = rollUps(cfg, areas, current)
	if err != nil {
		return res, err
	}
	if !opt.DryRun {
		internAttributes(current) // kept until the next sync (the status page's)
	}
	res.Current = current
	res.Summary.Values = len(current)
	if !opt.DryRun {
		warnings := warningsFrom(cfg, areas, current, ledger, start)
		r.mu.Lock()
		r.current, r.warnings, r.events = current, warnings, events
		r.mu.Unlock()
		if r.metrics != nil {
			r.metrics.Warnings.Reset()
			for _, w := range warnings {
				r.metrics.Warnings.WithLabelValues(w.Indicator, w.Level).Inc()
			}
		}
	}
	if len(sinks) == 0 && !opt.DryRun {
		res.Summary.Duration = time.Since(wall)
		return res, errors.New("no sink configured")
	}

	// Each sink's own diff: what it lacks, against its own delivered and
	// queued values.
	changedBy := make([][]indicators.Value, len(sinks))
	runs := make([]adapter.SinkRun, len(sinks))
	for i, sk := range sinks {
		changed, unchanged, err := diff(v.store.Sink(sk.name), cfg, current, in.Date, opt)
		if err != nil {
			return res, fmt.Errorf("sink %s: %w", sk.name, err)
		}
		changedBy[i], runs[i].Unchanged = changed, unchanged
		if r.metrics != nil && !opt.DryRun {
			r.metrics.Values.WithLabelValues(sk.name, "unchanged").Add(float64(unchanged))
		}
	}
	res.Changed = union(changedBy)
	if opt.DryRun {
		res.Summary.Sinks = map[string]adapter.SinkRun{}
		for i, sk := range sinks {
			res.Summary.Sinks[sk.name] = runs[i]
		}
		res.Summary.AddSinks()
		res.Summary.Duration = time.Since(wall)
		logRun(log, res.Summary)
		return res, nil
	}
	// The outbox writes are the commit points: from there a crash loses
	// nothing. Each sink's outbox is its own: one that cannot be written
	// fails only that sink.
	queued := make([]error, len(sinks))
	for i, sk := range sinks {
		ss := v.store.Sink(sk.name)
		if err := ss.Enqueue(changedBy[i]); err != nil {
			queued[i] = r.queueFailed(ss, sk.name, &runs[i], len(changedBy[i]), err)
			continue
		}
		if r.metrics != nil {
			// Queued now, whatever the delivery does (it may hang for minutes).
			if n, err := ss.PendingCount(); err == nil {
				r.metrics.OutboxDepth.WithLabelValues(sk.name).Set(float64(n))
			}
		}
	}
	progress := sumProgress(len(sinks), opt.Progress)
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, sk := range sinks {
		if queued[i] != nil {
			errs[i] = queued[i]
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx := ctx
			if len(sinks) > 1 && cfg.Delivery.MaxDuration > 0 {
				// A hung sink must not hold back the others' next sync:
				// what it did not send by then stays queued for the next.
				var cancel context.CancelFunc
				dctx, cancel = context.WithTimeout(ctx, cfg.Delivery.MaxDuration)
				defer cancel()
			}
			errs[i] = r.deliver(dctx, v.store.Sink(sk.name), sk, cfg, events, &runs[i], progress(i))
		}()
	}
	wg.Wait()
	res.Summary.Sinks = make(map[string]adapter.SinkRun, len(sinks))
	for i, sk := range sinks {
		if errs[i] != nil {
			runs[i].Error = errs[i].Error()
		}
		res.Summary.Sinks[sk.name] = runs[i]
	}
	res.Summary.AddSinks()
	res.Summary.Duration = time.Since(wall)
	logRun(log, res.Summary)
	r.finishRun(v.store, res.Summary)
	return res, errors.Join(errs...)
}

// namedSink is a sink with its runner-side state, for one sync.
type namedSink struct {
	name  string
	sink  adapter.Sink
	state *sinkState
}

// sinkList is the configured sinks sorted by name; r.mu held.
func (r *Runner) sinkList() []namedSink {
	out := make([]namedSink, 0, len(r.sinks))
	for n, st := range r.sinks {
		out = append(out, namedSink{name: n, sink: st.sink, state: st})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// union is every value queued for at least one sink, once per key (the
// sinks computed the same values; they differ only in what they lack).
func union(by [][]indicators.Value) []indicators.Value {
	if len(by) == 1 {
		return by[0]
	}
	seen := map[indicators.Key]bool{}
	var out []indicators.Value
	for _, vals := range by {
		for _, v := range vals {
			if !seen[v.Key()] {
				seen[v.Key()] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// sumProgress turns one progress callback into one per sink, reporting the
// sum over the sinks.
func sumProgress(n int, progress func(done, total int)) func(i int) func(done, total int) {
	if progress == nil {
		return func(int) func(int, int) { return nil }
	}
	var mu sync.Mutex
	done, total := make([]int, n), make([]int, n)
	return func(i int) func(int, int) {
		return func(d, t int) {
			mu.Lock()
			defer mu.Unlock()
			done[i], total[i] = d, t
			var sd, st int
			for j := range done {
				sd, st = sd+done[j], st+total[j]
			}
			progress(sd, st)
		}
	}
}

// logRun is the one INFO line per sync: what an operator reading the
// journal wants to see without opening /metrics.
func logRun(log *slog.Logger, s adapter.RunSummary) {
	attrs := []any{"events", s.Events, "values", s.Values, "sent", s.Sent, "unchanged", s.Unchanged,
		"rejected", s.Rejected, "failed", s.Failed, "pending", s.Pending,
		"duration_seconds", math.Round(s.Duration.Seconds()*1000) / 1000}
	if s.DryRun {
		attrs = append(attrs, "dry_run", true)
	}
	if len(s.Sinks) > 1 {
		names := make([]string, 0, len(s.Sinks))
		for n := range s.Sinks {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			c := s.Sinks[n]
			attrs = append(attrs, slog.Group("sink_"+n, "sent", c.Sent, "rejected", c.Rejected, "failed", c.Failed, "pending", c.Pending))
		}
	}
	log.Info("sync done", attrs...)
}

// queueFailed accounts for a sink's outbox write that failed (a full disk,
// a damaged state file): none of the changed values was queued for it, so
// they all count as failed for it.
func (r *Runner) queueFailed(ss adapter.SinkStore, name string, run *adapter.SinkRun, changed int, err error) error {
	run.Failed += changed
	if n, perr := ss.PendingCount(); perr == nil {
		run.Pending = n
	}
	if r.metrics != nil {
		r.metrics.Values.WithLabelValues(name, "failed").Add(float64(changed))
	}
	return fmt.Errorf("sink %s: writing outbox (%d values not queued): %w", name, changed, err)
}

// reportOverlay logs and counts what the sync's overlay measured and what
// it took from the cache.
func (r *Runner) reportOverlay(in *indicators.Input) indicators.OverlayStats {
	st, ok := in.OverlayStats()
	if !ok {
		return st
	}
	log := r.log()
	if st.PeopleErr != nil {
		log.Warn("overlay: exposure engine failed; hits carry no people", "err", st.PeopleErr)
	}
	log.Debug("overlay", "footprints", st.Footprints, "computed", st.Computed, "reused", st.Reused,
		"hits", st.Pairs, "duration", st.Duration)
	if r.metrics != nil {
		r.metrics.OverlayFootprints.WithLabelValues("computed").Add(float64(st.Computed))
		r.metrics.OverlayFootprints.WithLabelValues("reused").Add(float64(st.Reused))
		r.metrics.OverlayPairs.Set(float64(st.Pairs))
		r.metrics.OverlayDuration.Observe(st.Duration.Seconds())
	}
	return st
}

func (r *Runner) finishRun(st adapter.Store, s adapter.RunSummary) {
	if r.metrics != nil {
		r.metrics.SyncDuration.Observe(s.Duration.Seconds())
	}
	r.mu.Lock()
	r.lastRun = s
	r.mu.Unlock()
	if err := st.RecordRun(s); err != nil {
		r.log().Warn("recording run history failed", "err", err)
	}
}

// activeEvents gathers the stored events of every enabled source.
func (r *Runner) activeEvents(st adapter.Store, cfg config.Config, now time.Time, fetched map[string][]indicators.Event) ([]indicators.Event, error) {
	names := make([]string, 0, len(cfg.Sources))
	for n, s := range cfg.Sources {
		if s.Enabled {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []indicators.Event
	for _, n := range names {
		evs, ok := fetched[n]
		if !ok {
			var err error
			if evs, err = st.Events(n); err != nil {
				return nil, fmt.Errorf("source %s: reading events: %w", n, err)
			}
		}
		for _, e := range evs {
			if e.ActiveAt(now) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// diff returns the values to queue, dated by the rule in
// cfg.Delivery.Dating:
//
//   - on_change (default): a value is compared with the newest value of its
//     series (indicator, area) delivered or still queued, whatever its
//     date; if only the date differs nothing is sent, so the value keeps the
//     day it became what it is and an unchanged value is never rewritten.
//     GeoSight keeps one row per (indicator, date, area) and dashboards show
//     each area's latest value, so that is still the current one.
//   - daily: every value is dated today and compared with today's delivered
//     value for its key (a daily snapshot).
//
// Either way, every series whose latest value says something and which has
// nothing now gets an explicit 0 / "none" dated today: dashboards show the
// latest value per area, so without it a warning raised last week would
// stay on the map after the hazard is gone.
func diff(st adapter.SinkStore, cfg config.Config, current []indicators.Value, today indicators.Date, opt SyncOptions) ([]indicators.Value, int, error) {
	configured := map[string]bool{}
	for _, d := range cfg.Indicators {
		configured[d.Shortcode] = true
	}
	type series struct{ indicator, code string }
	// The latest known value of every series: delivered, then anything still
	// pending if dated as late (pending values are newer than what was
	// delivered for the same date).
	// The values stay in the store's slice (never modified) and a slice of
	// the pending ones that win, with each series' position in one map: a
	// map of value copies, and a second map marking the series seen, were
	// most of a country-scale diff where nothing changed.
	latest, err := st.Latest()
	if err != nil {
		return nil, 0, err
	}
	var newer []indicators.Value // positions len(latest)… : pending values that win
	valueAt := func(i int) indicators.Value {
		if i < len(latest) {
			return latest[i]
		}
		return newer[i-len(latest)]
	}
	latestAt := make(map[series]int, len(latest))
	var shadowed []int // positions whose series has a later value elsewhere
	for i, v := range latest {
		k := series{v.Indicator, v.Code}
		if j, ok := latestAt[k]; ok {
			shadowed = append(shadowed, j)
		}
		latestAt[k] = i
	}
	pending, err := st.Pending()
	if err != nil {
		return nil, 0, err
	}
	for _, v := range pending {
		k := series{v.Indicator, v.Code}
		i, ok := latestAt[k]
		if ok && v.Date < valueAt(i).Date {
			continue
		}
		if ok {
			shadowed = append(shadowed, i)
		}
		latestAt[k] = len(latest) + len(newer)
		newer = append(newer, v)
	}
	byChange := cfg.Delivery.Dating != config.DatingDaily
	// asOf is, for a day behind the latest values (a backfill), each
	// series' newest delivered value up to that day, from the dated history.
	var asOf map[series]indicators.Value
	loadAsOf := func() error {
		asOf = map[series]indicators.Value{}
		day, err := time.Parse(time.DateOnly, string(today))
		if err != nil {
			return fmt.Errorf("bad date %q: %w", today, err)
		}
		for i := 0; i <= max(cfg.Retention.Days, 1); i++ {
			vals, err := st.DeliveredOn(indicators.Date(day.AddDate(0, 0, -i).Format(time.DateOnly)))
			if err != nil {
				return err
			}
			for _, v := range vals {
				if _, seen := asOf[series{v.Indicator, v.Code}]; !seen {
					asOf[series{v.Indicator, v.Code}] = v
				}
			}
		}
		return nil
	}
	delivered := deliveredByDay{store: st}
	// now marks the latest values whose series was computed this sync: the
	// others get a stale reset.
	now := make([]bool, len(latest)+len(newer))
	for _, i := range shadowed {
		now[i] = true // not its series' latest value: never a stale reset
	}
	// Positions of the changed values, copied out once at the end: in a
	// first sync every one of ~35,000 values changes, and growing a slice
	// of values by append copied them ~5 times.
	var changedAt []int
	unchanged := 0
	// A value still queued is what GeoSight will hold next, so it, not the
	// last delivered one, is what the current value is compared with: a
	// run that died after queueing a value the feed has since taken back
	// must not have that stale value delivered over the current one.
	queued := make(map[indicators.Key]indicators.Value, len(pending))
	for _, v := range pending {
		queued[v.Key()] = v
	}
	for i, v := range current {
		k := series{v.Indicator, v.Code}
		at, ok := latestAt[k]
		var prev indicators.Value
		if ok {
			now[at] = true
			prev = valueAt(at)
		}
		if byChange && ok {
			if prev.Date > v.Date {
				if asOf == nil {
					if err := loadAsOf(); err != nil {
						return nil, 0, err
					}
				}
				prev, ok = asOf[k]
				if q, queuedToo := queued[v.Key()]; queuedToo {
					prev, ok = q, true
				}
			}
			if ok && sameButDate(v, prev) {
				unchanged++
				continue
			}
			changedAt = append(changedAt, i)
			continue
		}
		// Daily snapshots: compare with what is queued or was delivered for
		// this key.
		prev, ok = queued[v.Key()]
		if !ok {
			var err error
			if prev, ok, err = delivered.get(v.Key()); err != nil {
				return nil, 0, err
			}
		}
		if ok && v.Same(prev) {
			unchanged++
			continue
		}
		changedAt = append(changedAt, i)
	}
	var stale []indicators.Value
	if !opt.NoStaleReset {
		stale = staleResets(valueAt, now, configured, today)
	}
	var changed []indicators.Value
	switch {
	case len(changedAt) == len(current) && len(current) > 0:
		// Everything changed (a first sync): the values themselves, capped
		// so the stale resets appended below go to a new array.
		changed = current[:len(current):len(current)]
	case len(changedAt)+len(stale) > 0:
		changed = make([]indicators.Value, len(changedAt), len(changedAt)+len(stale))
		for n, i := range changedAt {
			changed[n] = current[i]
		}
	}
	return append(changed, stale...), unchanged, nil
}

// staleResets are the explicit 0 / "none" values, dated today, of the
// configured series whose latest value says something and that have no
// value now (now[i] unset for the latest value at i), sorted by key.
func staleResets(latestAt func(int) indicators.Value, now []bool, configured map[string]bool, today indicators.Date) []indicators.Value {
	var stale []indicators.Value
	for i, seen := range now {
		if seen {
			continue
		}
		v := latestAt(i)
		if !configured[v.Indicator] || v.IsZero() || v.Date > today {
			continue
		}
		z := v.Zero()
		z.Date = today
		stale = append(stale, z)
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].Key().String() < stale[j].Key().String() })
	return stale
}

// deliveredByDay answers LastDelivered for many keys with one read of each
// date's delivered values: one store transaction per key was a fifth of a
// country-scale sync where nothing changed (35,000 values).
type deliveredByDay struct {
	store adapter.SinkStore
	days  map[indicators.Date]map[indicators.Key]indicators.Value
}

func (d *deliveredByDay) get(k indicators.Key) (indicators.Value, bool, error) {
	day, ok := d.days[k.Date]
	if !ok {
		vals, err := d.store.DeliveredOn(k.Date)
		if err != nil {
			return indicators.Value{}, false, err
		}
		day = make(map[indicators.Key]indicators.Value, len(vals))
		for _, v := range vals {
			day[v.Key()] = v
		}
		if d.days == nil {
			d.days = map[indicators.Date]map[indicators.Key]indicators.Value{}
		}
		d.days[k.Date] = day
	}
	v, ok := day[k]
	return v, ok, nil
}

// sameButDate: delivering v would change nothing over prev except its date.
func sameButDate(v, prev indicators.Value) bool {
	prev.Date = v.Date
	return v.Same(prev)
}

// deliver ensures indicators exist on one sink, then sends its whole
// outbox, persisting each value's outcome as it arrives, then hands it the
// footprints when it publishes them.
func (r *Runner) deliver(ctx context.Context, st adapter.SinkStore, sk namedSink, cfg config.Config, events []indicators.Event, run *adapter.SinkRun, progress func(int, int)) error {
	name := sk.name
	log := r.log().With("sink", name)
	h := definitionsHash(cfg.Indicators)
	r.mu.RLock()
	ensured := sk.state.ensured
	r.mu.RUnlock()
	if h != ensured {
		if err := sk.sink.Ensure(ctx, cfg.Indicators); err != nil {
			r.setDeliveryError(sk.state, err)
			n, _ := st.PendingCount()
			run.Pending = n
			run.Failed += n
			// Nothing was sent: the metrics must say so as loudly as the
			// status page (a 403 here once left /metrics silent).
			if r.metrics != nil {
				r.metrics.Values.WithLabelValues(name, "failed").Add(float64(n))
				r.metrics.Delivered(name, false, n, time.Now())
			}
			return fmt.Errorf("preparing indicators on %s: %w", name, err)
		}
		r.mu.Lock()
		sk.state.ensured = h
		r.mu.Unlock()
	}
	if fs, ok := sk.sink.(adapter.FootprintSink); ok {
		if err := fs.PublishFootprints(ctx, events); err != nil {
			log.Warn("publishing footprints failed", "err", err)
		}
	}
	pending, err := st.Pending()
	if err != nil {
		return fmt.Errorf("sink %s: reading outbox: %w", name, err)
	}
	total, done := len(pending), 0
	if progress != nil {
		progress(0, total)
	}
	var mu sync.Mutex
	var storeErr error
	started := time.Now()
	defer func() {
		// The sink's speed, for the backlog estimate (Delivery).
		took := time.Since(started)
		r.mu.Lock()
		sk.state.delivery.LastDelivery = took
		if done >= adapter.MinRateSample && took > 0 {
			sk.state.delivery.Rate = float64(done) / took.Seconds()
		}
		r.mu.Unlock()
	}()
	// Acks are grouped into one durable write per batch where the store
	// can (acks.go); a value counts as delivered once GeoSight said so.
	var acks *groupAcks
	if ba, ok := st.(adapter.BatchAcker); ok {
		acks = startGroupAcks(ba)
	}
	werr := sk.sink.Write(ctx, pending, func(o adapter.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if progress != nil {
			progress(done, total)
		}
		if o.Retries > 0 && r.metrics != nil {
			r.metrics.Values.WithLabelValues(name, "retried").Add(float64(o.Retries))
		}
		switch {
		case o.Err == nil:
			if acks != nil {
				acks.add(o.Value)
			} else if err := st.Ack(o.Value); err != nil && storeErr == nil {
				storeErr = err
			}
			run.Sent++
			r.countValue(name, "sent")
		case adapter.ClassOf(o.Err) == adapter.Permanent && ctx.Err() == nil:
			if err := st.Reject(o.Value, rejectionText(o.Err)); err != nil && storeErr == nil {
				storeErr = err
			}
			run.Rejected++
			r.countValue(name, "rejected")
			log.Warn("value rejected", "key", o.Value.Key().String(), "reason", rejectionText(o.Err))
		default:
			run.Failed++
			r.countValue(name, "failed")
			r.setDeliveryError(sk.state, o.Err)
		}
	})
	if acks != nil {
		if err := acks.close(); err != nil && storeErr == nil {
			storeErr = err
		}
	}
	left, _ := st.PendingCount()
	run.Pending = left
	if werr != nil {
		r.setDeliveryError(sk.state, werr)
		// Values never attempted stay pending: count them as failed.
		if unattempted := total - done; unattempted > 0 {
			run.Failed += unattempted
			if r.metrics != nil {
				r.metrics.Values.WithLabelValues(name, "failed").Add(float64(unattempted))
			}
		}
	}
	if r.metrics != nil {
		r.metrics.Delivered(name, werr == nil && run.Failed == 0, left, time.Now())
	}
	if werr != nil {
		return fmt.Errorf("delivering to %s: %w", name, werr)
	}
	if storeErr != nil {
		return fmt.Errorf("sink %s: recording delivery outcomes: %w", name, storeErr)
	}
	r.mu.Lock()
	if run.Failed == 0 {
		sk.state.delivery.LastError = ""
	}
	r.mu.Unlock()
	return nil
}

// rejectionText is GeoSight's own words for a rejection, without our
// wrapping, so operators read what the server said.
func rejectionText(err error) string {
	var e *adapter.Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}

func (r *Runner) countValue(sink, outcome string) {
	if r.metrics != nil {
		r.metrics.Values.WithLabelValues(sink, outcome).Inc()
	}
}

func (r *Runner) setDeliveryError(st *sinkState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st.delivery.LastError = err.Error()
}

func definitionsHash(defs []indicators.Definition) string {
	return fmt.Sprintf("%x", hashJSON(defs))
}

// SourceHealth returns every configured source's health, sorted by name.
func (r *Runner) SourceHealth() []adapter.SourceHealth {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]adapter.SourceHealth, 0, len(r.health))
	for _, h := range r.health {
		c := *h
		c.Problems = append([]string(nil), h.Problems...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Deliveries returns every sink's delivery health, sorted by sink name,
// with its counts from the last run and its store's recent rejections.
func (r *Runner) Deliveries() []adapter.DeliveryHealth {
	r.mu.RLock()
	sinks := r.sinkList()
	ds := make([]adapter.DeliveryHealth, len(sinks))
	for i, sk := range sinks {
		ds[i] = sk.state.delivery
		ds[i].Sink = sk.name
	}
	last := r.lastRun
	interval := r.cfg.Schedule.Interval
	r.mu.RUnlock()
	for i := range ds {
		d := &ds[i]
		c := last.Sinks[d.Sink]
		d.Sent, d.Unchanged, d.Rejected, d.Retrying = c.Sent, c.Unchanged, c.Rejected, c.Failed
		st := r.store.Sink(d.Sink)
		if n, err := st.PendingCount(); err == nil {
			d.Pending = n
		}
		d.Recent, _ = st.Rejections(20)
		d.SyncInterval = interval
		d.EstimateBacklog()
	}
	return ds
}

// Delivery returns the delivery health: the one sink's, or with several
// sinks their totals, each sink's own in Sinks.
func (r *Runner) Delivery() adapter.DeliveryHealth {
	ds := r.Deliveries()
	switch len(ds) {
	case 0:
		return adapter.DeliveryHealth{}
	case 1:
		// A sink that failed before this run's counts (the broken
		// indicators) are its own: the run's totals say the same.
		return ds[0]
	}
	return adapter.SumDeliveries(ds)
}

// CurrentValues are the values computed by the latest sync (for maps).
func (r *Runner) CurrentValues() []indicators.Value {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// Warnings are the areas at an early-warning level after the latest sync.
func (r *Runner) Warnings() []adapter.Warning {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.warnings
}

// ActiveEvents are the events the latest sync computed from (their
// footprints are the status map's hazard overlay).
func (r *Runner) ActiveEvents() []indicators.Event {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.events
}

// rollUps replaces each rolled-up indicator's values by its base level's
// values plus their aggregation to the levels above.
// The output is the configured indicators in order, each with its values
// in their input order, then its roll-ups.
func rollUps(cfg config.Config, areas []indicators.Area, vals []indicators.Value) ([]indicators.Value, error) {
	// Grouped by indicator with one counting pass into one buffer, and the
	// output built at its final size: a slice per indicator grown by
	// append, then the output grown the same way, copied the ~35,000
	// values of a country ~5 times.
	first := make(map[string]int, len(cfg.Indicators)) // first definition per shortcode
	for i, def := range cfg.Indicators {
		if _, dup := first[def.Shortcode]; !dup {
			first[def.Shortcode] = i
		}
	}
	nd := len(cfg.Indicators)
	counts := make([]int, nd)
	for _, v := range vals {
		if d, ok := first[v.Indicator]; ok {
			counts[d]++
		}
	}
	group := make([][]indicators.Value, nd)
	fill := make([]int, nd)
	buf := make([]indicators.Value, 0, len(vals))
	for d, n := range counts {
		fill[d] = len(buf)
		buf = buf[:len(buf)+n]
		group[d] = buf[fill[d]:len(buf):len(buf)]
	}
	for _, v := range vals {
		if d, ok := first[v.Indicator]; ok {
			buf[fill[d]] = v
			fill[d]++
		}
	}
	of := func(shortcode string) []indicators.Value { return group[first[shortcode]] }
	ups := make([][]indicators.Value, len(cfg.Indicators))
	size := 0
	for i, def := range cfg.Indicators {
		vs := of(def.Shortcode)
		if def.RollupFrom == nil {
			size += len(vs)
			continue
		}
		up, err := indicators.RollUp(def, *def.RollupFrom, vs, areas)
		if err != nil {
			return nil, err
		}
		ups[i] = up
		if def.AtLevel(*def.RollupFrom) {
			size += len(vs)
		}
		size += len(up)
	}
	out := make([]indicators.Value, 0, size)
	for i, def := range cfg.Indicators {
		vs := of(def.Shortcode)
		if def.RollupFrom == nil || def.AtLevel(*def.RollupFrom) {
			out = append(out, vs...)
		}
		out = append(out, ups[i]...)
	}
	return out, nil
}

// Indicators are the configured indicator definitions.
func (r *Runner) Indicators() []indicators.Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg.Indicators
}

// LastRun is the latest sync's summary.
func (r *Runner) LastRun() adapter.RunSummary {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.lastRun
}

// Once fetches every enabled source concurrently, then syncs.
func (r *Runner) Once(ctx context.Context, opt SyncOptions) (SyncResult, error) {
	cfg := r.Config()
	var wg sync.WaitGroup
	var mu sync.Mutex
	if opt.DryRun {
		opt.fetched = map[string][]indicators.Event{}
	}
	for name, spec := range cfg.Sources {
		if !spec.Enabled {
			continue
		}
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			// Errors are recorded in health; the others go on.
			evs, err := r.fetchSource(ctx, name, !opt.DryRun, r.view(opt.Store, opt.Now))
			if opt.DryRun && err == nil {
				mu.Lock()
				opt.fetched[name] = evs
				mu.Unlock()
			}
		}(name)
	}
	wg.Wait()
	return r.Sync(ctx, opt)
}
