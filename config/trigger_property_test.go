package config_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// triggerEdits are overrides a config may give one trigger; %s is nothing,
// each is a YAML mapping body.
var triggerEdits = []string{
	`windows: {action: 24h}`,
	`windows: {readiness: 48h, early: 200h}`,
	`levels: {watch: 1, warning: 2, alert: 3}`,
	`levels: {alert: 3}`,
	`clear_after: 1h`,
	`bands: {cone: alert}`,
	`countries: {A0: {levels: {watch: 1}}}`,
	`sources: [nobody]`,
	`unit: furlongs`,
	`measure: severity, levels: {watch: 1, warning: 2, alert: 3}`,
}

// warningScenario is one area under a forecast of every default trigger's
// hazard, strong enough to reach some level under the defaults.
func warningScenario(now time.Time) *indicators.Input {
	sq := orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}
	area := indicators.Area{Code: "A1", Name: "A1", Level: 1, Parents: []string{"A0"}, Geometry: sq}
	val := func(x float64) *float64 { return &x }
	fc := func(id string, typ indicators.HazardType, unit string, x float64, band string, sev indicators.Severity, in time.Duration) indicators.Event {
		return indicators.Event{ID: id, Version: "1", Type: typ, Phase: indicators.Forecast, Issued: now.Add(-6 * time.Hour),
			Footprints: []indicators.Footprint{{Geometry: orb.Polygon{{{0.2, 0.2}, {0.8, 0.2}, {0.8, 0.8}, {0.2, 0.8}, {0.2, 0.2}}},
				Unit: unit, Value: val(x), Intensity: x, Band: band, Severity: sev, ValidFrom: now.Add(in)}}}
	}
	return &indicators.Input{Areas: []indicators.Area{area}, Now: now, Date: indicators.DateOf(now, time.UTC),
		Events: []indicators.Event{
			fc("heat", indicators.Heat, "°C", 40, "", 0, 30*time.Hour),
			fc("rain", indicators.HeavyRain, "mm", 120, "", 0, 100*time.Hour),
			fc("wind", indicators.Wind, "km/h", 95, "", 0, 50*time.Hour),
			fc("flood", indicators.Flood, "", 0, "", indicators.SeverityOrange, 150*time.Hour),
			fc("tc", indicators.TropicalCyclone, "kt", 55, "cone", 0, 60*time.Hour),
		}}
}

// warningOutput is every early-warning recipe's values for one trigger,
// rendered for comparison.
func warningOutput(t *testing.T, triggers map[string]indicators.Trigger, name string, in *indicators.Input) string {
	in.Triggers = triggers
	var out []string
	for _, recipe := range []string{"early_warning_level", "lead_time_hours"} {
		typ := indicators.Float
		if recipe == "early_warning_level" {
			typ = indicators.String
		}
		def := indicators.Definition{Shortcode: "X", Name: "x", Type: typ, Recipe: recipe, AdminLevels: []int{1},
			Params: map[string]any{"trigger": name}}
		r, ok := indicators.LookupRecipe(recipe)
		require.True(t, ok)
		vals, err := r.Compute(def, in)
		require.NoError(t, err)
		for _, v := range vals {
			out = append(out, fmt.Sprintf("%s %v %v", recipe, v.Payload(), v.Attributes))
		}
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// TestTriggerEditsStayLocal is the property: changing any one trigger's
// config never changes another trigger's rule or output. (Overriding
// triggers.heavy_rain.windows once changed heat's windows through a shared
// map and dropped the demo's heat warnings from 18 to 0.)
func TestTriggerEditsStayLocal(t *testing.T) {
	now := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	defaults := indicators.DefaultTriggers()
	names := make([]string, 0, len(defaults))
	for n := range defaults {
		names = append(names, n)
	}
	sort.Strings(names)
	want := map[string]string{}
	for _, n := range names {
		want[n] = warningOutput(t, defaults, n, warningScenario(now))
		require.Contains(t, want[n], "early_warning_level", "the scenario must warn under %s, or the property says nothing", n)
	}
	rng := rand.New(rand.NewPCG(11, 3))
	for trial := 0; trial < 60; trial++ {
		edited := names[rng.IntN(len(names))]
		edit := triggerEdits[rng.IntN(len(triggerEdits))]
		if trial < len(names)*len(triggerEdits) && trial < len(triggerEdits) {
			edit = triggerEdits[trial] // every edit at least once
		}
		dir, y := base(t)
		y += fmt.Sprintf("triggers:\n  %s: {%s}\n", edited, edit)
		cfg, err := config.Parse([]byte(y), dir, config.Overrides{})
		require.NoError(t, err, "%s: %s", edited, edit)
		for _, n := range names {
			if n == edited {
				continue
			}
			require.Equal(t, defaults[n], cfg.Triggers[n], "editing %s (%s) changed trigger %s", edited, edit, n)
			require.Equal(t, want[n], warningOutput(t, cfg.Triggers, n, warningScenario(now)),
				"editing %s (%s) changed the output of %s", edited, edit, n)
		}
	}
}
