package config

import (
	"reflect"
	"strings"
	"time"
)

// FieldKey is a struct field's config key: its mapstructure tag, else its
// lower-cased name. squash: its keys belong to the parent (embedded, or
// ",squash"); skip: it is no config key (unexported, or tagged "-").
func FieldKey(f reflect.StructField) (key string, squash, skip bool) {
	parts := strings.Split(f.Tag.Get("mapstructure"), ",")
	if !f.IsExported() || parts[0] == "-" {
		return "", false, true
	}
	squash = f.Anonymous
	for _, p := range parts[1:] {
		squash = squash || p == "squash"
	}
	key = parts[0]
	if key == "" {
		key = strings.ToLower(f.Name)
	}
	return key, squash, false
}

// FormatDuration writes a duration as a config would: 10m, 12h, 1h30m
// (not 10m0s).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
