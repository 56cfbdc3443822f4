package runner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Hysteresis must order values exactly as a stable sort on Key().String()
// does, duplicates in their input order included: its output order is
// what gets queued.
func TestHysteresisOrderIsTheStableKeySort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// Indicators that prefix each other and codes with separators in
	// them: the string order is not the field order there.
	inds := []string{"EW", "EW_LEAD", "EW|X", "AL"}
	cfg := config.Defaults()
	for _, sc := range inds {
		cfg.Indicators = append(cfg.Indicators, indicators.Definition{Shortcode: sc, Type: indicators.String, Recipe: "alert_level"})
	}
	codes := []string{"A", "A|B", "AB", "B_1", ""}
	dates := []indicators.Date{"2026-11-27", "2026-11-28"}
	for round := range 200 {
		vals := make([]indicators.Value, rng.IntN(60))
		for i := range vals {
			vals[i] = indicators.Value{Indicator: inds[rng.IntN(len(inds))], Code: codes[rng.IntN(len(codes))],
				Date: dates[rng.IntN(len(dates))], Text: strconv.Itoa(i)} // Text tells duplicates apart
		}
		want := slices.Clone(vals)
		sort.SliceStable(want, func(i, j int) bool { return want[i].Key().String() < want[j].Key().String() })
		got, _, _ := Hysteresis(cfg, nil, vals, tSync, nil)
		if len(vals) == 0 {
			want = []indicators.Value{}
		}
		require.Equal(t, want, got, "round %d", round)
	}
}

var tSync = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// randomSync is a sync's computed values over random areas: early-warning
// levels (some areas without one), other indicators at two levels, one
// indicator no longer configured; and a ledger holding some areas higher.
func randomSync(rng *rand.Rand) (config.Config, []indicators.Area, []indicators.Value, map[string]LedgerEntry) {
	cfg := config.Defaults()
	cfg.Triggers = map[string]indicators.Trigger{"flood": {ClearAfter: 24 * time.Hour}}
	two := 2
	cfg.Indicators = []indicators.Definition{
		{Shortcode: "PRES", Type: indicators.Integer, Recipe: "hazard_presence", RollupFrom: &two, Aggregation: "MAX(value)"},
		{Shortcode: "EW", Type: indicators.String, Recipe: "early_warning_level", Params: map[string]any{"trigger": "flood"}, AdminLevels: []int{2}},
		{Shortcode: "POP", Type: indicators.Integer, Recipe: "population_exposed", RollupFrom: &two, Aggregation: "SUM(value)", AdminLevels: []int{2}},
		{Shortcode: "EW2", Type: indicators.String, Recipe: "early_warning_level", Params: map[string]any{"trigger": "flood"}},
		{Shortcode: "KM2", Type: indicators.Float, Recipe: "area_exposed_km2"},
	}
	var areas []indicators.Area
	for p := range 3 {
		areas = append(areas, indicators.Area{Code: fmt.Sprintf("P%d", p), Level: 1})
		for c := range 1 + rng.IntN(6) {
			areas = append(areas, indicators.Area{Code: fmt.Sprintf("P%d_%d", p, c), Level: 2, Parents: []string{fmt.Sprintf("P%d", p)}})
		}
	}
	levels := []string{"none", "watch", "warning", "alert"}
	prev := map[string]LedgerEntry{}
	var vals []indicators.Value
	for _, a := range areas {
		for _, sc := range []string{"PRES", "POP", "KM2", "GONE"} {
			if a.Level == 2 && rng.IntN(3) > 0 {
				vals = append(vals, indicators.Value{Indicator: sc, Code: a.Code, AdminLevel: 2, Date: "2026-11-27",
					Type: indicators.Integer, Number: float64(rng.IntN(100)), Attributes: map[string]any{"phase": "observed"}})
			}
		}
		for _, sc := range []string{"EW", "EW2"} {
			if rng.IntN(3) > 0 {
				vals = append(vals, indicators.Value{Indicator: sc, Code: a.Code, AdminLevel: a.Level, Date: "2026-11-27",
					Type: indicators.String, Text: levels[rng.IntN(len(levels))], Attributes: map[string]any{"phase": "forecast"}})
			}
			if rng.IntN(3) == 0 {
				prev[sc+"|"+a.Code] = LedgerEntry{Level: levels[rng.IntN(len(levels))], Since: tSync.Add(-time.Duration(rng.IntN(72)) * time.Hour),
					Lower: levels[rng.IntN(2)], LowerSince: tSync.Add(-time.Duration(rng.IntN(48)) * time.Hour)}
			}
		}
	}
	rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	return cfg, areas, vals, prev
}

// The hysteresis and the roll-ups stopped copying values between groups:
// their output must stay exactly what the copying versions (kept below as
// the reference) gave.
func TestHysteresisAndRollUpsMatchTheCopyingVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		cfg, areas, vals, prev := randomSync(rng)
		in := slices.Clone(vals)
		wantH, wantE, wantC := hysteresisReference(cfg, areas, vals, tSync, prev)
		gotH, gotE, gotC := Hysteresis(cfg, areas, vals, tSync, prev)
		require.Equal(t, in, vals, "round %d: input untouched", round)
		require.Equal(t, wantH, gotH, "round %d", round)
		require.Equal(t, wantE, gotE, "round %d", round)
		require.ElementsMatch(t, wantC, gotC, "round %d", round)

		for _, vs := range [][]indicators.Value{vals, gotH} {
			want, err := rollUpsReference(cfg, areas, vs)
			require.NoError(t, err)
			got, err := rollUps(cfg, areas, vs)
			require.NoError(t, err)
			require.Equal(t, want, got, "round %d", round)
		}
	}
}

// hysteresisReference is Hysteresis as it was before it stopped copying
// values into groups.
func hysteresisReference(cfg config.Config, areas []indicators.Area, vals []indicators.Value, now time.Time, prev map[string]LedgerEntry) ([]indicators.Value, map[string]LedgerEntry, []string) {
	level := func(s string) int { l, _ := indicators.ParseLevel(s); return l }
	entries := map[string]LedgerEntry{}
	var changedKeys []string
	var out []indicators.Value
	byDef := map[string][]indicators.Value{}
	for _, v := range vals {
		byDef[v.Indicator] = append(byDef[v.Indicator], v)
	}
	for _, def := range cfg.Indicators {
		if def.Recipe != "early_warning_level" {
			continue
		}
		trig, _ := def.Params["trigger"].(string)
		clearAfter := cfg.Triggers[trig].ClearAfter
		computed := map[string]indicators.Value{}
		for _, v := range byDef[def.Shortcode] {
			computed[v.Code] = v
		}
		for _, a := range areas {
			if !ledgerCovers(def, a) {
				continue
			}
			key := def.Shortcode + "|" + a.Code
			e, found := prev[key]
			e.History = append([]Transition(nil), e.History...)
			v, has := computed[a.Code]
			forecastLevel := "none"
			if has {
				forecastLevel = v.Text
			}
			if !found {
				if forecastLevel == "none" {
					continue
				}
				e = LedgerEntry{Level: "none"}
			}
			changed := false
			switch {
			case level(forecastLevel) > level(e.Level):
				e.Level, e.Since, e.Lower, e.LowerSince = forecastLevel, now, "", time.Time{}
				e.History = appendBounded(e.History, Transition{forecastLevel, now})
				changed = true
			case level(forecastLevel) == level(e.Level):
				if e.Lower != "" {
					e.Lower, e.LowerSince, changed = "", time.Time{}, true
				}
			default:
				if e.Lower == "" {
					e.LowerSince = now
				}
				if e.Lower != forecastLevel {
					e.Lower, changed = forecastLevel, true
				}
				if now.Sub(e.LowerSince) >= clearAfter {
					e.Level, e.Since, e.Lower, e.LowerSince = forecastLevel, now, "", time.Time{}
					e.History = appendBounded(e.History, Transition{forecastLevel, now})
					changed = true
				}
			}
			if changed {
				changedKeys = append(changedKeys, key)
			}
			entries[key] = e
			if e.Level != forecastLevel {
				held := indicators.Value{Indicator: def.Shortcode, Code: a.Code, AdminLevel: a.Level, Type: indicators.String,
					Text: e.Level, Attributes: map[string]any{"phase": "forecast", "note": "forecast, not an activation",
						"trigger": trig, "held": true, "forecast_level": forecastLevel,
						"clears_at": e.LowerSince.Add(clearAfter).UTC().Format(time.RFC3339)}}
				if has {
					held.Date = v.Date
				} else {
					held.Date = indicators.DateOf(now, cfg.Location())
				}
				computed[a.Code] = held
			}
		}
		for _, v := range computed {
			if v.Text != "none" {
				out = append(out, v)
			}
		}
		delete(byDef, def.Shortcode)
	}
	for _, def := range cfg.Indicators {
		out = append(out, byDef[def.Shortcode]...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key().String() < out[j].Key().String() })
	return out, entries, changedKeys
}

// rollUpsReference is rollUps as it was before it stopped copying values
// into groups.
func rollUpsReference(cfg config.Config, areas []indicators.Area, vals []indicators.Value) ([]indicators.Value, error) {
	by := map[string][]indicators.Value{}
	for _, v := range vals {
		by[v.Indicator] = append(by[v.Indicator], v)
	}
	var out []indicators.Value
	for _, def := range cfg.Indicators {
		vs := by[def.Shortcode]
		if def.RollupFrom == nil {
			out = append(out, vs...)
			continue
		}
		up, err := indicators.RollUp(def, *def.RollupFrom, vs, areas)
		if err != nil {
			return nil, err
		}
		if def.AtLevel(*def.RollupFrom) {
			out = append(out, vs...)
		}
		out = append(out, up...)
	}
	return out, nil
}

// compareKeys is the order of the keys' strings, separators and prefixes
// included.
func TestCompareKeysIsTheStringOrder(t *testing.T) {
	inds := []string{"EW", "EW_LEAD", "EW|X", "E", ""}
	codes := []string{"A", "A|B", "AB", "B_1", "", "|"}
	dates := []indicators.Date{"2026-11-27", "2026-11-28", "2026-11-2", ""}
	var keys []indicators.Key
	for _, i := range inds {
		for _, d := range dates {
			for _, c := range codes {
				keys = append(keys, indicators.Key{Indicator: i, Date: d, Code: c})
			}
		}
	}
	for _, a := range keys {
		for _, b := range keys {
			require.Equal(t, strings.Compare(a.String(), b.String()), compareKeys(a, b), "%q vs %q", a.String(), b.String())
		}
	}
}

// keyOrder is a stable sort on the keys' strings: indicators that prefix
// each other, codes and an indicator with the separator, dates of two
// lengths.
func TestKeyOrderIsTheStableStringSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pools := []struct {
		inds  []string
		dates []indicators.Date
	}{
		{[]string{"EW", "EW_LEAD", "E", "AL", "EW0"}, []indicators.Date{"2026-11-27", "2026-11-28", "2026-12-01"}},
		{[]string{"EW", "EW|X", "E"}, []indicators.Date{"2026-11-27"}},
		{[]string{"EW", "EW_LEAD"}, []indicators.Date{"2026-11-27", "2026-11-2", ""}},
	}
	codes := []string{"A", "A|B", "AB", "B_1", "", "|", "A_"}
	for round := range 300 {
		p := pools[round%len(pools)]
		keys := make([]indicators.Key, rng.IntN(80))
		for i := range keys {
			keys[i] = indicators.Key{Indicator: p.inds[rng.IntN(len(p.inds))], Date: p.dates[rng.IntN(len(p.dates))],
				Code: codes[rng.IntN(len(codes))]}
		}
		want := make([]int, len(keys))
		for i := range want {
			want[i] = i
		}
		sort.SliceStable(want, func(a, b int) bool { return keys[want[a]].String() < keys[want[b]].String() })
		require.Equal(t, want, keyOrder(keys), "round %d", round)
	}
}
