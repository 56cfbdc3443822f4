package indicators

import (
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

func TestFacilitiesExposed(t *testing.T) {
	sq := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	areas := []Area{
		{Code: "W", Level: 1, Geometry: sq(60, 10, 62, 14)},
		{Code: "E", Level: 1, Geometry: sq(62, 10, 64, 14)},
		{Code: "ALL", Level: 0, Geometry: sq(60, 10, 64, 14)},
	}
	facilities := []Facility{
		{ID: "S1", Kind: "school", Point: orb.Point{60.5, 13.5}},
		{ID: "S2", Kind: "school", Point: orb.Point{61.5, 12.5}},
		{ID: "S3", Kind: "School", Point: orb.Point{62.2, 12.5}},
		{ID: "H1", Kind: "health", Point: orb.Point{61.2, 12.2}},
		{ID: "S4", Kind: "school", Point: orb.Point{63.8, 10.2}},
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	events := []Event{
		{ID: "usgs:a", Version: "1", Type: Earthquake, Phase: Observed, Severity: SeverityOrange, Footprints: []Footprint{
			{Geometry: sq(61, 12, 63, 13), Band: "MMI 6", Intensity: 6, Unit: "MMI"},
			{Geometry: sq(61.4, 12.4, 61.6, 12.6), Band: "MMI 8", Intensity: 8, Unit: "MMI"},
		}},
		{ID: "gdacs:FL:1", Version: "2", Type: Flood, Phase: Observed, Severity: SeverityRed, Footprints: []Footprint{
			{Geometry: sq(63.5, 10, 64, 10.5)},
		}},
		{ID: "nhc:x", Version: "3", Type: TropicalCyclone, Phase: Forecast, Severity: SeverityRed, Footprints: []Footprint{
			{Geometry: sq(60, 10, 64, 14)},
		}},
	}
	in := &Input{Events: events, Areas: areas, Facilities: facilities, Now: now, Date: DateOf(now, time.UTC)}
	cases := []struct {
		name   string
		params map[string]any
		levels []int
		want   map[string]float64
	}{
		{"schools, any observed hazard", map[string]any{"kind": "school"}, nil, map[string]float64{"W": 1, "E": 2, "ALL": 3}},
		{"schools at MMI 8 and above", map[string]any{"kind": []any{"school"}, "min_intensity": 8, "unit": "mmi"}, nil, map[string]float64{"W": 1, "ALL": 1}},
		{"all kinds, floods only, level 1", map[string]any{"hazard_types": []any{"flood"}}, []int{1}, map[string]float64{"E": 1}},
		{"health, forecast", map[string]any{"kind": "health", "phase": "forecast"}, nil, map[string]float64{"W": 1, "ALL": 1}},
	}
	r, ok := LookupRecipe("facilities_exposed")
	require.True(t, ok)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := Definition{Shortcode: "fx", Name: "fx", Type: Integer, Recipe: "facilities_exposed", Params: tc.params, AdminLevels: tc.levels}
			require.NoError(t, def.Validate())
			vals, err := r.Compute(def, in)
			require.NoError(t, err)
			got := map[string]float64{}
			for _, v := range vals {
				got[v.Code] = v.Number
				require.Equal(t, "point-in-footprint", v.Attributes["method"])
			}
			require.Equal(t, tc.want, got)
		})
	}
	require.Error(t, r.ValidateParams(map[string]any{"kinds": "school"}), "unknown keys are errors")
}
