package fake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	indicatorTypes = []string{"Integer", "Float", "String"}
	styleTypes     = []string{"Predefined style/color rules.", "Dynamic quantitative style.",
		"Dynamic qualitative style.", "Style from library."}
)

func (s *Server) routeIndicators(q *request) {
	switch {
	case len(q.parts) == 1:
		switch q.r.Method {
		case http.MethodGet:
			s.listIndicators(q)
		case http.MethodPost:
			create(s, q, s.indicators())
		case http.MethodDelete:
			s.bulkDelete(q, func(id int) (string, bool) {
				ind, ok := s.st.Indicators[id]
				if !ok {
					return "", false
				}
				return ind.Owner, true
			}, s.deleteIndicatorLocked)
		default:
			methodNotAllowed(q.w, q.r.Method)
		}
	case len(q.parts) == 2 && q.parts[1] == "ids":
		s.mu.Lock()
		items := s.visibleIndicators(q)
		s.mu.Unlock()
		ids := []int{}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		writeJSON(q.w, http.StatusOK, ids)
	case len(q.parts) == 2:
		id, err := strconv.Atoi(q.parts[1])
		if err != nil {
			notFound(q.w)
			return
		}
		s.indicatorDetail(q, id)
	default:
		notFound(q.w)
	}
}

// visibleIndicators: every indicator, as the model orders them (group
// name, then name). Anonymous reads are allowed: list and retrieve have no
// permission class at 516c4db7.
func (s *Server) visibleIndicators(q *request) []*Indicator {
	out := sortedByID(s.st.Indicators)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (s *Server) listIndicators(q *request) {
	vals, ok := checkFilters(q, "id", "id__in", "name", "name__icontains", "name__contains", "shortcode",
		"shortcode__in", "category", "category__name", "category__name__in", "type", "type__in", "permission", "project_slug__in")
	if !ok {
		return
	}
	s.mu.Lock()
	items := s.visibleIndicators(q)
	if p := vals.Get("permission"); p != "" {
		var keep []*Indicator
		for _, it := range items {
			if p == "list" || p == "read" || p == "read_data" || q.isAdmin() || (q.user != nil && it.Owner == q.user.Email) {
				keep = append(keep, it)
			}
		}
		items = keep
		vals.Del("permission")
	}
	if qs := vals.Get("q"); qs != "" {
		var keep []*Indicator
		for _, it := range items {
			if strings.Contains(strings.ToLower(it.Name+" "+it.Shortcode), strings.ToLower(qs)) {
				keep = append(keep, it)
			}
		}
		items = keep
	}
	items = filterBy(vals, items, func(it *Indicator, f string) (string, bool) {
		switch f {
		case "id":
			return fmtID(it.ID), true
		case "name":
			return it.Name, true
		case "shortcode":
			return it.Shortcode, true
		case "category", "category__name":
			return it.Category, true
		case "type":
			return it.Type, true
		}
		return "", false
	})
	all := q.r.URL.Query().Get("fields") == "__all__"
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = indicatorJSON(it, false, all)
	}
	s.mu.Unlock()
	paginate(q, out)
}

func styleOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func strOrNil(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func floatOrNil(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// indicatorJSON is IndicatorAdminListSerializer; detail adds url and
// permission, all (fields=__all__) adds the remaining model fields.
func indicatorJSON(it *Indicator, detailView, all bool) map[string]any {
	m := map[string]any{
		"id": it.ID, "name": it.Name, "category": it.Category, "source": strOrNil(it.Source),
		"shortcode": it.Shortcode, "description": strOrNil(it.Description), "type": it.Type,
		"min_value": it.MinValue, "max_value": it.MaxValue, "aggregation_upper_level_allowed": false,
		"aggregation_upper_level": it.AggUpper, "aggregation_multiple_values": it.AggMultiple,
		"style_type": it.StyleType, "style_config": styleOrEmpty(it.StyleConfig),
		"created_at": fmtTime(it.CreatedAt), "modified_at": fmtTime(it.ModifiedAt),
		"created_by": it.Owner, "modified_by": it.Owner,
	}
	// unit is stored but never serialised (observed at 516c4db7).
	if detailView || all {
		m["url"] = fmt.Sprintf("/api/v1/indicators/%d/data/values/", it.ID)
		m["permission"] = map[string]bool{"list": true, "read": true, "read_data": true, "edit": true,
			"edit_data": true, "share": true, "delete": true}
	}
	return m
}

// indicatorForm validates a create/PUT/PATCH body as IndicatorForm does and
// applies it to it. Errors are {"field": ["msg"]}.
func (s *Server) indicatorForm(body map[string]any, it *Indicator) map[string][]string {
	errs := map[string][]string{}
	add := func(f, m string) { errs[f] = append(errs[f], m) }
	str := func(k string) (string, bool) {
		v, ok := body[k]
		if !ok || v == nil {
			return "", false
		}
		sv, isStr := v.(string)
		if !isStr {
			sv = fmt.Sprint(v)
		}
		return sv, true
	}
	name, _ := str("name")
	if strings.TrimSpace(name) == "" {
		add("name", "This field is required.")
	} else if len(name) > 512 {
		add("name", fmt.Sprintf("Ensure this value has at most 512 characters (it has %d).", len(name)))
	}
	shortcode, _ := str("shortcode")
	if strings.TrimSpace(shortcode) == "" {
		add("shortcode", "This field is required.")
	}
	cat, ok := str("category")
	if !ok || cat == "" {
		cat, ok = str("group")
	}
	if !ok || cat == "" {
		add("group", "Category is required.")
	}
	typ, ok := str("type")
	if !ok || typ == "" {
		add("type", "This field is required.")
	} else if !slices.Contains(indicatorTypes, typ) {
		add("type", fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", typ))
	}
	st, ok := str("style_type")
	if !ok || st == "" {
		add("style_type", "This field is required.")
	} else if !slices.Contains(styleTypes, st) {
		add("style_type", fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", st))
	}
	num := func(k string) (*float64, bool) {
		v, ok := body[k]
		if !ok || v == nil || v == "" {
			return nil, true
		}
		switch x := v.(type) {
		case float64:
			return &x, true
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				add(k, "Enter a number.")
				return nil, false
			}
			return &f, true
		}
		add(k, "Enter a number.")
		return nil, false
	}
	minV, _ := num("min_value")
	maxV, _ := num("max_value")
	if minV != nil && maxV != nil && *maxV < *minV {
		add("max_value", "Max value is less than min value")
	}
	unit, hasUnit := str("unit")
	if hasUnit && len(unit) > 64 {
		add("unit", fmt.Sprintf("Ensure this value has at most 64 characters (it has %d).", len(unit)))
	}
	if shortcode != "" {
		for _, other := range s.st.Indicators {
			if other.Shortcode == shortcode && other.ID != it.ID {
				add("shortcode", "The shortcode has been used by "+other.Name)
			}
		}
	}
	if name != "" && cat != "" {
		for _, other := range s.st.Indicators {
			if other.Name == name && other.Category == cat && other.ID != it.ID {
				add("name", fmt.Sprintf("The name `%s` is already exist for category `%s`.", name, cat))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	it.Name, it.Shortcode, it.Category, it.Type, it.StyleType = name, shortcode, cat, typ, st
	it.MinValue, it.MaxValue = minV, maxV
	optional := func(k string) *string {
		if v, ok := str(k); ok {
			return &v
		}
		return nil
	}
	it.Description, it.Source, it.Unit = optional("description"), optional("source"), optional("unit")
	it.AggUpper, it.AggMultiple = "COUNT(value)", "COUNT(value)"
	if v, ok := str("aggregation_upper_level"); ok && v != "" {
		it.AggUpper = v
	}
	if v, ok := str("aggregation_multiple_values"); ok && v != "" {
		it.AggMultiple = v
	}
	// A nested style_config object is ignored; dynamic flat keys count only
	// with a dynamic style_type and a color_palette.
	it.StyleConfig = styleConfig(body, st, it.StyleConfig)
	return nil
}

// flatStyle turns a stored style_config back into the form's flat keys
// (model_to_dict, which PATCH merges over).
func flatStyle(cfg map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range cfg {
		if k != "no_data_rule" {
			m[k] = v
		}
	}
	if nd, ok := cfg["no_data_rule"].(map[string]any); ok {
		for k, v := range nd {
			m["dynamic_node_data_rule_"+k+"_0"] = v
		}
	}
	return m
}

func decodeObject(q *request) (map[string]any, bool) {
	var body map[string]any
	if err := json.Unmarshal(q.body, &body); err != nil || body == nil {
		writeJSON(q.w, http.StatusBadRequest, detail(fmt.Sprintf("JSON parse error - %v", errOr(err, "expected an object"))))
		return nil, false
	}
	return body, true
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// indicators describes indicators to the shared create/update/delete
// handlers; listing and detail GET have their own visibility rules.
func (s *Server) indicators() kind[Indicator, *Indicator] {
	return kind[Indicator, *Indicator]{
		items:  s.st.Indicators,
		toJSON: func(it *Indicator) any { return indicatorJSON(it, true, false) },
		form:   func(body map[string]any, it *Indicator) any { return formErrs(s.indicatorForm(body, it)) },
		// PATCH merges the body over model_to_dict(instance).
		patchBase: func(it *Indicator) map[string]any {
			m := map[string]any{"name": it.Name, "shortcode": it.Shortcode, "category": it.Category,
				"type": it.Type, "style_type": it.StyleType, "description": strOrNil(it.Description),
				"source": strOrNil(it.Source), "unit": strOrNil(it.Unit), "min_value": floatOrNil(it.MinValue),
				"max_value": floatOrNil(it.MaxValue), "aggregation_upper_level": it.AggUpper,
				"aggregation_multiple_values": it.AggMultiple}
			for k, v := range flatStyle(it.StyleConfig) {
				m[k] = v
			}
			return m
		},
		stamp: func(it *Indicator, created bool) {
			now := time.Now().UTC().Truncate(time.Second)
			if created {
				it.CreatedAt = now
			}
			it.ModifiedAt = now
		},
		remove: s.deleteIndicatorLocked,
	}
}

func (s *Server) indicatorDetail(q *request, id int) {
	k := s.indicators()
	// The id is looked up after the role and body checks.
	find := func() (*Indicator, bool) {
		it, ok := k.items[id]
		if !ok {
			notFound(q.w)
		}
		return it, ok
	}
	switch q.r.Method {
	case http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		it, ok := k.items[id]
		if !ok {
			notFound(q.w)
			return
		}
		writeJSON(q.w, http.StatusOK, indicatorJSON(it, true, true))
	case http.MethodPut, http.MethodPatch:
		update(s, q, k, find)
	case http.MethodDelete:
		remove(s, q, k, find)
	default:
		methodNotAllowed(q.w, q.r.Method)
	}
}

// deleteIndicatorLocked removes an indicator and cascades its values.
func (s *Server) deleteIndicatorLocked(id int) {
	delete(s.st.Indicators, id)
	for k, v := range s.st.Values {
		if v.IndicatorID == id {
			delete(s.st.Values, k)
		}
	}
}

// bulkDelete is DELETE on a list URL with {"ids": [...]}: deletes what the
// user may delete, always 204.
func (s *Server) bulkDelete(q *request, owner func(int) (string, bool), del func(int)) {
	if !q.needRole(Creator) {
		return
	}
	var body struct {
		IDs []int `json:"ids"`
	}
	_ = json.Unmarshal(q.body, &body)
	s.mu.Lock()
	for _, id := range body.IDs {
		if o, ok := owner(id); ok && (q.isAdmin() || o == q.user.Email) {
			del(id)
		}
	}
	s.persist()
	s.mu.Unlock()
	noContent(q.w)
}
