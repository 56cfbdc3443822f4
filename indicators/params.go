package indicators

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// DecodeParams decodes a definition's params into a typed struct (already
// holding its defaults). Unknown keys are errors, as everywhere in config.
func DecodeParams(params map[string]any, into any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           into,
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		TagName:          "mapstructure",
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.TextUnmarshallerHookFunc(),
			mapstructure.StringToTimeDurationHookFunc(),
		),
	})
	if err != nil {
		return err
	}
	if err := d.Decode(params); err != nil {
		return DecodeError(err)
	}
	return nil
}

var (
	invalidKeysRE = regexp.MustCompile(`^'([^']*)' has invalid keys: (.*)$`)
	fieldErrRE    = regexp.MustCompile(`^'([^']*)' (.*)$`)
)

// DecodeError turns a mapstructure error into field errors with paths:
// "” has invalid keys: a, b" becomes "a: unknown key", "b: unknown key".
func DecodeError(err error) error {
	var errs []error
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line == "" || strings.HasPrefix(line, "decoding failed") || strings.HasSuffix(line, "error(s) decoding:") {
			continue
		}
		switch m := invalidKeysRE.FindStringSubmatch(line); {
		case m != nil:
			for _, k := range strings.Split(m[2], ",") {
				path := strings.TrimSpace(k)
				if m[1] != "" {
					path = m[1] + "." + path
				}
				errs = append(errs, FieldError{path, "unknown key (misspelt, or not an option here)"})
			}
		default:
			if m := fieldErrRE.FindStringSubmatch(line); m != nil && m[1] != "" {
				errs = append(errs, FieldError{m[1], m[2]})
			} else {
				errs = append(errs, FieldError{"", line})
			}
		}
	}
	if len(errs) == 0 {
		return FieldError{"", err.Error()}
	}
	return errors.Join(errs...)
}

// decodeNew decodes a definition's params into a fresh params struct from
// newParams, the constructor a recipe's NewParams returns: the params type
// and its defaults are declared there once.
func decodeNew[P any](newParams func() *P, params map[string]any) (*P, error) {
	p := newParams()
	if err := DecodeParams(params, p); err != nil {
		return nil, err
	}
	return p, nil
}

// EventFilter selects the events and footprints an indicator looks at. Most
// recipes embed it.
type EventFilter struct {
	HazardTypes []HazardType `mapstructure:"hazard_types"` // Hazard types counted (empty = all).
	// Phase is observed (default) or forecast: never both, so users always
	// know which they are looking at.
	Phase       Phase    `mapstructure:"phase"`
	MinSeverity Severity `mapstructure:"min_severity"` // Lowest footprint severity counted: green, orange or red.
	// MinIntensity keeps footprints whose band is at least this (in Unit).
	MinIntensity *float64 `mapstructure:"min_intensity"`
	Unit         string   `mapstructure:"unit"` // Only footprints whose band is in this unit (MMI, kt, mm, ...).
	// Sources restricts to events from these source instances.
	Sources []string `mapstructure:"sources"`
}

// observedFilter is the default filter: observed events of every type.
func observedFilter() *EventFilter { return &EventFilter{Phase: Observed} }

func (f *EventFilter) validate() error {
	var errs []error
	if f.Phase == "" {
		f.Phase = Observed
	}
	if _, err := ParsePhase(string(f.Phase)); err != nil {
		errs = append(errs, FieldError{"phase", err.Error()})
	}
	for i, t := range f.HazardTypes {
		if _, err := ParseHazardType(string(t)); err != nil {
			errs = append(errs, FieldError{fmt.Sprintf("hazard_types[%d]", i), err.Error()})
		}
	}
	// Band intensities (MMI, kt, mm, km/h) are never negative; only a
	// temperature can be.
	if f.MinIntensity != nil && *f.MinIntensity < 0 && !isTemperatureUnit(f.Unit) {
		errs = append(errs, FieldError{"min_intensity", fmt.Sprintf("must be >= 0 (intensities in MMI, kt, mm, km/h are never negative), got %g", *f.MinIntensity)})
	}
	return errors.Join(errs...)
}

// MatchEvent reports whether e passes the event-level filters.
func (f EventFilter) MatchEvent(e Event) bool {
	if e.Phase != f.Phase {
		return false
	}
	if len(f.HazardTypes) > 0 && !slices.Contains(f.HazardTypes, e.Type) {
		return false
	}
	if len(f.Sources) > 0 && !slices.Contains(f.Sources, e.Source) {
		return false
	}
	return true
}

// MatchFootprint reports whether a footprint of e passes the band filters.
func (f EventFilter) MatchFootprint(e Event, fp Footprint) bool {
	if fp.SeverityOr(e.Severity) < f.MinSeverity {
		return false
	}
	if f.Unit != "" && !strings.EqualFold(fp.Unit, f.Unit) {
		return false
	}
	if f.MinIntensity != nil && fp.Intensity < *f.MinIntensity {
		return false
	}
	return true
}

// provenance is the deterministic attribute set recipes attach: which events
// (with versions) produced a value, and how.
type provenance struct {
	// events are the distinct event ids with the version last added for
	// each, in the order first added: a slice, not a map, since an area
	// is reached by a few events and a map per value was a sixth of what
	// a country-scale sync where nothing changed allocated.
	events []eventRef
}

type eventRef struct{ id, version string }

func (p *provenance) add(e Event) {
	for i := range p.events {
		if p.events[i].id == e.ID {
			p.events[i].version = e.Version
			return
		}
	}
	p.events = append(p.events, eventRef{e.ID, e.Version})
}

func (p *provenance) attrs(phase Phase, method string) map[string]any {
	// "events" is "id@version" for every id, sorted by id, space-separated,
	// built into one string of its final size.
	refs := p.events
	if !slices.IsSortedFunc(refs, compareEventRefs) {
		refs = slices.Clone(refs) // p may be shared (a warning's copy): never reorder it
		slices.SortFunc(refs, compareEventRefs)
	}
	n := max(len(refs)-1, 0)
	for _, r := range refs {
		n += len(r.id) + 1 + len(r.version)
	}
	var b strings.Builder
	b.Grow(n)
	for i, r := range refs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.id)
		b.WriteByte('@')
		b.WriteString(r.version)
	}
	a := make(map[string]any, 4)
	a["phase"], a["events"] = string(phase), b.String()
	if method != "" {
		a["method"] = method
	}
	if phase == Forecast {
		a["note"] = "forecast, not an activation"
	}
	return a
}

func compareEventRefs(a, b eventRef) int { return strings.Compare(a.id, b.id) }
