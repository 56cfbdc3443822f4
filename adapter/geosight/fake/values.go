package fake

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// parseDateRE is Django 3.2 parse_date: month and day may be one digit.
var (
	parseDateRE   = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})$`)
	isoDateTimeRE = regexp.MustCompile(`^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{1,2}`)
)

func valueKey(indicatorID int, date, geom string) string {
	return fmt.Sprintf("%d|%s|%s", indicatorID, date, geom)
}

func (s *Server) routeDataBrowser(q *request) {
	if q.user == nil {
		writeJSON(q.w, http.StatusForbidden, detail("Authentication credentials were not provided."))
		return
	}
	if len(q.parts) == 2 && q.parts[1] == "ids" && q.r.Method == http.MethodGet {
		rows, ok := s.filteredValues(q)
		if ok {
			ids := []int{}
			for _, v := range rows {
				ids = append(ids, v["id"].(int))
			}
			writeJSON(q.w, http.StatusOK, ids)
		}
		return
	}
	if len(q.parts) != 1 {
		notFound(q.w)
		return
	}
	switch q.r.Method {
	case http.MethodGet:
		rows, ok := s.filteredValues(q)
		if ok {
			paginate(q, toAny(rows))
		}
	case http.MethodPost:
		s.postValue(q)
	case http.MethodDelete:
		s.deleteValues(q)
	default:
		methodNotAllowed(q.w, q.r.Method)
	}
}

// postValue is DataBrowserApiList.post: one value, 200 with body 201.
func (s *Server) postValue(q *request) {
	var raw any
	if err := json.Unmarshal(q.body, &raw); err != nil {
		badText(q.w, fmt.Sprintf("JSON parse error - %v", err))
		return
	}
	body, isObj := raw.(map[string]any)
	if !isObj {
		if _, isList := raw.([]any); isList {
			badText(q.w, "'list' object has no attribute 'get'")
		} else {
			badText(q.w, fmt.Sprintf("'%T' object has no attribute 'get'", raw))
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ind *Indicator
	idRaw, hasID := body["indicator_id"]
	scRaw, hasSC := body["indicator_shortcode"]
	if (!hasID || idRaw == nil) && (!hasSC || scRaw == nil || scRaw == "") {
		badText(q.w, "indicator_id or indicator_shortcode is required")
		return
	}
	if hasID && idRaw != nil {
		if f, ok := idRaw.(float64); ok {
			ind = s.st.Indicators[int(f)]
		} else if str, ok := idRaw.(string); ok {
			if n, err := strconv.Atoi(str); err == nil {
				ind = s.st.Indicators[n]
			}
		}
	}
	if ind == nil && hasSC {
		for _, it := range s.st.Indicators {
			if it.Shortcode == fmt.Sprint(scRaw) {
				ind = it
				break
			}
		}
	}
	if ind == nil {
		badText(q.w, "Indicator does not exist")
		return
	}
	for _, k := range []string{"date", "geom_id", "dataset_uuid", "admin_level", "value"} {
		if _, ok := body[k]; !ok {
			badText(q.w, fmt.Sprintf("'%s' is required on payload", k))
			return
		}
	}
	num, text, note, msg := validateValue(ind, body["value"])
	if msg != "" {
		badText(q.w, msg)
		return
	}
	date, isStr := body["date"].(string)
	if !isStr {
		badText(q.w, "expected string or bytes-like object")
		return
	}
	isoDateTime := isoDateTimeRE.MatchString(date)
	if !parseDateRE.MatchString(date) && !isoDateTime {
		badText(q.w, fmt.Sprintf("[\"“%s” value has an invalid format. It must be in YYYY-MM-DD HH:MM[:ss[.uuuuuu]][TZ] format.\"]", date))
		return
	}
	dsRaw := body["dataset_uuid"]
	if dsRaw == nil {
		badText(q.w, "'NoneType' object has no attribute 'entities_set'")
		return
	}
	geom := fmt.Sprint(body["geom_id"])
	ds := s.datasets[fmt.Sprint(dsRaw)]
	if ds == nil {
		badText(q.w, "Georepo entity does not exist.")
		return
	}
	area, ok := ds.byCode[geom]
	if !ok {
		badText(q.w, "Georepo entity does not exist.")
		return
	}
	if lvl := body["admin_level"]; lvl != nil {
		if f, ok := lvl.(float64); !ok || int(f) != area.Level {
			badText(q.w, "Georepo entity does not exist.")
			return
		}
	}
	if isoDateTime {
		badText(q.w, fmt.Sprintf("['“%s” value has an invalid date format. It must be in YYYY-MM-DD format.']", date))
		return
	}
	m := parseDateRE.FindStringSubmatch(date)
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Month() != time.Month(mo) || t.Day() != d {
		badText(q.w, fmt.Sprintf("['“%s” value has the correct format (YYYY-MM-DD) but it is an invalid date.']", date))
		return
	}
	date = t.Format(time.DateOnly)
	k := valueKey(ind.ID, date, geom)
	v := s.st.Values[k]
	if v == nil {
		v = &Value{ID: s.newID(), IndicatorID: ind.ID, Date: date, GeomID: geom}
		s.st.Values[k] = v
	}
	v.AdminLevel, v.DatasetUUID, v.Number, v.Text = area.Level, ds.UUID, num, text
	v.Writes++
	if attrs, ok := body["attributes"].(map[string]any); ok {
		if v.Attributes == nil {
			v.Attributes = map[string]any{}
		}
		for ak, av := range attrs {
			v.Attributes[ak] = av
		}
	}
	if note != "" {
		if v.Attributes == nil {
			v.Attributes = map[string]any{}
		}
		desc, _ := v.Attributes["description"].(string)
		v.Attributes["description"] = strings.TrimSpace(desc + " " + note)
	}
	s.persistValue(v)
	writeJSON(q.w, http.StatusOK, 201)
}

// validateValue is Indicator.validate (§4): the numeric or string payload,
// a note, or the rejection text.
func validateValue(ind *Indicator, raw any) (*float64, *string, string, string) {
	if raw == nil || raw == "" {
		return nil, nil, "", "Value is empty"
	}
	var f float64
	note := ""
	switch ind.Type {
	case "String":
		str, ok := raw.(string)
		if !ok {
			return nil, nil, "", "Value is not string"
		}
		return nil, &str, "", ""
	case "Integer":
		switch x := raw.(type) {
		case float64:
			f = x
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				f = float64(n)
			} else if g, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				f = g
			} else {
				return nil, nil, "", "Value is not integer"
			}
		default:
			return nil, nil, "", "Value is not integer"
		}
		if t := math.Trunc(f); t != f {
			f, note = t, "Result was rounded to int."
		}
	default:
		switch x := raw.(type) {
		case float64:
			f = x
		case string:
			g, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, nil, "", "Value is not float"
			}
			f = g
		default:
			return nil, nil, "", "Value is not float"
		}
	}
	if ind.MinValue != nil && f < *ind.MinValue {
		return nil, nil, "", "Value is less than " + pyFloat(*ind.MinValue)
	}
	if ind.MaxValue != nil && f > *ind.MaxValue {
		return nil, nil, "", "Value is more than " + pyFloat(*ind.MaxValue)
	}
	return &f, nil, note, ""
}

// filteredValues lists value rows with the data-browser filters, sorted by id.
func (s *Server) filteredValues(q *request) ([]map[string]any, bool) {
	vals, ok := checkFilters(q, "indicator_id__in", "indicator_shortcode__in", "geom_id__in", "admin_level__in",
		"country_id__in", "date", "date__gte", "date__lte", "dataset_uuid__in", "id__in", "indicator_id", "geom_id")
	if !ok {
		return nil, false
	}
	for _, k := range []string{"date", "date__gte", "date__lte"} {
		if d := vals.Get(k); d != "" {
			if n, err := strconv.ParseInt(d, 10, 64); err == nil {
				vals.Set(k, time.Unix(n, 0).UTC().Format(time.DateOnly))
			} else if !parseDateRE.MatchString(d) {
				badText(q.w, fmt.Sprintf("['“%s” value has an invalid date format. It must be in YYYY-MM-DD format.']", d))
				return nil, false
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type row struct {
		v   *Value
		ind *Indicator
	}
	var rows []row
	for _, v := range s.st.Values {
		rows = append(rows, row{v, s.st.Indicators[v.IndicatorID]})
	}
	rows = filterBy(vals, rows, func(r row, f string) (string, bool) {
		switch f {
		case "indicator_id":
			return fmtID(r.v.IndicatorID), true
		case "indicator_shortcode":
			return r.ind.Shortcode, true
		case "geom_id":
			return r.v.GeomID, true
		case "admin_level":
			return fmtID(r.v.AdminLevel), true
		case "date":
			return r.v.Date, true
		case "dataset_uuid":
			return r.v.DatasetUUID, true
		case "id":
			return fmtID(r.v.ID), true
		}
		return "", false
	})
	sort.Slice(rows, func(i, j int) bool { return rows[i].v.ID < rows[j].v.ID })
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.valueJSON(r.v, r.ind))
	}
	return out, true
}

// valueJSON is IndicatorValueSerializer minus value_str (§3.2.2).
func (s *Server) valueJSON(v *Value, ind *Indicator) map[string]any {
	var value any
	if v.Text != nil {
		value = *v.Text
	} else if v.Number != nil {
		value = *v.Number
	}
	t, _ := time.Parse(time.DateOnly, v.Date)
	// No attributes: attributes {} but extra_value null (observed).
	var extra any
	attrs := v.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	} else {
		extra = attrs
	}
	name, country, countryName := "", "", ""
	var entity, countryID any
	if ds := s.datasets[v.DatasetUUID]; ds != nil {
		if a, ok := ds.byCode[v.GeomID]; ok {
			name = a.Name
			if len(a.Parents) > 0 {
				country = a.Parents[len(a.Parents)-1]
			} else {
				country = a.Code
			}
			countryName = ds.byCode[country].Name
			entity, countryID = ds.entityID[v.GeomID], ds.entityID[country]
		}
	}
	return map[string]any{
		"id": v.ID, "geometry_code": v.GeomID, "geom_id": v.GeomID,
		"indicator":    fmt.Sprintf("%s/%s (%s)", ind.Category, ind.Name, ind.Shortcode),
		"indicator_id": ind.ID, "indicator_shortcode": ind.Shortcode, "indicator_name": ind.Name,
		"value": value, "attributes": attrs, "extra_value": extra, "time": float64(t.Unix()), "date": v.Date,
		"entity_name": name, "admin_level": v.AdminLevel, "concept_uuid": conceptUUID(v.GeomID),
		"entity_start_date": nil, "entity_end_date": nil, "country_name": countryName,
		"country_geom_id": country, "country_concept_uuid": conceptUUID(country), "entity": entity, "country": countryID,
	}
}

// deleteValues: body is a bare JSON array of ids (or {"ids": "<json list>"}).
func (s *Server) deleteValues(q *request) {
	var ids []int
	if err := json.Unmarshal(q.body, &ids); err != nil {
		var wrapped struct {
			IDs any `json:"ids"`
		}
		if json.Unmarshal(q.body, &wrapped) == nil {
			if str, ok := wrapped.IDs.(string); ok && json.Unmarshal([]byte(str), &ids) == nil {
				goto ok
			}
		}
		w := q.w
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<h1>Server Error (500)</h1>"))
		return
	}
ok:
	want := map[int]bool{}
	for _, id := range ids {
		want[id] = true
	}
	s.mu.Lock()
	for k, v := range s.st.Values {
		if !want[v.ID] {
			continue
		}
		ind := s.st.Indicators[v.IndicatorID]
		if q.isAdmin() || (ind != nil && ind.Owner == q.user.Email && q.user.Role >= Creator) {
			delete(s.st.Values, k)
		}
	}
	s.persist()
	s.mu.Unlock()
	noContent(q.w)
}
