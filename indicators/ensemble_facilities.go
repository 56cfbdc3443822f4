package indicators

import (
	"fmt"
	"math"
	"time"

	"github.com/tidwall/rtree"
)

// expected_facilities_exposed: for ensemble swaths (as the other ensemble
// recipes), the mean over all members of the facilities of the chosen kinds
// (schools, health facilities) inside area ∩ the member's swath of the
// threshold: E = Σ over members of the count / member_count. Members
// without a swath, or whose swath misses the facilities, count zero. Needs
// configured facilities; without them it yields no values.

func init() {
	RegisterRecipe("expected_facilities_exposed", ensembleFacilitiesRecipe{})
}

// EnsembleFacilityParams are EnsembleParams plus the facility kinds.
type EnsembleFacilityParams struct {
	EnsembleParams `mapstructure:",squash"`
	// Kind keeps facilities of these kinds (case-insensitive); empty = all.
	Kind []string `mapstructure:"kind"`
}

func newEnsembleFacilityParams() *EnsembleFacilityParams {
	return &EnsembleFacilityParams{EnsembleParams: *newEnsembleParams()}
}

type ensembleFacilitiesRecipe struct{}

func (ensembleFacilitiesRecipe) ValueType() ValueType { return Float }

func (ensembleFacilitiesRecipe) NewParams() any { return newEnsembleFacilityParams() }

func (ensembleFacilitiesRecipe) Example() Definition {
	return Definition{Shortcode: "HS_TC_ESCHOOL33", Name: "Expected schools in hurricane-force winds (ECMWF ensemble)", Type: Float,
		Unit: "schools", Recipe: "expected_facilities_exposed",
		Params: map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "sources": []any{"ecmwf"},
			"threshold": 33, "kind": []any{"school"}}}
}

func (ensembleFacilitiesRecipe) ValidateParams(p map[string]any) error {
	ep, err := decodeNew(newEnsembleFacilityParams, p)
	if err != nil {
		return err
	}
	return ep.validate()
}

func (ensembleFacilitiesRecipe) Compute(def Definition, in *Input) ([]Value, error) {
	p, err := decodeNew(newEnsembleFacilityParams, def.Params)
	if err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", def.Recipe, err)
	}
	// Each kept facility's areas at the definition's levels.
	var areas rtree.RTreeG[int]
	for ai, a := range in.Areas {
		if a.Geometry != nil && IsPolygonal(a.Geometry) && def.AtLevel(a.Level) {
			b := a.Geometry.Bound()
			areas.Insert(b.Min, b.Max, ai)
		}
	}
	var pts rtree.RTreeG[int]
	inAreas := map[int][]int{}
	for fi, f := range in.Facilities {
		if len(p.Kind) > 0 && !kindIn(p.Kind, f.Kind) {
			continue
		}
		areas.Search(f.Point, f.Point, func(_, _ [2]float64, ai int) bool {
			if Contains(in.Areas[ai].Geometry, f.Point) {
				inAreas[fi] = append(inAreas[fi], ai)
			}
			return true
		})
		if len(inAreas[fi]) > 0 {
			pts.Insert(f.Point, f.Point, fi)
		}
	}
	if pts.Len() == 0 {
		return nil, nil
	}
	type best struct {
		v       float64
		hits, m int
		first   time.Time
		ev      Event
	}
	res := map[int]*best{}
	for _, e := range in.Events {
		m := MemberCount(e)
		if !p.MatchEvent(e) || !e.ActiveAt(in.Now) || m <= 0 {
			continue
		}
		// Per member, the facilities in any of its swaths of the threshold.
		count := map[int]float64{}
		hit := map[int]map[int]bool{} // area → members
		first := map[int]time.Time{}
		for member, fps := range membersSwaths(e, p.EventFilter, p.Threshold) {
			seen := map[int]bool{}
			for _, fp := range fps {
				b := fp.Geometry.Bound()
				pts.Search(b.Min, b.Max, func(_, _ [2]float64, fi int) bool {
					if seen[fi] || !Contains(fp.Geometry, in.Facilities[fi].Point) {
						return true
					}
					seen[fi] = true
					for _, ai := range inAreas[fi] {
						count[ai]++
						if hit[ai] == nil {
							hit[ai] = map[int]bool{}
						}
						hit[ai][member] = true
						if t := fp.ValidFrom; !t.IsZero() && (first[ai].IsZero() || t.Before(first[ai])) {
							first[ai] = t
						}
					}
					return true
				})
			}
		}
		for ai, n := range count {
			v := n / float64(m)
			// Several storms over one area: the one with the highest value.
			if b := res[ai]; b == nil || v > b.v {
				res[ai] = &best{v: v, hits: len(hit[ai]), m: m, first: first[ai], ev: e}
			}
		}
	}
	prov := map[int]*provenance{}
	out := map[int]best{}
	for ai, b := range res {
		provFor(prov, ai).add(b.ev)
		out[ai] = *b
	}
	vals := emit(def, in, out, prov, Forecast, "point-in-footprint", func(b best) Value {
		return Value{Type: Float, Number: math.Round(b.v*100) / 100}
	})
	for i := range vals {
		b := out[in.areaIndex(vals[i].Code)]
		at := vals[i].Attributes
		at["members"] = b.m
		at["members_hit"] = b.hits
		at["threshold"] = p.Threshold
		at["run"] = b.ev.Version
		if !b.first.IsZero() {
			at["first_arrival"] = b.first.UTC().Format(time.RFC3339)
			at["lead_time_hours"] = math.Round(math.Max(0, b.first.Sub(in.Now).Hours())*10) / 10
		}
	}
	return vals, nil
}

// membersSwaths are an ensemble event's member footprints of the threshold
// that the filter keeps, by member.
func membersSwaths(e Event, f EventFilter, threshold float64) map[int][]Footprint {
	out := map[int][]Footprint{}
	for _, fp := range e.Footprints {
		if fp.Member <= 0 || fp.Intensity != threshold || fp.Geometry == nil || !IsPolygonal(fp.Geometry) || !f.MatchFootprint(e, fp) {
			continue
		}
		out[fp.Member] = append(out[fp.Member], fp)
	}
	return out
}
