package runner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// memSinkStore answers what diff reads: latest, pending and per-day
// delivered values.
type memSinkStore struct {
	adapter.SinkStore
	latest, pending []indicators.Value
	byDay           map[indicators.Date][]indicators.Value
}

func (s memSinkStore) Latest() ([]indicators.Value, error)  { return s.latest, nil }
func (s memSinkStore) Pending() ([]indicators.Value, error) { return s.pending, nil }
func (s memSinkStore) DeliveredOn(d indicators.Date) ([]indicators.Value, error) {
	return s.byDay[d], nil
}

// diff stopped copying values into maps: what it queues (in order) and
// counts unchanged must stay what the map version (diffReference, below)
// gave, under both datings, with pending values, stale series, backfilled
// days and attributes read back from JSON.
func TestDiffMatchesTheMapVersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	days := []indicators.Date{"2026-11-25", "2026-11-26", "2026-11-27"}
	for round := range 400 {
		cfg := config.Defaults()
		cfg.Retention.Days = 3
		if round%3 == 0 {
			cfg.Delivery.Dating = config.DatingDaily
		}
		cfg.Indicators = []indicators.Definition{{Shortcode: "A"}, {Shortcode: "B"}}
		today := days[rng.IntN(len(days))]
		value := func(ind string, code int, day indicators.Date) indicators.Value {
			v := indicators.Value{Indicator: ind, Code: fmt.Sprintf("C%d", code), AdminLevel: 2, Date: day,
				Type: indicators.Integer, Number: float64(rng.IntN(3))}
			switch rng.IntN(3) {
			case 0:
				v.Attributes = map[string]any{"phase": "observed", "sub_areas": rng.IntN(2)}
			case 1:
				v.Attributes = map[string]any{"phase": "observed", "sub_areas": float64(rng.IntN(2))} // as read back
			}
			return v
		}
		st := memSinkStore{byDay: map[indicators.Date][]indicators.Value{}}
		var current []indicators.Value
		for _, ind := range []string{"A", "B", "GONE"} {
			for code := range 12 {
				if rng.IntN(3) > 0 {
					current = append(current, value(ind, code, today))
				}
				for range rng.IntN(3) { // a series twice: the later wins
					v := value(ind, code, days[rng.IntN(len(days))])
					st.latest = append(st.latest, v)
					st.byDay[v.Date] = append(st.byDay[v.Date], v)
				}
				if rng.IntN(5) == 0 {
					st.pending = append(st.pending, value(ind, code, days[rng.IntN(len(days))]))
				}
			}
		}
		opt := SyncOptions{NoStaleReset: round%5 == 0}
		want, wantN, err := diffReference(st, cfg, current, today, opt)
		require.NoError(t, err)
		before := slices.Clone(st.latest)
		got, gotN, err := diff(st, cfg, current, today, opt)
		require.NoError(t, err)
		require.Equal(t, before, st.latest, "round %d: the store's values are not modified", round)
		require.Equal(t, wantN, gotN, "round %d: unchanged", round)
		require.Equal(t, len(want), len(got), "round %d", round)
		for i := range want {
			require.True(t, want[i].Same(got[i]), "round %d, value %d: %v vs %v", round, i, want[i], got[i])
		}
	}
}

// diffReference is diff as it was with the latest values in a map of copies.
func diffReference(st adapter.SinkStore, cfg config.Config, current []indicators.Value, today indicators.Date, opt SyncOptions) ([]indicators.Value, int, error) {
	configured := map[string]bool{}
	for _, d := range cfg.Indicators {
		configured[d.Shortcode] = true
	}
	type series struct{ indicator, code string }
	// The latest known value of every series: delivered, then anything still
	// pending if dated as late (pending values are newer than what was
	// delivered for the same date).
	latestVals, err := st.Latest()
	if err != nil {
		return nil, 0, err
	}
	latest := make(map[series]indicators.Value, len(latestVals))
	for _, v := range latestVals {
		latest[series{v.Indicator, v.Code}] = v
	}
	pending, err := st.Pending()
	if err != nil {
		return nil, 0, err
	}
	for _, v := range pending {
		if prev, ok := latest[series{v.Indicator, v.Code}]; !ok || v.Date >= prev.Date {
			latest[series{v.Indicator, v.Code}] = v
		}
	}
	byChange := cfg.Delivery.Dating != config.DatingDaily
	// asOf is, for a day behind the latest values (a backfill), each
	// series' newest delivered value up to that day, from the dated history.
	var asOf map[series]indicators.Value
	loadAsOf := func() error {
		asOf = map[series]indicators.Value{}
		day, err := time.Parse(time.DateOnly, string(today))
		if err != nil {
			return fmt.Errorf("bad date %q: %w", today, err)
		}
		for i := 0; i <= max(cfg.Retention.Days, 1); i++ {
			vals, err := st.DeliveredOn(indicators.Date(day.AddDate(0, 0, -i).Format(time.DateOnly)))
			if err != nil {
				return err
			}
			for _, v := range vals {
				if _, seen := asOf[series{v.Indicator, v.Code}]; !seen {
					asOf[series{v.Indicator, v.Code}] = v
				}
			}
		}
		return nil
	}
	delivered := deliveredByDay{store: st}
	now := map[series]bool{}
	var changed []indicators.Value
	unchanged := 0
	// A value still queued is what GeoSight will hold next, so it, not the
	// last delivered one, is what the current value is compared with: a
	// run that died after queueing a value the feed has since taken back
	// must not have that stale value delivered over the current one.
	queued := make(map[indicators.Key]indicators.Value, len(pending))
	for _, v := range pending {
		queued[v.Key()] = v
	}
	for _, v := range current {
		k := series{v.Indicator, v.Code}
		now[k] = true
		if prev, ok := latest[k]; byChange && ok {
			if prev.Date > v.Date {
				if asOf == nil {
					if err := loadAsOf(); err != nil {
						return nil, 0, err
					}
				}
				prev, ok = asOf[k]
				if q, queuedToo := queued[v.Key()]; queuedToo {
					prev, ok = q, true
				}
			}
			if ok && sameButDate(v, prev) {
				unchanged++
				continue
			}
			changed = append(changed, v)
			continue
		}
		// Daily snapshots: compare with what is queued or was delivered for
		// this key.
		prev, ok := queued[v.Key()]
		if !ok {
			var err error
			if prev, ok, err = delivered.get(v.Key()); err != nil {
				return nil, 0, err
			}
		}
		if ok && v.Same(prev) {
			unchanged++
			continue
		}
		changed = append(changed, v)
	}
	if opt.NoStaleReset {
		return changed, unchanged, nil
	}
	var stale []indicators.Value
	for k, v := range latest {
		if now[k] || !configured[k.indicator] || v.IsZero() || v.Date > today {
			continue
		}
		z := v.Zero()
		z.Date = today
		stale = append(stale, z)
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].Key().String() < stale[j].Key().String() })
	return append(changed, stale...), unchanged, nil
}
