package main

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

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
)

// walker turns a typed config value into rows. The keys, shapes and
// defaults come from config.WalkSchema (the walker `hazardsync sources`,
// the environment overrides and the sample's check use too); this adds
// the descriptions, from the doc comments in source: documentation, not
// type guessing.
type walker struct {
	mod *module
	// elemDefaults are the defaults of list elements (a list's zero value
	// has none to reflect on), by element type.
	elemDefaults map[reflect.Type]any
}

// rows walks v (a struct or pointer to one) under prefix.
func (w *walker) rows(prefix string, v any) ([]row, error) {
	var out []row
	var err error
	config.WalkSchema(prefix, v, config.WalkOptions{ElemDefaults: w.elemDefaults}, func(k config.SchemaKey) bool {
		if err != nil {
			return false
		}
		var desc string
		if desc, err = w.describe(k); err != nil {
			return false
		}
		r := row{Key: k.Path, Type: typeName(k.Field.Type), Description: desc}
		switch {
		case k.Shape == config.ShapeSection:
			r.Type = "mapping"
		case k.Shape == config.ShapeMap:
			r.Default, r.Prose = mapKeys(k.Value), true
		case k.Defaulted || !k.Value.IsZero():
			r.Default = config.FormatDefault(k.Value)
		}
		out = append(out, r)
		return true
	})
	return out, err
}

// describe is a key's doc comment, from its struct's source when that
// struct is in this module.
func (w *walker) describe(k config.SchemaKey) (string, error) {
	if k.Owner.PkgPath() == "" || !strings.HasPrefix(k.Owner.PkgPath(), w.mod.Path) {
		return "", nil
	}
	ps, err := w.mod.pkg(k.Owner.PkgPath())
	if err != nil {
		return "", err
	}
	return ps.fieldDocs(k.Owner.Name())[k.Field.Name], nil
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

// typeName is a YAML-level type name. Named scalars of this module's
// packages (HazardType, Phase, Severity) read as words: they say more than
// "string".
func typeName(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	if t == timeType {
		return "timestamp"
	}
	if w := namedScalar(t); w != "" {
		return w
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

// indicatorsPkg holds the named scalars that read as words.
var indicatorsPkg = reflect.TypeOf(config.Config{}.Indicators).Elem().PkgPath()

// namedScalar words a named string or integer type of the indicators
// package by its name (HazardType → "hazard type"); "" for others.
func namedScalar(t reflect.Type) string {
	if t.PkgPath() != indicatorsPkg || t.Name() == "" {
		return ""
	}
	switch t.Kind() {
	case reflect.String, reflect.Int:
		return strings.ToLower(strings.Join(splitCamel(t.Name()), " "))
	}
	return ""
}

func splitCamel(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z' {
			out = append(out, s[start:i])
			start = i
		}
	}
	return append(out, s[start:])
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
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}
