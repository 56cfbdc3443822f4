package indicators

import (
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expected facilities: the mean over all members of the facilities in
// area ∩ swath — k of M members over a facility add k/M of it.
func TestExpectedFacilitiesExposed(t *testing.T) {
	// Members 1–3 cover W whole, 4–5 the west half of E (x 1–1.5).
	ev := ensembleEvent(10, []int{1, 2, 3}, []int{4, 5}, map[int]time.Duration{1: 30 * time.Hour, 2: 24 * time.Hour})
	facs := []Facility{
		{ID: "s1", Kind: "school", Point: orb.Point{0.5, 0.5}},
		{ID: "s2", Kind: "School", Point: orb.Point{0.2, 0.2}},
		{ID: "h1", Kind: "health", Point: orb.Point{0.7, 0.3}},
		{ID: "s3", Kind: "school", Point: orb.Point{1.2, 0.5}},
		{ID: "s4", Kind: "school", Point: orb.Point{1.8, 0.5}}, // no 33 m/s member reaches it
	}
	as := twoAreas()
	cases := []struct {
		name string
		kind []any
		want map[string]float64
		hits map[string]int
	}{
		{"schools", []any{"school"}, map[string]float64{"W": 3 * 2 / 10.0, "E": 2 * 1 / 10.0}, map[string]int{"W": 3, "E": 2}},
		{"health", []any{"health"}, map[string]float64{"W": 3 * 1 / 10.0}, map[string]int{"W": 3}},
		{"all kinds", nil, map[string]float64{"W": 3 * 3 / 10.0, "E": 2 * 1 / 10.0}, map[string]int{"W": 3, "E": 2}},
		{"no such kind", []any{"water point"}, map[string]float64{}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := ensembleDef("expected_facilities_exposed")
			if c.kind != nil {
				def.Params["kind"] = c.kind
			}
			require.NoError(t, def.Validate())
			r, ok := LookupRecipe(def.Recipe)
			require.True(t, ok)
			vals, err := r.Compute(def, &Input{Events: []Event{ev}, Areas: as, Facilities: facs, Now: now, Date: DateOf(now, nil)})
			require.NoError(t, err)
			got := map[string]Value{}
			for _, v := range vals {
				got[v.Code] = v
			}
			require.Len(t, got, len(c.want))
			for code, want := range c.want {
				require.Contains(t, got, code)
				assert.InDelta(t, want, got[code].Number, 1e-9, code)
				assert.Equal(t, 10, got[code].Attributes["members"])
				assert.Equal(t, c.hits[code], got[code].Attributes["members_hit"])
				assert.Equal(t, "forecast", got[code].Attributes["phase"])
			}
			if w, ok := got["W"]; ok {
				assert.Equal(t, now.Add(24*time.Hour).UTC().Format(time.RFC3339), w.Attributes["first_arrival"])
			}
		})
	}
	// Without facilities: no values.
	def := ensembleDef("expected_facilities_exposed")
	r, _ := LookupRecipe(def.Recipe)
	vals, err := r.Compute(def, &Input{Events: []Event{ev}, Areas: as, Now: now, Date: DateOf(now, nil)})
	require.NoError(t, err)
	assert.Empty(t, vals)
}
