package indicators

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// twoAreas: West (0..1) and East (1..2), each a 1°×1° square at the equator,
// inside a parent country.
func twoAreas() []Area {
	return []Area{
		{Code: "C", Level: 0, Geometry: rect(0, 0, 2, 1), Baseline: Baseline{Population: F(3000), Under18: F(1400)}},
		{Code: "W", Level: 1, Parents: []string{"C"}, Geometry: rect(0, 0, 1, 1), Baseline: Baseline{Population: F(1000), Under18: F(400)}},
		{Code: "E", Level: 1, Parents: []string{"C"}, Geometry: rect(1, 0, 2, 1), Baseline: Baseline{Population: F(2000), Under18: F(1000)}},
	}
}

func compute(t *testing.T, def Definition, evs []Event) map[string]Value {
	t.Helper()
	require.NoError(t, def.Validate())
	as := twoAreas()
	r, ok := LookupRecipe(def.Recipe)
	require.True(t, ok)
	vals, err := r.Compute(def, &Input{Events: evs, Areas: as, Exposure: NewAreaWeighted(as), Now: now, Date: DateOf(now, nil)})
	require.NoError(t, err)
	out := map[string]Value{}
	for _, v := range vals {
		assert.Equal(t, Date("2026-11-27"), v.Date)
		out[v.Code] = v
	}
	return out
}

func quake(id string, sev Severity, fps ...Footprint) Event {
	return Event{ID: id, Version: "1", Source: "usgs", Type: Earthquake, Phase: Observed, Severity: sev, Issued: now.Add(-time.Hour), Footprints: fps}
}

func TestAlertLevel(t *testing.T) {
	def := Definition{Shortcode: "AL", Name: "Alert", Type: String, Recipe: "alert_level", AdminLevels: []int{1},
		Params: map[string]any{"hazard_types": []string{"earthquake"}}}
	cases := []struct {
		name string
		evs  []Event
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"west orange", []Event{quake("q1", SeverityOrange, Footprint{Geometry: rect(0.2, 0.2, 0.4, 0.4)})}, map[string]string{"W": "orange"}},
		{"max over events and bands", []Event{
			quake("q1", SeverityGreen, Footprint{Geometry: rect(0.5, 0.2, 1.5, 0.4)}),
			quake("q2", SeverityRed, Footprint{Geometry: rect(1.6, 0.2, 1.8, 0.4)}),
		}, map[string]string{"W": "green", "E": "red"}},
		{"footprint severity wins", []Event{quake("q1", SeverityGreen,
			Footprint{Geometry: rect(0.1, 0.1, 1.9, 0.9), Severity: SeverityGreen},
			Footprint{Geometry: rect(1.2, 0.2, 1.4, 0.4), Severity: SeverityRed})}, map[string]string{"W": "green", "E": "red"}},
		{"other hazard ignored", []Event{{ID: "f", Type: Flood, Phase: Observed, Severity: SeverityRed,
			Footprints: []Footprint{{Geometry: rect(0, 0, 2, 1)}}}}, map[string]string{}},
		{"forecast not mixed with observed", []Event{{ID: "f", Type: Earthquake, Phase: Forecast, Severity: SeverityRed,
			Footprints: []Footprint{{Geometry: rect(0, 0, 2, 1)}}}}, map[string]string{}},
		{"closed event ignored", []Event{func() Event {
			e := quake("q", SeverityRed, Footprint{Geometry: rect(0, 0, 2, 1)})
			e.Closed = true
			return e
		}()}, map[string]string{}},
		{"expired event ignored", []Event{func() Event {
			e := quake("q", SeverityRed, Footprint{Geometry: rect(0, 0, 2, 1)})
			e.ValidTo = now.Add(-time.Minute)
			return e
		}()}, map[string]string{}},
		{"named by parent code", []Event{{ID: "cap", Type: Earthquake, Phase: Observed, Severity: SeverityOrange, Areas: []string{"C"}}},
			map[string]string{"W": "orange", "E": "orange"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := compute(t, def, c.evs)
			texts := map[string]string{}
			for k, v := range got {
				texts[k] = v.Text
				assert.Equal(t, "observed", v.Attributes["phase"])
			}
			assert.Equal(t, c.want, texts)
		})
	}
}

func TestMaxIntensityAndPresence(t *testing.T) {
	evs := []Event{quake("q1", SeverityOrange,
		Footprint{Geometry: rect(0.1, 0.1, 1.9, 0.9), Intensity: 5, Unit: "MMI"},
		Footprint{Geometry: rect(1.2, 0.2, 1.8, 0.8), Intensity: 7, Unit: "MMI"},
		Footprint{Geometry: rect(0.1, 0.1, 1.9, 0.9), Intensity: 50, Unit: "kt"})}
	got := compute(t, Definition{Shortcode: "MI", Name: "MMI", Type: Float, Recipe: "max_intensity", AdminLevels: []int{1},
		Params: map[string]any{"unit": "MMI"}}, evs)
	assert.Equal(t, 5.0, got["W"].Number)
	assert.Equal(t, 7.0, got["E"].Number)

	pres := compute(t, Definition{Shortcode: "P", Name: "P", Type: Integer, Recipe: "hazard_presence",
		Params: map[string]any{"unit": "MMI", "min_intensity": 6}}, evs)
	assert.Len(t, pres, 2, "country and east")
	assert.Equal(t, 1.0, pres["E"].Number)
	assert.Equal(t, "q1@1", pres["E"].Attributes["events"])
}

func TestExposureAreaWeighted(t *testing.T) {
	// Covers the east half of W and all of E... measured: W gets 50%, E 100%.
	evs := []Event{quake("q1", SeverityRed, Footprint{Geometry: rect(0.5, 0, 2, 1), Intensity: 6, Unit: "MMI"})}
	pop := compute(t, Definition{Shortcode: "POP", Name: "Pop", Type: Integer, Recipe: "population_exposed",
		Params: map[string]any{"min_intensity": 6}}, evs)
	assert.InDelta(t, 500, pop["W"].Number, 0.5)
	assert.InDelta(t, 2000, pop["E"].Number, 0.5)
	assert.InDelta(t, 3000*0.75, pop["C"].Number, 0.5)
	assert.Equal(t, "area-weighted", pop["W"].Attributes["method"])

	kids := compute(t, Definition{Shortcode: "U18", Name: "Kids", Type: Integer, Recipe: "children_exposed", AdminLevels: []int{1}}, evs)
	assert.InDelta(t, 200, kids["W"].Number, 0.5)
	assert.InDelta(t, 1000, kids["E"].Number, 0.5)

	km2 := compute(t, Definition{Shortcode: "KM", Name: "km2", Type: Float, Recipe: "area_exposed_km2", AdminLevels: []int{1}}, evs)
	assert.InDelta(t, GeodesicAreaKm2(rect(0.5, 0, 1, 1)), km2["W"].Number, 0.01)

	// Below the minimum band: nothing.
	none := compute(t, Definition{Shortcode: "POP7", Name: "Pop7", Type: Integer, Recipe: "population_exposed",
		Params: map[string]any{"min_intensity": 7}}, evs)
	assert.Empty(t, none)
}

func TestForecastAttributesSayNotAnActivation(t *testing.T) {
	ev := Event{ID: "tc", Version: "adv5", Type: TropicalCyclone, Phase: Forecast, Severity: SeverityOrange,
		Footprints: []Footprint{{Geometry: rect(0, 0, 1, 1)}}}
	got := compute(t, Definition{Shortcode: "TC", Name: "TC", Type: String, Recipe: "alert_level",
		Params: map[string]any{"phase": "forecast"}}, []Event{ev})
	require.Contains(t, got, "W")
	assert.Equal(t, "forecast", got["W"].Attributes["phase"])
	assert.Equal(t, "forecast, not an activation", got["W"].Attributes["note"])
	assert.Equal(t, "tc@adv5", got["W"].Attributes["events"])
}

func TestValueSameAndZero(t *testing.T) {
	v := Value{Indicator: "A", Code: "W", Date: "2026-11-27", Type: Float, Number: 3, Attributes: map[string]any{"x": 1}}
	assert.True(t, v.Same(v))
	w := v
	w.Number = 4
	assert.False(t, v.Same(w))
	z := v.Zero()
	assert.True(t, z.IsZero())
	assert.Equal(t, v.Key(), z.Key())
	s := Value{Type: String, Text: "red"}
	assert.Equal(t, "none", s.Zero().Text)
	assert.Equal(t, 3.0, Value{Type: Integer, Number: 2.6}.Payload())
}

func TestUnknownParamIsAnError(t *testing.T) {
	def := Definition{Shortcode: "X", Name: "X", Type: String, Recipe: "alert_level", Params: map[string]any{"hazard_type": "flood"}}
	err := def.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "params.hazard_type: unknown key")
}
