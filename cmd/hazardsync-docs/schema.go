package main

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hazardsync/hazardsync/config"
)

// row is one documented config key.
type row struct {
	Key, Type, Default, Description string
	// Prose marks a default that is a sentence, not a YAML value.
	Prose bool
}

var (
	durationType        = reflect.TypeOf(time.Duration(0))
	timeType            = reflect.TypeOf(time.Time{})
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	textMarshalerType   = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// walker turns a typed config value into rows: keys from mapstructure tags,
// defaults from the value, descriptions from the doc comments in source.
type walker struct {
	mod *module
	// elemDefaults are the defaults of list elements (a list's zero value
	// has none to reflect on), by element type.
	elemDefaults map[reflect.Type]reflect.Value
	// stop lists types documented elsewhere: the walker emits one row for
	// the key and does not descend.
	stop map[reflect.Type]string
	// zeroIsNone is set inside list elements and map values that have no
	// defaults of their own: a zero there is not a default.
	zeroIsNone bool
}

// rows walks v (a struct or pointer to one) under prefix.
func (w *walker) rows(prefix string, v reflect.Value) ([]row, error) {
	var out []row
	err := w.walk(prefix, v, &out)
	return out, err
}

func (w *walker) walk(prefix string, v reflect.Value, out *[]row) error {
	def := func(fv reflect.Value) string {
		if w.zeroIsNone && fv.IsZero() {
			return ""
		}
		return formatDefault(fv)
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v = reflect.New(v.Type().Elem())
		}
		v = v.Elem()
	}
	t := v.Type()
	docs := map[string]string{}
	if t.PkgPath() != "" && strings.HasPrefix(t.PkgPath(), w.mod.Path) {
		ps, err := w.mod.pkg(t.PkgPath())
		if err != nil {
			return err
		}
		docs = ps.fieldDocs(t.Name())
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, squash, skip := tagKey(f.Tag, f.Name)
		if skip {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous || squash {
			if err := w.walk(prefix, fv, out); err != nil {
				return err
			}
			continue
		}
		path := prefix + key
		desc := docs[f.Name]
		ft := f.Type
		if note, ok := w.stop[ft]; ok {
			*out = append(*out, row{Key: path, Type: typeName(ft), Default: def(fv), Description: joinDesc(desc, note)})
			continue
		}
		switch {
		case isSection(ft):
			// A nested mapping: its keys get their own rows.
			*out = append(*out, row{Key: path, Type: "mapping", Description: desc})
			if err := w.walk(path+".", fv, out); err != nil {
				return err
			}
		case ft.Kind() == reflect.Slice && isSection(ft.Elem()):
			*out = append(*out, row{Key: path, Type: typeName(ft), Default: def(fv), Description: desc})
			ev, ok := w.elemDefaults[ft.Elem()]
			inner := *w
			if !ok {
				ev = reflect.New(ft.Elem()).Elem()
				inner.zeroIsNone = true
			}
			if err := inner.walk(path+"[].", ev, out); err != nil {
				return err
			}
		case ft.Kind() == reflect.Map && isSection(ft.Elem()):
			*out = append(*out, row{Key: path, Type: typeName(ft), Default: mapKeys(fv), Description: desc, Prose: true})
			inner := *w
			inner.zeroIsNone = true
			if err := inner.walk(path+".<name>.", reflect.New(ft.Elem()).Elem(), out); err != nil {
				return err
			}
		default:
			*out = append(*out, row{Key: path, Type: typeName(ft), Default: def(fv), Description: desc})
		}
	}
	return nil
}

func joinDesc(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + " " + b
}

// isSection reports whether t is decoded as a nested mapping of keys (a
// struct that is not a scalar in disguise).
func isSection(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return false
	}
	return !reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// typeName is a YAML-level type name.
func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	if t == timeType {
		return "timestamp"
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) && t.Kind() != reflect.Struct {
		return "string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list of " + plural(typeName(t.Elem()))
	case reflect.Map:
		return "map of " + typeName(t.Key()) + " to " + typeName(t.Elem())
	case reflect.Struct:
		return "mapping"
	case reflect.Interface:
		return "any"
	}
	return t.Kind().String()
}

func plural(s string) string {
	switch {
	case strings.HasPrefix(s, "list of "), strings.HasPrefix(s, "map of "), s == "any":
		return s
	case strings.HasSuffix(s, "y") && s != "any":
		return s
	}
	return s + "s"
}

// formatDefault renders a default as YAML would show it; "" for none.
func formatDefault(v reflect.Value) string {
	s, ok := yamlValue(v)
	if !ok {
		return ""
	}
	return s
}

// yamlValue renders v in YAML flow style; ok is false for "no value"
// (empty string, empty list or map, nil pointer).
func yamlValue(v reflect.Value) (string, bool) {
	if !v.IsValid() {
		return "", false
	}
	if v.Type() == timeType && v.Interface().(time.Time).IsZero() {
		return "", false
	}
	if v.Type() == durationType {
		return shortDuration(time.Duration(v.Int())), true
	}
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface && v.Type().Implements(textMarshalerType) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err == nil {
			return yamlString(string(b)), len(b) > 0
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return yamlValue(v.Elem())
	case reflect.String:
		return yamlString(v.String()), v.Len() > 0
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64), true
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return "", false
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i], _ = yamlValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	case reflect.Map:
		if v.Len() == 0 {
			return "", false
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		parts := make([]string, len(keys))
		for i, k := range keys {
			ks, _ := yamlValue(k)
			vs, _ := yamlValue(v.MapIndex(k))
			parts[i] = ks + ": " + vs
		}
		return "{" + strings.Join(parts, ", ") + "}", true
	case reflect.Struct:
		var parts []string
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key, _, skip := tagKey(f.Tag, f.Name)
			if !f.IsExported() || skip {
				continue
			}
			if s, ok := yamlValue(v.Field(i)); ok && !v.Field(i).IsZero() {
				parts = append(parts, key+": "+s)
			}
		}
		return "{" + strings.Join(parts, ", ") + "}", len(parts) > 0
	}
	return fmt.Sprint(v.Interface()), true
}

// yamlString quotes a string only when YAML would misread it.
func yamlString(s string) string {
	plain := s != "" && !strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") &&
		!unicode.IsSpace(rune(s[0])) && !unicode.IsSpace(rune(s[len(s)-1]))
	if plain {
		switch strings.ToLower(s) {
		case "true", "false", "yes", "no", "on", "off", "null", "~":
			plain = false
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			plain = false
		}
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}

// shortDuration drops zero minutes and seconds: 24h, 1h30m, 30s.
func shortDuration(d time.Duration) string { return config.FormatDuration(d) }

// mapKeys lists a map's keys (the entries a config gets by default).
func mapKeys(v reflect.Value) string {
	if v.Len() == 0 {
		return ""
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, "`"+fmt.Sprint(k)+"`")
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
