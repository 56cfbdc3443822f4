package indicators

import (
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dailyForecast is an Open-Meteo-style event: one point footprint per day
// at the area's point, named to the area by code.
func dailyForecast(id string, typ HazardType, unit string, area string, pt orb.Point, issued time.Time, values ...float64) Event {
	e := Event{ID: id, Version: "run1", Type: typ, Phase: Forecast, Issued: issued, Areas: []string{area}}
	day0 := issued.Truncate(24 * time.Hour)
	for i, v := range values {
		v := v
		e.Footprints = append(e.Footprints, Footprint{Geometry: pt, Unit: unit, Value: &v, Intensity: v,
			ValidFrom: day0.Add(time.Duration(i) * 24 * time.Hour), ValidTo: day0.Add(time.Duration(i+1) * 24 * time.Hour)})
	}
	return e
}

func TestEvaluateAreaTriggers(t *testing.T) {
	issued := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	at := issued.Add(time.Hour)
	w := twoAreas()[1] // W: 0..1 × 0..1, parent C
	trig := DefaultTriggers()
	cone := Footprint{Geometry: rect(0.2, 0.2, 0.8, 0.8), Band: "cone", ValidFrom: issued.Add(24 * time.Hour), ValidTo: issued.Add(120 * time.Hour)}
	r34 := Footprint{Geometry: rect(0.4, 0.4, 0.6, 0.6), Band: "34 kt", Intensity: 34, Unit: "kt", ValidFrom: issued.Add(60 * time.Hour)}
	r64 := Footprint{Geometry: rect(0.45, 0.45, 0.55, 0.55), Band: "64 kt", Intensity: 64, Unit: "kt", ValidFrom: issued.Add(96 * time.Hour)}
	tc := Event{ID: "nhc:al01", Version: "adv3", Type: TropicalCyclone, Phase: Forecast, Issued: issued,
		Footprints: []Footprint{cone, r34, r64}}
	flood := Event{ID: "glofas:p1", Version: "d1", Type: Flood, Phase: Forecast, Issued: issued, Areas: []string{"W"},
		Footprints: []Footprint{{Geometry: orb.Point{0.5, 0.5}, Severity: SeverityOrange, ValidFrom: issued.Add(72 * time.Hour)}}}
	cases := []struct {
		name      string
		trigger   string
		window    time.Duration
		events    []Event
		wantLevel int
		wantLead  float64
		wantMin   float64
	}{
		{"heat below watch", "heat", 120 * time.Hour, []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 30, 31, 31.9)}, LevelNone, 0, 0},
		{"heat watch day 0", "heat", 120 * time.Hour, []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 32, 31)}, LevelWatch, 0, 0},
		{"heat warning day 3 within readiness", "heat", 120 * time.Hour, []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 33, 33, 33, 40, 41)}, LevelWarning, 71, 0},
		{"heat warning day 4 outside action window", "heat", 72 * time.Hour, []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 33, 33, 33, 33, 40)}, LevelWatch, 0, 0},
		{"wrong unit never compared", "heat", 120 * time.Hour, []Event{dailyForecast("h", Heat, "°F", "W", orb.Point{0.5, 0.5}, issued, 104)}, LevelNone, 0, 0},
		{"observed heat is not a forecast", "heat", 120 * time.Hour, []Event{func() Event {
			e := dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 45)
			e.Phase = Observed
			return e
		}()}, LevelNone, 0, 0},
		{"rain extremely heavy day 1", "heavy_rain", 120 * time.Hour, []Event{dailyForecast("r", HeavyRain, "mm", "W", orb.Point{0.5, 0.5}, issued, 10, 210)}, LevelAlert, 23, 23},
		{"cyclone: cone watch, 64 kt alert at 96 h", "cyclone", 120 * time.Hour, []Event{tc}, LevelAlert, 95, 23},
		{"cyclone action window: 34 kt warning? no: 34 kt is watch, cone watch", "cyclone", 72 * time.Hour, []Event{tc}, LevelWatch, 23, 23},
		{"river flood orange is warning at 72 h", "river_flood", 240 * time.Hour, []Event{flood}, LevelWarning, 71, 71},
		{"footprint in the past ignored", "heat", 120 * time.Hour, []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued.Add(-72*time.Hour), 45)}, LevelNone, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := EvaluateArea(trig[c.trigger], c.window, w, c.events, at, LevelWatch)
			assert.Equal(t, LevelNames[c.wantLevel], LevelNames[r.Level])
			if c.wantLevel != LevelNone {
				assert.InDelta(t, c.wantLead, r.LeadHours, 1e-9, "lead to the highest level")
				assert.InDelta(t, c.wantMin, r.LeadAtMinHours, 1e-9, "lead to the first watch")
			}
		})
	}
}

// TestLeadTimeFromNow: lead time and windows count from the sync's as-of
// time, not from the forecast's issue time (Amber North showed 57 h at
// 2026-11-27T13:00Z for winds first reached 2026-11-28T18:00Z: 29 h remain).
func TestLeadTimeFromNow(t *testing.T) {
	issued := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	reached := time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)
	w := twoAreas()[1]
	tc := func(from time.Time) []Event {
		return []Event{{ID: "nhc:al02", Version: "adv9", Type: TropicalCyclone, Phase: Forecast, Issued: issued,
			Footprints: []Footprint{{Geometry: rect(0.4, 0.4, 0.6, 0.6), Band: "50 kt", Intensity: 50, Unit: "kt", ValidFrom: from}}}}
	}
	trig := DefaultTriggers()["cyclone"]
	r := EvaluateArea(trig, 120*time.Hour, w, tc(reached), now, LevelWatch)
	require.Equal(t, LevelWarning, r.Level)
	assert.InDelta(t, 29, r.LeadHours, 1e-9, "hours from now, not from the issue time")
	assert.InDelta(t, 29, r.LeadAtMinHours, 1e-9)

	r = EvaluateArea(trig, 120*time.Hour, w, tc(now.Add(-2*time.Hour)), now, LevelWatch)
	assert.Equal(t, LevelWarning, r.Level)
	assert.Zero(t, r.LeadHours, "already reached: 0")

	// Windows count from now too: 100 h after issue is 72 h from now
	// (inside the 72 h action window) once 28 h have passed.
	in100 := issued.Add(100 * time.Hour)
	assert.Equal(t, LevelNone, EvaluateArea(trig, 72*time.Hour, w, tc(in100), issued, LevelWatch).Level, "100 h ahead is outside 72 h")
	r = EvaluateArea(trig, 72*time.Hour, w, tc(in100), issued.Add(28*time.Hour), LevelWatch)
	assert.Equal(t, LevelWarning, r.Level, "72 h ahead of now is inside the action window")
	assert.InDelta(t, 72, r.LeadHours, 1e-9)
}

func TestCountryOverride(t *testing.T) {
	issued := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	tr := DefaultTriggers()["heat"]
	tr.Countries = map[string]TriggerOverride{"c": {Levels: map[string]float64{"watch": 36, "warning": 38, "alert": 40}}}
	w := twoAreas()[1]
	ev := []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 37)}
	assert.Equal(t, LevelWatch, EvaluateArea(tr, 120*time.Hour, w, ev, issued, LevelWatch).Level, "C's own thresholds (key matched case-insensitively)")
	assert.Equal(t, LevelNone, EvaluateArea(tr, 120*time.Hour, w, []Event{dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 35)}, issued, LevelWatch).Level)
}

func TestWarningRecipes(t *testing.T) {
	issued := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	as := twoAreas()
	evs := []Event{
		dailyForecast("h", Heat, "°C", "W", orb.Point{0.5, 0.5}, issued, 33, 33, 40),
		{ID: "tc", Version: "a1", Type: TropicalCyclone, Phase: Forecast, Issued: issued, Footprints: []Footprint{
			{Geometry: rect(1.5, 0, 2, 1), Band: "50 kt", Intensity: 50, Unit: "kt", ValidFrom: issued.Add(48 * time.Hour)}}},
	}
	in := &Input{Events: evs, Areas: as, Exposure: NewAreaWeighted(as), Now: issued, Date: "2026-11-27", Triggers: DefaultTriggers()}
	run := func(def Definition) map[string]Value {
		require.NoError(t, def.Validate())
		r, _ := LookupRecipe(def.Recipe)
		vals, err := r.Compute(def, in)
		require.NoError(t, err)
		out := map[string]Value{}
		for _, v := range vals {
			assert.Equal(t, "forecast", v.Attributes["phase"])
			assert.Equal(t, "forecast, not an activation", v.Attributes["note"])
			out[v.Code] = v
		}
		return out
	}
	lvl := run(Definition{Shortcode: "EW_HEAT", Name: "x", Type: String, Recipe: "early_warning_level", AdminLevels: []int{1}, Params: map[string]any{"trigger": "heat"}})
	assert.Equal(t, "warning", lvl["W"].Text)
	assert.Equal(t, "2026-11-29T00:00:00Z", lvl["W"].Attributes["first_time"], "when the warning level is first reached")
	assert.NotContains(t, lvl["W"].Attributes, "lead_time_hours", "a level value carries no lead time that goes stale")
	assert.NotContains(t, lvl, "E")
	lead := run(Definition{Shortcode: "LT", Name: "x", Type: Float, Recipe: "lead_time_hours", AdminLevels: []int{1}, Params: map[string]any{"trigger": "heat", "level": "warning"}})
	assert.Equal(t, 48.0, lead["W"].Number)
	kids := run(Definition{Shortcode: "CAR", Name: "x", Type: Integer, Recipe: "children_at_risk", AdminLevels: []int{1}, Params: map[string]any{"trigger": "heat"}})
	assert.Equal(t, 400.0, kids["W"].Number, "a point forecast for the area puts all its children at risk")
	tcKids := run(Definition{Shortcode: "CAR_TC", Name: "x", Type: Integer, Recipe: "children_at_risk", AdminLevels: []int{1}, Params: map[string]any{"trigger": "cyclone"}})
	assert.InDelta(t, 500, tcKids["E"].Number, 0.5, "half of E inside the 50 kt radius: half its 1000 children")
	assert.NotContains(t, tcKids, "W")

	bad := Definition{Shortcode: "X", Name: "x", Type: String, Recipe: "early_warning_level", Params: map[string]any{"trigger": "heat", "window": "later"}}
	r, _ := LookupRecipe(bad.Recipe)
	_, err := r.Compute(bad, in)
	assert.ErrorContains(t, err, `has no window "later"`)
}

func TestMultiHazardIndex(t *testing.T) {
	assert.InDelta(t, 1-(1-1.0/3)*(1-2.0/3), must(CombineScores("probabilistic_or", map[string]float64{"a": 1.0 / 3, "b": 2.0 / 3}, nil)), 1e-12)
	assert.InDelta(t, 2.0/3, must(CombineScores("max", map[string]float64{"a": 1.0 / 3, "b": 2.0 / 3}, nil)), 1e-12)
	// Weighted geometric mean: (0.25^1 · 1^3)^(1/4) = 0.25^0.25.
	assert.InDelta(t, 0.7071067811865476, must(CombineScores("geometric_mean", map[string]float64{"a": 0.25, "b": 1}, map[string]float64{"a": 1, "b": 3})), 1e-12)
	_, ok := CombineScores("geometric_mean", map[string]float64{}, nil)
	assert.False(t, ok, "no component present: no value")

	as := twoAreas()
	evs := []Event{
		{ID: "q", Type: Earthquake, Phase: Observed, Severity: SeverityOrange, Footprints: []Footprint{{Geometry: rect(0.1, 0.1, 0.9, 0.9), Intensity: 6.5, Unit: "MMI"}}},
		{ID: "f", Type: Flood, Phase: Observed, Severity: SeverityRed, Footprints: []Footprint{{Geometry: rect(0.5, 0.1, 1.5, 0.9)}}},
	}
	def := Definition{Shortcode: "MHI", Name: "x", Type: Float, Recipe: "multi_hazard_index", AdminLevels: []int{1}, Params: map[string]any{
		"method": "probabilistic_or",
		"components": []any{
			map[string]any{"name": "quake", "hazard_types": []any{"earthquake"}, "measure": "intensity", "unit": "MMI", "floor": 4, "ceiling": 9},
			map[string]any{"name": "flood", "hazard_types": []any{"flood"}},
		}}}
	require.NoError(t, def.Validate())
	r, _ := LookupRecipe("multi_hazard_index")
	vals, err := r.Compute(def, &Input{Events: evs, Areas: as, Now: now, Date: "2026-11-27"})
	require.NoError(t, err)
	got := map[string]Value{}
	for _, v := range vals {
		got[v.Code] = v
	}
	assert.InDelta(t, 1.0, got["W"].Number, 1e-9, "a red flood saturates OR")
	assert.Equal(t, "flood=1.000 quake=0.500", got["W"].Attributes["components"])
	assert.InDelta(t, 1.0, got["E"].Number, 1e-9)
	assert.Equal(t, "flood=1.000", got["E"].Attributes["components"])

	bad := def
	bad.Params = map[string]any{"method": "median", "components": []any{map[string]any{"name": "x", "hazard_types": []any{"flood"}, "measure": "intensity"}}}
	err = bad.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "params.method")
	assert.Contains(t, err.Error(), "params.components[0].ceiling")
}

func must(v float64, ok bool) float64 {
	if !ok {
		panic("no value")
	}
	return v
}

func TestRollUp(t *testing.T) {
	areas := []Area{
		{Code: "C", Level: 0},
		{Code: "R1", Level: 1, Parents: []string{"C"}},
		{Code: "R2", Level: 1, Parents: []string{"C"}},
		{Code: "D1", Level: 2, Parents: []string{"R1", "C"}},
		{Code: "D2", Level: 2, Parents: []string{"R1", "C"}},
		{Code: "D3", Level: 2, Parents: []string{"R2", "C"}},
	}
	num := func(code string, x float64) Value {
		return Value{Indicator: "I", Code: code, AdminLevel: 2, Date: "2026-11-27", Type: Float, Number: x}
	}
	str := func(code, s string) Value {
		return Value{Indicator: "I", Code: code, AdminLevel: 2, Date: "2026-11-27", Type: String, Text: s}
	}
	two := 2
	cases := []struct {
		word string
		in   []Value
		want map[string]any
	}{
		{"SUM(value)", []Value{num("D1", 10), num("D2", 5), num("D3", 1)}, map[string]any{"R1": 15.0, "R2": 1.0, "C": 16.0}},
		{"MAX(value)", []Value{num("D1", 10), num("D2", 5)}, map[string]any{"R1": 10.0, "C": 10.0}},
		{"MIN(value)", []Value{num("D1", 10), num("D2", 5), num("D3", 48)}, map[string]any{"R1": 5.0, "R2": 48.0, "C": 5.0}},
		{"AVG(value)", []Value{num("D1", 10), num("D2", 5)}, map[string]any{"R1": 7.5, "C": 7.5}},
		{"COUNT(value)", []Value{num("D1", 10), num("D2", 5), num("D3", 1)}, map[string]any{"R1": 2.0, "R2": 1.0, "C": 3.0}},
		{"MAX(value)", []Value{str("D1", "watch"), str("D2", "alert"), str("D3", "warning")}, map[string]any{"R1": "alert", "R2": "warning", "C": "alert"}},
	}
	for _, c := range cases {
		def := Definition{Shortcode: "I", Aggregation: c.word, RollupFrom: &two}
		out, err := RollUp(def, 2, c.in, areas)
		require.NoError(t, err)
		got := map[string]any{}
		for _, v := range out {
			if v.Type == String {
				got[v.Code] = v.Text
			} else {
				got[v.Code] = v.Number
			}
			assert.Equal(t, c.word, v.Attributes["aggregation"])
		}
		assert.Equal(t, c.want, got, c.word)
	}
	lead := func(code, lvl string, h float64) Value {
		v := str(code, lvl)
		v.Attributes = map[string]any{"first_time": time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour).Format(time.RFC3339)}
		return v
	}
	up, err := RollUp(Definition{Shortcode: "I", Aggregation: "MAX(value)", RollupFrom: &two}, 2,
		[]Value{lead("D1", "watch", 48), lead("D2", "alert", 72), lead("D3", "warning", 12)}, areas)
	require.NoError(t, err)
	got := map[string]any{}
	for _, v := range up {
		got[v.Code] = v.Attributes["first_time"]
		assert.NotContains(t, v.Attributes, "children", "sub-areas are not children")
	}
	// C is at alert through D2 alone: it is first reached when D2 reaches
	// it (72 h), not when D3 reaches a mere warning (12 h); it read "alert ·
	// lead time now" beside a lead-time value of 33 h.
	assert.Equal(t, map[string]any{"C": "2026-11-30T00:00:00Z", "R1": "2026-11-30T00:00:00Z", "R2": "2026-11-27T12:00:00Z"}, got)
	for _, v := range up {
		if v.Code == "R1" {
			assert.Equal(t, 2, v.Attributes["sub_areas"])
		}
	}

	_, err = RollUp(Definition{Shortcode: "I", Aggregation: "MEDIAN(value)"}, 2, nil, areas)
	assert.Error(t, err)
}
