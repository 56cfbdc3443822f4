package config

import (
	"encoding"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The schema walker: the one place that knows how a typed config value
// becomes keys. Keys come from mapstructure tags (FieldKey), defaults from
// the value walked (Defaults(), a source kind's NewConfig, a recipe's
// NewParams). The docs generator (config reference and recipe params),
// `hazardsync sources`, the environment overrides, the "did you mean" of
// unknown keys and the sample's checks all walk with it.

// Shape says how a key is written in YAML.
type Shape int

const (
	// ShapeValue is a key holding a value: a scalar, a list or a map of values.
	ShapeValue Shape = iota
	// ShapeSection is a nested mapping of keys.
	ShapeSection
	// ShapeList is a list of sections (indicators, geographies.files).
	ShapeList
	// ShapeMap maps names to sections (triggers, sources).
	ShapeMap
)

// SchemaKey is one key as WalkSchema visits it.
type SchemaKey struct {
	// Path is the dotted key path under the walk's prefix. The elements of a
	// list of sections add "[]" (indicators[].recipe); the entries of a map
	// of sections add "<name>" (triggers.<name>.levels), or each entry's own
	// key with WalkOptions.Entries.
	Path string
	// Keys are Path's parts without the "[]": what a path written in a
	// file, indices dropped, matches part by part ("<name>" matching any).
	Keys []string
	// Field is the struct field of the key; Owner the struct declaring it
	// (for its doc comment).
	Field reflect.StructField
	Owner reflect.Type
	Shape Shape
	// Value is the key's value in what is walked: its default when walking
	// defaults. Where the walk has no value to read (the elements of a
	// list, the entries of a map without WalkOptions.Entries) it is a zero
	// value standing in and Defaulted is false: a zero there is not a
	// default.
	Value     reflect.Value
	Defaulted bool
}

// WalkOptions adjust a walk.
type WalkOptions struct {
	// ElemDefaults are the defaults of list elements by element type (a
	// list's zero value has none to read).
	ElemDefaults map[reflect.Type]any
	// Entries walks the entries a map of sections holds, under their own
	// names, instead of one "<name>" stand-in.
	Entries bool
}

// ElemDefaulter is implemented by a config struct whose lists of sections
// have per-element defaults: ElemDefaults returns one default element per
// list element type. WalkSchema reads the defaults of such lists from it.
type ElemDefaulter interface {
	ElemDefaults() []any
}

// WalkSchema visits every key of v (a struct or a pointer to one; a nil
// pointer walks its type's zero value) in field order, under prefix (which
// ends in "." when not empty). visit returns whether to descend into the
// keys of a section, list of sections or map of sections.
func WalkSchema(prefix string, v any, opts WalkOptions, visit func(SchemaKey) bool) {
	rv, ok := v.(reflect.Value)
	if !ok {
		rv = reflect.ValueOf(v)
	}
	walkSchema(prefix, splitKeys(prefix), rv, true, opts, visit)
}

func splitKeys(prefix string) []string {
	var out []string
	start := 0
	for i := 0; i < len(prefix); i++ {
		if prefix[i] == '.' {
			if i > start {
				out = append(out, prefix[start:i])
			}
			start = i + 1
		}
	}
	if start < len(prefix) {
		out = append(out, prefix[start:])
	}
	return out
}

func walkSchema(prefix string, keys []string, v reflect.Value, defaulted bool, opts WalkOptions, visit func(SchemaKey) bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			if v.Kind() == reflect.Interface {
				return
			}
			v = reflect.New(v.Type().Elem())
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	if ed, ok := v.Interface().(ElemDefaulter); ok {
		merged := maps.Clone(opts.ElemDefaults)
		if merged == nil {
			merged = map[reflect.Type]any{}
		}
		for _, d := range ed.ElemDefaults() {
			merged[reflect.TypeOf(d)] = d
		}
		opts.ElemDefaults = merged
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, squash, skip := FieldKey(f)
		if skip {
			continue
		}
		fv := v.Field(i)
		if squash {
			walkSchema(prefix, keys, fv, defaulted, opts, visit)
			continue
		}
		k := SchemaKey{Path: prefix + key, Keys: append(slices.Clip(keys), key), Field: f, Owner: t,
			Shape: ShapeOf(f.Type), Value: fv, Defaulted: defaulted}
		if !visit(k) {
			continue
		}
		switch k.Shape {
		case ShapeSection:
			walkSchema(k.Path+".", k.Keys, fv, defaulted, opts, visit)
		case ShapeList:
			elem := reflect.New(f.Type.Elem()).Elem()
			elemDefaulted := false
			if d, ok := opts.ElemDefaults[f.Type.Elem()]; ok {
				elem, elemDefaulted = reflect.ValueOf(d), true
			}
			walkSchema(k.Path+"[].", k.Keys, elem, elemDefaulted, opts, visit)
		case ShapeMap:
			if !opts.Entries {
				walkSchema(k.Path+".<name>.", append(slices.Clip(k.Keys), "<name>"), reflect.New(f.Type.Elem()).Elem(), false, opts, visit)
				continue
			}
			names := fv.MapKeys()
			slices.SortFunc(names, byText)
			for _, n := range names {
				name := fmt.Sprint(n)
				walkSchema(k.Path+"."+name+".", append(slices.Clip(k.Keys), name), fv.MapIndex(n), defaulted, opts, visit)
			}
		}
	}
}

// byText orders map keys by their text.
func byText(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }

var (
	timeType            = reflect.TypeOf(time.Time{})
	durationType        = reflect.TypeOf(time.Duration(0))
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// ShapeOf says how a value of Go type t is written in a config.
func ShapeOf(t reflect.Type) Shape {
	switch {
	case isSection(t):
		return ShapeSection
	case t.Kind() == reflect.Slice && isSection(t.Elem()):
		return ShapeList
	case t.Kind() == reflect.Map && isSection(t.Elem()):
		return ShapeMap
	}
	return ShapeValue
}

// isSection reports whether t is decoded as a nested mapping of keys: a
// struct that is not a scalar in disguise (a time, a text-unmarshalled
// value).
func isSection(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return false
	}
	return !reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// MatchKeys reports whether a key's Keys are a prefix of (or equal to) the
// parts of a path written in a file, "<name>" matching any part.
func MatchKeys(keys, path []string) bool {
	if len(keys) > len(path) {
		return false
	}
	for i, k := range keys {
		if k != "<name>" && k != path[i] {
			return false
		}
	}
	return true
}

var textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()

// FormatDefault renders a default as it is written in YAML (flow style:
// 10m, [en, fr], {a: 1}); "" means none (an empty string, list or map, a
// nil pointer).
func FormatDefault(v reflect.Value) string {
	if s, ok := yamlValue(v); ok {
		return s
	}
	return ""
}

// yamlValue renders v in YAML flow style; ok is false for "no value".
func yamlValue(v reflect.Value) (string, bool) {
	if !v.IsValid() {
		return "", false
	}
	if v.Type() == timeType && v.Interface().(time.Time).IsZero() {
		return "", false
	}
	if v.Type() == durationType {
		return FormatDuration(time.Duration(v.Int())), true
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
		slices.SortFunc(keys, byText)
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
			key, _, skip := FieldKey(t.Field(i))
			if skip {
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
