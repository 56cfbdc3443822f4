package indicators

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Exposure recipes: people, children and land inside the hazard footprints,
// through whichever ExposureEngine the daemon configured.

func init() {
	RegisterRecipe("population_exposed", exposureRecipe{measure: "population"})
	RegisterRecipe("children_exposed", exposureRecipe{measure: "under18"})
	RegisterRecipe("area_exposed_km2", exposureRecipe{measure: "km2"})
}

type exposureRecipe struct{ measure string }

func (exposureRecipe) ValueType() ValueType { return Float }

func (exposureRecipe) NewParams() any { return observedFilter() }

func (r exposureRecipe) Example() Definition {
	mmi6 := map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI", "min_intensity": 6}
	switch r.measure {
	case "population":
		return Definition{Shortcode: "HS_EQ_POP_MMI6", Name: "People exposed to strong shaking (MMI 6+)", Type: Integer,
			Unit: "people", Recipe: "population_exposed", Params: mmi6}
	case "under18":
		return Definition{Shortcode: "HS_EQ_CHILD_MMI6", Name: "Children exposed to strong shaking (MMI 6+)", Type: Integer,
			Unit: "children", Recipe: "children_exposed", Params: mmi6}
	default:
		return Definition{Shortcode: "HS_EQ_KM2_MMI6", Name: "Area with strong shaking (MMI 6+)", Type: Float,
			Unit: "km²", Recipe: "area_exposed_km2", Params: mmi6}
	}
}

func (exposureRecipe) ValidateParams(p map[string]any) error {
	f, err := decodeNew(observedFilter, p)
	if err != nil {
		return err
	}
	return f.validate()
}

func (r exposureRecipe) Compute(def Definition, in *Input) ([]Value, error) {
	if in.Exposure == nil {
		return nil, fmt.Errorf("recipe %s: no exposure engine configured", def.Recipe)
	}
	f, err := decodeNew(observedFilter, def.Params)
	if err != nil {
		return nil, err
	}
	_ = f.validate()
	var fps []orb.Geometry
	var evs []Event
	for _, e := range in.Events {
		if !f.MatchEvent(e) || !e.ActiveAt(in.Now) {
			continue
		}
		used := false
		for _, fp := range e.Footprints {
			if fp.Geometry != nil && IsPolygonal(fp.Geometry) && f.MatchFootprint(e, fp) {
				fps = append(fps, fp.Geometry)
				used = true
			}
		}
		if used {
			evs = append(evs, e)
		}
	}
	if len(fps) == 0 {
		return nil, nil
	}
	exp, err := in.Exposure.Expose(fps)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", def.Recipe, err)
	}
	byCode := make(map[string]int, len(in.Areas))
	for i, a := range in.Areas {
		byCode[a.Code] = i
	}
	res := map[int]float64{}
	prov := map[int]*provenance{}
	methods := map[string]string{} // areas the engine computed another way
	for _, x := range exp {
		ai, ok := byCode[x.Code]
		if !ok || !def.AtLevel(in.Areas[ai].Level) {
			continue
		}
		var v float64
		switch r.measure {
		case "population":
			if !x.KnownPopulation {
				continue
			}
			v = math.Round(x.Population)
		case "under18":
			switch {
			case x.KnownUnder18:
				v = math.Round(x.Under18)
			default:
				continue
			}
		case "km2":
			v = math.Round(x.AreaKm2*100) / 100
		}
		res[ai] = v
		if x.Method != "" && x.Method != in.Exposure.Method() {
			methods[in.Areas[ai].Code] = x.Method
		}
	}
	// Provenance, and the rule that only a hit counts: an area no matching
	// footprint hits gets no value, whatever the engine's cells say.
	tab := in.overlay()
	for _, e := range evs {
		for i := range e.Footprints {
			fp := &e.Footprints[i]
			if fp.Geometry == nil || !f.MatchFootprint(e, *fp) {
				continue
			}
			for _, p := range tab.hitsOf(fp) {
				if _, ok := res[p.Area]; ok {
					provFor(prov, p.Area).add(e)
				}
			}
		}
	}
	for ai := range res {
		if prov[ai] == nil {
			delete(res, ai)
		}
	}
	vals := emit(def, in, res, prov, f.Phase, in.Exposure.Method(), func(v float64) Value {
		return Value{Type: Float, Number: v}
	})
	for i := range vals {
		if m, ok := methods[vals[i].Code]; ok {
			vals[i].Attributes["method"] = m
		}
	}
	return vals, nil
}
