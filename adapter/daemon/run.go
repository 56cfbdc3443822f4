package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight/pull"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/schedule"
	"github.com/hazardsync/hazardsync/adapter/status"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// RunOptions are the daemon loop's inputs from the process.
type RunOptions struct {
	// Hup delivers SIGHUP: reload the config.
	Hup <-chan os.Signal
	// Out receives the plain-words banner (where to look).
	Out io.Writer
	// ShutdownGrace bounds how long in-flight work may take after SIGTERM.
	ShutdownGrace time.Duration
	// Ready, when set, is closed once the status server listens (tests).
	Ready chan<- string
	// HTTPTimeouts bound the status server's connections (zero fields:
	// the defaults in status.Timeouts).
	HTTPTimeouts status.Timeouts
}

// Run serves until ctx ends: sources on their schedules, a sync after each
// fetch, hot reload on file change or SIGHUP, the status server.
//
// The loop itself never blocks on work: syncs and reloads run in their own
// goroutines, so a SIGHUP is acted on at once even while a delivery hangs
// on a stuck GeoSight. A reload swaps the setup and the GeoSight client
// atomically; a sync already under way finishes with what it started with,
// and the next one uses the new config.
func (d *Daemon) Run(ctx context.Context, ro RunOptions) error {
	if ro.ShutdownGrace == 0 {
		ro.ShutdownGrace = 30 * time.Second
	}
	cfg := d.Runner.Config()
	log := d.log
	d.initMetrics()

	// One sync at a time; fetches ask for one and a pending request is
	// coalesced, so a burst of fetches gives one sync, not many.
	syncReq := make(chan struct{}, 1)
	requestSync := func() {
		select {
		case syncReq <- struct{}{}:
		default:
		}
	}
	sched := schedule.New(log.With("component", "scheduler"), nil)
	sched.Update(d.jobs(requestSync))

	srvErr := make(chan error, 1)
	var httpSrv *http.Server
	if cfg.HTTP.Listen != "" {
		token, err := readToken("http.token_file", cfg.HTTP.TokenFile)
		if err != nil {
			return err
		}
		pullToken, err := readToken("http.pull_token_file", cfg.HTTP.PullTokenFile)
		if err != nil {
			return err
		}
		// /pull/ takes the pull token in its URL (GeoSight's importer cannot
		// send a header) or the status token as a header.
		extra := map[string]http.Handler{"/pull/": pull.New(d.pullValues).WithLogger(log).WithCatalogue(d.pullCatalogue).
			WithTokens(pullToken, token)}
		h := status.NewServer(provider{d}, d.Metrics.Registry, status.Options{Token: token, Extra: extra, Logger: log,
			Redact: append(d.secrets(), token, pullToken), Raw: map[string]http.Handler{BackupPath: d.backupHandler()}})
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("status server on %s (http.listen / --http-addr): %w", cfg.HTTP.Listen, err)
		}
		httpSrv = status.HTTPServer(h, ro.HTTPTimeouts, log)
		go func() { srvErr <- httpSrv.Serve(ln) }()
		addr := "http://" + ln.Addr().String()
		if ro.Ready != nil {
			ro.Ready <- addr
		}
		d.banner(ro.Out, addr)
	}

	// Reloads come from the file watcher and from SIGHUP; one at a time,
	// each beside whatever sync is running, none after shutdown began.
	var reloadMu sync.Mutex
	stopped := false
	reload := func() {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		if stopped {
			return
		}
		if d.ReloadConfig(ctx) == nil {
			d.initMetrics()
			sched.Update(d.jobs(requestSync))
			sched.TriggerAll()
			requestSync()
		}
	}
	if cfg.Path != "" || d.opts.ConfigPath != "" {
		if err := config.Watch(ctx, d.opts.ConfigPath, 500*time.Millisecond, reload); err != nil {
			log.Warn("config file watch unavailable; SIGHUP still reloads", "err", err)
		}
	}

	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(ctx) }()

	syncDone := make(chan struct{}, 1)
	syncing := false
	startSync := func() {
		syncing = true
		go func() {
			defer func() { syncDone <- struct{}{} }()
			if _, err := d.Runner.Sync(ctx, runner.SyncOptions{DryRun: d.opts.DryRun}); err != nil && ctx.Err() == nil {
				log.Error("sync failed; queued values are kept and retried", "err", err)
			}
		}()
	}

	// Deliver what a previous run left in the outbox before anything else.
	requestSync()
	// Retention runs daily (retention.days of delivered history and run
	// records are kept) so the state file does not grow forever.
	prune := time.NewTicker(24 * time.Hour)
	defer prune.Stop()
	d.prune()
	for {
		// While a sync runs, requests wait in syncReq (coalesced).
		reqs := syncReq
		if syncing {
			reqs = nil
		}
		select {
		case <-prune.C:
			d.prune()
		case <-ctx.Done():
			log.Info("shutting down: no new fetches; finishing in-flight work", "grace", ro.ShutdownGrace)
			sched.Stop(ro.ShutdownGrace)
			if syncing {
				// Cancelled with ctx; what it did not deliver stays queued.
				select {
				case <-syncDone:
					syncing = false
				case <-time.After(ro.ShutdownGrace):
					log.Warn("the running sync did not stop within the grace period; its values stay queued for the next start")
				}
			}
			reloadMu.Lock() // waits for a reload under way
			stopped = true
			reloadMu.Unlock()
			if !syncing {
				// A last delivery pass for what is already queued, bounded by the
				// grace period; anything left stays in the outbox for next start.
				dctx, cancel := context.WithTimeout(context.Background(), ro.ShutdownGrace)
				if _, err := d.Runner.Sync(dctx, runner.SyncOptions{DryRun: d.opts.DryRun}); err != nil {
					log.Warn("final delivery incomplete; values stay queued for the next start", "err", err)
				}
				cancel()
			}
			if httpSrv != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = httpSrv.Shutdown(sctx)
				cancel()
			}
			<-schedDone
			return nil
		case <-ro.Hup:
			log.Info("SIGHUP: reloading config")
			go reload()
		case err := <-srvErr:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("status server: %w", err)
			}
		case <-reqs:
			startSync()
		case <-syncDone:
			syncing = false
		}
	}
}

// readToken reads a secret from a file named by the config key ("" when
// the key is unset).
func readToken(key, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%s: %s is empty", key, path)
	}
	return t, nil
}

// jobs turns the configured sources into scheduler jobs. A job's Spec is
// the source's raw config, so a reload restarts only changed sources.
func (d *Daemon) jobs(requestSync func()) []schedule.Job {
	cfg := d.Runner.Config()
	var out []schedule.Job
	for name, spec := range cfg.Sources {
		if !spec.Enabled {
			continue
		}
		name := name
		out = append(out, schedule.Job{
			Name: name, Interval: spec.Interval, Cron: spec.Cron, Jitter: cfg.Schedule.Jitter,
			Timeout: spec.Timeout, RunAtStart: true, Spec: fmt.Sprintf("%v|%s|%s|%v", spec.Interval, spec.Cron, spec.Timeout, spec.Raw),
			Run: func(ctx context.Context) error {
				err := d.Runner.FetchSource(ctx, name)
				requestSync()
				return err
			},
		})
	}
	return out
}

// prune applies retention.days to the delivered history and run records.
func (d *Daemon) prune() {
	cfg := d.Runner.Config()
	today := indicators.DateOf(d.Runner.Now(), cfg.Location())
	if res, err := d.Store.Retain(today, cfg.Retention.Days); err != nil {
		d.log.Warn("applying retention to the state failed", "err", err)
	} else if res.Delivered+res.Runs > 0 {
		d.log.Info("retention: dropped old state records", "delivered", res.Delivered, "runs", res.Runs, "days", cfg.Retention.Days)
	}
}

func (d *Daemon) pullValues() ([]indicators.Value, error) { return d.Runner.CurrentValues(), nil }

// pullCatalogue is what the pull feed must cover (every configured indicator
// at every area), dated like the latest sync's values: their day, or the
// runner clock's (replay_time honoured) when there are none.
func (d *Daemon) pullCatalogue() pull.Catalogue {
	cfg, last := d.Runner.Config(), d.Runner.LastRun()
	today := indicators.DateOf(cfg.Clock()(), cfg.Location())
	if vals := d.Runner.CurrentValues(); len(vals) > 0 {
		today = vals[0].Date
		for _, v := range vals {
			if v.Date > today {
				today = v.Date
			}
		}
	}
	return pull.Catalogue{Indicators: cfg.Indicators, Areas: d.Runner.Areas(), Ready: !last.Started.IsZero(), Today: today}
}

// secrets are strings no response may ever contain: the API keys of the
// GeoSight sinks.
func (d *Daemon) secrets() []string {
	var out []string
	if k := d.Runner.Config().GeoSight.APIKey.Reveal(); k != "" {
		out = append(out, k)
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, b := range d.sinks {
		if g, ok := b.sink.(interface{ Config() config.GeoSight }); ok {
			if k := g.Config().APIKey.Reveal(); k != "" {
				out = append(out, k)
			}
		}
	}
	return out
}

func (d *Daemon) banner(w io.Writer, addr string) {
	if w == nil {
		return
	}
	cfg := d.Runner.Config()
	fmt.Fprintf(w, "\nhazardsync %s is running.\n", adapter.Version)
	fmt.Fprintf(w, "  Status page and map:  %s/\n", addr)
	fmt.Fprintf(w, "  Health / metrics:     %s/healthz  %s/metrics\n", addr, addr)
	if u := d.EmbeddedURL(); u != "" {
		fmt.Fprintf(w, "  Embedded GeoSight:    %s/  (values arrive here; no account needed)\n", u)
	} else {
		fmt.Fprintf(w, "  Delivering to:        %s\n", cfg.GeoSight.URL)
	}
	for _, sk := range cfg.AllSinks() {
		if sk.Name != config.GeoSightSink {
			fmt.Fprintf(w, "  Also delivering to:   sink %s (%s)\n", sk.Name, sk.Kind)
		}
	}
	fmt.Fprintf(w, "  Config (edit it live): %s\n", d.opts.ConfigPath)
	fmt.Fprintf(w, "  State:                %s\n", cfg.StateDir)
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n\n")
}
