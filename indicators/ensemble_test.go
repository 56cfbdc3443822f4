package indicators

import (
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ensembleEvent: M members; members listed in west cover area W entirely,
// those in eastHalf cover half of E; the rest pass far away. Every member
// also has an 18 m/s swath over both areas, which a 33 m/s indicator must
// ignore.
func ensembleEvent(m int, west, eastHalf []int, arrive map[int]time.Duration) Event {
	e := Event{ID: "ecmwf:05a", Source: "ecmwf", Version: "2026-11-26T00:00:00Z", Type: TropicalCyclone, Phase: Forecast,
		Issued: now.Add(-6 * time.Hour), Properties: map[string]any{"member_count": m}}
	in := func(xs []int, k int) bool {
		for _, x := range xs {
			if x == k {
				return true
			}
		}
		return false
	}
	for k := 1; k <= m; k++ {
		var g orb.Geometry
		switch {
		case in(west, k):
			// Its east edge lies on E's west edge: touching with zero area
			// is not a hit for E.
			g = orb.MultiPolygon{rect(-0.5, -0.5, 1, 1.5)}
		case in(eastHalf, k):
			g = orb.MultiPolygon{rect(1, -1, 1.5, 2)}
		default:
			g = orb.MultiPolygon{rect(10, 10, 11, 11)}
		}
		from := now.Add(48 * time.Hour)
		if d, ok := arrive[k]; ok {
			from = now.Add(d)
		}
		e.Footprints = append(e.Footprints,
			Footprint{Geometry: g, Member: k, Band: "33 m/s", Intensity: 33, Unit: "m/s", ValidFrom: from, ValidTo: from.Add(12 * time.Hour)},
			Footprint{Geometry: orb.MultiPolygon{rect(-1, -1, 3, 2)}, Member: k, Band: "18 m/s", Intensity: 18, Unit: "m/s", ValidFrom: now, ValidTo: now.Add(72 * time.Hour)})
	}
	return e
}

func ensembleDef(recipe string) Definition {
	return Definition{Shortcode: "X", Name: "x", Type: Float, Recipe: recipe, AdminLevels: []int{1},
		Params: map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "threshold": 33}}
}

// k of M members crossing an area: its probability is k/M and its expected
// children the mean of the members' exposures (misses count as zero).
func TestStrikeProbabilityAndExpectedChildren(t *testing.T) {
	ev := ensembleEvent(10, []int{1, 2, 3}, []int{4, 5}, map[int]time.Duration{1: 30 * time.Hour, 2: 24 * time.Hour})

	p := compute(t, ensembleDef("strike_probability"), []Event{ev})
	require.Contains(t, p, "W")
	require.Contains(t, p, "E")
	assert.InDelta(t, 0.3, p["W"].Number, 1e-12)
	assert.InDelta(t, 0.2, p["E"].Number, 1e-12, "the west swaths only touch E along an edge")
	assert.Equal(t, 3, p["W"].Attributes["members_hit"])
	assert.Equal(t, 10, p["W"].Attributes["members"])
	assert.Equal(t, "2026-11-26T00:00:00Z", p["W"].Attributes["run"])
	assert.Equal(t, now.Add(24*time.Hour).Format(time.RFC3339), p["W"].Attributes["first_arrival"])
	assert.InDelta(t, 24.0, p["W"].Attributes["lead_time_hours"], 1e-9)
	assert.Equal(t, "forecast", p["W"].Attributes["phase"])
	assert.Contains(t, p["W"].Attributes["events"], "ecmwf:05a@2026-11-26T00:00:00Z")

	c := compute(t, ensembleDef("expected_children_exposed"), []Event{ev})
	assert.InDelta(t, 3*400.0/10, c["W"].Number, 0.5)
	assert.InDelta(t, 2*(1000*0.5)/10, c["E"].Number, 0.5)

	pop := compute(t, ensembleDef("expected_population_exposed"), []Event{ev})
	assert.InDelta(t, 3*1000.0/10, pop["W"].Number, 0.5)
	assert.InDelta(t, 2*(2000*0.5)/10, pop["E"].Number, 0.5)
}

// Property: for every M and k ≤ M, an area crossed by k members has
// probability exactly k/M, and no value without a hit.
func TestStrikeProbabilityIsKOverM(t *testing.T) {
	for _, m := range []int{1, 2, 7, 51, 52} {
		for _, k := range []int{0, 1, m / 2, m - 1, m} {
			t.Run(fmt.Sprintf("%d_of_%d", k, m), func(t *testing.T) {
				var west []int
				for i := 1; i <= k; i++ {
					west = append(west, i)
				}
				p := compute(t, ensembleDef("strike_probability"), []Event{ensembleEvent(m, west, nil, nil)})
				if k == 0 {
					assert.NotContains(t, p, "W")
					return
				}
				assert.InDelta(t, float64(k)/float64(m), p["W"].Number, 1e-4)
				assert.LessOrEqual(t, p["W"].Number, 1.0)
			})
		}
	}
}

func TestEnsembleParamsValidate(t *testing.T) {
	r, ok := LookupRecipe("strike_probability")
	require.True(t, ok)
	err := r.ValidateParams(map[string]any{"phase": "observed"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "phase must be forecast")
	assert.Contains(t, err.Error(), "threshold: is required")
	require.NoError(t, r.ValidateParams(map[string]any{"threshold": 26}))
}

func TestEnsembleNeedsMemberCount(t *testing.T) {
	ev := ensembleEvent(3, []int{1}, nil, nil)
	ev.Properties = map[string]any{"member_count": 2.0} // stored events read back as float64
	_, err := EnsembleExposure(NewAreaWeighted(twoAreas()), ev, EventFilter{Phase: Forecast}, 33)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 members have swaths but member_count is 2")
}

// A probability trigger: P(33 m/s) ≥ 0.5 is an alert, ≥ 0.3 a warning,
// ≥ 0.1 a watch, counting only members arriving within the window.
func TestProbabilityTrigger(t *testing.T) {
	trig := Trigger{HazardTypes: []HazardType{TropicalCyclone}, Measure: "probability", Intensity: 33, Unit: "m/s",
		Levels:  map[string]float64{"watch": 0.1, "warning": 0.3, "alert": 0.5},
		Windows: map[string]time.Duration{"readiness": 120 * time.Hour, "action": 36 * time.Hour}}
	require.NoError(t, trig.Validate())
	ev := ensembleEvent(10, []int{1, 2, 3, 4, 5, 6}, []int{7, 8}, map[int]time.Duration{1: 24 * time.Hour, 2: 30 * time.Hour})
	as := twoAreas()
	w, e := as[1], as[2]

	r := EvaluateArea(trig, 120*time.Hour, w, []Event{ev}, now, LevelWatch)
	assert.Equal(t, LevelAlert, r.Level, "6 of 10 members")
	assert.Equal(t, now.Add(24*time.Hour), r.First)
	assert.InDelta(t, 24, r.LeadHours, 1e-9, "lead from the sync's as-of time, as for every trigger")
	r = EvaluateArea(trig, 120*time.Hour, e, []Event{ev}, now, LevelWatch)
	assert.Equal(t, LevelWatch, r.Level, "2 of 10 members")

	// Within 36 h of now only members 1 and 2 have arrived.
	r = EvaluateArea(trig, 36*time.Hour, w, []Event{ev}, now, LevelWatch)
	assert.Equal(t, LevelWatch, r.Level)
	r = EvaluateArea(trig, 36*time.Hour, e, []Event{ev}, now, LevelWatch)
	assert.Equal(t, LevelNone, r.Level)

	// The 18 m/s swaths (all members, both areas) are not what it counts.
	trig.Intensity = 18
	r = EvaluateArea(trig, 120*time.Hour, e, []Event{ev}, now, LevelWatch)
	assert.Equal(t, LevelAlert, r.Level)

	bad := trig
	bad.Intensity = 0
	bad.Levels = map[string]float64{"alert": 50}
	err := bad.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "intensity: is required with measure probability")
	assert.Contains(t, err.Error(), "levels.alert: a probability must be in (0, 1], got 50")
}

// children_at_risk under a probability trigger: in each area at the level
// or above, the expected children in the members' swaths arriving within
// the window (mean over all members, misses zero); below the level, none.
func TestChildrenAtRiskProbabilityTrigger(t *testing.T) {
	trig := Trigger{HazardTypes: []HazardType{TropicalCyclone}, Measure: "probability", Intensity: 33, Unit: "m/s",
		Levels:  map[string]float64{"watch": 0.1, "warning": 0.3, "alert": 0.5},
		Windows: map[string]time.Duration{"readiness": 120 * time.Hour, "action": 36 * time.Hour}}
	require.NoError(t, trig.Validate())
	// W: 6 of 10 members over all of it (two within 36 h); E: 2 of 10 over half.
	ev := ensembleEvent(10, []int{1, 2, 3, 4, 5, 6}, []int{7, 8}, map[int]time.Duration{1: 24 * time.Hour, 2: 30 * time.Hour})
	as := twoAreas()
	in := &Input{Events: []Event{ev}, Areas: as, Exposure: NewAreaWeighted(as), Now: now, Date: DateOf(now, nil),
		Triggers: map[string]Trigger{"ens": trig}}
	run := func(params map[string]any) map[string]Value {
		def := Definition{Shortcode: "CAR", Name: "x", Type: Integer, Recipe: "children_at_risk", AdminLevels: []int{1}, Params: params}
		require.NoError(t, def.Validate())
		r, _ := LookupRecipe(def.Recipe)
		vals, err := r.Compute(def, in)
		require.NoError(t, err)
		out := map[string]Value{}
		for _, v := range vals {
			out[v.Code] = v
		}
		return out
	}
	cases := []struct {
		name   string
		params map[string]any
		want   map[string]float64
	}{
		{"warning or above, 120 h", map[string]any{"trigger": "ens", "level": "warning"}, map[string]float64{"W": 0.6 * 400}},
		{"watch or above, 120 h", map[string]any{"trigger": "ens"}, map[string]float64{"W": 0.6 * 400, "E": 0.2 * 0.5 * 1000}},
		{"watch or above, 36 h", map[string]any{"trigger": "ens", "window": "action"}, map[string]float64{"W": 0.2 * 400}},
		{"alert, 36 h", map[string]any{"trigger": "ens", "window": "action", "level": "alert"}, map[string]float64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(c.params)
			require.Len(t, got, len(c.want))
			for code, want := range c.want {
				require.Contains(t, got, code)
				assert.Equal(t, want, got[code].Number, code)
				assert.Equal(t, 10, got[code].Attributes["expected_over_members"])
				assert.Equal(t, "forecast", got[code].Attributes["phase"])
			}
		})
	}
}
