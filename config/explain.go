package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/hazardsync/hazardsync/indicators"
)

// explainDecode turns mapstructure's errors into field errors that name the
// key, the value given and what was expected, in words rather than Go types
// ("strconv.ParseInt: invalid syntax" helps nobody).
func explainDecode(err error) error {
	var out []error
	var walk func(e error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(e, &de) {
			if msg, ok := friendly(de.Unwrap()); ok {
				out = append(out, indicators.FieldError{Field: de.Name(), Message: msg})
				return
			}
		}
		out = append(out, indicators.DecodeError(e))
	}
	walk(err)
	return errors.Join(out...)
}

func friendly(err error) (string, bool) {
	var pe *mapstructure.ParseError
	var ue *mapstructure.UnconvertibleTypeError
	var ve *valueError
	switch {
	case errors.As(err, &ve):
		return ve.Error(), true
	case errors.As(err, &pe):
		return fmt.Sprintf("%s is not %s", shown(pe.Value), typeWords(pe.Expected.Type())), true
	case errors.As(err, &ue):
		return fmt.Sprintf("%s is not %s", shown(ue.Value), typeWords(ue.Expected.Type())), true
	}
	return "", false
}

// valueError is a value that did not parse, with what was expected.
type valueError struct {
	value    any
	expected string
}

func (e *valueError) Error() string { return fmt.Sprintf("%s is not %s", shown(e.value), e.expected) }

// shown quotes a value for a message; long values are cut.
func shown(v any) string {
	switch t := v.(type) {
	case string:
		if len(t) > 60 {
			t = t[:60] + "…"
		}
		return fmt.Sprintf("%q", t)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "an empty value"
	}
	return fmt.Sprint(v)
}

// typeWords says what a Go type accepts, in config words.
func typeWords(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(time.Duration(0)):
		return "a duration (like 90s, 15m or 6h)"
	case reflect.TypeOf(time.Time{}):
		return "an RFC 3339 time (like 2026-11-24T06:00:00Z)"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeWords(t.Elem())
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list of " + plural(typeWords(t.Elem()))
	case reflect.Map:
		return "a mapping"
	case reflect.Struct:
		return "a section (a mapping of keys)"
	}
	return t.String()
}

func plural(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "a "), "an ")
	if i := strings.Index(s, " ("); i > 0 {
		return s[:i] + "s" + s[i:]
	}
	if strings.HasSuffix(s, "text") {
		return "texts"
	}
	return s + "s"
}

// durationHook parses durations with a message naming the value; a bare
// number is refused (seconds? minutes?).
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	want := "a duration (like 90s, 15m or 6h)"
	switch v := data.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, &valueError{v, want}
		}
		return d, nil
	case int, int64, float64, uint64:
		if v == 0 || v == 0.0 {
			return time.Duration(0), nil
		}
		return nil, &valueError{v, want + ": give a unit"}
	}
	return data, nil
}

// unknownKeyMsg is what indicators.DecodeError says about a key the schema
// does not have.
const unknownKeyMsg = "unknown key (misspelt, or not an option here)"

var indexRE = regexp.MustCompile(`\[\d+\]`)

// knownKeys lists the keys allowed beside path's last element, from the
// schema (nil where the schema does not say, e.g. inside a source).
func knownKeys(path string) []string {
	parent := strings.Split(indexRE.ReplaceAllString(path, ""), ".")
	parent = parent[:len(parent)-1]
	var out []string
	WalkSchema("", Config{}, WalkOptions{}, func(k SchemaKey) bool {
		n := len(k.Keys) - 1
		if n > len(parent) || !MatchKeys(k.Keys[:n], parent) {
			return false
		}
		if n == len(parent) {
			out = append(out, k.Keys[n])
			return false
		}
		return true
	})
	if len(parent) == 0 {
		out = append(out, "sources", "sinks")
	}
	return out
}

// nearest returns the candidate closest to s when it is close enough to be
// a typo (at most a third of its letters off, and at most 3).
func nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD == 0 || bestD > 3 || bestD*3 > len(s) {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// suggestKeys adds "did you mean …" to unknown keys and drops the problems
// a typo causes further on: with `geographys:` the real section is missing,
// and "geographies.files is required" would send the operator the wrong way.
func suggestKeys(p Problems, written func(path string) bool) Problems {
	var shadowed []string
	for i := range p {
		if p[i].Message != unknownKeyMsg {
			continue
		}
		path := p[i].Path
		parent, key := "", path
		if j := strings.LastIndex(path, "."); j >= 0 {
			parent, key = path[:j+1], path[j+1:]
		}
		if s := nearest(key, knownKeys(path)); s != "" {
			p[i].Message = fmt.Sprintf("unknown key; did you mean %s?", s)
			if !written(parent + s) {
				shadowed = append(shadowed, parent+s)
			}
		}
	}
	if len(shadowed) == 0 {
		return p
	}
	out := p[:0]
	for _, pr := range p {
		drop := false
		for _, s := range shadowed {
			if pr.Path == s || strings.HasPrefix(pr.Path, s+".") || strings.HasPrefix(pr.Path, s+"[") {
				drop = true
			}
		}
		if !drop {
			out = append(out, pr)
		}
	}
	return out
}
