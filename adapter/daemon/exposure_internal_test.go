package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

func (d *Daemon) exposureEngine() indicators.ExposureEngine {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.setup.Exposure
}

// TestReloadKeepsExposureEngine: a reload that edits only an indicator
// keeps the very engine (and its warm caches); one that edits population.*
// builds a new one.
func TestReloadKeepsExposureEngine(t *testing.T) {
	demo, err := filepath.Abs("../../fixtures/demo")
	require.NoError(t, err)
	orig, err := os.ReadFile(filepath.Join(demo, "hazardsync.yaml"))
	require.NoError(t, err)
	// The copy lives beside the demo so its relative paths still resolve.
	path := filepath.Join(demo, ".test-exposure-"+filepath.Base(t.TempDir())+".yaml")
	base := strings.Replace(string(orig), "listen: 127.0.0.1:8080", "listen: \"\"", 1)
	require.NoError(t, os.WriteFile(path, []byte(base), 0o644))
	t.Cleanup(func() { os.Remove(path) })
	ov := config.Overrides{StateDir: t.TempDir()}
	cfg, err := config.Load(path, ov)
	require.NoError(t, err)
	d, err := New(context.Background(), cfg, Options{ConfigPath: path, Overrides: ov, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer d.Close()
	e0 := d.exposureEngine()
	require.IsType(t, &grid.Engine{}, e0)

	for _, tc := range []struct {
		name     string
		old, new string
		rebuilt  bool
	}{
		{"indicator edited", "name: Multi-hazard index (observed)", "name: Multi-hazard index (observed, edited)", false},
		{"population edited", "  under18_grid: population/under18.tif\n", "  under18_grid: population/under18.tif\n  min_grid_coverage: 0.4\n", true},
		{"nothing edited", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := d.exposureEngine()
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, tc.old == "" || strings.Contains(string(b), tc.old), "the demo config still has %q", tc.old)
			require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), tc.old, tc.new, 1)), 0o644))
			require.NoError(t, d.ReloadConfig(context.Background()))
			after := d.exposureEngine()
			if tc.rebuilt {
				require.NotSame(t, before, after)
			} else {
				require.Same(t, before, after)
			}
			require.IsType(t, &grid.Engine{}, after)
		})
	}
	require.NotSame(t, e0, d.exposureEngine())
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

// TestExposureCacheRebuildsOnItsInputs: what the engine reads decides
// whether it is rebuilt, nothing else.
func TestExposureCacheRebuildsOnItsInputs(t *testing.T) {
	demo, err := filepath.Abs("../../fixtures/demo")
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(demo, "hazardsync.yaml"))
	require.NoError(t, err)
	cfg, err := config.Parse(b, demo, config.Overrides{StateDir: t.TempDir()})
	require.NoError(t, err)
	// Grid copies, so a test can replace one.
	dir := t.TempDir()
	cfg.Population.Grid, cfg.Population.Under18Grid = filepath.Join(dir, "pop.tif"), filepath.Join(dir, "u18.tif")
	copyFile(t, filepath.Join(demo, "population", "population.tif"), cfg.Population.Grid)
	copyFile(t, filepath.Join(demo, "population", "under18.tif"), cfg.Population.Under18Grid)
	log := slog.New(slog.DiscardHandler)
	as, err := (&Daemon{log: log}).loadAreas(context.Background(), cfg)
	require.NoError(t, err)
	cloneAreas := func() []indicators.Area {
		out := slices.Clone(as)
		for i := range out {
			out[i].Geometry = orb.Clone(out[i].Geometry)
		}
		return out
	}

	for _, tc := range []struct {
		name    string
		edit    func(cfg *config.Config, as []indicators.Area) []indicators.Area
		rebuilt bool
	}{
		{"same inputs, areas reloaded", func(*config.Config, []indicators.Area) []indicators.Area { return cloneAreas() }, false},
		{"an indicator and a source", func(c *config.Config, as []indicators.Area) []indicators.Area {
			c.Indicators = c.Indicators[:1]
			c.Schedule.Interval *= 2
			return as
		}, false},
		{"population.min_grid_coverage", func(c *config.Config, as []indicators.Area) []indicators.Area {
			c.Population.MinGridCoverage = 0.25
			return as
		}, true},
		{"no under-18 grid", func(c *config.Config, as []indicators.Area) []indicators.Area {
			c.Population.Under18Grid = ""
			return as
		}, true},
		{"grid file replaced", func(c *config.Config, as []indicators.Area) []indicators.Area {
			later := time.Now().Add(time.Hour)
			require.NoError(t, os.Chtimes(c.Population.Grid, later, later))
			return as
		}, true},
		{"a baseline figure", func(_ *config.Config, _ []indicators.Area) []indicators.Area {
			as := cloneAreas()
			p := 12345.0
			as[3].Baseline.Population = &p
			return as
		}, true},
		{"a vertex moved", func(_ *config.Config, _ []indicators.Area) []indicators.Area {
			as := cloneAreas()
			poly, ok := as[5].Geometry.(orb.Polygon)
			require.True(t, ok, "%T", as[5].Geometry)
			poly[0][1][0] += 1e-9
			return as
		}, true},
		{"an area less", func(_ *config.Config, _ []indicators.Area) []indicators.Area { return cloneAreas()[1:] }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c exposureCache
			cfg1 := cfg
			cfg1.Indicators = slices.Clone(cfg.Indicators)
			e1, _, err := c.build(cfg1, as, false, log)
			require.NoError(t, err)
			as2 := tc.edit(&cfg1, as)
			e2, _, err := c.build(cfg1, as2, false, log)
			require.NoError(t, err)
			if tc.rebuilt {
				require.NotSame(t, e1, e2)
			} else {
				require.Same(t, e1, e2)
			}
			e3, _, err := c.build(cfg1, as2, false, log)
			require.NoError(t, err)
			require.Same(t, e2, e3, "then kept")
		})
	}

	// A grid that went missing is an error, never the old engine.
	var c exposureCache
	_, _, err = c.build(cfg, as, false, log)
	require.NoError(t, err)
	require.NoError(t, os.Remove(cfg.Population.Under18Grid))
	_, _, err = c.build(cfg, as, false, log)
	require.ErrorContains(t, err, "population.under18_grid")
}
