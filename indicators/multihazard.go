package indicators

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// The multi-hazard index combines per-hazard scores in 0..1 into one score
// per area. Each component is normalised from what touches the area:
// severity (green 1/3, orange 2/3, red 1) or an intensity scaled between a
// floor and a ceiling. Combination methods:
//
//	probabilistic_or   1 − Π(1 − s): any hazard raises the score, several more so
//	geometric_mean     Π s^w (weights normalised over the components present),
//	                   as UNICEF's Children's Climate Risk Index combines pillars
//	max                the worst component
//
// Null semantics: a component with no hazard touching the area scores 0 and
// is "absent". probabilistic_or and max treat absent as 0. The geometric mean
// is taken over the components present only (a zero would otherwise wipe out
// every other hazard); an area with no component present gets no value.
// The per-hazard components stay separate indicators in GeoSight, and each
// value's attributes list the component scores, so users see what drove it.

func init() { RegisterRecipe("multi_hazard_index", multiHazard{}) }

// MultiHazardParams configure the index.
type MultiHazardParams struct {
	Method     string      `mapstructure:"method"`     // How component scores combine: probabilistic_or (default), geometric_mean or max.
	Components []Component `mapstructure:"components"` // The hazards combined, each scored 0..1.
}

// Component is one hazard's contribution.
type Component struct {
	Name        string       `mapstructure:"name"`         // Component name, listed in the value's attributes.
	HazardTypes []HazardType `mapstructure:"hazard_types"` // Hazard types this component scores.
	Phase       Phase        `mapstructure:"phase"`        // Observed (default) or forecast.
	// Measure: severity (default) or intensity.
	Measure string `mapstructure:"measure"`
	Unit    string `mapstructure:"unit"` // Unit of the intensity measured (MMI, kt, ...).
	// Floor and Ceiling scale an intensity to 0..1 (e.g. MMI 4..9).
	Floor   float64 `mapstructure:"floor"`
	Ceiling float64 `mapstructure:"ceiling"`
	Weight  float64 `mapstructure:"weight"` // Weight in the geometric mean (default 1).
}

// newComponent is a component's defaults: the severity of observed events,
// weight 1.
func newComponent() Component { return Component{Phase: Observed, Measure: "severity", Weight: 1} }

// ElemDefaults gives the defaults of every component, for the reference.
func (MultiHazardParams) ElemDefaults() []any { return []any{newComponent()} }

type multiHazard struct{}

func (multiHazard) ValueType() ValueType { return Float }

func newMultiHazardParams() *MultiHazardParams { return &MultiHazardParams{Method: "probabilistic_or"} }

func (multiHazard) NewParams() any { return newMultiHazardParams() }

func (multiHazard) Example() Definition {
	return Definition{Shortcode: "HS_MHI", Name: "Multi-hazard index", Type: Float, Recipe: "multi_hazard_index",
		Params: map[string]any{"method": "geometric_mean", "components": []any{
			map[string]any{"name": "quake", "hazard_types": []any{"earthquake"}, "measure": "intensity", "unit": "MMI", "floor": 4, "ceiling": 9},
			map[string]any{"name": "heat", "hazard_types": []any{"heat"}, "phase": "forecast", "weight": 0.5},
		}}}
}

func (multiHazard) ValidateParams(p map[string]any) error {
	_, err := decodeMultiHazard(p)
	return err
}

func decodeMultiHazard(p map[string]any) (*MultiHazardParams, error) {
	// Components decode into defaulted elements: mapstructure fills a
	// slice's existing elements.
	newParams := func() *MultiHazardParams {
		mp := newMultiHazardParams()
		if cs := reflect.ValueOf(p["components"]); cs.Kind() == reflect.Slice {
			mp.Components = make([]Component, cs.Len())
			for i := range mp.Components {
				mp.Components[i] = newComponent()
			}
		}
		return mp
	}
	mp, err := decodeNew(newParams, p)
	if err != nil {
		return nil, err
	}
	var errs []error
	switch mp.Method {
	case "probabilistic_or", "geometric_mean", "max":
	default:
		errs = append(errs, FieldError{"method", fmt.Sprintf("must be probabilistic_or, geometric_mean or max, got %q", mp.Method)})
	}
	if len(mp.Components) == 0 {
		errs = append(errs, FieldError{"components", "at least one component is required"})
	}
	seen := map[string]bool{}
	for i := range mp.Components {
		c := &mp.Components[i]
		path := fmt.Sprintf("components[%d]", i)
		if c.Name == "" {
			errs = append(errs, FieldError{path + ".name", "is required"})
		} else if seen[c.Name] {
			errs = append(errs, FieldError{path + ".name", "duplicate " + c.Name})
		}
		seen[c.Name] = true
		if c.Weight == 0 {
			c.Weight = 1 // as an explicit 0 always did
		}
		if len(c.HazardTypes) == 0 {
			errs = append(errs, FieldError{path + ".hazard_types", "at least one hazard type is required"})
		}
		for j, h := range c.HazardTypes {
			if _, err := ParseHazardType(string(h)); err != nil {
				errs = append(errs, FieldError{fmt.Sprintf("%s.hazard_types[%d]", path, j), err.Error()})
			}
		}
		if _, err := ParsePhase(string(c.Phase)); err != nil {
			errs = append(errs, FieldError{path + ".phase", err.Error()})
		}
		switch c.Measure {
		case "severity":
		case "intensity":
			if c.Ceiling <= c.Floor {
				errs = append(errs, FieldError{path + ".ceiling", "must be above floor for an intensity component"})
			}
		default:
			errs = append(errs, FieldError{path + ".measure", fmt.Sprintf("must be severity or intensity, got %q", c.Measure)})
		}
		if c.Weight < 0 {
			errs = append(errs, FieldError{path + ".weight", "must be > 0"})
		}
	}
	return mp, errors.Join(errs...)
}

// score of a footprint under a component, 0..1.
func (c Component) score(e Event, fp Footprint) float64 {
	if c.Measure == "intensity" {
		if c.Unit != "" && !strings.EqualFold(c.Unit, fp.Unit) {
			return 0
		}
		x := fp.Intensity
		if fp.Value != nil {
			x = *fp.Value
		}
		return math.Max(0, math.Min(1, (x-c.Floor)/(c.Ceiling-c.Floor)))
	}
	return float64(fp.SeverityOr(e.Severity)) / float64(SeverityRed)
}

// CombineScores applies a method to component scores (absent = not in the
// map). ok is false when the method yields no value.
func CombineScores(method string, scores map[string]float64, weights map[string]float64) (float64, bool) {
	if len(scores) == 0 {
		return 0, false
	}
	switch method {
	case "max":
		m := 0.0
		for _, s := range scores {
			m = math.Max(m, s)
		}
		return m, true
	case "geometric_mean":
		var wsum, logsum float64
		for n, s := range scores {
			if s <= 0 {
				continue
			}
			w := weights[n]
			wsum += w
			logsum += w * math.Log(s)
		}
		if wsum == 0 {
			return 0, false
		}
		return math.Exp(logsum / wsum), true
	default: // probabilistic_or
		p := 1.0
		for _, s := range scores {
			p *= 1 - s
		}
		return 1 - p, true
	}
}

func (multiHazard) Compute(def Definition, in *Input) ([]Value, error) {
	mp, err := decodeMultiHazard(def.Params)
	if err != nil {
		return nil, err
	}
	weights := map[string]float64{}
	for _, c := range mp.Components {
		weights[c.Name] = c.Weight
	}
	res := map[int]float64{}
	comps := map[int]map[string]float64{}
	prov := map[int]*provenance{}
	for _, c := range mp.Components {
		f := EventFilter{HazardTypes: c.HazardTypes, Phase: c.Phase}
		touching(def, in, f, func(ai int, e Event, fp *Footprint) {
			s := 0.0
			if fp == nil {
				s = float64(e.Severity) / float64(SeverityRed)
				if c.Measure == "intensity" {
					return
				}
			} else {
				s = c.score(e, *fp)
			}
			if s <= 0 {
				return
			}
			if comps[ai] == nil {
				comps[ai] = map[string]float64{}
			}
			if s > comps[ai][c.Name] {
				comps[ai][c.Name] = s
			}
			provFor(prov, ai).add(e)
		})
	}
	for ai, sc := range comps {
		if v, ok := CombineScores(mp.Method, sc, weights); ok {
			res[ai] = math.Round(v*1000) / 1000
		}
	}
	phase := Observed
	for _, c := range mp.Components {
		if c.Phase == Forecast {
			phase = Forecast
		}
	}
	vals := emit(def, in, res, prov, phase, "", func(v float64) Value { return Value{Type: Float, Number: v} })
	for i := range vals {
		sc := comps[in.areaIndex(vals[i].Code)]
		names := make([]string, 0, len(sc)) // per value: kept on the stack (see provenance.attrs)
		for n := range sc {
			names = append(names, n)
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for j, n := range names {
			parts[j] = fmt.Sprintf("%s=%.3f", n, sc[n])
		}
		vals[i].Attributes["components"] = strings.Join(parts, " ")
		vals[i].Attributes["method"] = mp.Method
	}
	return vals, nil
}
