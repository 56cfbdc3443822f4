package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/indicators"
)

// DayResult is one backfilled day.
type DayResult struct {
	Date    indicators.Date
	Result  runner.SyncResult
	Err     error
	AsOf    time.Time
	Current bool // the last day: a normal sync as of now
}

// Backfill re-derives the values of every day from since to today and
// delivers them (GeoSight's upsert key makes a replay harmless).
//
// Values are dated by the day they are computed for, and a past day can
// only be re-derived from what the feeds still serve: every source is
// fetched afresh (stored cursors ignored, so nothing is skipped as "not
// modified"), then each past day is computed as of its last instant from
// the events issued (else valid from) on or before that day — what was
// known by then —
// and which had not ended before it began. An event that ended during the
// day counts for that day. Past days never reset a value the feeds no
// longer explain (the live run may have seen events that have since left
// the feed's window), and early-warning hysteresis is not applied to them
// (the ledger belongs to the live run). Today is an ordinary sync.
func (d *Daemon) Backfill(ctx context.Context, since time.Time, opt runner.SyncOptions, each func(DayResult)) ([]DayResult, error) {
	opt.DryRun = opt.DryRun || d.opts.DryRun
	r := d.Runner
	cfg := r.Config()
	loc := cfg.Location()
	now := r.Now()
	first := startOfDay(since.In(loc))
	if first.After(now) {
		return nil, fmt.Errorf("--since %s is after today (%s)", first.Format(time.DateOnly), now.In(loc).Format(time.DateOnly))
	}
	bs := &backfillStore{Store: d.Store}

	// Fresh full fetch; keep every event that was still running on the
	// first day (the live fetch would drop those that ended before now).
	bs.ignoreCursors = true
	fo := runner.FetchOptions{Store: bs, Now: func() time.Time { return first }}
	var wg sync.WaitGroup
	for name, spec := range cfg.Sources {
		if !spec.Enabled {
			continue
		}
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			_ = r.FetchSourceWith(ctx, name, fo) // recorded in the source's health
		}(name)
	}
	wg.Wait()
	bs.ignoreCursors = false

	var out []DayResult
	var errs []error
	for day := first; !day.After(now); day = day.AddDate(0, 0, 1) {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		next := day.AddDate(0, 0, 1)
		dr := DayResult{Date: indicators.DateOf(day, loc)}
		dopt := opt
		if next.After(now) {
			// Today: exactly what a normal run does.
			dr.AsOf, dr.Current = now, true
		} else {
			asOf := next.Add(-time.Second)
			bs.from, bs.to = day, asOf
			dopt.Store, dopt.Now = bs, func() time.Time { return asOf }
			dr.AsOf = asOf
		}
		dopt.NoStaleReset = !dr.Current
		dr.Result, dr.Err = r.Sync(ctx, dopt)
		if dr.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dr.Date, dr.Err))
		}
		out = append(out, dr)
		if each != nil {
			each(dr)
		}
	}
	return out, errors.Join(errs...)
}

func startOfDay(t time.Time) time.Time {
	y, m, dd := t.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, t.Location())
}

// backfillStore narrows the store's events to one past day (past days do
// not reset delivered values: Backfill sets NoStaleReset). It deliberately does not expose the
// key-value extension, so the live early-warning ledger is left alone.
type backfillStore struct {
	adapter.Store
	ignoreCursors bool
	from, to      time.Time // the day being computed; zero while fetching
}

func (s *backfillStore) Cursor(source string) (adapter.Cursor, error) {
	if s.ignoreCursors {
		return adapter.Cursor{}, nil
	}
	return s.Store.Cursor(source)
}

// Events are the source's events issued by the end of the day and
// had not ended before it began.
func (s *backfillStore) Events(source string) ([]indicators.Event, error) {
	evs, err := s.Store.Events(source)
	if err != nil || s.to.IsZero() {
		return evs, err
	}
	out := make([]indicators.Event, 0, len(evs))
	for _, e := range evs {
		begun := e.Issued
		if begun.IsZero() {
			begun = e.ValidFrom
		}
		if !begun.IsZero() && begun.After(s.to) {
			continue
		}
		if !e.ValidTo.IsZero() && e.ValidTo.Before(s.from) {
			continue
		}
		if !e.ValidTo.IsZero() && e.ValidTo.Before(s.to) {
			e.ValidTo = s.to // ended during the day: it counts for the day
		}
		out = append(out, e)
	}
	return out, nil
}
