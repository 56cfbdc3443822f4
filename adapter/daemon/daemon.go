// Package daemon wires hazardsync together from a config: the state store,
// the areas and their baseline, the exposure engine, the sources, the
// GeoSight sink (or the embedded fake), the scheduler, hot reload and the
// status server. cmd/hazardsync is only flags around it.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
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
	Runner  *adapter.Runner
	Store   *state.Store
	Metrics *adapter.Metrics
	started time.Time

	client  *geosight.Client
	fake    *fake.Server
	fakeURL string
	// editor is the embedded GeoSight's project-editor session (project.go).
	editor         *project.Editor
	editorPassword string

	// clock is the config's clock (replay_time), swapped by a reload while
	// a sync may be reading it.
	clock atomic.Pointer[func() time.Time]

	mu     sync.RWMutex
	reload adapter.ReloadState
	setup  adapter.Setup
	// exposure keeps the engine a reload reuses when its inputs are unchanged.
	exposure exposureCache
}

// EmbeddedUser is the account the embedded GeoSight fake knows.
const EmbeddedUser = "demo@hazardsync.local"

// New builds a daemon from a validated config.
func New(ctx context.Context, cfg config.Config, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{opts: opts, log: log, Metrics: adapter.NewMetrics(), started: time.Now()}
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

	var preloaded []indicators.Area
	if cfg.Embedded() && !opts.DryRun {
		as, err := d.startEmbedded(&cfg)
		if err != nil {
			return nil, err
		}
		preloaded = as
	}
	var sink adapter.Sink
	if !opts.DryRun || cfg.Geographies.From == "geosight" {
		c, err := geosight.NewClient(cfg.GeoSight, log)
		if err != nil {
			return nil, err
		}
		d.client, sink = c, c
	}
	setup, err := d.build(ctx, cfg, preloaded)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock()
	d.clock.Store(&clock)
	d.Runner = &adapter.Runner{Store: st, Sink: sink, Metrics: d.Metrics, Logger: log, Now: d.now}
	d.Runner.Configure(setup)
	d.setup = setup
	if d.client != nil {
		// Footprint layers unchanged since the last upload are not uploaded
		// again, across restarts too.
		var hashes map[string]string
		if found, err := st.Sink(sink.Name()).GetJSON("footprint-hashes", &hashes); err == nil && found {
			d.client.SetFootprintHashes(hashes)
		}
		// GeoSight never returns some indicator fields (unit): what was last
		// sent is kept so a restart does not PATCH every indicator again.
		var records map[string]string
		if found, err := st.Sink(sink.Name()).GetJSON("indicator-records", &records); err == nil && found {
			d.client.SetIndicatorRecords(records)
		}
		d.Runner.AfterDeliver = func() {
			d.mu.RLock()
			c := d.client
			d.mu.RUnlock()
			if err := st.Sink(c.Name()).PutJSON("footprint-hashes", c.FootprintHashes()); err != nil {
				log.Warn("saving footprint layer hashes failed", "err", err)
			}
			if err := st.Sink(c.Name()).PutJSON("indicator-records", c.IndicatorRecords()); err != nil {
				log.Warn("saving indicator records failed", "err", err)
			}
			d.keepEmbeddedProject()
		}
	}
	ok = true
	return d, nil
}

// startEmbedded starts the in-process GeoSight fake that `geosight.url:
// embedded` delivers into, with the config's areas as its reference dataset,
// persisted under the state dir so it survives restarts as a real server
// would.
func (d *Daemon) startEmbedded(cfg *config.Config) ([]indicators.Area, error) {
	as, err := d.loadAreas(context.Background(), *cfg)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	k := hex.EncodeToString(key)
	d.fake = fake.New(fake.Options{
		Users:       []fake.User{{Key: k, Email: EmbeddedUser, Role: fake.Creator}},
		Datasets:    []fake.Dataset{{UUID: cfg.GeoSight.Dataset, Name: "hazardsync embedded dataset", Areas: as}},
		PersistPath: filepath.Join(cfg.StateDir, "embedded-geosight.json"),
		Logger:      d.log.With("component", "embedded-geosight"),
	})
	u := d.fake.Start()
	d.fakeURL = u
	d.enableEmbeddedEditor()
	cfg.GeoSight.URL, cfg.GeoSight.APIKey, cfg.GeoSight.User = u, config.Secret(k), EmbeddedUser
	d.log.Info("embedded GeoSight started", "url", u)
	return as, nil
}

// EmbeddedURL is the embedded fake's base URL ("" when not embedded).
func (d *Daemon) EmbeddedURL() string { return d.fakeURL }

// Fake is the embedded GeoSight fake (nil when not embedded).
func (d *Daemon) Fake() *fake.Server { return d.fake }

// loadAreas reads the configured geographies and joins the baseline.
func (d *Daemon) loadAreas(ctx context.Context, cfg config.Config) ([]indicators.Area, error) {
	var as []indicators.Area
	pcodes := map[string]string{}
	switch {
	case cfg.Geographies.From == "geosight" && !cfg.Embedded() && d.client != nil:
		var err error
		as, err = d.client.Areas(ctx, cfg.Geographies.Levels)
		if err != nil {
			return nil, fmt.Errorf("geographies from GeoSight: %w", err)
		}
	default:
		var err error
		var repairs []areas.Repair
		as, pcodes, repairs, err = areas.LoadFilesReport(cfg.Geographies.Files)
		if err != nil {
			return nil, err
		}
		for _, r := range repairs {
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
// exposure engine, sources.
func (d *Daemon) build(ctx context.Context, cfg config.Config, as []indicators.Area) (adapter.Setup, error) {
	if as == nil {
		var err error
		if as, err = d.loadAreas(ctx, cfg); err != nil {
			return adapter.Setup{}, err
		}
	}
	engine, extend, err := d.exposure.build(cfg, as, d.opts.DryRun, d.log)
	if err != nil {
		return adapter.Setup{}, err
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
			return adapter.Setup{}, fmt.Errorf("sources.%s: %w", name, err)
		}
		srcs[name] = s
	}
	return adapter.Setup{Config: cfg, Areas: as, Exposure: engine, Sources: srcs, Extend: extend}, nil
}

// Once runs one sync: every source fetched, then compute and deliver.
func (d *Daemon) Once(ctx context.Context, opt adapter.SyncOptions) (adapter.SyncResult, error) {
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
		} else if cfg.GeoSight.URL != cur.GeoSight.URL && !(cfg.Embedded() && d.fake != nil) {
			err = errors.New("geosight.url cannot change while running: restart to switch instances")
		}
	}
	var setup adapter.Setup
	if err == nil {
		if cfg.Embedded() && d.fake != nil {
			cur := d.Runner.Config()
			cfg.GeoSight.URL, cfg.GeoSight.APIKey, cfg.GeoSight.User = cur.GeoSight.URL, cur.GeoSight.APIKey, cur.GeoSight.User
		}
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
	clock := cfg.Clock()
	d.clock.Store(&clock)
	d.Runner.Configure(setup)
	d.Metrics.Reloads.WithLabelValues("ok").Inc()
	d.log.Info("config reloaded", "path", d.opts.ConfigPath, "sources", len(setup.Sources), "indicators", len(cfg.Indicators))
	return nil
}

func (d *Daemon) now() time.Time { return (*d.clock.Load())() }

// initMetrics creates every alertable series at 0 for the config in force
// (sources, the sink, reload results) and sets the outbox depth from the
// store, so /metrics tells the truth before the first sync finishes.
func (d *Daemon) initMetrics() {
	cfg := d.Runner.Config()
	var names []string
	for n, s := range cfg.Sources {
		if s.Enabled {
			names = append(names, n)
		}
	}
	sink := ""
	if d.Runner.Sink != nil {
		sink = d.Runner.Sink.Name()
	}
	n := 0
	if sink != "" {
		var err error
		if n, err = d.Store.Sink(sink).PendingCount(); err != nil {
			d.log.Warn("counting the outbox failed", "err", err)
		}
	}
	d.Metrics.Init(names, sink, n)
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

// Close releases the store and stops the embedded fake.
func (d *Daemon) Close() {
	if d.fake != nil {
		d.fake.Close()
	}
	if d.Store != nil {
		d.Store.Close()
	}
}
