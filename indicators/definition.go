package indicators

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Definition is one indicator as configured: indicators are config, not code,
// so a new country adds rows, not Go.
type Definition struct {
	Shortcode   string    `mapstructure:"shortcode" json:"shortcode"`               // GeoSight indicator shortcode: found by it, created when missing.
	Name        string    `mapstructure:"name" json:"name"`                         // Indicator name shown in GeoSight.
	Description string    `mapstructure:"description" json:"description,omitempty"` // Indicator description shown in GeoSight.
	Category    string    `mapstructure:"category" json:"category"`                 // GeoSight category (default geosight.category).
	Type        ValueType `mapstructure:"type" json:"type"`                         // GeoSight value type: Integer, Float or String.
	Unit        string    `mapstructure:"unit" json:"unit,omitempty"`               // Unit shown in GeoSight (children, km², hours, ...).
	MinValue    *float64  `mapstructure:"min_value" json:"min_value,omitempty"`     // Lowest valid value, set on the GeoSight indicator.
	MaxValue    *float64  `mapstructure:"max_value" json:"max_value,omitempty"`     // Highest valid value, set on the GeoSight indicator.
	// Recipe names a registered recipe; Params are its typed parameters.
	Recipe string         `mapstructure:"recipe" json:"recipe"`
	Params map[string]any `mapstructure:"params" json:"params,omitempty"`
	// AdminLevels the indicator is computed at; empty means every level.
	AdminLevels []int `mapstructure:"admin_levels" json:"admin_levels,omitempty"`
	// Codes is the code list of a String indicator (e.g. none/green/orange/red).
	Codes []string `mapstructure:"codes" json:"codes,omitempty"`
	// Style holds GeoSight's dynamic-style flat keys (color_palette, ...).
	Style map[string]any `mapstructure:"style" json:"style,omitempty"`
	// Aggregation is GeoSight's upper-level aggregation word, e.g. SUM(value).
	Aggregation string `mapstructure:"aggregation" json:"aggregation,omitempty"`
	// RollupFrom computes the indicator at this admin level only and
	// aggregates it upwards with Aggregation, so every level agrees.
	RollupFrom *int `mapstructure:"rollup_from" json:"rollup_from,omitempty"`
}

var shortcodeRE = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,64}$`)

// Validate checks the definition and its recipe's params; every problem is
// returned, each naming its field.
func (d Definition) Validate() error {
	var errs []error
	if !shortcodeRE.MatchString(d.Shortcode) {
		errs = append(errs, FieldError{"shortcode", fmt.Sprintf("must be 1-64 of A-Z a-z 0-9 _ -, got %q", d.Shortcode)})
	}
	if d.Name == "" {
		errs = append(errs, FieldError{"name", "is required"})
	}
	switch d.Type {
	case Integer, Float, String:
	default:
		errs = append(errs, FieldError{"type", fmt.Sprintf("must be Integer, Float or String, got %q", d.Type)})
	}
	if d.MinValue != nil && d.MaxValue != nil && *d.MaxValue < *d.MinValue {
		errs = append(errs, FieldError{"max_value", "is less than min_value"})
	}
	if d.Aggregation != "" && !ValidAggregation(d.Aggregation) {
		errs = append(errs, FieldError{"aggregation", fmt.Sprintf("must be one of %v, got %q", AggregationWords, d.Aggregation)})
	}
	if d.RollupFrom != nil {
		if d.Aggregation == "" {
			errs = append(errs, FieldError{"aggregation", "is required with rollup_from (e.g. SUM(value) for counts, MAX(value) for levels, MIN(value) for lead times)"})
		}
		if d.Type == String && d.Aggregation != "" && !strings.EqualFold(d.Aggregation, "MAX(value)") && !strings.EqualFold(d.Aggregation, "MIN(value)") {
			errs = append(errs, FieldError{"aggregation", "String indicators roll up with MAX(value) or MIN(value) over their codes"})
		}
	}
	r, ok := LookupRecipe(d.Recipe)
	if !ok {
		errs = append(errs, FieldError{"recipe", fmt.Sprintf("unknown recipe %q (known: %v)", d.Recipe, RecipeNames())})
	} else {
		if want := r.ValueType(); want != "" && d.Type != "" && want != d.Type &&
			!(want == Float && d.Type == Integer) {
			errs = append(errs, FieldError{"type", fmt.Sprintf("recipe %s produces %s values, got type %s", d.Recipe, want, d.Type)})
		}
		if err := r.ValidateParams(d.Params); err != nil {
			errs = append(errs, prefixErrors("params", err)...)
		}
	}
	return errors.Join(errs...)
}

// AtLevel reports whether the indicator is computed for areas of level.
func (d Definition) AtLevel(level int) bool {
	return len(d.AdminLevels) == 0 || slices.Contains(d.AdminLevels, level)
}

// FieldError is a validation problem at a field path relative to whatever is
// being validated; callers prefix their own path.
type FieldError struct {
	Field   string
	Message string
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// prefixErrors flattens joined errors and prefixes each FieldError's path.
func prefixErrors(prefix string, err error) []error {
	var out []error
	for _, e := range Flatten(err) {
		var fe FieldError
		if errors.As(e, &fe) {
			if fe.Field == "" {
				fe.Field = prefix
			} else {
				fe.Field = prefix + "." + fe.Field
			}
			out = append(out, fe)
		} else {
			out = append(out, FieldError{prefix, e.Error()})
		}
	}
	return out
}

// Flatten unwraps errors.Join trees into a flat list.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Input is everything a recipe may read. It is built once per sync.
type Input struct {
	// Events are the active events of every source, closed ones removed.
	Events []Event
	// Areas are every configured area, all levels.
	Areas []Area
	// Exposure computes population exposure; it is the seam between the
	// area-weighted method and the exact grid engine.
	Exposure ExposureEngine
	// Facilities are the configured points (schools, health facilities)
	// facilities_exposed counts; see facility.go.
	Facilities []Facility
	// Now is the sync time; Date is its civil day, the date values carry.
	Now  time.Time
	Date Date
	// Triggers are the early-warning rules by name.
	Triggers map[string]Trigger

	// Overlay measures (area, footprint) pairs and keeps them across syncs
	// by footprint geometry; the daemon keeps one per area set. Nil, or one
	// for other areas, means a fresh one for this Input.
	Overlay *Overlay

	overlayOnce sync.Once
	table       *overlayTable // this sync's hits, shared by every recipe
	byCodeOnce  sync.Once
	byCode      map[string]int
	reachedOnce sync.Once
	reached     [][]Event // per area, the events that can reach it
}

// Recipe turns events over areas into values for one indicator definition.
type Recipe interface {
	// ValueType is the GeoSight type the recipe produces ("" = any numeric).
	ValueType() ValueType
	// NewParams returns a pointer to a fresh params struct holding the
	// defaults, tagged with mapstructure keys (a recipe without params
	// returns a pointer to an empty struct). The recipe owns its params:
	// ValidateParams and Compute decode into it, so their type and
	// defaults are declared once, and the reference documents them from it.
	NewParams() any
	// Example is a complete, working definition using the recipe: the
	// reference prints it, and a test validates it and computes it.
	Example() Definition
	// ValidateParams checks a definition's params.
	ValidateParams(params map[string]any) error
	// Compute returns values for the areas the indicator covers. It returns
	// only areas with something to say; the runner clears vanished ones.
	Compute(def Definition, in *Input) ([]Value, error)
}

var (
	recipesMu sync.RWMutex
	recipes   = map[string]Recipe{}
)

// RegisterRecipe makes a recipe available by name. It panics on a duplicate
// name: that is a programming error.
func RegisterRecipe(name string, r Recipe) {
	recipesMu.Lock()
	defer recipesMu.Unlock()
	if _, dup := recipes[name]; dup {
		panic("indicators: duplicate recipe " + name)
	}
	recipes[name] = r
}

// LookupRecipe finds a registered recipe.
func LookupRecipe(name string) (Recipe, bool) {
	recipesMu.RLock()
	defer recipesMu.RUnlock()
	r, ok := recipes[name]
	return r, ok
}

// RecipeNames lists registered recipes, sorted.
func RecipeNames() []string {
	recipesMu.RLock()
	defer recipesMu.RUnlock()
	return slices.Sorted(maps.Keys(recipes))
}
