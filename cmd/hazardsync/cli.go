package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/runner"
	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
	"github.com/hazardsync/hazardsync/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // something failed during a sync
	exitInvalid = 2 // invalid config or usage
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

type globals struct {
	configPath string
	stateDir   string
	httpAddr   string
	logLevel   string
	stdout     io.Writer
	stderr     io.Writer
}

// Execute runs the CLI and returns the process exit code.
func Execute(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "hazardsync",
		Short: "Hazard feeds → child-centred indicators per area → GeoSight-OS",
		Long: `hazardsync pulls live hazard feeds (earthquakes, cyclones, floods, fires, heat and
heavy-rain forecasts, CAP warnings), overlays them on administrative areas, computes
child-centred indicators per area, and pushes them into GeoSight-OS.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", "hazardsync.yaml", "config file")
	root.PersistentFlags().StringVar(&g.stateDir, "state-dir", "", "state directory (overrides state_dir)")
	root.PersistentFlags().StringVar(&g.httpAddr, "http-addr", "", "status server address (overrides http.listen)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	root.AddCommand(runCmd(g), onceCmd(g), validateCmd(g), configCmd(g), sourcesCmd(g), versionCmd(g), stateCmd(g), healthcheckCmd(g), dashboardCmd(g))
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "hazardsync:", ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag.
	fmt.Fprintln(stderr, "hazardsync:", err)
	return exitInvalid
}

// load reads and validates the config; invalid config exits 2.
func (g *globals) load() (config.Config, error) {
	cfg, err := config.Load(g.configPath, config.Overrides{StateDir: g.stateDir, HTTPAddr: g.httpAddr})
	if err != nil {
		return cfg, &exitError{exitInvalid, err}
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	return cfg, nil
}

func (g *globals) logger(cfg config.Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "json" {
		opts.ReplaceAttr = secondsForJSON
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// daemon builds the daemon for run and once; a failure to start exits 1.
func (g *globals) daemon(ctx context.Context, cfg config.Config, dryRun bool) (*daemon.Daemon, error) {
	d, err := daemon.New(ctx, cfg, daemon.Options{ConfigPath: g.configPath,
		Overrides: config.Overrides{StateDir: g.stateDir, HTTPAddr: g.httpAddr}, DryRun: dryRun, Logger: g.logger(cfg)})
	if err != nil {
		return nil, &exitError{exitFailed, err}
	}
	return d, nil
}

func runCmd(g *globals) *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: poll sources on their schedules, deliver continuously",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := g.daemon(ctx, cfg, dryRun)
			if err != nil {
				return err
			}
			defer d.Close()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			return d.Run(ctx, daemon.RunOptions{Hup: hup, Out: g.stdout})
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "compute and show, send nothing")
	return c
}

func onceCmd(g *globals) *cobra.Command {
	var dryRun bool
	var outDir, since string
	c := &cobra.Command{
		Use:   "once",
		Short: "Run one sync (fetch every source, compute, deliver), print a summary line, exit",
		Long: `Run one sync and exit. The last line is a summary of key=value fields:
events= values= sent= unchanged= rejected= failed= pending= source_errors=
The exit code is 0 when nothing failed, 1 when a source, a value or the sink failed,
and 2 when the config is invalid.

--since DATE backfills: every source is fetched afresh (stored cursors ignored) and
each day from DATE to today is computed from the events the feeds still serve for
that day, dated that day, and delivered; one "day=" line per day precedes the summary.
Feeds only serve a window (USGS summaries: past day/week/month; GDACS: its search
window), so days before it get no values.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if outDir != "" {
				cfg.Output.Dir = outDir
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			d, err := g.daemon(ctx, cfg, dryRun)
			if err != nil {
				return err
			}
			defer d.Close()
			opt := runner.SyncOptions{DryRun: dryRun}
			var bar *progressbar.ProgressBar
			if f, ok := g.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opt.Progress = func(done, total int) {
					if bar == nil && total > 0 {
						bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(g.stderr),
							progressbar.OptionSetDescription("delivering"), progressbar.OptionShowCount(),
							progressbar.OptionClearOnFinish())
					}
					if bar != nil {
						_ = bar.Set(done)
					}
				}
			}
			var res runner.SyncResult
			var syncErr error
			if since != "" {
				res, syncErr = backfill(ctx, g, d, cfg, since, opt)
				var se *exitError
				if errors.As(syncErr, &se) {
					return se
				}
			} else {
				res, syncErr = d.Once(ctx, opt)
			}
			if bar != nil {
				_ = bar.Finish()
			}
			if dryRun {
				files, err := d.WritePreview(cfg.Output.Dir, res)
				if err != nil {
					return &exitError{exitFailed, err}
				}
				for _, f := range files {
					fmt.Fprintln(g.stdout, "wrote", f)
				}
			}
			for _, h := range d.Runner.SourceHealth() {
				if h.Enabled && !h.Healthy {
					fmt.Fprintf(g.stdout, "source %s failed: %s\n", h.Name, h.LastError)
				}
			}
			if !dryRun {
				if dh := d.Runner.Delivery(); dh.Advice != "" {
					fmt.Fprintln(g.stdout, "delivery:", dh.Advice)
				} else if dh.TimeLeft > 0 {
					fmt.Fprintf(g.stdout, "delivery: %d values queued, about %s left at %.1f values/s\n", dh.Pending, dh.TimeLeft, dh.Rate)
				}
			}
			s := res.Summary
			printSinkRuns(g.stdout, s)
			fmt.Fprintf(g.stdout, "events=%d values=%d sent=%d unchanged=%d rejected=%d failed=%d pending=%d source_errors=%d dry_run=%t duration=%s\n",
				s.Events, s.Values, s.Sent, s.Unchanged, s.Rejected, s.Failed, s.Pending, s.SourceErr, dryRun, s.Duration.Round(time.Millisecond))
			if syncErr != nil {
				return &exitError{exitFailed, syncErr}
			}
			if s.Failed+s.Rejected+s.SourceErr > 0 {
				return &exitError{exitFailed, nil}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "compute and write a preview (map, GeoJSON, CSV); send nothing")
	c.Flags().StringVar(&outDir, "out", "", "preview directory for --dry-run (overrides output.dir)")
	c.Flags().StringVar(&since, "since", "", "backfill: recompute and deliver every day from this date (YYYY-MM-DD) to today")
	return c
}

func validateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the config and list every problem with its key path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			enabled := 0
			for _, s := range cfg.Sources {
				if s.Enabled {
					enabled++
				}
			}
			if cfg.Geographies.From != "geosight" || cfg.Embedded() {
				_, _, repairs, err := areas.LoadFilesReport(cfg.Geographies.Files)
				for _, r := range repairs {
					fmt.Fprintln(g.stdout, r)
				}
				if err != nil {
					return &exitError{exitInvalid, err}
				}
			}
			cov, measured, err := daemon.GridCoverage(cfg)
			if measured {
				fmt.Fprintf(g.stdout, "population grid covers %.1f%% of the areas (admin level %d: %.0f of %.0f km²; population.min_grid_coverage %.0f%%)\n",
					100*cov.Share, cov.Level, cov.CoveredKm2, cov.AreasKm2, 100*cfg.Population.MinGridCoverage)
			}
			if err != nil {
				return &exitError{exitInvalid, err}
			}
			fmt.Fprintf(g.stdout, "%s: valid (%d sources, %d enabled; %d indicators; target %s)\n",
				g.configPath, len(cfg.Sources), enabled, len(cfg.Indicators), cfg.GeoSight.URL)
			return nil
		},
	}
}

func configCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Config helpers"}
	c.AddCommand(&cobra.Command{
		Use:   "sample",
		Short: "Print a commented sample config (it validates as is)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := g.stdout.Write(config.Sample)
			return err
		},
	})
	c.AddCommand(configShowCmd(g))
	return c
}

func sourcesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "sources",
		Short: "List the source types this build knows, with their options and defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(g.stdout, "Every source also takes: type (default: its name), enabled (true), interval (schedule.interval, >= 1m)")
			fmt.Fprintln(g.stdout, "or cron (5 fields), timeout (80% of the interval). Full reference: docs/config-reference.md")
			fmt.Fprintln(g.stdout)
			for _, f := range adapter.SourceKinds() {
				fmt.Fprintf(g.stdout, "%s\n    %s\n", f.Kind, f.Description)
				for _, o := range Options(f.NewConfig()) {
					fmt.Fprintf(g.stdout, "    %-28s default %s\n", o.Key, o.Default)
				}
				fmt.Fprintln(g.stdout)
			}
			return nil
		},
	}
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version and build information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(g.stdout, "hazardsync %s (%s, %s/%s)\n", adapter.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if commit, date, modified := buildVCS(); commit != "" {
				dirty := ""
				if modified {
					dirty = ", modified"
				}
				fmt.Fprintf(g.stdout, "commit %s, built from a tree dated %s%s\n", commit, date, dirty)
			}
			return nil
		},
	}
}

// buildVCS reads the commit and its time that `go build` stamps into the
// binary (absent with -buildvcs=false or outside a checkout).
func buildVCS() (commit, date string, modified bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", "", false
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return commit, date, modified
}

// Option is one config key of a plugin with its default, for listings.
type Option struct{ Key, Default string }

// Options lists a typed config's keys and defaults, as the config
// reference does (config.WalkSchema): sections are walked into, lists and
// maps of sections listed as one key.
func Options(cfg any) []Option {
	var out []Option
	config.WalkSchema("", cfg, config.WalkOptions{}, func(k config.SchemaKey) bool {
		if k.Shape == config.ShapeSection {
			return true
		}
		def := config.FormatDefault(k.Value)
		if def == "" {
			def = "(none)"
		}
		out = append(out, Option{k.Path, def})
		return false
	})
	return out
}

// printSinkRuns says, when values go to several sinks, what each got (the
// summary line after them, always the last, holds their totals).
func printSinkRuns(w io.Writer, s adapter.RunSummary) {
	if len(s.Sinks) < 2 {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(s.Sinks)) {
		c := s.Sinks[name]
		fmt.Fprintf(w, "  sink %s: sent=%d unchanged=%d rejected=%d failed=%d pending=%d", name, c.Sent, c.Unchanged, c.Rejected, c.Failed, c.Pending)
		if c.Error != "" {
			fmt.Fprintf(w, " error=%q", c.Error)
		}
		fmt.Fprintln(w)
	}
}
