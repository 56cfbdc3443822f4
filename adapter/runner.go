package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

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
// write loses nothing (the outbox is delivered on the next run, and
// GeoSight's upsert key makes a replay harmless).
type Runner struct {
	Store   Store
	Sink    Sink
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// AfterDeliver, when set, runs after every delivery pass (the daemon
	// persists the footprint-layer hashes there).
	AfterDeliver func()

	mu       sync.RWMutex // guards the fields below (swapped on reload)
	cfg      config.Config
	areas    []indicators.Area
	engine   indicators.ExposureEngine
	sources  map[string]Source
	extra    func(*indicators.Input)
	overlay  *indicators.Overlay // kept across syncs while the areas stay the same
	health   map[string]*SourceHealth
	delivery DeliveryHealth
	lastRun  RunSummary
	current  []indicators.Value
	warnings []Warning
	events   []indicators.Event // active in the latest sync, for the status map
	ensured  string             // hash of the definitions last ensured on the sink

	syncMu  sync.Mutex // one compute-and-deliver pass at a time
	fetchMu sync.Map   // per-source mutex: one run per source at a time
}

// Setup is what a runner computes with; Configure swaps it atomically.
type Setup struct {
	Config   config.Config
	Areas    []indicators.Area
	Exposure indicators.ExposureEngine
	Sources  map[string]Source
	// Extend lets the daemon add inputs (facilities, grids) without the
	// runner knowing about them.
	Extend func(*indicators.Input)
}

// Configure installs a new setup. Health of sources that still exist is kept.
func (r *Runner) Configure(s Setup) {
	// The overlay is indexed, and takes over the old one's cache when the
	// areas did not change, outside the lock: the status page keeps reading.
	ov := indicators.NewOverlay(s.Areas, s.Config.Overlay.Options())
	r.mu.RLock()
	old := r.overlay
	r.mu.RUnlock()
	ov.KeepFrom(old)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg, r.areas, r.engine, r.sources, r.extra = s.Config, s.Areas, s.Exposure, s.Sources, s.Extend
	r.overlay = ov
	if r.health == nil {
		r.health = map[string]*SourceHealth{}
	}
	keep := map[string]*SourceHealth{}
	for name, spec := range s.Config.Sources {
		h := r.health[name]
		if h == nil {
			h = &SourceHealth{Name: name, Healthy: true}
		}
		h.Kind, h.Enabled = spec.Kind, spec.Enabled
		keep[name] = h
	}
	r.health = keep
	if r.Sink != nil {
		r.delivery.Sink = r.Sink.Name()
	}
}

// outbox is the delivery state of the runner's sink (the GeoSight sink's
// name when there is none: a dry run compares with what it would get).
func (r *Runner) outbox() SinkStore {
	if r.Sink == nil {
		return r.Store.Sink("geosight")
	}
	return r.Store.Sink(r.Sink.Name())
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// Config returns the config in force.
func (r *Runner) Config() config.Config {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cfg
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
	_, err := r.fetchSource(ctx, name, true)
	return err
}

// fetchSource is FetchSource; with commit unset (a dry run) nothing is
// stored and the source's new event set is returned instead.
func (r *Runner) fetchSource(ctx context.Context, name string, commit bool) ([]indicators.Event, error) {
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
	cur, err := r.Store.Cursor(name)
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
	if r.Metrics != nil {
		r.Metrics.FetchDuration.WithLabelValues(name).Observe(dur.Seconds())
	}
	if ferr != nil && ClassOf(ferr) != NoNewData {
		if fctx.Err() != nil && ctx.Err() == nil {
			ferr = Classify(Retryable, name, "", fmt.Errorf("run timed out after %s (sources.%s.timeout): %w", spec.Timeout, name, ferr))
		}
		r.recordSource(name, start, dur, ferr, nil, 0)
		log.Warn("fetch failed", "class", ClassOf(ferr).String(), "err", ferr)
		return nil, ferr
	}
	var events []indicators.Event
	if ferr != nil || batch.NotModified {
		// Nothing new upstream: keep the stored events, take any new cursor.
		events, err = r.Store.Events(name)
		if err != nil {
			return nil, err
		}
		if batch.Cursor.ETag == "" && batch.Cursor.LastModified == "" && batch.Cursor.Versions == nil && batch.Cursor.Extra == nil {
			batch.Cursor = cur
		}
	} else {
		prev, err := r.Store.Events(name)
		if err != nil {
			return nil, err
		}
		events = mergeEvents(name, prev, batch)
	}
	events = dropEnded(events, r.now())
	if commit {
		if err := r.Store.CommitFetch(name, batch.Cursor, events); err != nil {
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
func safeFetch(ctx context.Context, name string, s Source, cur Cursor) (b Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Classify(Permanent, name, "", fmt.Errorf("source panicked (a bug: please report it): %v", p))
		}
	}()
	return s.Fetch(ctx, cur)
}

func (r *Runner) recordSource(name string, start time.Time, dur time.Duration, err error, problems []error, events int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.health[name]
	if h == nil {
		h = &SourceHealth{Name: name}
		r.health[name] = h
	}
	h.LastAttempt, h.Duration = start, dur
	if err != nil {
		h.Healthy, h.LastError, h.ErrorClass = false, err.Error(), ClassOf(err).String()
		if r.Metrics != nil {
			r.Metrics.FetchSuccess.WithLabelValues(name).Set(0)
			r.Metrics.FetchErrors.WithLabelValues(name, ClassOf(err).String()).Inc()
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
	if r.Metrics != nil {
		r.Metrics.FetchSuccess.WithLabelValues(name).Set(1)
		r.Metrics.LastSuccess.WithLabelValues(name).Set(float64(start.Unix()))
		r.Metrics.SourceEvents.WithLabelValues(name).Set(float64(events))
	}
}

// mergeEvents applies a batch over a source's stored events.
func mergeEvents(source string, prev []indicators.Event, b Batch) []indicators.Event {
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

// Options for one sync.
type SyncOptions struct {
	// DryRun computes and diffs but writes nothing and sends nothing.
	DryRun bool
	// Progress, when set, is told about delivery progress (done, total).
	Progress func(done, total int)
	// NoStaleReset skips the explicit 0 / "none" for series that have no
	// value now: a backfilled past day cannot tell a hazard that ended from
	// one that left the feed's window since.
	NoStaleReset bool

	// fetched are a dry run's fetched event sets by source, used instead
	// of the stored ones (a dry run stores nothing).
	fetched map[string][]indicators.Event
}

// SyncResult is a sync's summary plus, for dry runs, what would be sent.
type SyncResult struct {
	Summary RunSummary
	// Changed are the values that were (or in a dry run, would be) queued.
	Changed []indicators.Value
	// Current are all values computed this sync (for previews and maps).
	Current []indicators.Value
	Events  []indicators.Event
	// Overlay is what the sync's overlay measured and reused.
	Overlay indicators.OverlayStats
}

// Sync computes every indicator from the stored events, queues what changed
// and delivers the outbox.
func (r *Runner) Sync(ctx context.Context, opt SyncOptions) (SyncResult, error) {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	// start is the time values are computed for (the replay time in demos);
	// wall is when the sync really ran, for the history and the status page.
	start, wall := r.now(), time.Now()
	r.mu.RLock()
	cfg, areas, engine, extra, overlay := r.cfg, r.areas, r.engine, r.extra, r.overlay
	r.mu.RUnlock()
	log := r.log()
	res := SyncResult{Summary: RunSummary{Started: wall, AsOf: start, DryRun: opt.DryRun}}
	for _, h := range r.SourceHealth() {
		if h.Enabled && !h.Healthy {
			res.Summary.SourceErr++
		}
	}

	events, err := r.activeEvents(cfg, start, opt.fetched)
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
	var current []indicators.Value
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
		current = append(current, vals...)
	}
	res.Overlay = r.reportOverlay(in)
	current, ledger, err := r.applyHysteresis(cfg, areas, current, start, !opt.DryRun)
	if err != nil {
		return res, fmt.Errorf("warning ledger: %w", err)
	}
	current, err = rollUps(cfg, areas, current)
	if err != nil {
		return res, err
	}
	res.Current = current
	res.Summary.Values = len(current)
	if !opt.DryRun {
		warnings := warningsFrom(cfg, areas, current, ledger, start)
		r.mu.Lock()
		r.current, r.warnings, r.events = current, warnings, events
		r.mu.Unlock()
		if r.Metrics != nil {
			r.Metrics.Warnings.Reset()
			for _, w := range warnings {
				r.Metrics.Warnings.WithLabelValues(w.Indicator, w.Level).Inc()
			}
		}
	}

	changed, unchanged, err := r.diff(cfg, current, in.Date, opt)
	if err != nil {
		return res, err
	}
	res.Changed = changed
	res.Summary.Unchanged = unchanged
	if r.Metrics != nil && r.Sink != nil && !opt.DryRun {
		r.Metrics.Values.WithLabelValues(r.Sink.Name(), "unchanged").Add(float64(unchanged))
	}
	if opt.DryRun {
		res.Summary.Duration = time.Since(wall)
		logRun(log, res.Summary)
		return res, nil
	}
	// The outbox write is the commit point: from here a crash loses nothing.
	if err := r.outbox().Enqueue(changed); err != nil {
		err = r.queueFailed(&res, changed, wall, err)
		logRun(log, res.Summary)
		return res, err
	}
	if r.Metrics != nil && r.Sink != nil {
		// Queued now, whatever the delivery does (it may hang for minutes).
		if n, err := r.outbox().PendingCount(); err == nil {
			r.Metrics.OutboxDepth.WithLabelValues(r.Sink.Name()).Set(float64(n))
		}
	}
	if err := r.deliver(ctx, cfg, events, &res.Summary, opt.Progress); err != nil {
		res.Summary.Duration = time.Since(wall)
		r.finishRun(res.Summary)
		logRun(log, res.Summary)
		return res, err
	}
	res.Summary.Duration = time.Since(wall)
	r.finishRun(res.Summary)
	if r.AfterDeliver != nil {
		r.AfterDeliver()
	}
	logRun(log, res.Summary)
	return res, nil
}

// logRun is the one INFO line per sync: what an operator reading the
// journal wants to see without opening /metrics.
func logRun(log *slog.Logger, s RunSummary) {
	attrs := []any{"events", s.Events, "values", s.Values, "sent", s.Sent, "unchanged", s.Unchanged,
		"rejected", s.Rejected, "failed", s.Failed, "pending", s.Pending,
		"duration_seconds", math.Round(s.Duration.Seconds()*1000) / 1000}
	if s.DryRun {
		attrs = append(attrs, "dry_run", true)
	}
	log.Info("sync done", attrs...)
}

// queueFailed accounts for an outbox write that failed (a full disk, a
// damaged state file): none of the changed values was queued, so they all
// count as failed, and the run is recorded like any other.
func (r *Runner) queueFailed(res *SyncResult, changed []indicators.Value, wall time.Time, err error) error {
	res.Summary.Failed += len(changed)
	if n, perr := r.outbox().PendingCount(); perr == nil {
		res.Summary.Pending = n
	}
	if r.Metrics != nil && r.Sink != nil {
		r.Metrics.Values.WithLabelValues(r.Sink.Name(), "failed").Add(float64(len(changed)))
	}
	res.Summary.Duration = time.Since(wall)
	r.finishRun(res.Summary)
	return fmt.Errorf("writing outbox (%d values not queued): %w", len(changed), err)
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
	if r.Metrics != nil {
		r.Metrics.OverlayFootprints.WithLabelValues("computed").Add(float64(st.Computed))
		r.Metrics.OverlayFootprints.WithLabelValues("reused").Add(float64(st.Reused))
		r.Metrics.OverlayPairs.Set(float64(st.Pairs))
		r.Metrics.OverlayDuration.Observe(st.Duration.Seconds())
	}
	return st
}

func (r *Runner) finishRun(s RunSummary) {
	if r.Metrics != nil {
		r.Metrics.SyncDuration.Observe(s.Duration.Seconds())
	}
	r.mu.Lock()
	r.lastRun = s
	r.mu.Unlock()
	if err := r.Store.RecordRun(s); err != nil {
		r.log().Warn("recording run history failed", "err", err)
	}
}

// activeEvents gathers the stored events of every enabled source.
func (r *Runner) activeEvents(cfg config.Config, now time.Time, fetched map[string][]indicators.Event) ([]indicators.Event, error) {
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
			if evs, err = r.Store.Events(n); err != nil {
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
func (r *Runner) diff(cfg config.Config, current []indicators.Value, today indicators.Date, opt SyncOptions) ([]indicators.Value, int, error) {
	configured := map[string]bool{}
	for _, d := range cfg.Indicators {
		configured[d.Shortcode] = true
	}
	type series struct{ indicator, code string }
	// The latest known value of every series: delivered, then anything still
	// pending if dated as late (pending values are newer than what was
	// delivered for the same date).
	latestVals, err := r.outbox().Latest()
	if err != nil {
		return nil, 0, err
	}
	latest := make(map[series]indicators.Value, len(latestVals))
	for _, v := range latestVals {
		latest[series{v.Indicator, v.Code}] = v
	}
	pending, err := r.outbox().Pending()
	if err != nil {
		return nil, 0, err
	}
	for _, v := range pending {
		if prev, ok := latest[series{v.Indicator, v.Code}]; !ok || v.Date >= prev.Date {
			latest[series{v.Indicator, v.Code}] = v
		}
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
			vals, err := r.outbox().DeliveredOn(indicators.Date(day.AddDate(0, 0, -i).Format(time.DateOnly)))
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
	delivered := deliveredByDay{store: r.outbox()}
	now := map[series]bool{}
	var changed []indicators.Value
	unchanged := 0
	// A value still queued is what GeoSight will hold next, so it, not the
	// last delivered one, is what the current value is compared with: a
	// run that died after queueing a value the feed has since taken back
	// must not have that stale value delivered over the current one.
	queued := make(map[indicators.Key]indicators.Value, len(pending))
	for _, v := range pending {
		queued[v.Key()] = v
	}
	for _, v := range current {
		k := series{v.Indicator, v.Code}
		now[k] = true
		if prev, ok := latest[k]; byChange && ok {
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
			changed = append(changed, v)
			continue
		}
		// Daily snapshots: compare with what is queued or was delivered for
		// this key.
		prev, ok := queued[v.Key()]
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
		changed = append(changed, v)
	}
	if opt.NoStaleReset {
		return changed, unchanged, nil
	}
	var stale []indicators.Value
	for k, v := range latest {
		if now[k] || !configured[k.indicator] || v.IsZero() || v.Date > today {
			continue
		}
		z := v.Zero()
		z.Date = today
		stale = append(stale, z)
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].Key().String() < stale[j].Key().String() })
	return append(changed, stale...), unchanged, nil
}

// deliveredByDay answers LastDelivered for many keys with one read of each
// date's delivered values: one store transaction per key was a fifth of a
// country-scale sync where nothing changed (35,000 values).
type deliveredByDay struct {
	store SinkStore
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

// deliver ensures indicators exist, publishes footprints, then sends the
// whole outbox, persisting each value's outcome as it arrives.
func (r *Runner) deliver(ctx context.Context, cfg config.Config, events []indicators.Event, sum *RunSummary, progress func(int, int)) error {
	if r.Sink == nil {
		return errors.New("no sink configured")
	}
	log := r.log().With("sink", r.Sink.Name())
	failedBefore := sum.Failed // a broken indicator is not the sink's failure
	if h := definitionsHash(cfg.Indicators); h != r.ensured {
		if err := r.Sink.Ensure(ctx, cfg.Indicators); err != nil {
			r.setDeliveryError(err)
			n, _ := r.outbox().PendingCount()
			sum.Pending = n
			sum.Failed += n
			// Nothing was sent: the metrics must say so as loudly as the
			// status page (a 403 here once left /metrics silent).
			if r.Metrics != nil {
				r.Metrics.Values.WithLabelValues(r.Sink.Name(), "failed").Add(float64(n))
				r.Metrics.Delivered(r.Sink.Name(), false, n, time.Now())
			}
			return fmt.Errorf("preparing indicators on %s: %w", r.Sink.Name(), err)
		}
		r.ensured = h
	}
	if fs, ok := r.Sink.(FootprintSink); ok && cfg.GeoSight.ContextLayers.Enabled {
		if err := fs.PublishFootprints(ctx, events); err != nil {
			log.Warn("publishing footprints failed", "err", err)
		}
	}
	pending, err := r.outbox().Pending()
	if err != nil {
		return err
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
		r.delivery.LastDelivery = took
		if done >= MinRateSample && took > 0 {
			r.delivery.Rate = float64(done) / took.Seconds()
		}
		r.mu.Unlock()
	}()
	werr := r.Sink.Write(ctx, pending, func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if progress != nil {
			progress(done, total)
		}
		name := r.Sink.Name()
		if o.Retries > 0 && r.Metrics != nil {
			r.Metrics.Values.WithLabelValues(name, "retried").Add(float64(o.Retries))
		}
		switch {
		case o.Err == nil:
			if err := r.outbox().Ack(o.Value); err != nil && storeErr == nil {
				storeErr = err
			}
			sum.Sent++
			r.countValue(name, "sent")
		case ClassOf(o.Err) == Permanent && ctx.Err() == nil:
			if err := r.outbox().Reject(o.Value, rejectionText(o.Err)); err != nil && storeErr == nil {
				storeErr = err
			}
			sum.Rejected++
			r.countValue(name, "rejected")
			log.Warn("value rejected", "key", o.Value.Key().String(), "reason", rejectionText(o.Err))
		default:
			sum.Failed++
			r.countValue(name, "failed")
			r.setDeliveryError(o.Err)
		}
	})
	left, _ := r.outbox().PendingCount()
	sum.Pending = left
	if werr != nil {
		r.setDeliveryError(werr)
		// Values never attempted stay pending: count them as failed.
		if unattempted := total - done; unattempted > 0 {
			sum.Failed += unattempted
			if r.Metrics != nil {
				r.Metrics.Values.WithLabelValues(r.Sink.Name(), "failed").Add(float64(unattempted))
			}
		}
	}
	if r.Metrics != nil {
		r.Metrics.Delivered(r.Sink.Name(), werr == nil && sum.Failed == failedBefore, left, time.Now())
	}
	if werr != nil {
		return fmt.Errorf("delivering to %s: %w", r.Sink.Name(), werr)
	}
	if storeErr != nil {
		return fmt.Errorf("recording delivery outcomes: %w", storeErr)
	}
	r.mu.Lock()
	if sum.Failed == 0 {
		r.delivery.LastError = ""
	}
	r.mu.Unlock()
	return nil
}

// rejectionText is GeoSight's own words for a rejection, without our
// wrapping, so operators read what the server said.
func rejectionText(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Err != nil {
		return e.Err.Error()
	}
	return err.Error()
}

func (r *Runner) countValue(sink, outcome string) {
	if r.Metrics != nil {
		r.Metrics.Values.WithLabelValues(sink, outcome).Inc()
	}
}

func (r *Runner) setDeliveryError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivery.LastError = err.Error()
}

func definitionsHash(defs []indicators.Definition) string {
	return fmt.Sprintf("%x", hashJSON(defs))
}

// SourceHealth returns every configured source's health, sorted by name.
func (r *Runner) SourceHealth() []SourceHealth {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]SourceHealth, 0, len(r.health))
	for _, h := range r.health {
		c := *h
		c.Problems = append([]string(nil), h.Problems...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Delivery returns the delivery health, with totals from the last run and
// the store's recent rejections.
func (r *Runner) Delivery() DeliveryHealth {
	r.mu.RLock()
	d := r.delivery
	last := r.lastRun
	r.mu.RUnlock()
	d.Sent, d.Unchanged, d.Rejected, d.Retrying = last.Sent, last.Unchanged, last.Rejected, last.Failed
	if n, err := r.outbox().PendingCount(); err == nil {
		d.Pending = n
	}
	d.Recent, _ = r.outbox().Rejections(20)
	d.SyncInterval = r.Config().Schedule.Interval
	d.EstimateBacklog()
	return d
}

// CurrentValues are the values computed by the latest sync (for maps).
func (r *Runner) CurrentValues() []indicators.Value {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// Warnings are the areas at an early-warning level after the latest sync.
func (r *Runner) Warnings() []Warning {
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
func rollUps(cfg config.Config, areas []indicators.Area, vals []indicators.Value) ([]indicators.Value, error) {
	by := map[string][]indicators.Value{}
	for _, v := range vals {
		by[v.Indicator] = append(by[v.Indicator], v)
	}
	var out []indicators.Value
	for _, def := range cfg.Indicators {
		vs := by[def.Shortcode]
		if def.RollupFrom == nil {
			out = append(out, vs...)
			continue
		}
		up, err := indicators.RollUp(def, *def.RollupFrom, vs, areas)
		if err != nil {
			return nil, err
		}
		if def.AtLevel(*def.RollupFrom) {
			out = append(out, vs...)
		}
		out = append(out, up...)
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
func (r *Runner) LastRun() RunSummary {
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
			evs, err := r.fetchSource(ctx, name, !opt.DryRun)
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
