package daemon_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

// TestGridOfAnotherPlaceRefused: a population grid that covers none of
// the areas used to pass with a warning and area-weighted numbers
// everywhere; now validate's measure says 0% and the daemon refuses it,
// unless population.min_grid_coverage allows it.
func TestGridOfAnotherPlaceRefused(t *testing.T) {
	elsewhere := filepath.Join(t.TempDir(), "elsewhere.tif")
	f, err := os.Create(elsewhere)
	require.NoError(t, err)
	vals := make([]float32, 16*16)
	for i := range vals {
		vals[i] = 10
	}
	require.NoError(t, grid.WriteTiff(f, vals, 16, 16, grid.Geo{X0: 100, Y0: 60, DX: 0.01, DY: 0.01}, grid.WriteOptions{}))
	require.NoError(t, f.Close())
	edit := func(share string) func(string) string {
		return func(y string) string {
			y = strings.Replace(y, "grid: population/population.tif", "grid: "+elsewhere+"\n  min_grid_coverage: "+share, 1)
			return strings.Replace(y, "under18_grid: population/under18.tif", "", 1)
		}
	}
	cfg := demoConfig(t, t.TempDir(), edit("0.5"))
	cov, measured, err := daemon.GridCoverage(cfg)
	require.True(t, measured)
	assert.Zero(t, cov.Share)
	require.ErrorContains(t, err, "covers 0.0% of the areas")
	_, err = daemon.New(context.Background(), cfg, daemon.Options{DryRun: true, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorContains(t, err, "below population.min_grid_coverage 50%")

	cfg = demoConfig(t, t.TempDir(), edit("0"))
	_, _, err = daemon.GridCoverage(cfg)
	require.NoError(t, err, "a share of 0 accepts any grid")

	cfg = demoConfig(t, t.TempDir(), nil)
	cov, _, err = daemon.GridCoverage(cfg)
	require.NoError(t, err)
	assert.InDelta(t, 1, cov.Share, 1e-9, "the demo grid covers the demo")
}
