package indicators

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Early-warning triggers are data, not code: a variable, levels with
// thresholds, and lead-time windows, as anticipatory-action frameworks keep
// them (OCHA, Red Cross EAPs). Defaults exist for heat, heavy rain, wind,
// riverine flood and cyclones; every threshold is overridable, also per
// country.

// Warning levels, in order.
const (
	LevelNone    = 0
	LevelWatch   = 1
	LevelWarning = 2
	LevelAlert   = 3
)

// LevelNames are the codes of early_warning_level, lowest first.
var LevelNames = []string{"none", "watch", "warning", "alert"}

// ParseLevel accepts a level name.
func ParseLevel(s string) (int, error) {
	for i, n := range LevelNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown warning level %q (want watch, warning or alert)", s)
}

// Trigger is one hazard's early-warning rule.
type Trigger struct {
	// HazardTypes and Sources select the forecast events it looks at.
	HazardTypes []HazardType `mapstructure:"hazard_types" json:"hazard_types"`
	Sources     []string     `mapstructure:"sources" json:"sources,omitempty"`
	// Measure is what is compared with the thresholds:
	//   value     — the footprint's measured value (forecast variable), else its intensity
	//   intensity — the band's intensity (kt, MMI)
	//   severity  — the normalised severity: green=1, orange=2, red=3
	//   probability — the share (0..1) of an ensemble's members whose
	//                 footprints of Intensity touch the area (ensemble.go)
	Measure string `mapstructure:"measure" json:"measure"`
	// Intensity is, for measure probability, the member footprints'
	// intensity counted (the swath threshold, e.g. 33 for 33 m/s).
	Intensity float64 `mapstructure:"intensity" json:"intensity,omitempty"`
	// Unit the value or intensity must carry ("°C", "mm", "km/h", "kt");
	// footprints in other units are never compared.
	Unit string `mapstructure:"unit" json:"unit,omitempty"`
	// Levels maps watch/warning/alert to the threshold reaching it (>=).
	Levels map[string]float64 `mapstructure:"levels" json:"levels"`
	// Bands maps band labels to a level regardless of measure (a cyclone's
	// "cone" is a watch).
	Bands map[string]string `mapstructure:"bands" json:"bands,omitempty"`
	// Windows maps stage names to the longest lead time they cover, e.g.
	// readiness: 120h, action: 72h.
	Windows map[string]time.Duration `mapstructure:"windows" json:"windows"`
	// ClearAfter is the hysteresis: a level is lowered only after the lower
	// level has held this long, so a flapping forecast does not flap the
	// dashboard. Raising is immediate.
	ClearAfter time.Duration `mapstructure:"clear_after" json:"clear_after"`
	// Countries overrides levels per country ucode (admin level 0).
	Countries map[string]TriggerOverride `mapstructure:"countries" json:"countries,omitempty"`
	// Reference names where the default thresholds come from.
	Reference string `mapstructure:"reference" json:"reference,omitempty"`
}

// TriggerOverride replaces thresholds for one country.
type TriggerOverride struct {
	Levels map[string]float64 `mapstructure:"levels" json:"levels"` // Thresholds for this country, replacing the trigger's levels.
}

// DefaultTriggers are the shipped rules; the sample config shows them with
// their references, and a config's `triggers:` replaces any by name.
func DefaultTriggers() map[string]Trigger {
	// Every trigger gets its own maps: a config override decodes into them,
	// and a shared map once let triggers.heavy_rain.windows rewrite heat's.
	win := func() map[string]time.Duration {
		return map[string]time.Duration{"readiness": 120 * time.Hour, "action": 72 * time.Hour}
	}
	return map[string]Trigger{
		"heat": {HazardTypes: []HazardType{Heat}, Measure: "value", Unit: "°C",
			Levels:  map[string]float64{"watch": 32, "warning": 39, "alert": 52},
			Windows: win(), ClearAfter: 12 * time.Hour,
			Reference: "US NWS heat index bands on daily apparent temperature max: extreme caution 32 °C, danger 39 °C, extreme danger 52 °C"},
		"heavy_rain": {HazardTypes: []HazardType{HeavyRain}, Measure: "value", Unit: "mm",
			Levels:  map[string]float64{"watch": 64.5, "warning": 115.6, "alert": 204.5},
			Windows: win(), ClearAfter: 12 * time.Hour,
			Reference: "India Meteorological Department 24 h rainfall: heavy 64.5 mm, very heavy 115.6 mm, extremely heavy 204.5 mm"},
		"wind": {HazardTypes: []HazardType{Wind}, Measure: "value", Unit: "km/h",
			Levels:  map[string]float64{"watch": 63, "warning": 89, "alert": 118},
			Windows: win(), ClearAfter: 12 * time.Hour,
			Reference: "Beaufort scale on daily max gusts: gale 63 km/h, storm 89 km/h, hurricane force 118 km/h"},
		"river_flood": {HazardTypes: []HazardType{Flood}, Measure: "severity",
			Levels:  map[string]float64{"watch": 1, "warning": 2, "alert": 3},
			Windows: map[string]time.Duration{"readiness": 240 * time.Hour, "action": 120 * time.Hour}, ClearAfter: 24 * time.Hour,
			Reference: "GloFAS return periods as forecast severities: 2-year green, 5-year orange, 20-year red (OCHA Bangladesh AA uses the 5-year flow)"},
		"cyclone": {HazardTypes: []HazardType{TropicalCyclone}, Measure: "intensity", Unit: "kt",
			Levels:  map[string]float64{"watch": 34, "warning": 50, "alert": 64},
			Bands:   map[string]string{"cone": "watch"},
			Windows: map[string]time.Duration{"readiness": 120 * time.Hour, "action": 72 * time.Hour}, ClearAfter: 6 * time.Hour,
			Reference: "NHC/JTWC wind radii: 34 kt gale, 50 kt storm, 64 kt hurricane force; forecast cone as watch; OCHA Philippines AA uses 120-72 h lead"},
	}
}

// Clone is a deep copy: its maps and slices share nothing with t, so
// decoding an override into the copy never changes t.
func (t Trigger) Clone() Trigger {
	c := t
	c.HazardTypes = append([]HazardType(nil), t.HazardTypes...)
	c.Sources = append([]string(nil), t.Sources...)
	c.Levels = maps.Clone(t.Levels)
	c.Bands = maps.Clone(t.Bands)
	c.Windows = maps.Clone(t.Windows)
	if t.Countries != nil {
		c.Countries = make(map[string]TriggerOverride, len(t.Countries))
		for k, o := range t.Countries {
			c.Countries[k] = TriggerOverride{Levels: maps.Clone(o.Levels)}
		}
	}
	return c
}

// Validate checks a trigger.
func (t Trigger) Validate() error {
	var errs []error
	if len(t.HazardTypes) == 0 {
		errs = append(errs, FieldError{"hazard_types", "at least one hazard type is required"})
	}
	for i, h := range t.HazardTypes {
		if _, err := ParseHazardType(string(h)); err != nil {
			errs = append(errs, FieldError{fmt.Sprintf("hazard_types[%d]", i), err.Error()})
		}
	}
	switch t.Measure {
	case "value", "intensity", "severity":
	case "probability":
		errs = append(errs, validateProbabilityTrigger(t)...)
	default:
		errs = append(errs, FieldError{"measure", fmt.Sprintf("must be value, intensity, severity or probability, got %q", t.Measure)})
	}
	errs = append(errs, validateLevels("levels", t.Levels)...)
	errs = append(errs, t.validateRange("levels", t.Levels)...)
	if len(t.Levels) == 0 && len(t.Bands) == 0 {
		errs = append(errs, FieldError{"levels", "give at least one of watch, warning, alert"})
	}
	for b, l := range t.Bands {
		if _, err := ParseLevel(l); err != nil {
			errs = append(errs, FieldError{"bands." + b, err.Error()})
		}
	}
	if len(t.Windows) == 0 {
		errs = append(errs, FieldError{"windows", "at least one lead-time window is required (e.g. action: 72h)"})
	}
	for n, w := range t.Windows {
		if w <= 0 {
			errs = append(errs, FieldError{"windows." + n, fmt.Sprintf("must be > 0, got %s", w)})
		}
	}
	if t.ClearAfter < 0 {
		errs = append(errs, FieldError{"clear_after", "must be >= 0"})
	}
	for c, o := range t.Countries {
		errs = append(errs, validateLevels("countries."+c+".levels", o.Levels)...)
		errs = append(errs, t.validateRange("countries."+c+".levels", o.Levels)...)
	}
	return errors.Join(errs...)
}

func validateLevels(path string, levels map[string]float64) []error {
	var errs []error
	prev, prevName := -1e308, ""
	for _, name := range LevelNames[1:] {
		v, ok := levels[name]
		if !ok {
			continue
		}
		if v <= prev {
			errs = append(errs, FieldError{path + "." + name, fmt.Sprintf("must be above %s (%g), got %g", prevName, prev, v)})
		}
		prev, prevName = v, name
	}
	for name := range levels {
		if _, err := ParseLevel(name); err != nil || name == "none" {
			errs = append(errs, FieldError{path + "." + name, "unknown level (want watch, warning or alert)"})
		}
	}
	return errs
}

// WindowNames lists windows longest first.
func (t Trigger) WindowNames() []string {
	out := slices.Collect(maps.Keys(t.Windows))
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(t.Windows[b], t.Windows[a]), cmp.Compare(a, b))
	})
	return out
}

// levelsFor returns the thresholds in force for a country.
func (t Trigger) levelsFor(country string) map[string]float64 {
	// Config map keys arrive lower-cased (viper), ucodes are upper-case.
	for c, o := range t.Countries {
		if strings.EqualFold(c, country) && len(o.Levels) > 0 {
			return o.Levels
		}
	}
	return t.Levels
}

// levelOf is the level a footprint reaches under the trigger.
func (t Trigger) levelOf(e Event, fp Footprint, levels map[string]float64) int {
	best := LevelNone
	if t.Measure == "probability" {
		return best // a share of members, not a footprint's: see probabilityReach
	}
	if l, ok := t.Bands[strings.ToLower(fp.Band)]; ok {
		best, _ = ParseLevel(l)
	}
	var x float64
	switch t.Measure {
	case "severity":
		x = float64(fp.SeverityOr(e.Severity))
	default:
		if t.Unit != "" && !strings.EqualFold(fp.Unit, t.Unit) {
			return best
		}
		x = fp.Intensity
		if t.Measure == "value" && fp.Value != nil {
			x = *fp.Value
		}
	}
	for i := len(LevelNames) - 1; i > 0; i-- {
		if th, ok := levels[LevelNames[i]]; ok && x >= th {
			if i > best {
				best = i
			}
			break
		}
	}
	return best
}

func (t Trigger) matches(e Event) bool {
	if e.Phase != Forecast {
		return false
	}
	if !slices.Contains(t.HazardTypes, e.Type) {
		return false
	}
	return len(t.Sources) == 0 || slices.Contains(t.Sources, e.Source)
}

// validateRange refuses thresholds no footprint can have: severities are 1
// (green) to 3 (red); rainfall, wind and intensities are never negative
// (only temperatures are).
func (t Trigger) validateRange(path string, levels map[string]float64) []error {
	var errs []error
	for _, name := range LevelNames[1:] {
		v, ok := levels[name]
		if !ok {
			continue
		}
		switch {
		case t.Measure == "severity" && (v < 1 || v > 3):
			errs = append(errs, FieldError{path + "." + name, fmt.Sprintf("must be a severity from 1 (green) to 3 (red), got %g", v)})
		case t.Measure != "severity" && v < 0 && !isTemperatureUnit(t.Unit):
			errs = append(errs, FieldError{path + "." + name, fmt.Sprintf("must be >= 0 (only temperatures go below zero), got %g %s", v, t.Unit)})
		}
	}
	return errs
}

// isTemperatureUnit reports units whose values can be negative.
func isTemperatureUnit(u string) bool {
	switch strings.ToLower(strings.TrimSpace(u)) {
	case "°c", "c", "degc", "celsius", "°f", "f", "degf":
		return true
	}
	return false
}
