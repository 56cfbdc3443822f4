package project

import (
	"encoding/json"
	"fmt"
)

// EditorData converts a project as /api/dashboard/<slug>/data serves it
// into the shape the editor saves, the way GeoSight's own editor does
// (frontend/src/pages/Admin/Dashboard/Form/index.jsx): layers and widgets
// go back as loaded; dashboard indicators, context layers, basemaps and
// related tables as the few keys the editor sends (context layer styles
// as JSON text); the reference layer as its identifier.
func EditorData(served map[string]any) map[string]any {
	served = deepCopy(served) // merge edits in place: never the caller's copy
	out := map[string]any{}
	for _, k := range []string{"indicator_layers", "indicator_layers_structure", "context_layers_structure",
		"basemaps_layers_structure", "widgets", "widgets_structure", "extent", "level_config", "filters",
		"filters_allow_modify", "filters_being_hidden", "auto_zoom_to_filter", "tools", "min_zoom", "max_zoom"} {
		if v, ok := served[k]; ok {
			out[k] = v
		}
	}
	if rl, ok := served["reference_layer"].(map[string]any); ok {
		out["reference_layer"] = rl["identifier"]
	} else {
		out["reference_layer"] = served["reference_layer"]
	}
	out["indicators"] = pick(served["indicators"], "id", "order", "visible_by_default", "group", "override_style",
		"style", "style_id", "style_type", "style_config", "override_label", "label_config")
	cls := pick(served["context_layers"], "id", "order", "layer_name", "override_layer_name", "layer_description",
		"override_layer_description", "visible_by_default", "data_fields", "styles", "label_config", "override_style",
		"override_label", "override_field", "configuration", "label_styles")
	for _, c := range list(cls) {
		for _, k := range []string{"styles", "label_styles"} {
			if v, ok := c[k]; ok && v != nil {
				if _, isText := v.(string); !isText {
					b, _ := json.Marshal(v)
					c[k] = string(b)
				}
			}
		}
	}
	out["context_layers"] = cls
	out["basemaps_layers"] = pick(served["basemaps_layers"], "id", "order", "visible_by_default", "group", "group_parent")
	out["related_tables"] = pick(served["related_tables"], "id", "selected_related_fields", "geography_code_field_name",
		"geography_code_type", "order", "query")
	for _, k := range []string{"indicators", "indicator_layers", "context_layers", "basemaps_layers", "widgets", "related_tables", "tools"} {
		if out[k] == nil {
			out[k] = []any{}
		}
	}
	return out
}

// pick keeps the named keys of each object in a JSON array.
func pick(v any, keys ...string) []any {
	out := []any{}
	for _, m := range list(v) {
		o := map[string]any{}
		for _, k := range keys {
			if x, ok := m[k]; ok {
				o[k] = x
			}
		}
		out = append(out, o)
	}
	return out
}

// servedFields are the project form's own settings as served, so an update
// keeps what an admin set (category, splash, toolbar, time mode, ...).
func servedFields(served map[string]any) map[string]string {
	out := map[string]string{}
	str := func(k string) {
		if v, ok := served[k]; ok && v != nil {
			out[k] = fmt.Sprint(v)
		}
	}
	boolean := func(k string) {
		if v, ok := served[k].(bool); ok {
			out[k] = fmt.Sprint(v)
		}
	}
	js := func(k string) {
		if v, ok := served[k]; ok && v != nil {
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	str("group")
	str("layer_tabs_visibility")
	boolean("show_splash_first_open")
	boolean("truncate_indicator_layer_name")
	boolean("show_map_toolbar")
	js("default_time_mode")
	js("transparency_config")
	if g, ok := served["geo_field"].(string); ok && g != "" {
		out["geoField"] = g
	}
	// Only an admin may set featured, and GeoSight reads any non-empty
	// value as true: send it only when it is set.
	if f, _ := served["featured"].(bool); f {
		out["featured"] = "true"
	}
	return out
}

// deepCopy copies a JSON tree (a round trip; numbers become float64).
func deepCopy(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return map[string]any{}
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
