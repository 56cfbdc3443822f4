package indicators

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Ensemble recipes: for forecast events whose footprints are one swath per
// ensemble member (Footprint.Member > 0, e.g. the ecmwf source), the share
// of members whose swath of a threshold covers part of an area (strike
// probability) and the mean over members of the people or children inside
// area ∩ swath (expected exposure). Members without a swath for the
// threshold count as misses and as zero exposure; the number of members
// comes from the event's "member_count" property.

func init() {
	RegisterRecipe("strike_probability", ensembleRecipe{measure: "probability"})
	RegisterRecipe("expected_children_exposed", ensembleRecipe{measure: "under18"})
	RegisterRecipe("expected_population_exposed", ensembleRecipe{measure: "population"})
}

// EnsembleParams select the events and the threshold.
type EnsembleParams struct {
	EventFilter `mapstructure:",squash"`
	// Threshold is the footprints' Intensity to use (e.g. 33 for 33 m/s).
	Threshold float64 `mapstructure:"threshold"`
}

// newEnsembleParams: ensemble recipes read forecasts.
func newEnsembleParams() *EnsembleParams {
	return &EnsembleParams{EventFilter: EventFilter{Phase: Forecast}}
}

func (p *EnsembleParams) validate() error {
	var errs []error
	if p.Phase == "" {
		p.Phase = Forecast
	}
	if err := p.EventFilter.validate(); err != nil {
		errs = append(errs, err)
	}
	if p.Phase != Forecast {
		errs = append(errs, FieldError{"phase", "ensemble recipes are forecasts: phase must be forecast"})
	}
	if p.Threshold <= 0 {
		errs = append(errs, FieldError{"threshold", "is required (the swath intensity, e.g. 33 for 33 m/s)"})
	}
	return errors.Join(errs...)
}

type ensembleRecipe struct{ measure string }

func (ensembleRecipe) ValueType() ValueType { return Float }

func (ensembleRecipe) NewParams() any { return newEnsembleParams() }

func (r ensembleRecipe) Example() Definition {
	ecmwf := func(threshold float64) map[string]any {
		return map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "sources": []any{"ecmwf"}, "threshold": threshold}
	}
	switch r.measure {
	case "probability":
		return Definition{Shortcode: "HS_TC_P64", Name: "Chance of hurricane-force winds (ECMWF ensemble)", Type: Float,
			Unit: "probability", Recipe: "strike_probability", Params: ecmwf(33)}
	case "under18":
		return Definition{Shortcode: "HS_TC_ECHILD64", Name: "Expected children in hurricane-force winds (ECMWF ensemble)", Type: Float,
			Unit: "children", Recipe: "expected_children_exposed", Params: ecmwf(33)}
	default:
		return Definition{Shortcode: "HS_TC_EPOP18", Name: "Expected people in gale-force winds (ECMWF ensemble)", Type: Float,
			Unit: "people", Recipe: "expected_population_exposed", Params: ecmwf(18)}
	}
}

func (ensembleRecipe) ValidateParams(p map[string]any) error {
	ep, err := decodeNew(newEnsembleParams, p)
	if err != nil {
		return err
	}
	return ep.validate()
}

// MemberCount reads an event's "member_count" property (an int in memory, a
// float64 or json.Number once stored).
func MemberCount(e Event) int {
	switch v := e.Properties["member_count"].(type) {
	case int:
		return v
	case float64:
		return int(v)
	case json.Number:
		n, _ := strconv.Atoi(string(v))
		return n
	}
	return 0
}

// EnsembleArea is one area's result for one event.
type EnsembleArea struct {
	Hits, Members int
	// Expected population and children: sums over hitting members / Members.
	Population, Under18 float64
	KnownPopulation     bool
	KnownUnder18        bool
	// FirstArrival is the earliest start of a hitting member's swath.
	FirstArrival time.Time
}

// Probability is Hits / Members.
func (a EnsembleArea) Probability() float64 {
	if a.Members == 0 {
		return 0
	}
	return float64(a.Hits) / float64(a.Members)
}

// EnsembleExposure computes, for one event, per area code: how many members'
// swaths of the threshold overlap the area with positive area, and the
// expected exposure. Each member's swath goes through the exposure engine
// on its own (its pieces are unioned there), all members in one batch.
func EnsembleExposure(eng ExposureEngine, e Event, f EventFilter, threshold float64) (map[string]*EnsembleArea, error) {
	m := MemberCount(e)
	if m <= 0 {
		return nil, fmt.Errorf("event %s has no member_count", e.ID)
	}
	byMember := map[int][]orb.Geometry{}
	starts := map[int]time.Time{}
	for _, fp := range e.Footprints {
		if fp.Member <= 0 || fp.Intensity != threshold || fp.Geometry == nil || !IsPolygonal(fp.Geometry) || !f.MatchFootprint(e, fp) {
			continue
		}
		byMember[fp.Member] = append(byMember[fp.Member], fp.Geometry)
		if s, ok := starts[fp.Member]; !ok || fp.ValidFrom.Before(s) {
			starts[fp.Member] = fp.ValidFrom
		}
	}
	if len(byMember) > m {
		return nil, fmt.Errorf("event %s: %d members have swaths but member_count is %d", e.ID, len(byMember), m)
	}
	members := slices.Sorted(maps.Keys(byMember))
	sets := make([][]orb.Geometry, len(members))
	for i, k := range members {
		sets[i] = byMember[k]
	}
	exps, err := ExposeEach(eng, sets)
	if err != nil {
		return nil, fmt.Errorf("event %s threshold %g: %w", e.ID, threshold, err)
	}
	out := map[string]*EnsembleArea{}
	for i, k := range members {
		for _, x := range exps[i] {
			if x.AreaKm2 <= 0 {
				continue
			}
			a := out[x.Code]
			if a == nil {
				a = &EnsembleArea{Members: m, KnownPopulation: true, KnownUnder18: true}
				out[x.Code] = a
			}
			a.Hits++
			a.Population += x.Population / float64(m)
			a.Under18 += x.Under18 / float64(m)
			a.KnownPopulation = a.KnownPopulation && x.KnownPopulation
			a.KnownUnder18 = a.KnownUnder18 && x.KnownUnder18
			if s := starts[k]; !s.IsZero() && (a.FirstArrival.IsZero() || s.Before(a.FirstArrival)) {
				a.FirstArrival = s
			}
		}
	}
	return out, nil
}

func (r ensembleRecipe) Compute(def Definition, in *Input) ([]Value, error) {
	if in.Exposure == nil {
		return nil, fmt.Errorf("recipe %s: no exposure engine configured", def.Recipe)
	}
	p, err := decodeNew(newEnsembleParams, def.Params)
	if err != nil {
		return nil, err
	}
	_ = p.validate()
	byCode := make(map[string]int, len(in.Areas))
	for i, a := range in.Areas {
		byCode[a.Code] = i
	}
	type best struct {
		v   float64
		a   EnsembleArea
		ev  Event
		set bool
	}
	res := map[int]best{}
	for _, e := range in.Events {
		if !p.MatchEvent(e) || !e.ActiveAt(in.Now) || MemberCount(e) == 0 {
			continue
		}
		areas, err := EnsembleExposure(in.Exposure, e, p.EventFilter, p.Threshold)
		if err != nil {
			return nil, fmt.Errorf("recipe %s: %w", def.Recipe, err)
		}
		for code, a := range areas {
			ai, ok := byCode[code]
			if !ok || !def.AtLevel(in.Areas[ai].Level) {
				continue
			}
			var v float64
			switch r.measure {
			case "probability":
				v = a.Probability()
			case "under18":
				if !a.KnownUnder18 {
					continue
				}
				v = math.Round(a.Under18)
			case "population":
				if !a.KnownPopulation {
					continue
				}
				v = math.Round(a.Population)
			}
			// Several storms over one area: the one with the highest value.
			if b := res[ai]; !b.set || v > b.v {
				res[ai] = best{v: v, a: *a, ev: e, set: true}
			}
		}
	}
	prov := map[int]*provenance{}
	for ai, b := range res {
		provFor(prov, ai).add(b.ev)
	}
	vals := emit(def, in, res, prov, Forecast, in.Exposure.Method(), func(b best) Value {
		v := b.v
		if r.measure == "probability" {
			v = math.Round(v*1e4) / 1e4
		}
		return Value{Type: Float, Number: v}
	})
	for i := range vals {
		b := res[byCode[vals[i].Code]]
		at := vals[i].Attributes
		at["members"] = b.a.Members
		at["members_hit"] = b.a.Hits
		at["threshold"] = p.Threshold
		at["run"] = b.ev.Version
		if !b.a.FirstArrival.IsZero() {
			at["first_arrival"] = b.a.FirstArrival.UTC().Format(time.RFC3339)
			at["lead_time_hours"] = math.Round(math.Max(0, b.a.FirstArrival.Sub(in.Now).Hours())*10) / 10
		}
	}
	return vals, nil
}

// validateProbabilityTrigger: a probability trigger names the swath
// intensity and compares shares, so its levels lie in (0, 1].
func validateProbabilityTrigger(t Trigger) []error {
	var errs []error
	if t.Intensity <= 0 {
		errs = append(errs, FieldError{"intensity", "is required with measure probability (the swath threshold, e.g. 33 for 33 m/s)"})
	}
	for name, v := range t.Levels {
		if v <= 0 || v > 1 {
			errs = append(errs, FieldError{"levels." + name, fmt.Sprintf("a probability must be in (0, 1], got %g", v)})
		}
	}
	return errs
}

// probabilityReach is a probability trigger's part of evaluateArea for one
// ensemble event: the share of members whose footprint of t.Intensity
// overlaps the area with positive area (touching along an edge is not a
// strike) and starts within the window, compared with the levels; the time
// is the earliest such member's arrival. Windows and lead times count from
// the sync's as-of time, as for every trigger.
func probabilityReach(t Trigger, window time.Duration, a Area, e Event, now time.Time, minLevel int,
	levels map[string]float64, hits func(*Footprint) bool, r *Reach) {
	m := MemberCount(e)
	if m <= 0 {
		return
	}
	hit := map[int]bool{}
	var first time.Time
	for i := range e.Footprints {
		fp := &e.Footprints[i]
		if fp.Member <= 0 || hit[fp.Member] || fp.Intensity != t.Intensity || fp.Geometry == nil {
			continue
		}
		if t.Unit != "" && !strings.EqualFold(fp.Unit, t.Unit) {
			continue
		}
		from := firstNonZero(fp.ValidFrom, e.ValidFrom, e.Issued)
		to := firstNonZero(fp.ValidTo, e.ValidTo)
		if (!to.IsZero() && to.Before(now)) || !withinWindow(from, now, window) {
			continue
		}
		if !hits(fp) { // the sync's overlay: positive area, not touching
			continue
		}
		hit[fp.Member] = true
		if first.IsZero() || from.Before(first) {
			first = from
		}
	}
	p := float64(len(hit)) / float64(m)
	l := LevelNone
	for i := len(LevelNames) - 1; i > 0; i-- {
		if th, ok := levels[LevelNames[i]]; ok && p >= th {
			l = i
			break
		}
	}
	if l < minLevel || l == LevelNone {
		return
	}
	lead := leadHours(first, now)
	if l > r.Level || (l == r.Level && first.Before(r.First)) {
		r.Level, r.First, r.LeadHours = l, first, lead
	}
	if r.FirstAtMin.IsZero() || first.Before(r.FirstAtMin) {
		r.FirstAtMin, r.LeadAtMinHours = first, lead
	}
	r.Events.add(e)
}
