package indicators

import (
	"errors"
	"maps"
	"math"
	"slices"
)

// Presence recipes: which hazards hit an area, how severe, how intense.

func init() {
	RegisterRecipe("alert_level", alertLevel{})
	RegisterRecipe("hazard_presence", hazardPresence{})
	RegisterRecipe("max_intensity", maxIntensity{})
}

// touching calls fn for every (area, event, matching footprint) where the
// footprint hits the area in the sync's overlay, or the event names the area
// (or one of its parents) by code. fp is nil for a by-code match.
func touching(def Definition, in *Input, f EventFilter, fn func(ai int, e Event, fp *Footprint)) {
	tab := in.overlay()
	for _, e := range in.Events {
		if !f.MatchEvent(e) || !e.ActiveAt(in.Now) {
			continue
		}
		if len(e.Areas) > 0 && e.Severity >= f.MinSeverity {
			for ai, a := range in.Areas {
				if def.AtLevel(a.Level) && namesArea(e.Areas, a) {
					fn(ai, e, nil)
				}
			}
		}
		for i := range e.Footprints {
			fp := &e.Footprints[i]
			if fp.Geometry == nil || !f.MatchFootprint(e, *fp) {
				continue
			}
			for _, p := range tab.hitsOf(fp) {
				if def.AtLevel(in.Areas[p.Area].Level) {
					fn(p.Area, e, fp)
				}
			}
		}
	}
}

func namesArea(codes []string, a Area) bool {
	for _, c := range codes {
		if c == a.Code || slices.Contains(a.Parents, c) {
			return true
		}
	}
	return false
}

// alertLevel: the highest normalised severity of the hazards touching an
// area, as none/green/orange/red (a String indicator with that code list).
type alertLevel struct{}

func (alertLevel) ValueType() ValueType { return String }

// NewParams: an EventFilter, observed events by default. hazard_presence
// and max_intensity share it.
func (alertLevel) NewParams() any { return observedFilter() }

func (alertLevel) Example() Definition {
	return Definition{Shortcode: "HS_EQ_ALERT", Name: "Earthquake alert level", Type: String,
		Codes: []string{"none", "green", "orange", "red"}, Recipe: "alert_level",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "phase": "observed"}}
}

func (alertLevel) ValidateParams(p map[string]any) error {
	f, err := decodeNew(observedFilter, p)
	if err != nil {
		return err
	}
	return f.validate()
}

func (alertLevel) Compute(def Definition, in *Input) ([]Value, error) {
	f, err := decodeNew(observedFilter, def.Params)
	if err != nil {
		return nil, err
	}
	_ = f.validate()
	best := map[int]Severity{}
	prov := map[int]*provenance{}
	touching(def, in, *f, func(ai int, e Event, fp *Footprint) {
		s := e.Severity
		if fp != nil {
			s = fp.SeverityOr(e.Severity)
		}
		if s == SeverityNone {
			return
		}
		if s > best[ai] {
			best[ai] = s
		}
		provFor(prov, ai).add(e)
	})
	return emit(def, in, best, prov, f.Phase, "", func(s Severity) Value {
		return Value{Type: String, Text: s.String()}
	}), nil
}

// hazardPresence: 1 where a matching hazard touches the area.
type hazardPresence struct{ alertLevel }

func (hazardPresence) ValueType() ValueType { return Integer }

func (hazardPresence) Example() Definition {
	return Definition{Shortcode: "HS_EQ_PRESENT", Name: "Earthquake present", Type: Integer, Recipe: "hazard_presence",
		Params: map[string]any{"hazard_types": []any{"earthquake"}}}
}

func (hazardPresence) Compute(def Definition, in *Input) ([]Value, error) {
	f, err := decodeNew(observedFilter, def.Params)
	if err != nil {
		return nil, err
	}
	_ = f.validate()
	hit := map[int]bool{}
	prov := map[int]*provenance{}
	touching(def, in, *f, func(ai int, e Event, _ *Footprint) {
		hit[ai] = true
		provFor(prov, ai).add(e)
	})
	return emit(def, in, hit, prov, f.Phase, "", func(bool) Value { return Value{Type: Integer, Number: 1} }), nil
}

// maxIntensity: the highest band intensity (MMI, kt, mm) touching the area.
// Set unit so intensities of different scales are never compared.
type maxIntensity struct{ alertLevel }

func (maxIntensity) ValueType() ValueType { return Float }

func (maxIntensity) Example() Definition {
	return Definition{Shortcode: "HS_EQ_MMI_MAX", Name: "Earthquake shaking, maximum MMI", Type: Float, Unit: "MMI",
		Recipe: "max_intensity", Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI"}}
}

func (maxIntensity) ValidateParams(p map[string]any) error {
	f, err := decodeNew(observedFilter, p)
	if err != nil {
		return err
	}
	errs := []error{f.validate()}
	if f.Unit == "" {
		errs = append(errs, FieldError{"unit", "is required: intensities of different scales are never compared (e.g. MMI, kt, mm/24h)"})
	}
	return errors.Join(errs...)
}

func (maxIntensity) Compute(def Definition, in *Input) ([]Value, error) {
	f, err := decodeNew(observedFilter, def.Params)
	if err != nil {
		return nil, err
	}
	_ = f.validate()
	best := map[int]float64{}
	prov := map[int]*provenance{}
	touching(def, in, *f, func(ai int, e Event, fp *Footprint) {
		if fp == nil {
			return
		}
		v := fp.Intensity
		if fp.Value != nil {
			v = *fp.Value
		}
		if cur, ok := best[ai]; !ok || v > cur {
			best[ai] = v
		}
		provFor(prov, ai).add(e)
	})
	return emit(def, in, best, prov, f.Phase, "", func(v float64) Value {
		return Value{Type: def.Type, Number: math.Round(v*100) / 100}
	}), nil
}

func provFor(m map[int]*provenance, ai int) *provenance {
	p := m[ai]
	if p == nil {
		p = &provenance{}
		m[ai] = p
	}
	return p
}

// emit turns per-area results into values, in area order (deterministic).
func emit[T any](def Definition, in *Input, res map[int]T, prov map[int]*provenance, phase Phase, method string, mk func(T) Value) []Value {
	idx := slices.AppendSeq(make([]int, 0, len(res)), maps.Keys(res)) // sized once: one per area
	slices.Sort(idx)
	out := make([]Value, 0, len(idx))
	for _, ai := range idx {
		a := in.Areas[ai]
		v := mk(res[ai])
		v.Indicator, v.Code, v.AdminLevel, v.Date = def.Shortcode, a.Code, a.Level, in.Date
		if def.Type != "" {
			v.Type = def.Type
		}
		p := prov[ai]
		if p == nil {
			p = &provenance{}
		}
		v.Attributes = p.attrs(phase, method)
		out = append(out, v)
	}
	return out
}
