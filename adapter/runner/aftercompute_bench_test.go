package runner

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// latestStore is a sink store that knows only its latest delivered values
// (all on one day): what diff reads when dating by change.
type latestStore struct {
	adapter.SinkStore
	latest []indicators.Value
}

func (s latestStore) Latest() ([]indicators.Value, error)  { return s.latest, nil }
func (s latestStore) Pending() ([]indicators.Value, error) { return nil, nil }
func (s latestStore) DeliveredOn(indicators.Date) ([]indicators.Value, error) {
	return s.latest, nil
}

// countrySync is make bench-e2e's country as computed values: 5,040 admin-2
// areas under 90 admin-1, eleven indicators (five rolled up, two early
// warnings), each value with provenance attributes.
func countrySync() (config.Config, []indicators.Area, []indicators.Value) {
	cfg := config.Defaults()
	two := 2
	up := func(sc string, typ indicators.ValueType, recipe, agg string) indicators.Definition {
		return indicators.Definition{Shortcode: sc, Type: typ, Recipe: recipe, RollupFrom: &two, Aggregation: agg}
	}
	at2 := func(sc string, typ indicators.ValueType, recipe string) indicators.Definition {
		return indicators.Definition{Shortcode: sc, Type: typ, Recipe: recipe, AdminLevels: []int{2}}
	}
	cfg.Indicators = []indicators.Definition{
		up("HS_FL_PRES", indicators.Integer, "hazard_presence", "MAX(value)"),
		up("HS_FL_ALERT", indicators.String, "alert_level", "MAX(value)"),
		at2("HS_FL_DEPTH", indicators.Float, "max_intensity"),
		up("HS_FL_POP", indicators.Integer, "population_exposed", "SUM(value)"),
		up("HS_FL_CHILD", indicators.Integer, "children_exposed", "SUM(value)"),
		at2("HS_FL_KM2", indicators.Float, "area_exposed_km2"),
		at2("HS_LS_ALERT", indicators.String, "alert_level"),
		up("HS_MHI", indicators.Float, "multi_hazard_index", "MAX(value)"),
		{Shortcode: "HS_EW_FLOOD", Type: indicators.String, Recipe: "early_warning_level", AdminLevels: []int{2},
			Params: map[string]any{"trigger": "river_flood"}},
		at2("HS_EW_LEAD", indicators.Float, "lead_time_hours"),
		at2("HS_EW_CHILD", indicators.Integer, "children_at_risk"),
	}
	var areas []indicators.Area
	for p := range 90 {
		areas = append(areas, indicators.Area{Code: fmt.Sprintf("BX1_%02d", p), Level: 1})
	}
	for i := range 5040 {
		areas = append(areas, indicators.Area{Code: fmt.Sprintf("BX2_%04d", i), Level: 2, Parents: []string{fmt.Sprintf("BX1_%02d", i/56)}})
	}
	var vals []indicators.Value
	for _, def := range cfg.Indicators {
		for i, a := range areas[90:] {
			if (i+len(def.Shortcode))%8 == 0 && def.Recipe != "early_warning_level" {
				continue // not every area has every value
			}
			v := indicators.Value{Indicator: def.Shortcode, Code: a.Code, AdminLevel: 2, Date: "2026-11-27", Type: def.Type,
				Number: float64(i % 97), Attributes: map[string]any{"phase": "observed",
					"events": fmt.Sprintf("fp-%03d@2026-11-27T00:00:00Z fp-%03d@2026-11-27T00:00:00Z", i%200, (i+7)%200)}}
			switch {
			case def.Recipe == "early_warning_level":
				v.Text = indicators.LevelNames[i%len(indicators.LevelNames)]
			case def.Type == indicators.String:
				v.Text = []string{"none", "green", "orange", "red"}[i%4]
			}
			vals = append(vals, v)
		}
	}
	return cfg, areas, vals
}

// BenchmarkAfterCompute is what a sync does with its ~35,000 computed values
// once the recipes ran: hysteresis, roll-ups and the diff, against a sink
// that has nothing yet (a first sync) or has every value (nothing changed).
// Allocations per op are its budget: the copying versions allocated ~5
// times the values' size at each stage.
func BenchmarkAfterCompute(b *testing.B) {
	cfg, areas, vals := countrySync()
	final, _, _ := Hysteresis(cfg, areas, vals, tSync, nil)
	final, err := rollUps(cfg, areas, final)
	require.NoError(b, err)
	for _, c := range []struct {
		name  string
		store latestStore
	}{
		{"first sync", latestStore{}},
		{"nothing changed", latestStore{latest: final}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, _, _ := Hysteresis(cfg, areas, vals, tSync, nil)
				out, err := rollUps(cfg, areas, out)
				require.NoError(b, err)
				changed, unchanged, err := diff(c.store, cfg, out, "2026-11-27", SyncOptions{})
				require.NoError(b, err)
				if len(c.store.latest) > 0 && (len(changed) > 0 || unchanged != len(out)) {
					b.Fatalf("%d changed, %d unchanged of %d", len(changed), unchanged, len(out))
				}
			}
			b.ReportMetric(float64(len(final)), "values")
		})
	}
}
