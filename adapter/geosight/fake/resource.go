package fake

import (
	"net/http"
	"sort"
	"strconv"
)

// record is what every owned, id-keyed resource (indicator, context layer,
// related table, style) exposes to the shared handlers below.
type record[E any] interface {
	*E
	recordID() int
	recordOwner() string
	setRecord(id int, owner string)
}

func (it *Indicator) recordID() int                { return it.ID }
func (it *Indicator) recordOwner() string          { return it.Owner }
func (l *ContextLayer) recordID() int              { return l.ID }
func (l *ContextLayer) recordOwner() string        { return l.Owner }
func (t *RelatedTable) recordID() int              { return t.ID }
func (t *RelatedTable) recordOwner() string        { return t.Owner }
func (st *Style) recordID() int                    { return st.ID }
func (st *Style) recordOwner() string              { return st.Owner }
func (it *Indicator) setRecord(id int, o string)   { it.ID, it.Owner = id, o }
func (l *ContextLayer) setRecord(id int, o string) { l.ID, l.Owner = id, o }
func (t *RelatedTable) setRecord(id int, o string) { t.ID, t.Owner = id, o }
func (st *Style) setRecord(id int, o string)       { st.ID, st.Owner = id, o }

// kind describes one resource type to the shared list/create/update/delete
// handlers. Only the parts that differ between resources live here.
type kind[E any, P record[E]] struct {
	items map[int]P
	// toJSON is the body of create, update and detail responses.
	toJSON func(P) any
	// listJSON, when set, is the (shorter) list serializer.
	listJSON func(P) any
	// createJSON, when set, is the create answer (default toJSON).
	createJSON func(P) any
	// precheck, when set, runs on a create body before the form; a non-nil
	// result is the 400 body.
	precheck func(body map[string]any) any
	// form validates body and applies it to into; it returns the 400 body,
	// or nil when the body is valid.
	form func(body map[string]any, into P) any
	// patchBase is the object as a form body that PATCH merges over; nil
	// means PATCH is 405.
	patchBase func(P) map[string]any
	// newItem makes an empty object for create (default: the zero value).
	newItem func() P
	// stamp, when set, runs after a successful create or update.
	stamp func(it P, created bool)
	// remove, when set, replaces the plain map delete (for cascades).
	remove func(id int)
	// filters are the list view's filter params; field maps a filter's field
	// (other than "id") to the object's value.
	filters []string
	field   func(P, string) (string, bool)
}

// sortedByID lists a map's objects by id.
func sortedByID[E any, P record[E]](m map[int]P) []P {
	out := make([]P, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].recordID() < out[j].recordID() })
	return out
}

// serveList answers a list URL: GET lists, POST creates.
func serveList[E any, P record[E]](s *Server, q *request, k kind[E, P]) {
	switch q.r.Method {
	case http.MethodGet:
		listAll(s, q, k)
	case http.MethodPost:
		create(s, q, k)
	default:
		methodNotAllowed(q.w, q.r.Method)
	}
}

// listAll serves a list URL: filters checked, objects by id, filtered, paged.
func listAll[E any, P record[E]](s *Server, q *request, k kind[E, P]) {
	vals, ok := checkFilters(q, k.filters...)
	if !ok {
		return
	}
	s.mu.Lock()
	items := filterBy(vals, sortedByID(k.items), func(it P, f string) (string, bool) {
		if f == "id" {
			return fmtID(it.recordID()), true
		}
		return k.field(it, f)
	})
	out := make([]any, len(items))
	for i, it := range items {
		if k.listJSON != nil {
			out[i] = k.listJSON(it)
		} else {
			out[i] = k.toJSON(it)
		}
	}
	s.mu.Unlock()
	paginate(q, out)
}

// lookup finds the object named by the second path part, or answers 404.
func lookup[E any, P record[E]](s *Server, q *request, m map[int]P) (P, bool) {
	id, err := strconv.Atoi(q.parts[1])
	if err != nil {
		notFound(q.w)
		return nil, false
	}
	s.mu.Lock()
	it, ok := m[id]
	s.mu.Unlock()
	if !ok {
		notFound(q.w)
	}
	return it, ok
}

// create is POST on a list URL: Creator role, a JSON object, the form, 201.
func create[E any, P record[E]](s *Server, q *request, k kind[E, P]) {
	if !q.needRole(Creator) {
		return
	}
	body, ok := decodeObject(q)
	if !ok {
		return
	}
	if k.precheck != nil {
		if errs := k.precheck(body); errs != nil {
			writeJSON(q.w, http.StatusBadRequest, errs)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := P(new(E))
	if k.newItem != nil {
		it = k.newItem()
	}
	if errs := k.form(body, it); errs != nil {
		writeJSON(q.w, http.StatusBadRequest, errs)
		return
	}
	it.setRecord(s.newID(), q.user.Email)
	if k.stamp != nil {
		k.stamp(it, true)
	}
	k.items[it.recordID()] = it
	s.persist()
	if k.createJSON != nil {
		writeJSON(q.w, http.StatusCreated, k.createJSON(it))
		return
	}
	writeJSON(q.w, http.StatusCreated, k.toJSON(it))
}

// serveObject answers the methods of a detail URL for an object already found.
func serveObject[E any, P record[E]](s *Server, q *request, it P, k kind[E, P]) {
	found := func() (P, bool) { return it, true }
	switch q.r.Method {
	case http.MethodGet:
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(q.w, http.StatusOK, k.toJSON(it))
	case http.MethodPut:
		update(s, q, k, found)
	case http.MethodPatch:
		if k.patchBase == nil {
			methodNotAllowed(q.w, q.r.Method)
			return
		}
		update(s, q, k, found)
	case http.MethodDelete:
		remove(s, q, k, found)
	default:
		methodNotAllowed(q.w, q.r.Method)
	}
}

// update is PUT/PATCH: Contributor role, a JSON object, then (locked) the
// object from find, owner or admin, and the form on a copy so a rejected body
// changes nothing. find answers 404 itself when it returns false.
func update[E any, P record[E]](s *Server, q *request, k kind[E, P], find func() (P, bool)) {
	if !q.needRole(Contributor) {
		return
	}
	body, ok := decodeObject(q)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := find()
	if !ok || !q.owns(it.recordOwner()) {
		return
	}
	if q.r.Method == http.MethodPatch {
		merged := k.patchBase(it)
		for key, v := range body {
			merged[key] = v
		}
		body = merged
	}
	cp := P(new(E))
	*cp = *it
	if errs := k.form(body, cp); errs != nil {
		writeJSON(q.w, http.StatusBadRequest, errs)
		return
	}
	if k.stamp != nil {
		k.stamp(cp, false)
	}
	*it = *cp
	s.persist()
	writeJSON(q.w, http.StatusOK, k.toJSON(it))
}

// remove is DELETE: Creator role, then (locked) owner or admin, 204.
func remove[E any, P record[E]](s *Server, q *request, k kind[E, P], find func() (P, bool)) {
	if !q.needRole(Creator) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := find()
	if !ok || !q.owns(it.recordOwner()) {
		return
	}
	if k.remove != nil {
		k.remove(it.recordID())
	} else {
		delete(k.items, it.recordID())
	}
	s.persist()
	noContent(q.w)
}

// formErrs turns a form's field errors into kind.form's result (a nil map
// must stay a nil interface).
func formErrs(errs map[string][]string) any {
	if errs == nil {
		return nil
	}
	return errs
}
