package indicators

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/rtree"
)

// facilities_exposed: how many facilities (schools, health facilities, ...)
// of the chosen kinds lie inside the footprints of matching events, per
// area. Facilities and areas are both found through R-trees, never by
// scanning every point against every polygon.

func init() {
	RegisterRecipe("facilities_exposed", facilitiesRecipe{})
}

type facilitiesParams struct {
	EventFilter `mapstructure:",squash"`
	// Kind keeps facilities of these kinds (case-insensitive); empty = all.
	Kind []string `mapstructure:"kind"`
}

func newFacilitiesParams() *facilitiesParams {
	return &facilitiesParams{EventFilter: *observedFilter()}
}

type facilitiesRecipe struct{}

func (facilitiesRecipe) ValueType() ValueType { return Integer }

func (facilitiesRecipe) NewParams() any { return newFacilitiesParams() }

func (facilitiesRecipe) Example() Definition {
	return Definition{Shortcode: "HS_EQ_SCHOOLS", Name: "Schools in strong shaking (MMI 6+)", Type: Integer,
		Unit: "schools", Recipe: "facilities_exposed",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI", "min_intensity": 6, "kind": []any{"school"}}}
}

func (facilitiesRecipe) ValidateParams(p map[string]any) error {
	f, err := decodeNew(newFacilitiesParams, p)
	if err != nil {
		return err
	}
	return f.validate()
}

func (facilitiesRecipe) Compute(def Definition, in *Input) ([]Value, error) {
	p, err := decodeNew(newFacilitiesParams, def.Params)
	if err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("recipe %s: %w", def.Recipe, err)
	}
	var pts rtree.RTreeG[int]
	for i, f := range in.Facilities {
		if len(p.Kind) > 0 && !kindIn(p.Kind, f.Kind) {
			continue
		}
		pts.Insert(f.Point, f.Point, i)
	}
	if pts.Len() == 0 {
		return nil, nil
	}
	// Facility → events whose matching footprints contain it.
	hitBy := map[int][]Event{}
	for _, e := range in.Events {
		if !p.MatchEvent(e) || !e.ActiveAt(in.Now) {
			continue
		}
		seen := map[int]bool{}
		for _, fp := range e.Footprints {
			if fp.Geometry == nil || !IsPolygonal(fp.Geometry) || !p.MatchFootprint(e, fp) {
				continue
			}
			b := fp.Geometry.Bound()
			pts.Search(b.Min, b.Max, func(_, _ [2]float64, i int) bool {
				if !seen[i] && Contains(fp.Geometry, in.Facilities[i].Point) {
					seen[i] = true
					hitBy[i] = append(hitBy[i], e)
				}
				return true
			})
		}
	}
	if len(hitBy) == 0 {
		return nil, nil
	}
	var areas rtree.RTreeG[int]
	for ai, a := range in.Areas {
		if a.Geometry != nil && def.AtLevel(a.Level) {
			b := a.Geometry.Bound()
			areas.Insert(b.Min, b.Max, ai)
		}
	}
	res := map[int]int{}
	prov := map[int]*provenance{}
	for fi, evs := range hitBy {
		pt := in.Facilities[fi].Point
		areas.Search(pt, pt, func(_, _ [2]float64, ai int) bool {
			if Contains(in.Areas[ai].Geometry, pt) {
				res[ai]++
				pv := provFor(prov, ai)
				for _, e := range evs {
					pv.add(e)
				}
			}
			return true
		})
	}
	return emit(def, in, res, prov, p.Phase, "point-in-footprint", func(n int) Value {
		return Value{Type: Integer, Number: float64(n)}
	}), nil
}

func kindIn(kinds []string, k string) bool {
	k = strings.TrimSpace(k)
	return slices.ContainsFunc(kinds, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), k) })
}
