// Package daemon wires hazardsync together from a config: the state store,
// the areas and their baseline, the exposure engine, the sources and sinks
// (built through their registries), the scheduler, hot reload and the
// status server. cmd/hazardsync is only flags around it.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/sinks/embedded"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Options are run-time choices outside the config file.
type Options struct {
	ConfigPath string
	Overrides  config.Overrides
	DryRun     bool
	Logger     *slog.Logger
}

// Daemon is a configured hazardsync.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	Runner  *runner.Runner
	Store   *state.Store
	Metrics *adapter.Metrics
	started time.Time

	mu     sync.RWMutex
	reload adapter.ReloadState
	setup  runner.Setup
	// exposure keeps the engine a reload reuses when its inputs are unchanged.
	exposure exposureCache
	// sinks are the sinks in force and the specs they were built from (a
	// reload rebuilds a sink only when its spec changed).
	sinks map[string]builtSink
	// releaseGC gives back the daemon's share of the GC headroom tuner.
	releaseGC func()
}

// builtSink is a sink and what it was built from.
type builtSink struct {
	spec config.SinkSpec
	sink adapter.Sink
}

// EmbeddedUser is the account the embedded GeoSight fake knows.
const EmbeddedUser = embedded.User

// ProjectSlug is the slug of the project the embedded GeoSight serves.
const ProjectSlug = embedded.ProjectSlug

// New builds a daemon from a validated config.
func New(ctx context.Context, cfg config.Config, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{opts: opts, log: log, Metrics: adapter.NewMetrics(), started: time.Now(), sinks: map[string]builtSink{}}
	d.reload = adapter.ReloadState{ConfigPath: opts.ConfigPath, OK: true, LastSuccess: d.started, LastAttempt: d.started}

	var st *state.Store
	var err error
	if opts.DryRun {
		// A dry run works on a private copy: the state dir stays
		// byte-identical, so nothing it computed (cursors, events, the
		// warning ledger) is mistaken later for what was delivered.
		st, err = state.OpenSnapshot(cfg.StateDir)
	} else {
		if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("state dir %s: %w", cfg.StateDir, err)
		}
		// The retention period is also the floor below which a mistaken
		// date can never make the store forget delivered values.
		st, err = state.Open(cfg.StateDir, state.Options{KeepDays: cfg.Retention.Days})
	}
	if err != nil {
		return nil, err
	}
	if c := st.Compaction(); c.Before > 0 {
		log.Info("state compacted at start", "bytes_before", c.Before, "bytes_after", c.After)
	}
	d.Store = st
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()
	d.Runner = runner.New(runner.Options{Store: st, Metrics: d.Metrics, Logger: log, Clock: cfg.Clock()})
	setup, err := d.build(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	d.Runner.Configure(setup)
	d.setup = setup
	if !opts.DryRun {
		if err := d.keepAreaGeometry(cfg.StateDir); err != nil {
			log.Warn("area geometry not kept for previews", "err", err)
		}
	}
	d.releaseGC = tuneGC(cfg.Memory.GCHeadroomMB)
	ok = true
	return d, nil
}

// embeddedSink is what the daemon needs of the embedded GeoSight sink.
type embeddedSink interface {
	URL() string
	Fake() *fake.Server
	ProjectURL() string
	Config() config.GeoSight
}

// embeddedGeoSight is the embedded GeoSight sink (nil when not embedded).
func (d *Daemon) embeddedGeoSight() embeddedSink {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, _ := d.sinks[config.GeoSightSink].sink.(embeddedSink)
	return e
}

// EmbeddedURL is the embedded fake's base URL ("" when not embedded).
func (d *Daemon) EmbeddedURL() string {
	if e := d.embeddedGeoSight(); e != nil {
		return e.URL()
	}
	return ""
}

// Fake is the embedded GeoSight fake (nil when not embedded).
func (d *Daemon) Fake() *fake.Server {
	if e := d.embeddedGeoSight(); e != nil {
		return e.Fake()
	}
	return nil
}

// ProjectURL is where the embedded GeoSight serves its project's data ("" when not embedded).
func (d *Daemon) ProjectURL() string {
	if e := d.embeddedGeoSight(); e != nil {
		return e.ProjectURL()
	}
	return ""
}

// loadAreas reads the configured geographies and joins the baseline.
func (d *Daemon) loadAreas(ctx context.Context, cfg config.Config) ([]indicators.Area, error) {
	var as []indicators.Area
	pcodes := map[string]string{}
	switch {
	case cfg.Geographies.From == "geosight" && !cfg.Embedded():
		c, err := geosight.NewClient(cfg.GeoSight, d.log)
		if err != nil {
			return nil, fmt.Errorf("geographies from GeoSight: %w", err)
		}
		as, err = c.Areas(ctx, cfg.Geographies.Levels)
		if err != nil {
			return nil, fmt.Errorf("geographies from GeoSight: %w", err)
		}
	default:
		// Prepared areas are kept in the state dir like the grid
		// precompute (read-only in a dry run): a start whose files did
		// not change skips parsing and repairing them.
		p, _, err := areas.LoadFilesPrepared(cfg.Geographies.Files, state.NewAreasCache(cfg.StateDir, d.opts.DryRun), d.log)
		if err != nil {
			return nil, err
		}
		as, pcodes = p.Areas, p.PCodes
		for _, r := range p.Repairs {
			d.log.Warn("invalid area geometry repaired as GEOS make_valid would", "ucode", r.Code, "file", r.File,
				"problems", strings.Join(r.Problems, "; "), "result", r.Result)
		}
	}
	if len(as) == 0 {
		return nil, errors.New("geographies: no areas loaded")
	}
	warnings, err := areas.ApplyBaseline(as, cfg.Baseline, pcodes)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		d.log.Warn("baseline row skipped", "reason", w)
	}
	return as, nil
}

// build turns a config into a runner setup: areas (unless already loaded),
// exposure engine, sources, sinks (those whose spec did not change are
// kept). With the embedded GeoSight the returned config's geosight section
// holds the fake's URL and credentials.
func (d *Daemon) build(ctx context.Context, cfg config.Config, as []indicators.Area) (runner.Setup, error) {
	if as == nil {
		var err error
		if as, err = d.loadAreas(ctx, cfg); err != nil {
			return runner.Setup{}, err
		}
	}
	engine, extend, err := d.exposure.build(cfg, as, d.opts.DryRun, d.log)
	if err != nil {
		return runner.Setup{}, err
	}
	srcs := map[string]adapter.Source{}
	for name, spec := range cfg.Sources {
		if !spec.Enabled {
			continue
		}
		s, err := adapter.BuildSource(spec, adapter.Env{
			Logger: d.log.With("source", name), Areas: as, Now: cfg.Clock(), Fetch: cfg.Fetch, BaseDir: cfg.BaseDir,
		})
		if err != nil {
			return runner.Setup{}, fmt.Errorf("sources.%s: %w", name, err)
		}
		srcs[name] = s
	}
	built, err := d.buildSinks(cfg, as)
	if err != nil {
		return runner.Setup{}, err
	}
	if e, ok := built[config.GeoSightSink].sink.(embeddedSink); ok {
		// Everything that reads geosight: (the status page, the dashboard
		// command, redaction) sees the fake as the instance.
		g := e.Config()
		cfg.GeoSight.URL, cfg.GeoSight.APIKey, cfg.GeoSight.User = g.URL, g.APIKey, g.User
	}
	sinks := make(map[string]adapter.Sink, len(built))
	for n, b := range built {
		sinks[n] = b.sink
	}
	d.mu.Lock()
	old := d.sinks
	d.sinks = built
	d.mu.Unlock()
	closeReplaced(old, built)
	return runner.Setup{Config: cfg, Areas: as, Exposure: engine, Sources: srcs, Sinks: sinks, Extend: extend,
		Clock: cfg.Clock(), Kept: state.NewKeptCache(cfg.StateDir, d.opts.DryRun)}, nil
}

// buildSinks builds the config's sinks through the registry, keeping every
// sink whose spec is unchanged. A changed sink that cannot be built keeps
// running as it was (logged); a new one that cannot be built is an error.
// A dry run builds none: it only diffs against each sink's state.
func (d *Daemon) buildSinks(cfg config.Config, as []indicators.Area) (map[string]builtSink, error) {
	d.mu.RLock()
	old := d.sinks
	d.mu.RUnlock()
	out := map[string]builtSink{}
	for _, spec := range cfg.AllSinks() {
		if d.opts.DryRun {
			out[spec.Name] = builtSink{spec: spec, sink: dryRunSink(spec.Name)}
			continue
		}
		prev, had := old[spec.Name]
		if had && (sameSink(prev.spec, spec) || spec.Kind == embedded.Kind && prev.spec.Kind == embedded.Kind) {
			// The embedded GeoSight's credentials are its own: it is never rebuilt.
			out[spec.Name] = builtSink{spec: spec, sink: prev.sink}
			continue
		}
		s, err := adapter.BuildSink(spec, adapter.SinkEnv{
			Logger: d.log.With("sink", spec.Name), State: d.Store.Sink(spec.Name), BaseDir: cfg.BaseDir,
			StateDir: cfg.StateDir, Fetch: cfg.Fetch, Areas: as, Now: cfg.Clock(), GeoSight: cfg.GeoSight,
		})
		if err != nil {
			if had {
				d.log.Error("sink settings changed but the new sink cannot be built; keeping the previous one",
					"sink", spec.Name, "err", err)
				out[spec.Name] = prev
				continue
			}
			return nil, fmt.Errorf("%s: %w", sinkPath(spec), err)
		}
		if had {
			d.log.Info("sink rebuilt: its reloaded section differs", "sink", spec.Name)
		}
		out[spec.Name] = builtSink{spec: spec, sink: s}
	}
	return out, nil
}

// sinkPath is where a sink is configured.
func sinkPath(s config.SinkSpec) string {
	if s.Name == config.GeoSightSink {
		return "geosight"
	}
	return "sinks." + s.Name
}

// sameSink: the sink would be built the same. The whole section counts:
// any field that differs (a rotated API key, context-layer hazard types, a
// field added later) must rebuild it; hand-picked fields once missed
// context_layers.hazard_types.
func sameSink(a, b config.SinkSpec) bool {
	return a.Kind == b.Kind && reflect.DeepEqual(a.Plugin, b.Plugin)
}

// closeReplaced releases the sinks of old that built no longer uses.
func closeReplaced(old, built map[string]builtSink) {
	for n, b := range old {
		if nb, ok := built[n]; ok && nb.sink == b.sink {
			continue
		}
		if c, ok := b.sink.(adapter.Closer); ok {
			c.Close()
		}
	}
}

// dryRunSink stands for a sink in a dry run: the runner diffs against the
// sink's state but never delivers in a dry run.
type dryRunSink string

func (s dryRunSink) Name() string { return string(s) }
func (s dryRunSink) Ensure(context.Context, []indicators.Definition) error {
	return errors.New("dry run: nothing is delivered")
}
func (s dryRunSink) Write(context.Context, []indicators.Value, func(adapter.Outcome)) error {
	return errors.New("dry run: nothing is delivered")
}

// Once runs one sync: every source fetched, then compute and deliver.
func (d *Daemon) Once(ctx context.Context, opt runner.SyncOptions) (runner.SyncResult, error) {
	opt.DryRun = opt.DryRun || d.opts.DryRun
	return d.Runner.Once(ctx, opt)
}

// ReloadConfig re-reads the config file: parse → validate → build → swap. An
// invalid edit is refused with every error kept for the status page, and the
// running config stays.
func (d *Daemon) ReloadConfig(ctx context.Context) error {
	now := time.Now()
	cfg, err := config.Load(d.opts.ConfigPath, d.opts.Overrides)
	if err == nil {
		cur := d.Runner.Config()
		if cfg.StateDir != cur.StateDir {
			err = fmt.Errorf("state_dir cannot change while running (%s → %s): restart to move it", cur.StateDir, cfg.StateDir)
		} else if cfg.GeoSight.URL != cur.GeoSight.URL && !(cfg.Embedded() && d.embeddedGeoSight() != nil) {
			err = errors.New("geosight.url cannot change while running: restart to switch instances")
		}
	}
	var setup runner.Setup
	if err == nil {
		setup, err = d.build(ctx, cfg, nil)
	}
	d.mu.Lock()
	d.reload.LastAttempt = now
	if err != nil {
		d.reload.OK = false
		d.reload.Errors = errorLines(err)
		d.mu.Unlock()
		d.Metrics.Reloads.WithLabelValues("failed").Inc()
		d.log.Error("config reload refused; the previous config keeps running", "path", d.opts.ConfigPath, "err", err)
		return err
	}
	d.reload.OK, d.reload.Errors, d.reload.LastSuccess = true, nil, now
	d.setup = setup
	d.mu.Unlock()
	d.Runner.Configure(setup)
	if !d.opts.DryRun {
		if err := d.keepAreaGeometry(cfg.StateDir); err != nil {
			d.log.Warn("area geometry not kept for previews", "err", err)
		}
	}
	setGCHeadroom(cfg.Memory.GCHeadroomMB)
	d.Metrics.Reloads.WithLabelValues("ok").Inc()
	d.log.Info("config reloaded", "path", d.opts.ConfigPath, "sources", len(setup.Sources), "indicators", len(cfg.Indicators))
	return nil
}

// initMetrics creates every alertable series at 0 for the config in force
// (sources, sinks, reload results) and sets each sink's outbox depth from
// the store, so /metrics tells the truth before the first sync finishes.
func (d *Daemon) initMetrics() {
	cfg := d.Runner.Config()
	var names []string
	for n, s := range cfg.Sources {
		if s.Enabled {
			names = append(names, n)
		}
	}
	sinks := map[string]int{}
	for _, n := range d.Runner.SinkNames() {
		c, err := d.Store.Sink(n).PendingCount()
		if err != nil {
			d.log.Warn("counting the outbox failed", "sink", n, "err", err)
		}
		sinks[n] = c
	}
	d.Metrics.Init(names, sinks)
}

func errorLines(err error) []string {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		out := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			out[i] = p.String()
		}
		return out
	}
	return []string{err.Error()}
}

// ReloadState returns the hot-reload status.
func (d *Daemon) ReloadState() adapter.ReloadState {
	d.mu.RLock()
	defer d.mu.RUnlock()
	r := d.reload
	r.Errors = append([]string(nil), r.Errors...)
	return r
}

// Close releases the sinks (stops the embedded fake) and the store.
func (d *Daemon) Close() {
	d.mu.Lock()
	old := d.sinks
	d.sinks = nil
	d.mu.Unlock()
	closeReplaced(old, nil)
	if d.Store != nil {
		d.Store.Close()
	}
	if d.releaseGC != nil {
		d.releaseGC()
	}
}
