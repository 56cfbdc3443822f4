package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/pull"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/config"
)

// The pull feed's explicit zeros carry the date of the sync's values (the
// demo replays 2026-11-27), not the wall clock's: a zero dated another day
// would be a second time series in GeoSight. Seen when GeoSight's importer
// read the demo's feed: 265 zeros dated the day of the run.
func TestPullFeedZerosDatedLikeTheSync(t *testing.T) {
	demo, err := filepath.Abs("../../fixtures/demo")
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(demo, "hazardsync.yaml"))
	require.NoError(t, err)
	cfg, err := config.Parse(b, demo, config.Overrides{StateDir: t.TempDir()})
	require.NoError(t, err)
	cfg.HTTP.Listen = ""
	d, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer d.Close()
	assert.False(t, d.pullCatalogue().Ready, "no sync yet")
	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)

	cat := d.pullCatalogue()
	require.True(t, cat.Ready)
	vals, err := d.pullValues()
	require.NoError(t, err)
	all := pull.Complete(vals, cat)
	want := 0
	for _, def := range cfg.Indicators {
		for _, a := range d.Runner.Areas() {
			if def.AtLevel(a.Level) && (def.RollupFrom == nil || a.Level <= *def.RollupFrom) {
				want++
			}
		}
	}
	assert.Len(t, all, want, "every configured indicator at every area it covers")
	assert.Greater(t, len(all), len(vals), "the demo leaves areas without a value: they get zeros")
	for _, v := range all {
		assert.Equal(t, "2026-11-27", string(v.Date), "%s", v.Key())
	}
}
