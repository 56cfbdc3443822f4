package indicators

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Early-warning recipes: for each area, the highest level a forecast reaches
// within a lead-time window, when it is first reached, and the children in
// the parts of the area that reach it. Values are always phase=forecast and
// say "forecast, not an activation". Lead times and windows count from the
// sync's as-of time (now, or replay_time), not from the forecast's issue
// time: lead_time_hours is the whole hours (rounded down) from the sync to
// the first time the level is reached, 0 when it is already reached, and a
// window of 72 h covers what is reached within 72 h of the sync; its values
// carry lead_time_from saying so. early_warning_level values carry
// first_time (when the level is first reached), which stays true until the
// forecast changes, so an unchanged warning is not re-sent every sync.

func init() {
	RegisterRecipe("early_warning_level", warningRecipe{kind: "level"})
	RegisterRecipe("lead_time_hours", warningRecipe{kind: "lead"})
	RegisterRecipe("children_at_risk", warningRecipe{kind: "children"})
}

// WarningParams select a trigger, a window and (for lead time and children)
// a minimum level.
type WarningParams struct {
	Trigger string `mapstructure:"trigger"` // Name of a rule under triggers: (heat, heavy_rain, wind, river_flood, cyclone, or your own).
	// Window is a window name of the trigger; default its longest.
	Window string `mapstructure:"window"`
	// Level is the lowest level counted (default watch).
	Level string `mapstructure:"level"`
}

// Reach is one area's evaluation under a trigger and window.
type Reach struct {
	Level int
	// First is when the highest level is first reached; LeadHours is the
	// hours from the sync's as-of time (now, or the replay time) to First,
	// 0 when already reached. Not from the forecast's issue time: a
	// forecast issued yesterday for tomorrow has one day left, not two.
	First     time.Time
	LeadHours float64
	// FirstAtMin is when any footprint first reaches the minimum level
	// asked for, and LeadAtMinHours its lead time: what lead_time_hours
	// reports.
	FirstAtMin     time.Time
	LeadAtMinHours float64
	Events         provenance
}

// EvaluateArea evaluates a trigger for one area within a window (max lead).
// Footprints count when they hit the area (see OverlayOptions), or when their
// event names the area (or a parent) by code; footprints entirely in the
// past are ignored.
func EvaluateArea(t Trigger, window time.Duration, a Area, events []Event, now time.Time, minLevel int) Reach {
	tab := NewOverlay([]Area{a}, OverlayOptions{}).build(events, nil)
	return evaluateArea(t, window, a, events, now, minLevel, func(fp *Footprint) bool { return tab.hit(fp, 0) })
}

// evaluateArea is EvaluateArea reading hits from the sync's overlay.
func evaluateArea(t Trigger, window time.Duration, a Area, events []Event, now time.Time, minLevel int,
	hits func(*Footprint) bool) Reach {
	var r Reach
	levels := t.levelsFor(countryOf(a))
	for _, e := range events {
		if !t.matches(e) || !e.ActiveAt(now) {
			continue
		}
		if t.Measure == "probability" {
			probabilityReach(t, window, a, e, now, minLevel, levels, hits, &r)
			continue
		}
		named := len(e.Areas) > 0 && namesArea(e.Areas, a)
		for i := range e.Footprints {
			fp := &e.Footprints[i]
			from := firstNonZero(fp.ValidFrom, e.ValidFrom, e.Issued)
			to := firstNonZero(fp.ValidTo, e.ValidTo)
			if !to.IsZero() && to.Before(now) {
				continue
			}
			if !withinWindow(from, now, window) {
				continue
			}
			l := t.levelOf(e, *fp, levels)
			if l < minLevel || l == LevelNone {
				continue
			}
			if !named && (fp.Geometry == nil || !hits(fp)) {
				continue
			}
			lead := leadHours(from, now)
			if l > r.Level || (l == r.Level && from.Before(r.First)) {
				r.Level, r.First, r.LeadHours = l, from, lead
			}
			if r.FirstAtMin.IsZero() || from.Before(r.FirstAtMin) {
				r.FirstAtMin, r.LeadAtMinHours = from, lead
			}
			r.Events.add(e)
		}
	}
	return r
}

// leadHours is the lead time of a level first reached at from, seen at now:
// hours until then, 0 when already reached.
func leadHours(from, now time.Time) float64 {
	return math.Max(0, from.Sub(now).Hours())
}

// withinWindow: a window (readiness 120 h, action 72 h) is counted from
// now, like the lead time, so what is in it does not depend on when the
// forecast was issued.
func withinWindow(from, now time.Time, window time.Duration) bool {
	return from.Sub(now) <= window
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// countryOf is the admin-0 ucode of an area: its last parent, or itself.
func countryOf(a Area) string {
	if len(a.Parents) > 0 {
		return a.Parents[len(a.Parents)-1]
	}
	return a.Code
}

// LeadTimeFrom is the lead_time_from attribute of lead_time_hours values:
// lead times and windows count from the sync's as-of time, not the
// forecast's issue time.
const LeadTimeFrom = "sync time (whole hours until first reached, rounded down; 0 = reached now)"

// WholeLeadHours is how lead times are reported: whole hours, rounded down
// (an hour and a half left is "1 h", never "2 h"), so a value changes at
// most once an hour rather than at every sync.
func WholeLeadHours(h float64) float64 {
	return math.Max(0, math.Floor(h+1e-9))
}

type warningRecipe struct{ kind string }

func (w warningRecipe) ValueType() ValueType {
	switch w.kind {
	case "level":
		return String
	default:
		return Float
	}
}

// newWarningParams: the trigger's longest window, levels from watch up.
func newWarningParams() *WarningParams { return &WarningParams{Level: "watch"} }

func (warningRecipe) NewParams() any { return newWarningParams() }

func (w warningRecipe) Example() Definition {
	switch w.kind {
	case "level":
		return Definition{Shortcode: "HS_EW_HEAT", Name: "Heat early-warning level", Type: String,
			Codes: LevelNames, Recipe: "early_warning_level", Aggregation: "MAX(value)",
			Params: map[string]any{"trigger": "heat", "window": "action"}}
	case "lead":
		return Definition{Shortcode: "HS_EW_HEAT_LEAD", Name: "Hours until heat warning", Type: Float, Unit: "hours",
			Recipe: "lead_time_hours", Aggregation: "MIN(value)", Params: map[string]any{"trigger": "heat", "level": "warning"}}
	default:
		return Definition{Shortcode: "HS_EW_HEAT_CHILD", Name: "Children in areas under heat warning", Type: Integer,
			Unit: "children", Recipe: "children_at_risk", Aggregation: "SUM(value)",
			Params: map[string]any{"trigger": "heat", "level": "warning"}}
	}
}

func (w warningRecipe) ValidateParams(p map[string]any) error {
	wp, err := decodeNew(newWarningParams, p)
	if err != nil {
		return err
	}
	var errs []error
	if wp.Trigger == "" {
		errs = append(errs, FieldError{"trigger", "is required: the name of a trigger under triggers: (defaults: heat, heavy_rain, wind, river_flood, cyclone)"})
	}
	if wp.Level != "" {
		if l, err := ParseLevel(wp.Level); err != nil || l == LevelNone {
			errs = append(errs, FieldError{"level", fmt.Sprintf("must be watch, warning or alert, got %q", wp.Level)})
		}
	}
	return errors.Join(errs...)
}

func (w warningRecipe) resolve(def Definition, in *Input) (WarningParams, Trigger, time.Duration, int, error) {
	decoded, err := decodeNew(newWarningParams, def.Params)
	if err != nil {
		return WarningParams{}, Trigger{}, 0, 0, err
	}
	wp := *decoded
	t, ok := in.Triggers[wp.Trigger]
	if !ok {
		return wp, t, 0, 0, fmt.Errorf("indicator %s: unknown trigger %q", def.Shortcode, wp.Trigger)
	}
	if wp.Window == "" {
		names := t.WindowNames()
		if len(names) == 0 {
			return wp, t, 0, 0, fmt.Errorf("trigger %s has no windows", wp.Trigger)
		}
		wp.Window = names[0]
	}
	win, ok := t.Windows[wp.Window]
	if !ok {
		return wp, t, 0, 0, fmt.Errorf("indicator %s: trigger %s has no window %q (has %v)", def.Shortcode, wp.Trigger, wp.Window, t.WindowNames())
	}
	minLevel := LevelWatch
	if wp.Level != "" {
		minLevel, _ = ParseLevel(wp.Level)
	}
	return wp, t, win, minLevel, nil
}

func (w warningRecipe) Compute(def Definition, in *Input) ([]Value, error) {
	wp, t, win, minLevel, err := w.resolve(def, in)
	if err != nil {
		return nil, err
	}
	if w.kind == "children" {
		return w.children(def, in, wp, t, win, minLevel)
	}
	type res struct {
		reach Reach
	}
	out := map[int]res{}
	prov := map[int]*provenance{}
	for ai, a := range in.Areas {
		if !def.AtLevel(a.Level) {
			continue
		}
		r := evaluateArea(t, win, a, in.eventsAt(ai), in.Now, minLevel, in.hitsArea(ai))
		if r.Level == LevelNone {
			continue
		}
		out[ai] = res{r}
		p := r.Events
		prov[ai] = &p
	}
	vals := emit(def, in, out, prov, Forecast, "", func(x res) Value {
		if w.kind == "level" {
			return Value{Type: String, Text: LevelNames[x.reach.Level]}
		}
		return Value{Type: Float, Number: WholeLeadHours(x.reach.LeadAtMinHours)}
	})
	for i := range vals {
		ai := in.areaIndex(vals[i].Code)
		r := out[ai].reach
		vals[i].Attributes["trigger"] = wp.Trigger
		vals[i].Attributes["window"] = wp.Window
		vals[i].Attributes["level"] = LevelNames[r.Level]
		// A level value carries when the level is first reached, which
		// does not change while the forecast does not; a lead time in it
		// would go stale as soon as it is sent, or force a re-send of
		// every warned area every sync.
		vals[i].Attributes["first_time"] = r.First.UTC().Format(time.RFC3339)
		if w.kind == "lead" {
			vals[i].Attributes["lead_time_from"] = LeadTimeFrom
		}
	}
	return vals, nil
}

// children counts under-18s in the parts of each area that reach the level:
// through the exposure engine for polygon footprints (cones, wind radii,
// flood extents), and the whole area's under-18 population for forecasts
// sampled at the area's own point (gridded variables).
func (w warningRecipe) children(def Definition, in *Input, wp WarningParams, t Trigger, win time.Duration, minLevel int) ([]Value, error) {
	if t.Measure == "probability" {
		return w.expectedChildren(def, in, wp, t, win, minLevel)
	}
	var polys []orb.Geometry
	var polyEvents []Event
	for _, e := range in.Events {
		if !t.matches(e) || !e.ActiveAt(in.Now) {
			continue
		}
		used := false
		for _, fp := range e.Footprints {
			if fp.Geometry == nil || !IsPolygonal(fp.Geometry) {
				continue
			}
			from := firstNonZero(fp.ValidFrom, e.ValidFrom, e.Issued)
			to := firstNonZero(fp.ValidTo, e.ValidTo)
			if (!to.IsZero() && to.Before(in.Now)) || !withinWindow(from, in.Now, win) {
				continue
			}
			// Country overrides do not apply here: footprints cross borders.
			if t.levelOf(e, fp, t.Levels) >= minLevel {
				polys = append(polys, fp.Geometry)
				used = true
			}
		}
		if used {
			polyEvents = append(polyEvents, e)
		}
	}
	byCode := map[string]AreaExposure{}
	method := ""
	if len(polys) > 0 && in.Exposure != nil {
		exp, err := in.Exposure.Expose(polys)
		if err != nil {
			return nil, err
		}
		for _, x := range exp {
			byCode[x.Code] = x
		}
		method = in.Exposure.Method()
	}
	res := map[int]float64{}
	prov := map[int]*provenance{}
	for ai, a := range in.Areas {
		if !def.AtLevel(a.Level) {
			continue
		}
		r := evaluateArea(t, win, a, in.eventsAt(ai), in.Now, minLevel, in.hitsArea(ai))
		if r.Level == LevelNone {
			continue
		}
		kids, known := 0.0, false
		if x, ok := byCode[a.Code]; ok && x.KnownUnder18 {
			kids, known = x.Under18, true
		}
		// A point forecast that names the area puts the whole area at risk.
		for _, e := range in.Events {
			if t.matches(e) && len(e.Areas) > 0 && namesArea(e.Areas, a) && pointForecastReaches(t, e, a, win, in.Now, minLevel) {
				if u := a.Baseline.Under18; u != nil {
					kids, known = *u, true
				}
			}
		}
		if !known {
			continue
		}
		res[ai] = math.Round(kids)
		p := r.Events
		prov[ai] = &p
	}
	vals := emit(def, in, res, prov, Forecast, method, func(v float64) Value { return Value{Type: Float, Number: v} })
	for i := range vals {
		vals[i].Attributes["trigger"] = wp.Trigger
		vals[i].Attributes["window"] = wp.Window
		vals[i].Attributes["min_level"] = LevelNames[minLevel]
	}
	return vals, nil
}

// expectedChildren is children_at_risk under a probability trigger: in each
// area at the level or above, the expected children in winds of the
// trigger's intensity arriving within the window, i.e. the mean over all
// members of the children in area ∩ the member's swath (members without
// such a swath count zero; see EnsembleExposure). With several storms over
// an area, the largest. A probability has no footprint of its own to count
// children in: the ensemble's members are the footprints.
func (w warningRecipe) expectedChildren(def Definition, in *Input, wp WarningParams, t Trigger, win time.Duration, minLevel int) ([]Value, error) {
	if in.Exposure == nil {
		return nil, nil
	}
	type exp struct {
		kids    float64
		members int
	}
	byCode := map[string]exp{}
	for _, e := range in.Events {
		if !t.matches(e) || !e.ActiveAt(in.Now) || MemberCount(e) <= 0 {
			continue
		}
		// The members' swaths of the intensity that arrive within the
		// window and are not over.
		sub := e
		sub.Footprints = nil
		for _, fp := range e.Footprints {
			if fp.Member <= 0 || fp.Intensity != t.Intensity || (t.Unit != "" && !strings.EqualFold(fp.Unit, t.Unit)) {
				continue
			}
			from := firstNonZero(fp.ValidFrom, e.ValidFrom, e.Issued)
			to := firstNonZero(fp.ValidTo, e.ValidTo)
			if (!to.IsZero() && to.Before(in.Now)) || !withinWindow(from, in.Now, win) {
				continue
			}
			sub.Footprints = append(sub.Footprints, fp)
		}
		if len(sub.Footprints) == 0 {
			continue
		}
		areas, err := EnsembleExposure(in.Exposure, sub, EventFilter{}, t.Intensity)
		if err != nil {
			return nil, fmt.Errorf("indicator %s: %w", def.Shortcode, err)
		}
		for code, a := range areas {
			if !a.KnownUnder18 {
				continue
			}
			if b, ok := byCode[code]; !ok || a.Under18 > b.kids {
				byCode[code] = exp{a.Under18, a.Members}
			}
		}
	}
	res := map[int]float64{}
	prov := map[int]*provenance{}
	members := map[int]int{}
	for ai, a := range in.Areas {
		if !def.AtLevel(a.Level) {
			continue
		}
		x, ok := byCode[a.Code]
		if !ok {
			continue
		}
		r := evaluateArea(t, win, a, in.eventsAt(ai), in.Now, minLevel, in.hitsArea(ai))
		if r.Level == LevelNone {
			continue
		}
		res[ai] = math.Round(x.kids)
		members[ai] = x.members
		p := r.Events
		prov[ai] = &p
	}
	vals := emit(def, in, res, prov, Forecast, in.Exposure.Method(), func(v float64) Value { return Value{Type: Float, Number: v} })
	for i := range vals {
		vals[i].Attributes["trigger"] = wp.Trigger
		vals[i].Attributes["window"] = wp.Window
		vals[i].Attributes["min_level"] = LevelNames[minLevel]
		vals[i].Attributes["expected_over_members"] = members[in.areaIndex(vals[i].Code)]
	}
	return vals, nil
}

func pointForecastReaches(t Trigger, e Event, a Area, win time.Duration, now time.Time, minLevel int) bool {
	levels := t.levelsFor(countryOf(a))
	for _, fp := range e.Footprints {
		if fp.Geometry != nil && IsPolygonal(fp.Geometry) {
			continue
		}
		from := firstNonZero(fp.ValidFrom, e.ValidFrom, e.Issued)
		to := firstNonZero(fp.ValidTo, e.ValidTo)
		if (!to.IsZero() && to.Before(now)) || !withinWindow(from, now, win) {
			continue
		}
		if t.levelOf(e, fp, levels) >= minLevel {
			return true
		}
	}
	return false
}
