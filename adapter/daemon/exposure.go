package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

// exposureCache keeps the exposure engine a reload can reuse: it is rebuilt
// only when what it reads changed (population.*, the grid files' size or
// modification time, the areas with their baselines), so a reload that edits
// an indicator or a source keeps the engine and its warm caches.
type exposureCache struct {
	mu     sync.Mutex
	engine indicators.ExposureEngine
	pop    config.Population
	files  [2]fileStamp
	areas  []indicators.Area
	dryRun bool
}

// gridFiles are the population GeoTIFFs, with their config keys.
func gridFiles(cfg config.Config) [2]struct{ key, path string } {
	return [2]struct{ key, path string }{{"population.grid", cfg.Population.Grid}, {"population.under18_grid", cfg.Population.Under18Grid}}
}

// fileStamp is what tells a replaced grid file (the engine's key hashes its
// bytes, too costly for every reload).
type fileStamp struct {
	size int64
	mod  time.Time
}

func stamp(path string) (fileStamp, error) {
	if path == "" {
		return fileStamp{}, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: st.Size(), mod: st.ModTime()}, nil
}

// build returns the cached engine when its inputs are unchanged, else
// buildExposure's, which it keeps. Facilities are read every time (small).
func (c *exposureCache) build(cfg config.Config, as []indicators.Area, dryRun bool, log *slog.Logger) (indicators.ExposureEngine, func(*indicators.Input), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var files [2]fileStamp
	for i, l := range gridFiles(cfg) {
		st, err := stamp(l.path)
		if err != nil {
			c.engine = nil // never reuse past a grid that went missing
			return nil, nil, fmt.Errorf("%s: %w", l.key, err)
		}
		files[i] = st
	}
	reuse := c.engine != nil && c.pop == cfg.Population && c.files == files && c.dryRun == dryRun && sameAreas(c.areas, as)
	engine := c.engine
	if !reuse {
		c.engine = nil
		var err error
		if engine, err = buildEngine(cfg, as, dryRun, log); err != nil {
			return nil, nil, err
		}
		c.engine, c.pop, c.files, c.areas, c.dryRun = engine, cfg.Population, files, as, dryRun
	} else {
		log.Debug("exposure engine kept: population and areas unchanged", "method", engine.Method())
	}
	var extend func(*indicators.Input)
	if cfg.Population.Facilities != "" {
		fs, err := areas.LoadFacilities(cfg.Population.Facilities)
		if err != nil {
			return nil, nil, fmt.Errorf("population.facilities: %w", err)
		}
		extend = func(in *indicators.Input) { in.Facilities = fs }
	}
	return engine, extend, nil
}

// sameAreas: the same codes, names, levels, parents, baselines and
// geometries, in the same order.
func sameAreas(a, b []indicators.Area) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		gx, gy := x.Geometry, y.Geometry
		x.Geometry, y.Geometry = nil, nil
		if !reflect.DeepEqual(x, y) || (gx == nil) != (gy == nil) || gx != nil && !orb.Equal(gx, gy) {
			return false
		}
	}
	return true
}

// buildEngine picks the exposure method: the exact grid engine where a
// population grid is configured (areas outside the grid fall back to
// area-weighting, flagged per value), area-weighting from the baseline
// table otherwise. The grid precompute is kept in the state dir (read-only
// in a dry run).
func buildEngine(cfg config.Config, as []indicators.Area, dryRun bool, log *slog.Logger) (indicators.ExposureEngine, error) {
	if cfg.Population.Grid == "" {
		return indicators.NewAreaWeighted(as), nil
	}
	log = log.With("component", "exposure")
	opts := grid.Options{Cache: state.NewGridCache(cfg.StateDir, dryRun), Logger: log}
	// The grids' digests key the precompute; the memo spares reading
	// them whole at every start.
	memo, err := state.OpenDigestMemo(cfg.StateDir, dryRun)
	if err != nil {
		log.Warn("grid digest memo unusable: the grids are hashed", "err", err)
	}
	dst := [2]*grid.Layer{&opts.Grid, &opts.Under18}
	for i, l := range gridFiles(cfg) {
		if l.path == "" {
			continue
		}
		layer, closer, err := areas.OpenGrid(l.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.key, err)
		}
		defer closer.Close()
		if f, ok := layer.R.(*os.File); ok {
			d, remembered, err := memo.Digest(f, grid.LayerDigestName, func() ([]byte, error) { return grid.LayerDigest(f, layer.Size) })
			if err != nil {
				return nil, fmt.Errorf("%s: hashing %s: %w", l.key, l.path, err)
			}
			log.Debug("grid digest", "file", l.path, "remembered", remembered)
			layer.Digest = d
		}
		*dst[i] = layer
	}
	g, err := grid.NewEngine(as, opts)
	if err != nil {
		return nil, fmt.Errorf("population.grid: %w", err)
	}
	if err := memo.Save(); err != nil {
		log.Warn("grid digest memo not saved", "err", err)
	}
	if err := checkGridCoverage(cfg, g.AreaCoverage()); err != nil {
		return nil, err
	}
	return g, nil
}

// checkGridCoverage refuses a population grid that covers less of the
// areas than population.min_grid_coverage.
func checkGridCoverage(cfg config.Config, c grid.GridCoverage) error {
	if c.AreasKm2 == 0 || c.Share >= cfg.Population.MinGridCoverage {
		return nil
	}
	return fmt.Errorf("population.grid %s covers %.1f%% of the areas (admin level %d: %.0f of %.0f km²), below population.min_grid_coverage %.0f%%: "+
		"use a grid of these areas, lower the share, or remove population.grid to area-weight the baseline table",
		cfg.Population.Grid, 100*c.Share, c.Level, c.CoveredKm2, c.AreasKm2, 100*cfg.Population.MinGridCoverage)
}

// GridCoverage measures how much of the configured areas (from files) the
// population grid covers, without building the engine: for validate.
// ok is false when there is no grid or the areas come from GeoSight.
func GridCoverage(cfg config.Config) (c grid.GridCoverage, ok bool, err error) {
	if cfg.Population.Grid == "" || cfg.Geographies.From == "geosight" && !cfg.Embedded() {
		return c, false, nil
	}
	as, _, err := areas.LoadFiles(cfg.Geographies.Files)
	if err != nil {
		return c, false, err
	}
	l, closer, err := areas.OpenGrid(cfg.Population.Grid)
	if err != nil {
		return c, false, fmt.Errorf("population.grid: %w", err)
	}
	defer closer.Close()
	t, err := grid.NewTiff(l.R, l.Size)
	if err != nil {
		return c, false, fmt.Errorf("population.grid %s: %w", l.Name, err)
	}
	c = grid.AreaShare(as, t.Geo.Bounds(t.Width, t.Height))
	return c, true, checkGridCoverage(cfg, c)
}
