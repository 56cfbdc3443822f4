package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/config"
)

// backfill runs `once --since`: one "day=" line per day, and a result whose
// summary adds the days up (Current and Changed are today's).
func backfill(ctx context.Context, g *globals, d *daemon.Daemon, cfg config.Config, since string, opt runner.SyncOptions) (runner.SyncResult, error) {
	day, err := time.ParseInLocation(time.DateOnly, since, cfg.Location())
	if err != nil {
		return runner.SyncResult{}, &exitError{exitInvalid, fmt.Errorf("--since: want a date like 2026-11-20, got %q", since)}
	}
	var total runner.SyncResult
	days, err := d.Backfill(ctx, day, opt, func(r daemon.DayResult) {
		s := r.Result.Summary
		fmt.Fprintf(g.stdout, "day=%s as_of=%s events=%d values=%d sent=%d unchanged=%d rejected=%d failed=%d\n",
			r.Date, r.AsOf.Format(time.RFC3339), s.Events, s.Values, s.Sent, s.Unchanged, s.Rejected, s.Failed)
	})
	for _, r := range days {
		s := r.Result.Summary
		t := &total.Summary
		t.Events, t.SourceErr, t.Pending = s.Events, s.SourceErr, s.Pending
		t.Values += s.Values
		t.Sent += s.Sent
		t.Unchanged += s.Unchanged
		t.Rejected += s.Rejected
		t.Failed += s.Failed
		t.Duration += s.Duration
		total.Current, total.Changed, total.Events = r.Result.Current, r.Result.Changed, r.Result.Events
	}
	if len(days) > 0 {
		total.Summary.Started = days[0].Result.Summary.Started
	}
	return total, err
}
