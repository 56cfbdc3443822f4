package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

var layerTypes = []string{"ARCGIS", "Geojson", "Raster Tile", "Raster COG", "Vector Tile", "Related Table",
	"Cloud Native GIS Layer"}

// layers describes context layers to the shared handlers.
func (s *Server) layers() kind[ContextLayer, *ContextLayer] {
	return kind[ContextLayer, *ContextLayer]{
		items:  s.st.Layers,
		toJSON: func(l *ContextLayer) any { return layerJSON(l) },
		form:   func(body map[string]any, l *ContextLayer) any { return formErrs(layerForm(body, l)) },
		patchBase: func(l *ContextLayer) map[string]any {
			return map[string]any{"name": l.Name, "category": l.Category, "layer_type": l.LayerType,
				"description": l.Description, "styles": l.Styles}
		},
		newItem: func() *ContextLayer { return &ContextLayer{nextRowID: 1} },
		filters: []string{"id", "id__in", "name", "name__contains", "name__icontains",
			"category__name__in", "layer_type__in", "layer_type"},
		field: func(l *ContextLayer, f string) (string, bool) {
			switch f {
			case "name":
				return l.Name, true
			case "category__name":
				return l.Category, true
			case "layer_type":
				return l.LayerType, true
			}
			return "", false
		},
	}
}

func (s *Server) routeContextLayers(q *request) {
	k := s.layers()
	if len(q.parts) == 1 {
		serveList(s, q, k)
		return
	}
	l, ok := lookup(s, q, k.items)
	if !ok {
		return
	}
	rest := strings.Join(q.parts[2:], "/")
	switch rest {
	case "":
		serveObject(s, q, l, k)
	case "attributes":
		s.mu.Lock()
		var out []any
		for i, c := range l.Columns {
			out = append(out, map[string]any{"attribute_name": c, "attribute_label": c,
				"attribute_type": "string", "attribute_order": i})
		}
		s.mu.Unlock()
		paginate(q, out)
	case "data":
		notFound(q.w) // ContextLayerDataViewSet.list → retrieve: always 404
	case "data/features":
		switch q.r.Method {
		case http.MethodGet:
			s.mu.Lock()
			out := make([]any, 0, len(l.Features))
			for _, f := range l.Features {
				row := map[string]any{}
				for k, v := range f {
					row[k] = v
				}
				row["id"] = fmt.Sprint(f["id"])
				out = append(out, row)
			}
			s.mu.Unlock()
			paginate(q, out)
		case http.MethodPost:
			s.uploadFeatures(q, l, false)
		default:
			methodNotAllowed(q.w, q.r.Method)
		}
	case "data/replace":
		if q.r.Method != http.MethodPost {
			methodNotAllowed(q.w, q.r.Method)
			return
		}
		s.uploadFeatures(q, l, true)
	default:
		notFound(q.w)
	}
}

func layerJSON(l *ContextLayer) map[string]any {
	return map[string]any{"id": l.ID, "name": l.Name, "category": l.Category, "layer_type": l.LayerType,
		"description": l.Description, "styles": l.Styles, "override_style": l.Styles != nil,
		"ogc_api": fmt.Sprintf("/cloud-native-gis/ogc/collections/%d/", l.ID), "created_by": l.Owner}
}

func layerForm(body map[string]any, l *ContextLayer) map[string][]string {
	errs := map[string][]string{}
	get := func(k string) string {
		if v, ok := body[k].(string); ok {
			return v
		}
		return ""
	}
	for _, k := range []string{"name", "category", "layer_type"} {
		if get(k) == "" {
			errs[k] = append(errs[k], "This field is required.")
		}
	}
	if lt := get("layer_type"); lt != "" && !contains(layerTypes, lt) {
		errs["layer_type"] = append(errs["layer_type"], fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", lt))
	}
	if get("layer_type") == "Related Table" && body["related_table"] == nil {
		errs["related_table"] = append(errs["related_table"], "This field is required.")
	}
	if len(errs) > 0 {
		return errs
	}
	l.Name, l.Category, l.LayerType, l.Description = get("name"), get("category"), get("layer_type"), get("description")
	if st, ok := body["styles"]; ok {
		l.Styles = st
	}
	return nil
}

// uploadFeatures is ContextLayerDataViewSet.update_data: replace or append a
// FeatureCollection; 204 with an empty body.
func (s *Server) uploadFeatures(q *request, l *ContextLayer, replace bool) {
	if q.user == nil {
		writeJSON(q.w, http.StatusForbidden, detail("Authentication credentials were not provided."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !q.owns(l.Owner) {
		return
	}
	if l.LayerType != "Cloud Native GIS Layer" {
		badText(q.w, "Invalid layer type for this request.")
		return
	}
	var fc map[string]any
	_ = json.Unmarshal(q.body, &fc)
	rawFeatures, ok := fc["features"].([]any)
	if !ok {
		badText(q.w, "Invalid payload format. Format should be geojson format. ")
		return
	}
	var feats []map[string]any
	cols := map[string]bool{}
	var order []string
	for _, rf := range rawFeatures {
		f, ok := rf.(map[string]any)
		if !ok {
			badText(q.w, "Invalid payload format. Format should be geojson format. ")
			return
		}
		props, _ := f["properties"].(map[string]any)
		row := map[string]any{"geometry": f["geometry"]}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row[k] = props[k]
			if !cols[k] {
				cols[k] = true
				order = append(order, k)
			}
		}
		feats = append(feats, row)
	}
	if !replace && l.Columns != nil {
		existing := map[string]bool{}
		for _, c := range l.Columns {
			existing[c] = true
		}
		for _, c := range order {
			if !existing[c] {
				badText(q.w, fmt.Sprintf("column \"%s\" does not exist", c))
				return
			}
		}
	}
	if replace || l.Columns == nil {
		l.Features = nil
		l.Columns = append([]string{}, order...)
		l.nextRowID = 1
	}
	for _, f := range feats {
		f["id"] = l.nextRowID
		l.nextRowID++
		l.Features = append(l.Features, f)
	}
	l.Uploads++
	s.persist()
	noContent(q.w)
}
