package layer

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MissingPropertyError says a mapping names a property a feature lacks.
type MissingPropertyError struct {
	Layer, Feature, Property, Setting string
	Have                              []string
}

func (e *MissingPropertyError) Error() string {
	have := strings.Join(e.Have, ", ")
	if len(e.Have) > 12 {
		have = strings.Join(e.Have[:12], ", ") + ", …"
	}
	if have == "" {
		have = "no properties"
	}
	return fmt.Sprintf("layer %s: feature %s: property %q (%s) is missing; the feature has: %s",
		e.Layer, e.Feature, e.Property, e.Setting, have)
}

// lookup finds a property by exact name, else by a unique case-insensitive
// match: ArcGIS field names are often upper case while configs are written
// in lower case.
func lookup(props map[string]any, name string) (any, bool) {
	if v, ok := props[name]; ok {
		return v, true
	}
	var found any
	n := 0
	for k, v := range props {
		if strings.EqualFold(k, name) {
			found, n = v, n+1
		}
	}
	return found, n == 1
}

func propertyNames(props map[string]any) []string {
	out := make([]string, 0, len(props))
	for k := range props {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// text renders a property value as the string used for value maps, ids and
// labels: numbers without exponent noise, strings trimmed.
func text(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return strings.TrimSpace(t), true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return "", false
		}
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case json.Number:
		return t.String(), true
	case bool:
		return strconv.FormatBool(t), true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	}
	return "", false
}

// number reads a numeric property (a JSON number or a numeric string).
func number(v any) (float64, error) {
	switch t := v.(type) {
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return 0, fmt.Errorf("not a finite number")
		}
		return t, nil
	case int:
		return float64(t), nil
	case int64:
		return float64(t), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%q is not a number", t)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// lowerKeys copies a value map with lower-cased keys: viper lower-cases map
// keys from YAML, so user-given keys are matched case-insensitively.
func lowerKeys[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out
}

var namedTimeFormats = map[string]bool{"": true, "auto": true, "rfc3339": true, "date": true, "unix": true, "unix_ms": true}

func checkTimeFormat(f string) error {
	if namedTimeFormats[strings.ToLower(f)] {
		return nil
	}
	if !strings.Contains(f, "2006") {
		return fmt.Errorf("must be auto, rfc3339, date, unix, unix_ms or a Go layout containing 2006, got %q", f)
	}
	return nil
}

var autoLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04Z07:00",
	"2006-01-02T15:04", "2006-01-02"}

// parseTime reads a time property. Times without a zone are UTC.
func parseTime(v any, format string) (time.Time, error) {
	f := strings.ToLower(format)
	epoch := func(x float64, ms bool) (time.Time, error) {
		if ms {
			x /= 1000
		}
		if x < -1e11 || x > 1e11 {
			return time.Time{}, fmt.Errorf("epoch %v out of range", x)
		}
		sec := math.Floor(x)
		return time.Unix(int64(sec), int64((x-sec)*1e9)).UTC(), nil
	}
	switch f {
	case "unix", "unix_ms":
		x, err := number(v)
		if err != nil {
			return time.Time{}, err
		}
		return epoch(x, f == "unix_ms")
	case "", "auto":
		if _, isStr := v.(string); !isStr {
			x, err := number(v)
			if err != nil {
				return time.Time{}, err
			}
			// ArcGIS date fields are epoch milliseconds; 1e11 s is year 5138.
			return epoch(x, math.Abs(x) > 1e11)
		}
		s, _ := text(v)
		for _, l := range autoLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DD or epoch)", s)
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%v (%T) is not a time string", v, v)
	}
	layout := format
	switch f {
	case "rfc3339":
		layout = time.RFC3339Nano
	case "date":
		layout = "2006-01-02"
	}
	t, err := time.Parse(layout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match %s", s, layout)
	}
	return t.UTC(), nil
}
