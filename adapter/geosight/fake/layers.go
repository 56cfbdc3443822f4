package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

var layerTypes = []string{"ARCGIS", "Geojson", "Raster Tile", "Raster COG", "Vector Tile", "Related Table",
	"Cloud Native GIS Layer"}

// layers describes context layers to the shared handlers.
func (s *Server) layers() kind[ContextLayer, *ContextLayer] {
	return kind[ContextLayer, *ContextLayer]{
		items:    s.st.Layers,
		toJSON:   func(l *ContextLayer) any { return layerJSON(l) },
		listJSON: func(l *ContextLayer) any { return layerListJSON(l) },
		precheck: func(body map[string]any) any {
			// ContextLayerViewSet checks layer_type before the form.
			if v, _ := body["layer_type"].(string); v == "" {
				return []string{"layer_type is required."}
			}
			return nil
		},
		form: func(body map[string]any, l *ContextLayer) any { return formErrs(layerForm(body, l)) },
		patchBase: func(l *ContextLayer) map[string]any {
			return map[string]any{"name": l.Name, "category": l.Category, "layer_type": l.LayerType,
				"description": l.Description, "styles": l.Styles}
		},
		newItem: func() *ContextLayer {
			return &ContextLayer{nextRowID: 1, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		},
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
			out = append(out, map[string]any{"id": i + 1, "attribute_name": c, "attribute_label": nil,
				"attribute_description": nil, "attribute_type": columnType(l, c), "attribute_order": i + 1})
		}
		s.mu.Unlock()
		paginate(q, out)
	case "data":
		// ContextLayerDataViewSet.list calls retrieve with an argument it
		// does not take: a TypeError, Django's production 500 page.
		serverErrorPage(q.w)
	case "data/features":
		switch q.r.Method {
		case http.MethodGet:
			s.mu.Lock()
			out := make([]any, 0, len(l.Features))
			for _, f := range l.Features {
				row := map[string]any{}
				for k, v := range f {
					if v == "" {
						v = nil // an empty text comes back null (observed)
					}
					row[k] = v
				}
				row["id"] = fmt.Sprint(f["id"])
				out = append(out, row)
			}
			s.mu.Unlock()
			paginate(q, out)
		case http.MethodPost:
			s.uploadFeatures(q, l, false)
		case http.MethodDelete:
			s.deleteFeature(q, l)
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

// layerJSON is the create/detail serializer (fields='__all__'): ogc_api and
// cloud_native_gis_layer_id stay null until the first upload creates the
// Cloud Native GIS layer.
func layerJSON(l *ContextLayer) map[string]any {
	m := layerListJSON(l)
	var cng any
	if l.Uploads > 0 {
		cng = l.ID
	}
	styles := l.Styles
	if styles == nil {
		styles = []any{}
	}
	for k, v := range map[string]any{
		"url": nil, "parameters": map[string]any{}, "styles": styles, "data_fields": []any{}, "label_styles": map[string]any{},
		"permission":      map[string]bool{"list": true, "read": true, "edit": true, "share": true, "delete": true},
		"original_styles": styles, "original_configuration": nil, "configuration": nil, "url_legend": nil,
		"token": nil, "username": nil, "password": nil, "cloud_native_gis_layer_id": cng, "creator": 1, "group": 1,
		"arcgis_config": nil, "related_table": nil,
	} {
		m[k] = v
	}
	return m
}

// layerListJSON is the list serializer: no styles, no credentials.
func layerListJSON(l *ContextLayer) map[string]any {
	var ogc any
	if l.Uploads > 0 {
		ogc = fmt.Sprintf("http://127.0.0.1/cloud-native-gis/ogc/collections/%08d-0000-4000-8000-000000000000", l.ID)
	}
	var desc any = l.Description
	return map[string]any{"id": l.ID, "name": l.Name, "category": l.Category, "layer_type": l.LayerType,
		"description": desc, "source": nil, "ogc_api": ogc, "label_config": nil,
		"created_at": fmtTime(l.CreatedAt), "modified_at": fmtTime(l.CreatedAt), "created_by": l.Owner,
		"modified_by": l.Owner, "creator_username": l.Owner, "modified_by_username": l.Owner}
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
	if lt := get("layer_type"); lt != "" && !slices.Contains(layerTypes, lt) {
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

// lockForData is what ContextLayerDataViewSet checks before touching
// features (authenticated, then owner or admin); when allowed it returns
// with s.mu held.
func (s *Server) lockForData(q *request, l *ContextLayer) bool {
	if q.user == nil {
		writeJSON(q.w, http.StatusForbidden, detail("Authentication credentials were not provided."))
		return false
	}
	s.mu.Lock()
	if !q.owns(l.Owner) {
		s.mu.Unlock()
		return false
	}
	return true
}

// uploadFeatures is ContextLayerDataViewSet.update_data: replace or append a
// FeatureCollection; 204 with an empty body.
func (s *Server) uploadFeatures(q *request, l *ContextLayer, replace bool) {
	if !s.lockForData(q, l) {
		return
	}
	defer s.mu.Unlock()
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
	if len(rawFeatures) == 0 {
		// geopandas builds no geometry column from zero features.
		badText(q.w, "You are calling a geospatial method on the GeoDataFrame, but the active geometry column ('geometry') is not present. \n"+
			"There are no existing columns with geometry data type. You can add a geometry column as the active geometry column with df.set_geometry. ")
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
	djangoNoContent(q.w)
}

// djangoNoContent is HttpResponse(dict, status=204): Django's text/html.
func djangoNoContent(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNoContent)
}

// columnType is the PostGIS type a column got from its values.
func columnType(l *ContextLayer, c string) string {
	for _, f := range l.Features {
		switch f[c].(type) {
		case float64:
			return "double precision"
		case bool:
			return "boolean"
		}
	}
	return "text"
}

// deleteFeature is DELETE on data/features/: the query params filter the
// rows by column; more than one match is refused, so a filterless DELETE
// empties only a layer of at most one feature.
func (s *Server) deleteFeature(q *request, l *ContextLayer) {
	if !s.lockForData(q, l) {
		return
	}
	defer s.mu.Unlock()
	var keep []map[string]any
	matched := 0
	for _, f := range l.Features {
		hit := true
		for k, vs := range q.r.URL.Query() {
			if k == "page" || k == "page_size" {
				continue
			}
			if len(vs) > 0 && fmt.Sprint(f[k]) != vs[0] {
				hit = false
			}
		}
		if hit {
			matched++
		} else {
			keep = append(keep, f)
		}
	}
	if matched > 1 {
		badText(q.w, fmt.Sprintf("Found %d feature(s); cannot delete more than one at a time.", matched))
		return
	}
	l.Features = keep
	s.persist()
	djangoNoContent(q.w)
}
