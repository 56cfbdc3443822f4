package fake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

var fieldTypes = []string{"string", "number", "date"}

// tables describes related tables to the shared handlers.
func (s *Server) tables() kind[RelatedTable, *RelatedTable] {
	return kind[RelatedTable, *RelatedTable]{
		items:    s.st.Tables,
		toJSON:   func(t *RelatedTable) any { return tableJSON(t) },
		listJSON: func(t *RelatedTable) any { return tableListJSON(t) },
		createJSON: func(t *RelatedTable) any {
			m := tableJSON(t)
			m["permission"] = map[string]bool{"list": false, "read": false, "read_data": false, "edit": false,
				"edit_data": false, "share": false, "delete": false}
			return m
		},
		form: func(body map[string]any, t *RelatedTable) any {
			if msg := tableForm(body, t); msg != "" {
				return detail(msg)
			}
			return nil
		},
		filters: []string{"id", "id__in", "name", "name__contains", "name__icontains"},
		field: func(t *RelatedTable, f string) (string, bool) {
			if f == "name" {
				return t.Name, true
			}
			return "", false
		},
	}
}

func (s *Server) routeRelatedTables(q *request) {
	k := s.tables()
	if len(q.parts) == 1 {
		serveList(s, q, k)
		return
	}
	t, ok := lookup(s, q, k.items)
	if !ok {
		return
	}
	switch strings.Join(q.parts[2:], "/") {
	case "":
		serveObject(s, q, t, k)
	case "data":
		s.tableData(q, t)
	default:
		notFound(q.w)
	}
}

// tableJSON is the detail serializer; the create answer differs only in a
// permission of all false (observed: serialised before its owner is set).
func tableJSON(t *RelatedTable) map[string]any {
	m := tableListJSON(t)
	m["fields_definition"], m["creator"], m["version_data"] = t.FieldsDefinition, "", fmtTime(t.CreatedAt)
	return m
}

// tableListJSON is the list serializer: no fields_definition.
func tableListJSON(t *RelatedTable) map[string]any {
	var related []string
	for _, f := range t.FieldsDefinition {
		if n, ok := f["name"].(string); ok {
			related = append(related, n)
		}
	}
	sort.Strings(related)
	return map[string]any{"id": t.ID, "name": t.Name, "description": t.Description,
		"url": fmt.Sprintf("/api/v1/related-tables/%d/", t.ID), "category": "", "group": nil, "source": nil,
		"related_fields": related, "unique_id": conceptUUID(fmt.Sprintf("table-%d", t.ID)),
		"permission": map[string]bool{"list": true, "read": true, "read_data": true, "edit": true, "edit_data": true,
			"share": true, "delete": true},
		"created_at": fmtTime(t.CreatedAt), "created_by": t.Owner, "creator_username": t.Owner,
		"modified_at": fmtTime(t.CreatedAt), "modified_by": t.Owner, "modified_by_username": t.Owner}
}

// tableForm validates like the serializer; errors come back as the
// stringified odict_items GeoSight returns.
func tableForm(body map[string]any, t *RelatedTable) string {
	var errs []string
	req := func(f string) {
		errs = append(errs, fmt.Sprintf("('%s', [ErrorDetail(string='This field is required.', code='required')])", f))
	}
	name, _ := body["name"].(string)
	if name == "" {
		req("name")
	}
	var defs []map[string]any
	raw, ok := body["fields_definition"].([]any)
	if !ok {
		req("fields_definition")
	} else {
		for _, r := range raw {
			m, ok := r.(map[string]any)
			typ, _ := m["type"].(string)
			if !ok || m["name"] == nil || !slices.Contains(fieldTypes, typ) {
				errs = append(errs, fmt.Sprintf("('fields_definition', [ErrorDetail(string='Invalid field definition %v.', code='invalid')])", r))
				break
			}
			if m["label"] == nil {
				m["label"] = m["name"]
			}
			defs = append(defs, m)
		}
	}
	if len(errs) > 0 {
		return "odict_items([" + strings.Join(errs, ", ") + "])"
	}
	t.Name, t.FieldsDefinition = name, defs
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	t.Description, _ = body["description"].(string)
	return ""
}

func (s *Server) tableData(q *request, t *RelatedTable) {
	switch q.r.Method {
	case http.MethodGet:
		flat := q.r.URL.Query().Get("flat") == "true"
		s.mu.Lock()
		out := make([]any, 0, len(t.Rows))
		for _, r := range t.Rows {
			if flat {
				m := maps.Clone(r.Properties)
				m["id"] = r.ID
				out = append(out, m)
			} else {
				out = append(out, map[string]any{"id": r.ID, "properties": r.Properties})
			}
		}
		s.mu.Unlock()
		paginate(q, out)
	case http.MethodPost:
		// Validation comes before the permission check.
		var raw any
		if err := json.Unmarshal(q.body, &raw); err != nil {
			writeJSON(q.w, http.StatusBadRequest, detail(fmt.Sprintf("JSON parse error - %v", err)))
			return
		}
		list, ok := raw.([]any)
		if !ok {
			writeJSON(q.w, http.StatusBadRequest, map[string]any{"non_field_errors": []string{
				fmt.Sprintf("Expected a list of items but got type \"%s\".", pyType(raw))}})
			return
		}
		if len(list) == 0 {
			writeJSON(q.w, http.StatusBadRequest, []any{})
			return
		}
		var errs []any
		bad := false
		var props []map[string]any
		for _, it := range list {
			m, _ := it.(map[string]any)
			p, ok := m["properties"].(map[string]any)
			if !ok {
				bad = true
				errs = append(errs, map[string]any{"properties": []string{"This field is required."}})
				continue
			}
			errs = append(errs, map[string]any{})
			props = append(props, p)
		}
		if bad {
			writeJSON(q.w, http.StatusBadRequest, errs)
			return
		}
		if !q.needRole(Creator) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !q.owns(t.Owner) {
			return
		}
		var created []any
		for _, p := range props {
			row := TableRow{ID: s.newID(), Properties: p}
			t.Rows = append(t.Rows, row)
			created = append(created, map[string]any{"id": row.ID, "properties": p})
		}
		s.persist()
		writeJSON(q.w, http.StatusCreated, created)
	case http.MethodDelete:
		if !q.needRole(Creator) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !q.owns(t.Owner) {
			return
		}
		t.Rows = nil
		s.persist()
		noContent(q.w)
	default:
		methodNotAllowed(q.w, q.r.Method)
	}
}

func pyType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "dict"
	case string:
		return "str"
	case float64:
		return "float"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	}
	return "object"
}
