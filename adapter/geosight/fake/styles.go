package fake

import (
	"fmt"
	"hash/fnv"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/indicators"
)

// styles describes library styles to the shared handlers.
func (s *Server) styles() kind[Style, *Style] {
	return kind[Style, *Style]{
		items:    s.st.Styles,
		toJSON:   func(st *Style) any { return styleJSON(st) },
		listJSON: func(st *Style) any { return styleListJSON(st) },
		form:     func(body map[string]any, st *Style) any { return formErrs(s.styleForm(body, st)) },
		patchBase: func(st *Style) map[string]any {
			m := map[string]any{"name": st.Name, "group": st.Group, "value_type": st.ValueType, "style_type": st.StyleType}
			for k, v := range flatStyle(st.Config) {
				m[k] = v
			}
			return m
		},
		filters: []string{"id", "id__in", "name", "name__icontains", "group", "value_type"},
		field: func(st *Style, f string) (string, bool) {
			switch f {
			case "name":
				return st.Name, true
			case "group":
				return st.Group, true
			case "value_type":
				return st.ValueType, true
			}
			return "", false
		},
	}
}

func (s *Server) routeStyles(q *request) {
	k := s.styles()
	if len(q.parts) == 1 {
		serveList(s, q, k)
		return
	}
	if len(q.parts) > 2 {
		notFound(q.w)
		return
	}
	if st, ok := lookup(s, q, k.items); ok {
		serveObject(s, q, st, k)
	}
}

// styleJSON is the style create/detail serializer (group is "category").
func styleJSON(st *Style) map[string]any {
	m := styleListJSON(st)
	cfg := st.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	m["value_type"], m["style_config"], m["styles"], m["creator"] = st.ValueType, cfg, []any{}, 1
	m["permission"] = map[string]bool{"list": true, "read": true, "edit": true, "share": true, "delete": true}
	return m
}

// styleListJSON is the style list serializer.
func styleListJSON(st *Style) map[string]any {
	return map[string]any{"id": st.ID, "name": st.Name, "category": st.Group, "description": "",
		"style_type": st.StyleType, "created_at": fmtTime(st.CreatedAt), "created_by": st.Owner,
		"creator_username": st.Owner, "modified_at": fmtTime(st.CreatedAt), "modified_by": st.Owner,
		"modified_by_username": st.Owner}
}

// styleConfig is BaseStyleForm.clean_style_config: with a dynamic style
// type and a color_palette, the flat keys with the site defaults filled in;
// otherwise the previous config ({} for a new object).
func styleConfig(body map[string]any, styleType string, prev map[string]any) map[string]any {
	palette, ok := body["color_palette"]
	if !strings.HasPrefix(styleType, "Dynamic") || !ok || palette == nil || palette == "" || palette == 0.0 {
		if prev != nil {
			return prev
		}
		return map[string]any{}
	}
	get := func(k string, def any) any {
		if v, ok := body[k]; ok {
			return v
		}
		return def
	}
	if str, ok := palette.(string); ok {
		var n int
		_, _ = fmt.Sscan(str, &n)
		palette = float64(n)
	}
	return map[string]any{
		"color_palette": palette, "color_palette_reverse": get("color_palette_reverse", false),
		"dynamic_classification": get("dynamic_classification", nil), "dynamic_class_num": get("dynamic_class_num", 2.0),
		"sync_outline": get("sync_outline", false), "sync_filter": get("sync_filter", false),
		"outline_color": get("outline_color", "#FFFFFF"), "outline_size": get("outline_size", 0.5),
		"no_data_rule": map[string]any{
			"name": get("dynamic_node_data_rule_name_0", "No data"), "rule": get("dynamic_node_data_rule_rule_0", "No data"),
			"color":         get("dynamic_node_data_rule_color_0", "#D8D8D8"),
			"outline_color": get("dynamic_node_data_rule_outline_color_0", "#FFFFFF"),
			"outline_size":  get("dynamic_node_data_rule_outline_size_0", 0.5),
			"active":        get("dynamic_node_data_rule_active_0", false),
		},
	}
}

// styleForm is StyleForm: the key is group (not category).
func (s *Server) styleForm(body map[string]any, st *Style) map[string][]string {
	errs := map[string][]string{}
	get := func(k string) string {
		v, _ := body[k].(string)
		return v
	}
	for _, k := range []string{"name", "group", "value_type", "style_type"} {
		if get(k) == "" {
			errs[k] = append(errs[k], "This field is required.")
		}
	}
	if v := get("value_type"); v != "" && !slices.Contains(indicatorTypes, v) {
		errs["value_type"] = append(errs["value_type"], fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", v))
	}
	if v := get("style_type"); v != "" && !slices.Contains(styleTypes[:3], v) {
		errs["style_type"] = append(errs["style_type"], fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", v))
	}
	for _, other := range s.st.Styles {
		if other.Name == get("name") && other.ID != st.ID {
			errs["name"] = append(errs["name"], "Style with this Name already exists.")
		}
	}
	if len(errs) > 0 {
		return errs
	}
	st.Name, st.Group, st.ValueType, st.StyleType = get("name"), get("group"), get("value_type"), get("style_type")
	st.Config = styleConfig(body, st.StyleType, st.Config)
	if st.CreatedAt.IsZero() {
		st.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	return nil
}

// routeDatasets serves the local reference-dataset plugin endpoints.
func (s *Server) routeDatasets(q *request) {
	if q.r.Method != http.MethodGet {
		methodNotAllowed(q.w, q.r.Method)
		return
	}
	if len(q.parts) == 1 {
		var uuids []string
		for u := range s.datasets {
			uuids = append(uuids, u)
		}
		sort.Strings(uuids)
		var out []any
		for _, u := range uuids {
			out = append(out, datasetJSON(s.datasets[u]))
		}
		paginate(q, out)
		return
	}
	ds := s.datasets[q.parts[1]]
	if ds == nil {
		notFound(q.w)
		return
	}
	switch {
	case len(q.parts) == 2:
		m := datasetJSON(ds)
		m["id"], m["creator"] = 1, 1 // the detail view adds them
		writeJSON(q.w, http.StatusOK, m)
	case len(q.parts) == 3 && q.parts[2] == "entity":
		vals, ok := checkFilters(q, "admin_level", "ucode", "ucode__in", "name", "name__icontains")
		if !ok {
			return
		}
		areas := filterBy(vals, ds.Areas, func(a indicators.Area, f string) (string, bool) {
			switch f {
			case "admin_level":
				return fmtID(a.Level), true
			case "ucode":
				return a.Code, true
			case "name":
				return a.Name, true
			}
			return "", false
		})
		if vals.Get("format") == "geojson" {
			// DRF's negotiation picks the geo+json renderer, then refuses an
			// Accept it does not match (observed: 406 to application/json).
			if !acceptsGeoJSON(q.r.Header.Get("Accept")) {
				q.w.Header().Set("Content-Type", "application/geo+json")
				q.w.WriteHeader(http.StatusNotAcceptable)
				_, _ = q.w.Write([]byte(`{"detail":"Could not satisfy the request Accept header."}`))
				return
			}
			fc := geojson.NewFeatureCollection()
			for _, a := range areas {
				if a.Geometry == nil {
					continue
				}
				// PostGIS keeps entity geometries as MultiPolygon.
				g := a.Geometry
				if p, ok := g.(orb.Polygon); ok {
					g = orb.MultiPolygon{p}
				}
				f := geojson.NewFeature(g)
				props := entityJSON(a, ds.entityID[a.Code])
				f.ID = props["id"]
				delete(props, "id")
				for k, v := range props {
					f.Properties[k] = v
				}
				fc.Append(f)
			}
			b, _ := fc.MarshalJSON()
			q.w.Header().Set("Content-Type", "application/geo+json")
			_, _ = q.w.Write(b)
			return
		}
		out := make([]any, len(areas))
		for i, a := range areas {
			out[i] = entityJSON(a, ds.entityID[a.Code])
		}
		paginate(q, out)
	case len(q.parts) == 4 && q.parts[2] == "entity":
		a, ok := ds.byCode[q.parts[3]]
		if !ok {
			notFound(q.w)
			return
		}
		m := entityJSON(a, ds.entityID[a.Code])
		if a.Geometry != nil {
			m["geometry"] = geojson.NewGeometry(a.Geometry)
		}
		writeJSON(q.w, http.StatusOK, m)
	default:
		notFound(q.w)
	}
}

func datasetJSON(ds *datasetIndex) map[string]any {
	levels := map[int]bool{}
	var bound orb.Bound
	for i, a := range ds.Areas {
		levels[a.Level] = true
		if a.Geometry != nil {
			if i == 0 {
				bound = a.Geometry.Bound()
			}
			bound = bound.Union(a.Geometry.Bound())
		}
	}
	var lv []int
	for l := range levels {
		lv = append(lv, l)
	}
	sort.Ints(lv)
	var dl []any
	for _, l := range lv {
		dl = append(dl, map[string]any{"level": l, "level_name": fmt.Sprintf("Admin Level %d", l),
			"url": fmt.Sprintf("/api/v1/reference-datasets/%s/entity/?admin_level=%d", ds.UUID, l)})
	}
	// The real server serves the dataset's bbox (the project editor's extent)
	// and its countries.
	var countries []any
	for _, a := range ds.Areas {
		if a.Level == 0 {
			countries = append(countries, map[string]any{"name": a.Name, "ucode": a.Code, "concept_uuid": conceptUUID(a.Code)})
		}
	}
	return map[string]any{"uuid": ds.UUID, "identifier": ds.UUID, "name": ds.Name, "description": "", "dataset_levels": dl,
		"possible_id_types": []string{"ucode", "concept_uuid"}, "tags": []string{"GeoSight", "local"},
		"bbox": []float64{bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1]}, "countries": countries, "in_georepo": false,
		"vector_tiles": "http://127.0.0.1/reference-dataset/reference-datasets/" + ds.UUID + "/vector-tiles/{z}/{x}/{y}/",
		"permission":   map[string]bool{"list": true, "read": true, "read_data": true, "edit": true, "edit_data": true, "share": true, "delete": true},
		"version_data": "2026-01-01T00:00:00.000000Z", "created_at": "2026-01-01T00:00:00.000000Z", "modified_at": "2026-01-01T00:00:00.000000Z",
		"creator_username": "admin", "modified_by": 1, "modified_by_username": "admin"}
}

// conceptUUID is a stable stand-in for an entity's concept_uuid.
func conceptUUID(code string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(code))
	v := h.Sum64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(v>>32), uint16(v>>16), uint16(v)&0xfff, uint16(v>>4)&0xfff, v&0xffffffffffff)
}

// acceptsGeoJSON is whether an Accept header matches application/geo+json
// (no header at all counts as */*).
func acceptsGeoJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch strings.TrimSpace(strings.ToLower(mt)) {
		case "*/*", "application/*", "application/geo+json":
			return true
		}
	}
	return false
}

func entityJSON(a indicators.Area, id int) map[string]any {
	parents := []any{}
	for i, p := range a.Parents {
		// GeoSight numbers the parents' levels from 0 at the nearest parent
		// (wrong, but what it answers; clients read only the ucodes).
		parents = append(parents, map[string]any{"default": p, "ucode": p, "admin_level": i, "type": "-"})
	}
	m := map[string]any{"id": id, "name": a.Name, "ucode": a.Code, "concept_uuid": conceptUUID(a.Code), "admin_level": a.Level,
		"parents": parents, "level_name": "-", "ext_codes": map[string]string{"default": a.Code}}
	if a.Geometry != nil {
		b := a.Geometry.Bound()
		m["bbox"] = []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		c := b.Center()
		m["centroid"] = fmt.Sprintf("POINT (%g %g)", c[0], c[1])
	}
	return m
}

var indexTmpl = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Embedded GeoSight (hazardsync fake)</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}</style></head>
<body><h1>Embedded GeoSight-compatible target</h1>
<p>A read-only view of what hazardsync delivered. API under <code>/api/v1/</code>.</p>
<h2>Indicators</h2>
<table><tr><th>id</th><th>shortcode</th><th>name</th><th>category</th><th>type</th><th>values</th><th>latest date</th></tr>
{{range .Indicators}}<tr><td>{{.ID}}</td><td>{{.Shortcode}}</td><td>{{.Name}}</td><td>{{.Category}}</td><td>{{.Type}}</td><td>{{.Count}}</td><td>{{.Latest}}</td></tr>
{{else}}<tr><td colspan="7">none yet</td></tr>{{end}}</table>
<h2>Context layers</h2>
<table><tr><th>id</th><th>name</th><th>features</th></tr>
{{range .Layers}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Features}}</td></tr>{{else}}<tr><td colspan="3">none</td></tr>{{end}}</table>
<h2>Projects</h2>
<table><tr><th>slug</th><th>name</th><th>indicator layers</th><th>project data</th></tr>
{{range .Projects}}<tr><td>{{.Slug}}</td><td>{{.Name}}</td><td>{{.Layers}}</td><td><a href="/api/dashboard/{{.Slug}}/data">/api/dashboard/{{.Slug}}/data</a></td></tr>{{else}}<tr><td colspan="4">none</td></tr>{{end}}</table>
</body></html>`))

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	type indRow struct {
		ID                              int
		Shortcode, Name, Category, Type string
		Count                           int
		Latest                          string
	}
	type layerRow struct {
		ID       int
		Name     string
		Features int
	}
	type projectRow struct {
		Slug, Name string
		Layers     int
	}
	var data struct {
		Indicators []indRow
		Layers     []layerRow
		Projects   []projectRow
	}
	s.mu.Lock()
	for _, ind := range s.st.Indicators {
		r := indRow{ID: ind.ID, Shortcode: ind.Shortcode, Name: ind.Name, Category: ind.Category, Type: ind.Type}
		for _, v := range s.st.Values {
			if v.IndicatorID == ind.ID {
				r.Count++
				if v.Date > r.Latest {
					r.Latest = v.Date
				}
			}
		}
		data.Indicators = append(data.Indicators, r)
	}
	for _, l := range s.st.Layers {
		data.Layers = append(data.Layers, layerRow{l.ID, l.Name, len(l.Features)})
	}
	if s.proj != nil {
		for _, p := range s.proj.projects {
			data.Projects = append(data.Projects, projectRow{p.Slug, p.Fields["name"], len(list0(p.Data["indicator_layers"]))})
		}
	}
	s.mu.Unlock()
	sort.Slice(data.Projects, func(i, j int) bool { return data.Projects[i].Slug < data.Projects[j].Slug })
	sort.Slice(data.Indicators, func(i, j int) bool { return data.Indicators[i].ID < data.Indicators[j].ID })
	sort.Slice(data.Layers, func(i, j int) bool { return data.Layers[i].ID < data.Layers[j].ID })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexTmpl.Execute(w, data)
}
