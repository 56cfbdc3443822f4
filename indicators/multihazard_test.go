package indicators

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Components decode into their declared defaults (ElemDefaults, which the
// reference shows): what a component leaves out is the default, what it
// says wins.
func TestMultiHazardComponentDefaults(t *testing.T) {
	def := MultiHazardParams{}.ElemDefaults()[0].(Component)
	cases := []struct {
		name string
		in   map[string]any
		want Component
	}{
		{"defaults", map[string]any{"name": "flood", "hazard_types": []any{"flood"}},
			Component{Name: "flood", HazardTypes: []HazardType{Flood}, Phase: def.Phase, Measure: def.Measure, Weight: def.Weight}},
		{"given", map[string]any{"name": "heat", "hazard_types": []any{"heat"}, "phase": "forecast", "measure": "intensity", "floor": 30, "ceiling": 45, "weight": 0.5},
			Component{Name: "heat", HazardTypes: []HazardType{Heat}, Phase: Forecast, Measure: "intensity", Floor: 30, Ceiling: 45, Weight: 0.5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Typed lists (as Go callers write them) and YAML's []any alike.
			for _, comps := range []any{[]any{c.in}, []map[string]any{c.in}} {
				mp, err := decodeMultiHazard(map[string]any{"components": comps})
				require.NoError(t, err)
				require.Len(t, mp.Components, 1)
				assert.Equal(t, c.want, mp.Components[0])
				assert.Equal(t, "probabilistic_or", mp.Method)
			}
		})
	}
	assert.Equal(t, Component{Phase: Observed, Measure: "severity", Weight: 1}, def)
}
