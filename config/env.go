package config

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override: HAZARDSYNC_ + the key path
// in upper case with dots as underscores (geosight.timeout →
// HAZARDSYNC_GEOSIGHT_TIMEOUT, sources.usgs.min_magnitude →
// HAZARDSYNC_SOURCES_USGS_MIN_MAGNITUDE). Lists take comma-separated values.
const EnvPrefix = "HAZARDSYNC_"

// EnvName is the environment variable overriding a key path.
func EnvName(path string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))
}

// EnvKeys lists every key path the environment can override: each scalar
// and list of the schema, walked from the defaults, including the default
// triggers' fields. Mappings (trigger levels and windows) and lists of
// sections (indicators, geographies.files) are set in the file only: a
// single variable could not say which entry it meant. Source keys depend on
// the file's source and sink names and are listed per section (envKeys).
func EnvKeys() []string {
	var out []string
	schemaKeys("", Defaults(), &out)
	sort.Strings(out)
	return out
}

// schemaKeys appends the leaf keys under v: scalars and lists of scalars,
// through sections and the entries of maps of sections (not into lists of
// sections: a variable could not say which element it meant).
func schemaKeys(prefix string, v any, out *[]string) {
	WalkSchema(prefix, v, WalkOptions{Entries: true}, func(k SchemaKey) bool {
		switch k.Shape {
		case ShapeSection, ShapeMap:
			return true
		case ShapeValue:
			if isLeaf(k.Field.Type) {
				*out = append(*out, k.Path)
			}
		}
		return false
	})
}

// isLeaf: a value one variable can hold (scalars, times, lists of scalars).
func isLeaf(t reflect.Type) bool {
	if t == reflect.TypeOf(time.Time{}) || t == reflect.TypeOf(time.Duration(0)) {
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		k := t.Elem().Kind()
		return k != reflect.Struct && k != reflect.Map && k != reflect.Slice && k != reflect.Interface
	case reflect.Struct, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan:
		return false
	}
	return true
}

// envKeys lists the keys of one instance section of the given kind.
func (s pluginSection) envKeys(name, kind string) []string {
	prefix := s.key + "." + name + "."
	var out []string
	for k := range s.common {
		out = append(out, prefix+k)
	}
	if newCfg, ok := s.kinds.newConfig(kind); ok {
		schemaKeys(prefix, newCfg, &out)
	}
	sort.Strings(out)
	return out
}

// envOverrides returns the overrides set in the environment, by key path.
func envOverrides(keys []string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := os.LookupEnv(EnvName(k)); ok {
			out[k] = v
		}
	}
	return out
}

// setPath puts val at a dotted path inside m, creating sections.
func setPath(m map[string]any, path string, val any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = val
}

// nameEnvVars adds "(from HAZARDSYNC_…)" to every problem at a key the
// environment set, so the operator looks in the unit file, not the YAML.
func nameEnvVars(p Problems, env map[string]string) {
	for i := range p {
		for k := range env {
			if p[i].Path == k || strings.HasPrefix(p[i].Path, k+"[") {
				p[i].Message += " (set by " + EnvName(k) + ")"
			}
		}
	}
}

// env applies the environment to the instance sections the file names
// and returns what it set, by key path. `enabled` is read as a boolean
// here because the section is decoded by hand.
func (s pluginSection) env(raw map[string]any) map[string]string {
	set := map[string]string{}
	for name, r := range raw {
		sec, ok := r.(map[string]any)
		if r == nil {
			sec, ok = map[string]any{}, true
		}
		if !ok {
			continue
		}
		kind := name
		if t, ok := sec["type"]; ok {
			kind = fmt.Sprint(t)
		}
		prefix := s.key + "." + name + "."
		for k, val := range envOverrides(append(s.envKeys(name, kind), leafPaths(prefix, sec)...)) {
			var v any = val
			if k == prefix+"enabled" {
				if b, err := strconv.ParseBool(val); err == nil {
					v = b
				}
			}
			setPath(sec, strings.TrimPrefix(k, prefix), v)
			set[k] = val
		}
		raw[name] = sec
	}
	return set
}

// envValue turns a variable's text into what the key takes: lists are
// comma-separated.
func envValue(path, val string) any {
	if t := typeAt(path); t != nil && t.Kind() == reflect.Slice {
		parts := strings.Split(val, ",")
		out := make([]any, 0, len(parts))
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return val
}

// typeAt is the Go type of the key at path in the schema (nil if unknown);
// path is as written in a file, without list indices.
func typeAt(path string) reflect.Type {
	want := strings.Split(path, ".")
	var found reflect.Type
	WalkSchema("", Config{}, WalkOptions{}, func(k SchemaKey) bool {
		if found != nil || !MatchKeys(k.Keys, want) {
			return false
		}
		if len(k.Keys) == len(want) {
			found = k.Field.Type
			return false
		}
		return true
	})
	return found
}

// leafPaths lists the scalar keys written in a section of the file, so the
// environment can also override what the schema walk cannot name (entries
// of mappings, such as a trigger's levels.watch).
func leafPaths(prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			if prefix == "" && (k == sourceSection.key || k == sinkSection.key) {
				continue // handled per source, with its kind's keys
			}
			out = append(out, leafPaths(prefix+k+".", sub)...)
			continue
		}
		out = append(out, prefix+k)
	}
	return out
}
