package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/runner"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestBackfill replays the demo feeds from 2026-11-20: every day gets its
// own date, an event counts only from the day it was issued, and every value
// lands in GeoSight under its day.
func TestBackfill(t *testing.T) {
	path, err := filepath.Abs("../../fixtures/demo/hazardsync.yaml")
	require.NoError(t, err)
	cfg, err := config.Load(path, config.Overrides{StateDir: t.TempDir()})
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := New(context.Background(), cfg, Options{ConfigPath: path, Logger: log})
	require.NoError(t, err)
	defer d.Close()
	if cfg.ReplayTime.IsZero() {
		t.Skip("the demo config pins no replay_time; the days would depend on today's date")
	}
	since := d.Runner.Now().AddDate(0, 0, -7)
	days, err := d.Backfill(context.Background(), since, runner.SyncOptions{}, nil)
	require.NoError(t, err)
	require.Len(t, days, 8)
	require.True(t, days[7].Current)
	for i, day := range days {
		want := indicators.DateOf(since.AddDate(0, 0, i), cfg.Location())
		require.Equal(t, want, day.Date)
		for _, e := range day.Result.Events {
			known := e.Issued
			if known.IsZero() {
				known = e.ValidFrom
			}
			require.False(t, !day.Current && known.After(day.AsOf), "%s: event %s issued %s, after the day", day.Date, e.ID, known)
		}
		for _, v := range day.Result.Changed {
			require.Equal(t, day.Date, v.Date)
		}
		require.Zero(t, day.Result.Summary.Failed, day.Date)
	}
	require.Less(t, days[0].Result.Summary.Events, days[7].Result.Summary.Events, "the first day should see fewer events than today")

	byDate := map[string]int{}
	for _, v := range d.Fake().Values() {
		byDate[v.Date]++
	}
	for _, day := range days {
		require.Equal(t, day.Result.Summary.Sent, byDate[string(day.Date)], "values in GeoSight dated %s", day.Date)
	}
	// Nothing left queued, and a second backfill changes nothing.
	again, err := d.Backfill(context.Background(), since, runner.SyncOptions{}, nil)
	require.NoError(t, err)
	for _, day := range again {
		require.Zero(t, day.Result.Summary.Sent, "second backfill of %s resent values", day.Date)
		require.Zero(t, day.Result.Summary.Pending)
	}
}
