package fake

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// defaultPageSize is DEFAULT_PAGE_SIZE from dp/core/settings/base.py.
const defaultPageSize = 100

// paginate writes one page of items in GeoSight's pagination shape
// (dp/core/pagination.py), or 404 "Invalid page." past the end.
func paginate(q *request, items []any) {
	vals := q.r.URL.Query()
	size := defaultPageSize
	if ps, err := strconv.Atoi(vals.Get("page_size")); err == nil && ps > 0 {
		size = ps
	}
	count := len(items)
	total := (count + size - 1) / size
	if total == 0 {
		total = 1 // Django's paginator always has a first page
	}
	page := 1
	if p := vals.Get("page"); p != "" {
		if p == "last" {
			page = total
		} else {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > total {
				writeJSON(q.w, http.StatusNotFound, detail("Invalid page."))
				return
			}
			page = n
		}
	}
	lo, hi := (page-1)*size, page*size
	if hi > count {
		hi = count
	}
	if lo > hi {
		lo = hi
	}
	link := func(n int) any {
		if n < 1 || n > total {
			return nil
		}
		v := q.r.URL.Query()
		if n == 1 {
			v.Del("page")
		} else {
			v.Set("page", strconv.Itoa(n))
		}
		u := url.URL{Scheme: "http", Host: q.r.Host, Path: q.r.URL.Path, RawQuery: v.Encode()}
		return u.String()
	}
	results := items[lo:hi]
	if results == nil {
		results = []any{}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{
		"next": link(page + 1), "previous": link(page - 1), "count": count,
		"page": page, "total_page": total, "page_size": size, "results": results,
	})
}

// ignoredParams are never filters (pagination, field selection, sorting).
var ignoredParams = map[string]bool{"page": true, "page_size": true, "fields": true, "extra_fields": true,
	"sort": true, "q": true, "distinct": true, "version": true, "format": true, "detail": true}

// checkFilters answers 400 "Can not query param <p>" for a parameter that is
// not a filter of this view (dp/core/api/base.py FilteredAPI.filter_query).
func checkFilters(q *request, allowed ...string) (url.Values, bool) {
	vals := q.r.URL.Query()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for k := range vals {
		if ignoredParams[k] || ok[k] {
			continue
		}
		for _, part := range strings.Split(k, "__") {
			switch part {
			case "password", "last_login", "is_superuser":
				badText(q.w, "Filtering on field is not allowed: "+part)
				return nil, false
			}
		}
		badText(q.w, "Can not query param "+k)
		return nil, false
	}
	return vals, true
}

// matchFilter applies one Django-style filter value to a field's string form;
// a leading "!" excludes.
func matchFilter(op, want, got string) bool {
	neg := strings.HasPrefix(want, "!")
	want = strings.TrimPrefix(want, "!")
	var m bool
	switch op {
	case "in":
		for _, w := range strings.Split(want, ",") {
			if w == got {
				m = true
				break
			}
		}
	case "icontains":
		m = strings.Contains(strings.ToLower(got), strings.ToLower(want))
	case "contains":
		m = strings.Contains(got, want)
	case "gte":
		m = got >= want
	case "lte":
		m = got <= want
	default:
		m = got == want
	}
	return m != neg
}

// filterBy keeps items whose fields match every filter in vals. field maps a
// filter's field name to the item's value as a string.
func filterBy[T any](vals url.Values, items []T, field func(T, string) (string, bool)) []T {
	var out []T
next:
	for _, it := range items {
		for k, vs := range vals {
			if ignoredParams[k] {
				continue
			}
			name, op := k, ""
			if i := strings.LastIndex(k, "__"); i > 0 {
				switch k[i+2:] {
				case "in", "icontains", "contains", "gte", "lte":
					name, op = k[:i], k[i+2:]
				}
			}
			got, ok := field(it, name)
			if !ok {
				continue
			}
			for _, v := range vs {
				if !matchFilter(op, v, got) {
					continue next
				}
			}
		}
		out = append(out, it)
	}
	return out
}

// pyFloat prints a float as Python's str(float) does for ordinary values.
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func fmtID(id int) string { return fmt.Sprint(id) }
