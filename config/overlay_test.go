package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

func TestOverlayThresholds(t *testing.T) {
	dir, y := base(t)
	for _, c := range []struct {
		yaml string
		want indicators.OverlayOptions
		err  []string
	}{
		{"", indicators.OverlayOptions{}, nil},
		{"overlay:\n  min_share: 0.05\n  min_km2: 1.5\n", indicators.OverlayOptions{MinShare: 0.05, MinKm2: 1.5}, nil},
		{"overlay:\n  min_share: 1\n  min_km2: -1\n", indicators.OverlayOptions{}, []string{"overlay.min_share: must be in [0, 1), got 1", "overlay.min_km2: must be >= 0, got -1"}},
	} {
		cfg, err := config.Parse([]byte(y+c.yaml), dir, config.Overrides{})
		if len(c.err) > 0 {
			require.Error(t, err)
			for _, e := range c.err {
				assert.ErrorContains(t, err, e)
			}
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, c.want, cfg.Overlay.Options())
	}
}
