package fake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GeoSight's project editor, as the fake serves it: the Django login, the
// two editor form endpoints (frontend/views/admin/dashboard/create.py,
// edit.py, normalised by geosight/data/forms/dashboard.py and saved by
// Dashboard.save_relations), the project data the editor loads
// (/api/dashboard/<slug>/data) and /api/v1/dashboards/<slug>/. Pages live
// under the /en-us language prefix, like GeoSight's (LocaleMiddleware
// redirects the rest). Projects are kept in memory: the demo builds its
// project again at every start.

const langPrefix = "/en-us"

type editorLogin struct{ password, email string }

type project struct {
	ID      int
	Slug    string
	Fields  map[string]string
	Data    map[string]any
	Creator string
	Created time.Time
	Saved   time.Time
}

type projectStore struct {
	logins   map[string]editorLogin // username → login
	sessions map[string]string      // session id → username
	projects map[string]*project
	basemaps []int
	palettes []palette
	nextID   int // projects, indicator layers and widgets share one sequence
}

// palette is a GeoSight colour palette (core.ColorPalette).
type palette struct {
	ID     int
	Name   string
	Colors []string
}

func (s *Server) projects() *projectStore {
	if s.proj == nil {
		s.proj = &projectStore{logins: map[string]editorLogin{}, sessions: map[string]string{}, projects: map[string]*project{}, nextID: 1}
	}
	return s.proj
}

// AddEditorLogin lets username log in to the project editor; email names
// one of Options.Users, whose role decides what the login may do.
func (s *Server) AddEditorLogin(username, password, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects().logins[username] = editorLogin{password: password, email: email}
}

// AddBasemap makes a basemap id exist (GeoSight instances ship their own).
func (s *Server) AddBasemap(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects().basemaps = append(s.projects().basemaps, id)
}

// AddPalette makes a colour palette exist. GeoSight's palettes are default
// data (its data_restorer plugin's load_default_data); an instance
// deployed from its template has none, and neither has the fake.
func (s *Server) AddPalette(id int, name string, colors ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.projects().palettes = append(s.projects().palettes, palette{ID: id, Name: name, Colors: colors})
}

// ProjectData is a project as /api/dashboard/<slug>/data serves it.
func (s *Server) ProjectData(slug string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects().projects[slug]
	if !ok {
		return nil, false
	}
	// As a client decodes it (numbers as float64).
	b, _ := json.Marshal(s.servedProject(p))
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out, true
}

// ProjectSaves counts the successful editor saves (create and edit).
func (s *Server) ProjectSaves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts["project-save"]
}

var (
	editPath = regexp.MustCompile(`^/en-us/admin/project/([^/]+)/edit$`)
	dataPath = regexp.MustCompile(`^/api/dashboard/([^/]+)/data$`)
	dashPath = regexp.MustCompile(`^/api/v1/dashboards/([^/]+)/$`)
)

// serveEditor answers the editor's paths; false means not one of them.
func (s *Server) serveEditor(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/login/" || strings.HasPrefix(p, "/admin/project/"):
		redirect(w, langPrefix+p)
	case p == langPrefix+"/login/":
		s.serveLogin(w, r)
	case p == langPrefix+"/admin/project/create":
		s.serveSave(w, r, "")
	case editPath.MatchString(p):
		s.serveSave(w, r, editPath.FindStringSubmatch(p)[1])
	case dataPath.MatchString(p):
		s.serveProjectData(w, r, dataPath.FindStringSubmatch(p)[1])
	case dashPath.MatchString(p) && p != "/api/v1/dashboards/" && r.Method == http.MethodGet:
		s.serveDashboard(w, r, dashPath.FindStringSubmatch(p)[1])
	case p == "/api/color/palette/list" && r.Method == http.MethodGet:
		// ColorPaletteListAPI: anyone may read it; a bare array ordered by name.
		s.mu.Lock()
		ps := append([]palette(nil), s.projects().palettes...)
		s.mu.Unlock()
		slices.SortStableFunc(ps, func(a, b palette) int { return strings.Compare(a.Name, b.Name) })
		out := []any{}
		for _, pl := range ps {
			out = append(out, map[string]any{"id": pl.ID, "name": pl.Name, "description": "", "colors": pl.Colors})
		}
		writeJSON(w, http.StatusOK, out)
	case p == "/api/v1/basemaps/" && r.Method == http.MethodGet:
		s.mu.Lock()
		var res []any
		for _, id := range s.projects().basemaps {
			res = append(res, map[string]any{"id": id, "name": fmt.Sprintf("Basemap %d", id), "type": "XYZ Tile"})
		}
		s.mu.Unlock()
		if res == nil {
			res = []any{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"next": nil, "previous": nil, "count": len(res), "page": 1, "total_page": 1, "page_size": 100, "results": res})
	default:
		return false
	}
	return true
}

func newToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cookie(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// csrfOK is Django's check: the X-CSRFToken header (or the form field)
// equals the csrftoken cookie.
func csrfOK(r *http.Request) bool {
	c := cookie(r, "csrftoken")
	if c == "" {
		return false
	}
	h := r.Header.Get("X-CSRFToken")
	if h == "" {
		h = r.PostFormValue("csrfmiddlewaretoken")
	}
	return h == c
}

// csrfFailed is Django's CSRF failure page (DEBUG off).
func csrfFailed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("<!DOCTYPE html>\n<html lang=\"en\"><head><title>403 Forbidden</title></head><body><div id=\"summary\">" +
		"<h1>Forbidden <span>(403)</span></h1><p>CSRF verification failed. Request aborted.</p></div></body></html>"))
}

// redirect is Django's HttpResponseRedirect: 302 with an empty HTML body.
func redirect(w http.ResponseWriter, loc string) {
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusFound)
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if cookie(r, "csrftoken") == "" || r.Method == http.MethodPost {
		http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: newToken(32), Path: "/", SameSite: http.SameSiteLaxMode})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Log In</title><form method=post><input name=username><input name=password type=password></form>"))
		return
	}
	if !csrfOK(r) {
		csrfFailed(w)
		return
	}
	user, pass := r.PostFormValue("username"), r.PostFormValue("password")
	s.mu.Lock()
	l, ok := s.projects().logins[user]
	if ok && l.password == pass {
		sid := newToken(16)
		s.projects().sessions[sid] = user
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		redirect(w, "/")
		return
	}
	s.mu.Unlock()
	// Django re-renders the form with its error.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Log In</title><p>Please enter a correct username and password.</p>"))
}

// sessionUser is the logged-in editor user and their API user, if any.
func (s *Server) sessionUser(r *http.Request) (string, *User) {
	name := s.projects().sessions[cookie(r, "sessionid")]
	if name == "" {
		return "", nil
	}
	email := s.projects().logins[name].email
	for _, u := range s.users {
		if u.Email == email {
			u := u
			return name, &u
		}
	}
	return name, nil
}

func (s *Server) serveSave(w http.ResponseWriter, r *http.Request, slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Django's CSRF middleware runs before the view's login check.
	if r.Method == http.MethodPost {
		if err := r.ParseMultipartForm(16 << 20); err != nil && err != http.ErrNotMultipart {
			badText(w, "bad form")
			return
		}
		if !csrfOK(r) {
			csrfFailed(w)
			return
		}
	}
	name, u := s.sessionUser(r)
	if name == "" {
		redirect(w, langPrefix+"/login/?next="+url.QueryEscape(r.URL.Path))
		return
	}
	var existing *project
	if slug != "" {
		existing = s.projects().projects[slug]
		if existing == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<h1>Not Found</h1>"))
			return
		}
	}
	// RoleCreatorRequiredMixin for create; edit needs the project's creator
	// or an admin (contributors may edit only what is shared with them).
	allowed := u != nil && (u.Role >= SuperAdmin || (u.Role >= Creator && (existing == nil || existing.Creator == name)))
	if !allowed {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<h1>403 Forbidden</h1>"))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Project editor</title>"))
		return
	}
	fields := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			fields[k] = v[len(v)-1]
		}
	}
	p, status, msg := s.saveProject(existing, fields, name, u)
	if status != 0 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(msg))
		return
	}
	s.counts["project-save"]++
	redirect(w, langPrefix+"/admin/project/"+p.Slug+"/edit")
}

var (
	slugRE  = regexp.MustCompile(`[^\w\s-]`)
	slugSep = regexp.MustCompile(`[-\s]+`)
)

// slugify is Django's slugify for ASCII.
func slugify(s string) string {
	s = strings.ToLower(slugRE.ReplaceAllString(s, ""))
	s = slugSep.ReplaceAllString(strings.TrimSpace(s), "-")
	return strings.Trim(s, "-_")
}

// saveProject is update_data + DashboardForm + save_relations; status 0 is
// success, else the status and GeoSight's plain-text reason.
func (s *Server) saveProject(existing *project, fields map[string]string, user string, u *User) (*project, int, string) {
	if f := fields["featured"]; f != "" && u.Role < SuperAdmin {
		return nil, http.StatusBadRequest, "Only admins can change the Featured status."
	}
	slug := fields["slug"]
	if slug == "" {
		slug = fields["name"]
	}
	slug = slugify(slug)
	var data map[string]any
	if err := json.Unmarshal([]byte(fields["data"]), &data); err != nil {
		return nil, http.StatusInternalServerError, serverError
	}
	ext := list0(data["extent"])
	if len(ext) != 4 {
		return nil, http.StatusBadRequest, "Invalid extent, it seems the extent from GeoRepo is empty or not correct."
	}
	for _, k := range []string{"reference_layer", "indicators", "indicator_layers", "context_layers", "basemaps_layers", "widgets", "widgets_structure", "filters"} {
		if _, ok := data[k]; !ok {
			return nil, http.StatusInternalServerError, serverError
		}
	}
	for _, c := range []struct{ key, what string }{
		{"indicator_layers_structure", "Indicator layers"}, {"context_layers_structure", "Context layer"}, {"basemaps_layers_structure", "Basemap layers"}} {
		if m, _ := data[c.key].(map[string]any); len(m) == 0 {
			return nil, http.StatusBadRequest, c.what + " structure is empty, please try again"
		}
	}
	for _, p := range s.projects().projects {
		if p.Slug == slug && (existing == nil || p.ID != existing.ID) {
			return nil, http.StatusBadRequest, fmt.Sprintf("Dashboard with this url shortcode : %s is exist. Please choose other url shortcode.", slug)
		}
	}
	if fields["name"] == "" {
		return nil, http.StatusBadRequest, "name : This field is required."
	}
	for _, d := range listMaps(data["indicators"]) {
		if s.st.Indicators[intOf(d["id"])] == nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("Indicator with id %d does not exist", intOf(d["id"]))
		}
	}
	for _, d := range listMaps(data["basemaps_layers"]) {
		if !containsInt(s.projects().basemaps, intOf(d["id"])) {
			return nil, http.StatusBadRequest, fmt.Sprintf("BasemapLayer with id %d does not exist", intOf(d["id"]))
		}
	}
	for _, d := range listMaps(data["context_layers"]) {
		if s.st.Layers[intOf(d["id"])] == nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("ContextLayer with id %d does not exist", intOf(d["id"]))
		}
	}

	p := existing
	if p == nil {
		p = &project{ID: s.nextProjectSeq(), Creator: user, Created: time.Now().UTC()}
	}
	// Indicator layers and widgets keep their id when it is one of this
	// project's; any other id is a new row, and structures follow the map.
	var oldLayers, oldWidgets map[int]bool
	if existing != nil {
		oldLayers, oldWidgets = idSet(existing.Data["indicator_layers"]), idSet(existing.Data["widgets"])
	}
	layerMap := s.assignIDs(data["indicator_layers"], oldLayers)
	widgetMap := s.assignIDs(data["widgets"], oldWidgets)
	data["indicator_layers_structure"] = remapStructure(data["indicator_layers_structure"], layerMap)
	data["widgets_structure"] = remapStructure(data["widgets_structure"], widgetMap)
	data["context_layers_structure"] = remapStructure(data["context_layers_structure"], identity(data["context_layers"]))
	data["basemaps_layers_structure"] = remapStructure(data["basemaps_layers_structure"], identity(data["basemaps_layers"]))

	delete(s.projects().projects, p.Slug)
	p.Slug, p.Fields, p.Data, p.Saved = slug, fields, data, time.Now().UTC()
	s.projects().projects[slug] = p
	return p, 0, ""
}

const serverError = "<h1>Server Error (500)</h1>"

func (s *Server) nextProjectSeq() int {
	id := s.projects().nextID
	s.projects().nextID++
	return id
}

// assignIDs gives every item whose id is not in keep a new id; it returns
// posted id → stored id.
func (s *Server) assignIDs(items any, keep map[int]bool) map[int]int {
	m := map[int]int{}
	for _, it := range listMaps(items) {
		old := intOf(it["id"])
		id := old
		if !keep[old] {
			id = s.nextProjectSeq()
		}
		it["id"] = id
		m[old] = id
	}
	return m
}

func identity(items any) map[int]int {
	m := map[int]int{}
	for _, it := range listMaps(items) {
		m[intOf(it["id"])] = intOf(it["id"])
	}
	return m
}

func idSet(items any) map[int]bool {
	m := map[int]bool{}
	for _, it := range listMaps(items) {
		m[intOf(it["id"])] = true
	}
	return m
}

// remapStructure is geosight.data.utils.update_structure: ids map to their
// stored ids, ids of nothing saved are dropped, groups recurse.
func remapStructure(v any, m map[int]int) map[string]any {
	st, _ := v.(map[string]any)
	if st == nil {
		st = map[string]any{}
	}
	var children []any
	for _, c := range list0(st["children"]) {
		switch x := c.(type) {
		case map[string]any:
			children = append(children, remapStructure(x, m))
		case float64:
			if id, ok := m[int(x)]; ok {
				children = append(children, id)
			}
		}
	}
	if children == nil {
		children = []any{}
	}
	st["children"] = children
	return st
}

// readable is the project the request may read, or nil after answering
// 404 or 403 as GeoSight does. The caller holds s.mu.
func (s *Server) readable(w http.ResponseWriter, r *http.Request, slug string) *project {
	p := s.projects().projects[slug]
	if p == nil {
		notFound(w)
		return nil
	}
	if !s.canRead(r, p) {
		writeJSON(w, http.StatusForbidden, detail("You don't have permission to access this resource"))
		return nil
	}
	return p
}

func (s *Server) serveProjectData(w http.ResponseWriter, r *http.Request, slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.readable(w, r, slug); p != nil {
		writeJSON(w, http.StatusOK, s.servedProject(p))
	}
}

// canRead: projects are private to their creator and admins unless shared.
func (s *Server) canRead(r *http.Request, p *project) bool {
	name, u := s.sessionUser(r)
	if name == "" {
		if au, msg := s.authenticate(r); msg == "" && au != nil {
			u = au
			for n, l := range s.projects().logins {
				if l.email == au.Email {
					name = n
				}
			}
		}
	}
	return u != nil && (u.Role >= SuperAdmin || name == p.Creator)
}

func (s *Server) serveDashboard(w http.ResponseWriter, r *http.Request, slug string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.readable(w, r, slug)
	if p == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": p.Slug, "slug": p.Slug, "icon": nil, "thumbnail": nil, "name": p.Fields["name"],
		"description": p.Fields["description"], "group": p.Fields["group"], "category": p.Fields["group"],
		"permission":      map[string]any{"list": true, "read": true, "edit": true, "share": true, "delete": true},
		"reference_layer": 1, "featured": p.Fields["featured"] == "true", "creator": 1,
		"created_at": p.Created.Format("2006-01-02 15:04:05"), "created_by": p.Creator,
		"modified_at": p.Saved.Format("2006-01-02 15:04:05"), "modified_by": p.Creator,
	})
}

// servedProject is DashboardSerializer's output for a stored project.
func (s *Server) servedProject(p *project) map[string]any {
	d, f := p.Data, p.Fields
	jsonField := func(k string, def any) any {
		var v any
		if err := json.Unmarshal([]byte(f[k]), &v); err != nil || v == nil {
			return def
		}
		return v
	}
	boolField := func(k string, def bool) bool {
		if v, ok := f[k]; ok {
			return v == "true" || v == "True" || v == "on"
		}
		return def
	}
	var inds []any
	for _, di := range listMaps(d["indicators"]) {
		in := s.st.Indicators[intOf(di["id"])]
		if in == nil {
			continue
		}
		inds = append(inds, map[string]any{
			"category": in.Category, "description": deref(in.Description), "full_name": fmt.Sprintf("%s/%s (%s)", in.Category, in.Name, in.Shortcode),
			"id": in.ID, "label_config": di["label_config"], "name": in.Name,
			"permission": map[string]any{"delete": true, "edit": true, "edit_data": true, "list": true, "read": true, "read_data": true, "share": true},
			"shortcode":  in.Shortcode, "source": in.Source, "style": nil, "style_config": in.StyleConfig, "style_id": nil,
			"style_type": in.StyleType, "type": in.Type, "unit": in.Unit, "url": fmt.Sprintf("/api/v1/indicators/%d/data/values/", in.ID), "version": 1,
		})
	}
	var layers []any
	for i, l := range listMaps(d["indicator_layers"]) {
		out := map[string]any{}
		for _, k := range []string{"chart_style", "config", "data_fields", "description", "id", "label_config", "level_config",
			"multi_indicator_mode", "name", "override_description", "override_label", "override_name", "override_style",
			"popup_template", "popup_type", "raw_data_popup_config", "raw_data_popup_enable", "related_tables", "style",
			"style_config", "style_id", "style_type", "type", "visible_by_default"} {
			out[k] = l[k]
		}
		out["order"], out["style_data"] = i, nil
		out["style"] = layerRulesServed(l, i)
		// DashboardIndicatorLayer.label/desc: a single-indicator layer shows
		// its indicator's name and description unless overridden.
		if in := s.firstIndicator(l); in != nil && l["type"] == "Single Indicator" {
			if l["override_name"] != true {
				out["name"] = in.Name
			}
			if l["override_description"] != true {
				out["description"] = deref(in.Description)
			}
		}
		out["layer_name"], out["layer_description"] = out["name"], out["description"]
		var lis []any
		for j, li := range listMaps(l["indicators"]) {
			in := s.st.Indicators[intOf(li["id"])]
			if in == nil {
				continue
			}
			lis = append(lis, map[string]any{"active": true, "color": li["color"], "id": in.ID,
				"indicator": fmt.Sprintf("%s/%s (%s)", in.Category, in.Name, in.Shortcode), "name": li["name"], "order": j,
				"override_style": false, "rule": fmt.Sprintf("x==%d", in.ID), "shortcode": in.Shortcode, "style": nil,
				"style_config": nil, "style_data": nil, "style_id": nil, "style_type": nil, "type": in.Type})
		}
		out["indicators"] = orEmpty(lis)
		layers = append(layers, out)
	}
	var cls []any
	for i, c := range listMaps(d["context_layers"]) {
		l := s.st.Layers[intOf(c["id"])]
		if l == nil {
			continue
		}
		var styles any
		if t, ok := c["styles"].(string); ok && t != "" {
			_ = json.Unmarshal([]byte(t), &styles)
		}
		if styles == nil {
			styles = l.Styles
		}
		// DashboardContextLayerSerializer serves the project's label config
		// only with override_label, and DashboardSerializer then falls back
		// to the layer's own (ContextLayer.label_config).
		labelConfig := l.LabelConfig
		if c["override_label"] == true && truthy(c["label_config"]) {
			labelConfig = c["label_config"]
		}
		cls = append(cls, map[string]any{
			"arcgis_config": nil, "category": l.Category, "cloud_native_gis_layer_id": l.ID, "configuration": orMap(c["configuration"]),
			"context_layer_id": l.ID, "created_at": "", "created_by": l.Owner, "creator": 1, "creator_username": l.Owner,
			"data_fields": orEmpty(list0(c["data_fields"])), "default_styles": map[string]any{"data_fields": []any{}, "label_styles": map[string]any{}, "styles": l.Styles},
			"description": l.Description, "group": nil, "id": l.ID, "label_config": labelConfig, "label_styles": map[string]any{},
			"layer_description": c["layer_description"], "layer_name": c["layer_name"], "layer_type": l.LayerType, "modified_at": "",
			"modified_by": l.Owner, "modified_by_username": l.Owner, "name": l.Name, "object_description": l.Description,
			"object_name": l.Name, "ogc_api": nil, "order": i, "original_configuration": nil, "original_styles": l.Styles,
			"override_field": c["override_field"], "override_label": c["override_label"], "override_layer_description": c["override_layer_description"],
			"override_layer_name": c["override_layer_name"], "override_style": c["override_style"], "parameters": map[string]any{},
			"password": nil, "permission": map[string]any{"delete": true, "edit": true, "list": true, "read": true, "share": true},
			"related_table": nil, "source": nil, "styles": styles, "token": nil, "url": nil, "url_legend": nil, "username": nil,
			"version": 0, "visible_by_default": c["visible_by_default"],
		})
	}
	var widgets []any
	for _, w := range listMaps(d["widgets"]) {
		widgets = append(widgets, map[string]any{"config": w["config"], "description": w["description"], "group": nil, "id": w["id"],
			"name": w["name"], "order": orZero(w["order"]), "relation_group": nil, "type": w["type"], "visible_by_default": w["visible_by_default"]})
	}
	var basemaps []any
	for i, b := range listMaps(d["basemaps_layers"]) {
		basemaps = append(basemaps, map[string]any{"id": b["id"], "name": fmt.Sprintf("Basemap %d", intOf(b["id"])), "order": i,
			"type": "XYZ Tile", "visible_by_default": b["visible_by_default"]})
	}
	levelConfig := orMap(d["level_config"])
	filters := orMap(d["filters"])
	ds := fmt.Sprint(d["reference_layer"])
	dsName := ds
	if di := s.datasets[ds]; di != nil {
		dsName = di.Name
	}
	return map[string]any{
		"id": p.ID, "slug": p.Slug, "icon": nil, "name": f["name"], "description": f["description"],
		"category": f["group"], "group": f["group"], "extent": d["extent"], "min_zoom": orZero(d["min_zoom"]), "max_zoom": orNum(d["max_zoom"], 24),
		"reference_layer": map[string]any{"detail_url": "/search/view/" + ds + "/?cached=False", "identifier": ds, "is_local": true, "name": dsName},
		"level_config":    levelConfig, "indicators": orEmpty(inds), "indicator_layers": orEmpty(layers),
		"indicator_layers_structure": d["indicator_layers_structure"], "context_layers": orEmpty(cls),
		"context_layers_structure": d["context_layers_structure"], "basemaps_layers": orEmpty(basemaps),
		"basemaps_layers_structure": d["basemaps_layers_structure"], "widgets": orEmpty(widgets),
		"widgets_structure": d["widgets_structure"], "related_tables": orEmpty(list0(d["related_tables"])),
		"user_permission": map[string]any{"list": true, "read": true, "edit": true, "share": true, "delete": true},
		"geo_field":       orString(f["geoField"], "geometry_code"), "overview": f["overview"],
		"default_time_mode": jsonField("default_time_mode", map[string]any{"use_only_last_known_value": true, "fit_to_current_indicator_range": false, "show_last_known_value_in_range": true, "default_interval": "Monthly"}),
		"tools":             orEmpty(list0(d["tools"])), "view_url": langPrefix + "/project/" + p.Slug, "filters": filters,
		"filters_being_hidden": d["filters_being_hidden"] == true, "filters_allow_modify": d["filters_allow_modify"] == true,
		"auto_zoom_to_filter": d["auto_zoom_to_filter"] == true, "show_splash_first_open": boolField("show_splash_first_open", false),
		"truncate_indicator_layer_name": boolField("truncate_indicator_layer_name", false),
		"layer_tabs_visibility":         orString(f["layer_tabs_visibility"], "indicator_layers,context_layers"),
		"transparency_config":           jsonField("transparency_config", map[string]any{"indicatorLayer": 100, "contextLayer": 100}),
		"show_map_toolbar":              boolField("show_map_toolbar", false), "featured": f["featured"] == "true",
	}
}

func (s *Server) firstIndicator(layer map[string]any) *Indicator {
	for _, li := range listMaps(layer["indicators"]) {
		return s.st.Indicators[intOf(li["id"])]
	}
	return nil
}

func listMaps(v any) []map[string]any {
	var out []map[string]any
	for _, x := range list0(v) {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func list0(v any) []any {
	x, _ := v.([]any)
	return x
}

func intOf(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

func containsInt(xs []int, x int) bool {
	return slices.Contains(xs, x)
}

func orEmpty(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

func orMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

func orZero(v any) any {
	if v == nil {
		return 0
	}
	return v
}

func orNum(v any, def float64) any {
	if v == nil {
		return def
	}
	return v
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// truthy is Python's truth of a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// layerRulesServed is DashboardIndicatorLayerSerializer.get_style for a
// single-indicator layer: its rules (DashboardIndicatorLayerRule rows, kept
// by name, served with their id and order and without the object) only
// when override_style is set, else an empty list.
func layerRulesServed(l map[string]any, layerIdx int) []any {
	out := []any{}
	if l["override_style"] != true {
		return out
	}
	for j, r := range listMaps(l["style"]) {
		if _, ok := r["indicator"]; ok {
			continue // save_relations skips rules that name an indicator
		}
		out = append(out, map[string]any{"id": (layerIdx+1)*1000 + j + 1, "name": r["name"], "rule": r["rule"],
			"color": r["color"], "outline_color": r["outline_color"], "outline_size": r["outline_size"],
			"active": r["active"], "order": j})
	}
	return out
}
