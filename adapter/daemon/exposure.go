package daemon

import (
	"fmt"
	"log/slog"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

// buildExposure picks the exposure method: the exact grid engine where a
// population grid is configured (areas outside the grid fall back to
// area-weighting, flagged per value), area-weighting from the baseline
// table otherwise. Facilities, when configured, are loaded for the
// facilities_exposed recipe.
func buildExposure(cfg config.Config, as []indicators.Area, dryRun bool, log *slog.Logger) (indicators.ExposureEngine, func(*indicators.Input), error) {
	var engine indicators.ExposureEngine = indicators.NewAreaWeighted(as)
	if cfg.Population.Grid != "" {
		g, err := grid.NewEngine(as, grid.Options{GridPath: cfg.Population.Grid, Under18GridPath: cfg.Population.Under18Grid,
			CacheDir: cfg.StateDir, CacheReadOnly: dryRun, Logger: log.With("component", "exposure")})
		if err != nil {
			return nil, nil, fmt.Errorf("population.grid: %w", err)
		}
		engine = g
	}
	var extend func(*indicators.Input)
	if cfg.Population.Facilities != "" {
		fs, err := grid.LoadFacilities(cfg.Population.Facilities)
		if err != nil {
			return nil, nil, fmt.Errorf("population.facilities: %w", err)
		}
		extend = func(in *indicators.Input) { in.Facilities = fs }
	}
	return engine, extend, nil
}
