// Package project builds the GeoSight project (dashboard) that shows
// hazardsync's indicators, and keeps it in step with the config.
//
// GeoSight's API key cannot create or edit projects (the v1 dashboards API
// is list/retrieve/delete only). GeoSight's own project editor saves a
// project by POSTing a form whose "data" field is the whole project as JSON
// to /admin/project/create and /admin/project/<slug>/edit, as a logged-in
// user with the Creator role; this package speaks that form, in the shapes
// DashboardForm.update_data and Dashboard.save_relations read
// (geosight/data/forms/dashboard.py, geosight/data/models/dashboard/).
//
// What hazardsync owns in a project, and so rewrites on every apply: the
// project's name, description, overview, reference dataset and extent; the
// indicator layers that show one of the config's indicators (matched by the
// indicator), placed in its groups (Early warning, Exposure, Hazards,
// Multi-hazard); the dashboard indicators it uses; the footprint context
// layers; the widgets and the filter query it names (matched by name).
// Everything else an admin added by hand (other layers, groups, widgets,
// filters, basemaps, permissions, icon, category) is carried over untouched.
package project

import (
	"fmt"
	"sort"
	"strings"
)

// Group names of the indicator layers hazardsync places, in display order.
const (
	GroupEarlyWarning = "Early warning"
	GroupExposure     = "Exposure"
	GroupHazards      = "Hazards"
	GroupMultiHazard  = "Multi-hazard"
)

// Groups in the order a project lists them.
var Groups = []string{GroupEarlyWarning, GroupExposure, GroupHazards, GroupMultiHazard}

// FilterName is the filter query hazardsync adds (and owns) in a project.
const FilterName = "Areas at warning or above"

// Widget names hazardsync owns.
const (
	WidgetChildrenAtRisk = "Children at risk by hazard (warning or above)"
	WidgetChildrenExpose = "Children in observed hazard footprints"
)

// retiredWidgets are widgets earlier versions made: an apply removes them.
// ("Areas at warning or above" counted early-warning levels, but GeoSight's
// summary widgets aggregate numbers only and showed 0 for every hazard on a
// real GeoSight; the filter of the same name shows those areas instead.)
var retiredWidgets = map[string]bool{"Areas at warning or above": true}

// GroupOf says which layer group an indicator's recipe belongs to.
func GroupOf(recipe string) string {
	switch {
	case recipe == "multi_hazard_index":
		return GroupMultiHazard
	case recipe == "early_warning_level", recipe == "lead_time_hours", recipe == "children_at_risk",
		strings.HasPrefix(recipe, "strike_"), strings.HasPrefix(recipe, "expected_"):
		return GroupEarlyWarning
	case strings.HasSuffix(recipe, "_exposed") || strings.HasSuffix(recipe, "_exposed_km2"):
		return GroupExposure
	default:
		return GroupHazards
	}
}

// Indicator is one of the config's indicators as it exists on the server.
type Indicator struct {
	ID        int    // GeoSight's id
	Shortcode string // hazardsync's shortcode
	Name      string
	Recipe    string
	// Type is GeoSight's value type (Integer, Float, String).
	Type string
	// StyleType is the indicator's own style type on GeoSight (its layer
	// uses the indicator's style).
	StyleType   string
	Description string
	// Palette is the GeoSight colour palette id the indicator's dynamic
	// style uses (0 if none).
	Palette int
}

// Layer is a footprint context layer on the server.
type Layer struct {
	ID   int
	Name string
}

// Spec is everything a project is built from: the config plus the ids
// the server gave the config's indicators and layers.
type Spec struct {
	Slug        string
	Name        string
	Description string
	// Overview is the provenance text: sources, licences, what the
	// numbers are and are not.
	Overview string
	// Dataset is the reference dataset identifier (GeoRepo view UUID).
	Dataset string
	// Extent is [west, south, east, north].
	Extent [4]float64
	// Levels are the admin levels the indicators are published at;
	// DefaultLevel is the one the map opens on.
	Levels       []int
	DefaultLevel int
	Indicators   []Indicator
	Layers       []Layer
	// Basemaps are basemap ids for a new project (the first is shown).
	Basemaps []int
}

// Validate reports what a project cannot be built without.
func (s Spec) Validate() error {
	var problems []string
	if s.Slug == "" {
		problems = append(problems, "slug is empty")
	}
	if s.Name == "" {
		problems = append(problems, "name is empty")
	}
	if s.Dataset == "" {
		problems = append(problems, "geosight.dataset is empty (the project's reference dataset)")
	}
	if s.Extent[0] >= s.Extent[2] || s.Extent[1] >= s.Extent[3] {
		problems = append(problems, fmt.Sprintf("extent %v is empty (west < east and south < north needed)", s.Extent))
	}
	if len(s.Indicators) == 0 {
		problems = append(problems, "no indicator exists on the server yet (run one sync first)")
	}
	for _, in := range s.Indicators {
		if in.ID <= 0 {
			problems = append(problems, fmt.Sprintf("indicator %s has no GeoSight id (run one sync first)", in.Shortcode))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("project %q: %s", s.Slug, strings.Join(problems, "; "))
	}
	return nil
}

// Form is what the editor POSTs: the plain form fields and the project JSON
// that goes in the "data" field.
type Form struct {
	Fields map[string]string
	Data   map[string]any
}

// layer colours per group (the indicator's own style colours the map; this
// is the legend/chart colour GeoSight asks for).
var groupColour = map[string]string{
	GroupEarlyWarning: "#d7301f",
	GroupExposure:     "#6a51a3",
	GroupHazards:      "#e6550d",
	GroupMultiHazard:  "#31a354",
}

// sortedIndicators orders indicators by group, then as the config lists them.
func (s Spec) sortedIndicators() []Indicator {
	rank := map[string]int{}
	for i, g := range Groups {
		rank[g] = i
	}
	out := append([]Indicator(nil), s.Indicators...)
	sort.SliceStable(out, func(i, j int) bool {
		return rank[GroupOf(out[i].Recipe)] < rank[GroupOf(out[j].Recipe)]
	})
	return out
}

// StylePredefined is GeoSight's style type for fixed colour rules.
const StylePredefined = "Predefined style/color rules."

// levelColours colour early-warning levels as the footprint layers colour
// severities (red, orange, yellow, light grey).
var levelColours = []struct{ Level, Colour string }{
	{"alert", "#d7191c"}, {"warning", "#fd8d3c"}, {"watch", "#fecc5c"}, {"none", "#f0f0f0"},
}

// levelRules are the fixed colour rules of an early-warning level layer.
// A dynamic style colours by a server colour palette: GeoSight's palettes
// are default data that an instance deployed from its template does not
// load (no choropleth at all, seen on 516c4db7), and where they exist the
// default palette gives sorted values arbitrary colours (alert drawn blue).
// GeoSight evaluates a rule by putting the value in place of every x and
// eval-ing it, so a text rule is written "x"=="alert".
func levelRules() []any {
	out := make([]any, 0, len(levelColours))
	for _, lc := range levelColours {
		out = append(out, map[string]any{"name": lc.Level, "rule": fmt.Sprintf("%q==%q", "x", lc.Level),
			"color": lc.Colour, "outline_color": "#FFFFFF", "outline_size": 0.5, "active": true})
	}
	return out
}

// ownsStyle says whether hazardsync sets the style of this indicator's
// layer in the project (early-warning levels); other layers use their
// indicator's own style.
func ownsStyle(in Indicator) bool { return in.Recipe == "early_warning_level" }

// setLayerStyle gives a layer of an indicator whose style hazardsync owns
// its fixed rules; it reports whether anything changed. The server serves
// rules with their id and order: only the keys hazardsync sends count.
func setLayerStyle(l map[string]any, in Indicator) bool {
	if !ownsStyle(in) {
		return false
	}
	want := levelRules()
	same := l["override_style"] == true && l["style_type"] == StylePredefined
	have := list(l["style"])
	if same && len(have) == len(want) {
		for i, r := range want {
			for k, v := range r.(map[string]any) {
				if fmt.Sprint(have[i][k]) != fmt.Sprint(v) {
					same = false
				}
			}
		}
	} else {
		same = false
	}
	if same {
		return false
	}
	l["override_style"], l["style_type"], l["style"] = true, StylePredefined, want
	return true
}

// indicatorLayer is the editor's JSON for a layer showing one indicator.
func indicatorLayer(id int, in Indicator, visible bool) map[string]any {
	l := newIndicatorLayer(id, in, visible)
	setLayerStyle(l, in)
	return l
}

func newIndicatorLayer(id int, in Indicator, visible bool) map[string]any {
	return map[string]any{
		"id":                    id,
		"name":                  in.Name,
		"description":           in.Description,
		"visible_by_default":    visible,
		"type":                  "Single Indicator",
		"indicators":            []any{map[string]any{"id": in.ID, "name": in.Name, "color": groupColour[GroupOf(in.Recipe)]}},
		"related_tables":        []any{},
		"config":                map[string]any{},
		"level_config":          map[string]any{},
		"data_fields":           nil,
		"popup_type":            "Simplified",
		"popup_template":        "",
		"override_style":        false,
		"style":                 []any{},
		"override_label":        false,
		"label_config":          nil,
		"multi_indicator_mode":  "Chart",
		"chart_style":           map[string]any{},
		"raw_data_popup_enable": false,
		"raw_data_popup_config": []any{},
		"override_name":         false,
		"override_description":  false,
	}
}

// dashboardIndicator is the editor's JSON for an indicator the project uses.
func dashboardIndicator(in Indicator, order int) map[string]any {
	return map[string]any{
		"id":                 in.ID,
		"order":              order,
		"visible_by_default": false,
		"group":              GroupOf(in.Recipe),
		"override_style":     false,
		"style":              nil,
		"style_id":           nil,
		"style_type":         in.StyleType,
		"style_config":       nil,
		"override_label":     false,
		"label_config":       nil,
	}
}

// contextLayer is the editor's JSON for a footprint layer.
func contextLayer(l Layer, order int) map[string]any {
	return map[string]any{
		"id":                         l.ID,
		"order":                      order,
		"layer_name":                 l.Name,
		"override_layer_name":        false,
		"layer_description":          "",
		"override_layer_description": false,
		"visible_by_default":         true,
		"data_fields":                []any{},
		"styles":                     nil,
		"label_config":               nil,
		"override_style":             false,
		"override_label":             false,
		"override_field":             false,
		"configuration":              map[string]any{},
		"label_styles":               nil,
	}
}

// summaryWidget is a GenericSummaryWidget over some indicators, following
// the map (its filter, level and date).
func summaryWidget(id int, name, description, method, series string, ins []Indicator) map[string]any {
	var list []any
	for _, in := range ins {
		list = append(list, map[string]any{"id": in.ID, "name": in.Name, "color": groupColour[GroupOf(in.Recipe)]})
	}
	if list == nil {
		list = []any{}
	}
	return map[string]any{
		"id":                 id,
		"name":               name,
		"description":        description,
		"order":              0,
		"visible_by_default": true,
		"type":               "GenericSummaryWidget",
		"config": map[string]any{
			"sort":                         map[string]any{"topN": 10, "field": "Value", "method": "Descending", "useTopN": series != "None"},
			"indicators":                   list,
			"seriesType":                   series,
			"aggregation":                  map[string]any{"method": method, "decimalPlace": 0, "useAutoUnits": false, "useDecimalPlace": true},
			"dateTimeType":                 "Sync with dashboard",
			"dateTimeConfig":               map[string]any{"interval": "Daily", "maxDateFilter": nil, "minDateFilter": nil},
			"indicatorsType":               "Predefined list",
			"geographicalUnit":             []any{},
			"geographicalUnitType":         "Sync with the current map",
			"indicatorsPaletteColor":       0,
			"geographicalUnitPaletteColor": 0,
		},
	}
}

// byRecipe picks the indicators whose recipe is one of recipes.
func byRecipe(ins []Indicator, recipes ...string) []Indicator {
	var out []Indicator
	for _, in := range ins {
		for _, r := range recipes {
			if in.Recipe == r {
				out = append(out, in)
			}
		}
	}
	return out
}

// widgets builds the widgets that make the project actionable.
func (s Spec) widgets(nextID func() int) []map[string]any {
	var out []map[string]any
	if ins := byRecipe(s.Indicators, "children_at_risk"); len(ins) > 0 {
		out = append(out, summaryWidget(nextID(), WidgetChildrenAtRisk,
			"Children (under 18) in areas where a forecast reaches warning level or above, per hazard; follows the map's level, date and filter. Forecast, not an activation.",
			"SUM", "Indicators", ins))
	}
	if ins := byRecipe(s.Indicators, "children_exposed"); len(ins) > 0 {
		out = append(out, summaryWidget(nextID(), WidgetChildrenExpose,
			"Children in observed hazard footprints (exact on the population grid where one is configured).",
			"SUM", "Indicators", ins))
	}
	return out
}

// filter is the filter query that shows areas at warning or above: an OR
// over every early-warning level indicator. It is off until a user turns
// it on (GeoSight applies every active filter).
func (s Spec) filter() map[string]any {
	var queries []any
	for _, in := range byRecipe(s.Indicators, "early_warning_level") {
		queries = append(queries, map[string]any{
			"name":          in.Name + " at warning or above",
			"type":          "EXPRESSION",
			"field":         fmt.Sprintf("indicator_%d.value", in.ID),
			"operator":      "IN",
			"value":         []any{"warning", "alert"},
			"allowModify":   true,
			"whereOperator": "OR",
		})
	}
	if queries == nil {
		return nil
	}
	return map[string]any{"type": "GROUP", "name": FilterName, "operator": "OR", "queries": queries, "active": false}
}

// Build makes the form for a new project.
func Build(s Spec) (Form, error) {
	if err := s.Validate(); err != nil {
		return Form{}, err
	}
	data := emptyData(s)
	if err := merge(data, s); err != nil {
		return Form{}, err
	}
	return Form{Fields: s.fields(), Data: data}, nil
}

// fields are the plain form fields the editor sends beside "data".
func (s Spec) fields() map[string]string {
	return map[string]string{
		"slug":        s.Slug,
		"name":        s.Name,
		"description": s.Description,
		"overview":    s.Overview,
		"geoField":    "geometry_code",
		// Show the latest value of each area (hazardsync dates a value by
		// the day it became true, so older dates are still current).
		"default_time_mode":             `{"use_only_last_known_value":true,"fit_to_current_indicator_range":false,"show_last_known_value_in_range":true,"default_interval":"Daily"}`,
		"layer_tabs_visibility":         "indicator_layers,context_layers",
		"show_splash_first_open":        "false",
		"truncate_indicator_layer_name": "false",
		"show_map_toolbar":              "true",
		// GeoSight sets every context layer's fill, line and circle opacity
		// to this (updateContextLayerTransparency): at 100 the footprints
		// hide the area colours under them; an admin's value is kept.
		"transparency_config": `{"indicatorLayer":100,"contextLayer":50}`,
	}
}

// emptyData is a project with nothing in it yet.
func emptyData(s Spec) map[string]any {
	var basemaps []any
	var children []any
	for i, id := range s.Basemaps {
		basemaps = append(basemaps, map[string]any{"id": id, "order": i, "visible_by_default": i == 0, "group": ""})
		children = append(children, id)
	}
	if basemaps == nil {
		basemaps, children = []any{}, []any{}
	}
	return map[string]any{
		"indicators":                 []any{},
		"indicator_layers":           []any{},
		"indicator_layers_structure": map[string]any{"group": "", "children": []any{}},
		"context_layers":             []any{},
		"context_layers_structure":   map[string]any{"group": "", "children": []any{}},
		"basemaps_layers":            basemaps,
		"basemaps_layers_structure":  map[string]any{"group": "", "children": children},
		"related_tables":             []any{},
		"widgets":                    []any{},
		"widgets_structure":          map[string]any{"group": "", "children": []any{}},
		"filters":                    map[string]any{"type": "GROUP", "operator": "AND", "queries": []any{}},
		"filters_allow_modify":       true,
		"filters_being_hidden":       false,
		"auto_zoom_to_filter":        false,
		"tools":                      []any{},
		"min_zoom":                   0,
		"max_zoom":                   24,
	}
}
