package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

var layerTypes = []string{"ARCGIS", "Geojson", "Raster Tile", "Raster COG", "Vector Tile", "Related Table",
	"Cloud Native GIS Layer"}

func (s *Server) routeContextLayers(q *request) {
	if len(q.parts) == 1 {
		switch q.r.Method {
		case http.MethodGet:
			s.listLayers(q)
		case http.MethodPost:
			s.createLayer(q)
		default:
			methodNotAllowed(q.w, q.r.Method)
		}
		return
	}
	id, err := strconv.Atoi(q.parts[1])
	if err != nil {
		notFound(q.w)
		return
	}
	s.mu.Lock()
	l, ok := s.st.Layers[id]
	s.mu.Unlock()
	if !ok {
		notFound(q.w)
		return
	}
	rest := strings.Join(q.parts[2:], "/")
	switch rest {
	case "":
		s.layerDetail(q, l)
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

func (s *Server) listLayers(q *request) {
	vals, ok := checkFilters(q, "id", "id__in", "name", "name__contains", "name__icontains",
		"category__name__in", "layer_type__in", "layer_type")
	if !ok {
		return
	}
	s.mu.Lock()
	var items []*ContextLayer
	for _, l := range s.st.Layers {
		items = append(items, l)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	items = filterBy(vals, items, func(l *ContextLayer, f string) (string, bool) {
		switch f {
		case "id":
			return fmtID(l.ID), true
		case "name":
			return l.Name, true
		case "category__name":
			return l.Category, true
		case "layer_type":
			return l.LayerType, true
		}
		return "", false
	})
	out := make([]any, len(items))
	for i, l := range items {
		out[i] = layerJSON(l)
	}
	s.mu.Unlock()
	paginate(q, out)
}

func (s *Server) layerForm(body map[string]any, l *ContextLayer) map[string][]string {
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

func (s *Server) createLayer(q *request) {
	if !q.needRole(Creator) {
		return
	}
	body, ok := decodeObject(q)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &ContextLayer{nextRowID: 1}
	if errs := s.layerForm(body, l); errs != nil {
		writeJSON(q.w, http.StatusBadRequest, errs)
		return
	}
	l.ID, l.Owner = s.newID(), q.user.Email
	s.st.Layers[l.ID] = l
	s.persist()
	writeJSON(q.w, http.StatusCreated, layerJSON(l))
}

func (s *Server) layerDetail(q *request, l *ContextLayer) {
	switch q.r.Method {
	case http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, layerJSON(l))
	case http.MethodPut, http.MethodPatch:
		if !q.needRole(Contributor) {
			return
		}
		body, ok := decodeObject(q)
		if !ok {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !q.owns(l.Owner) {
			return
		}
		if q.r.Method == http.MethodPatch {
			merged := map[string]any{"name": l.Name, "category": l.Category, "layer_type": l.LayerType,
				"description": l.Description, "styles": l.Styles}
			for k, v := range body {
				merged[k] = v
			}
			body = merged
		}
		cp := *l
		if errs := s.layerForm(body, &cp); errs != nil {
			writeJSON(q.w, http.StatusBadRequest, errs)
			return
		}
		*l = cp
		s.persist()
		writeJSON(q.w, http.StatusOK, layerJSON(l))
	case http.MethodDelete:
		if !q.needRole(Creator) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !q.owns(l.Owner) {
			return
		}
		delete(s.st.Layers, l.ID)
		s.persist()
		noContent(q.w)
	default:
		methodNotAllowed(q.w, q.r.Method)
	}
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
