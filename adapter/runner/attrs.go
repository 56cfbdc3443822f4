package runner

import (
	"math"
	"slices"
	"strconv"

	"github.com/hazardsync/hazardsync/indicators"
)

// internAttributes makes values whose attributes are equal share one map.
// A sync's values repeat few distinct attribute sets (35,333 values, 1,425
// distinct at bench-e2e's country: an area's events, phase and method are
// the same for all its exposure indicators), and a map per value held
// ~18 MB there — kept between syncs for the status page (a sync that is
// not a dry run keeps its values; BenchmarkInternAttributes: 20.4 MB of
// attributes to 0.08 MB on its synthetic country, 13–16 ms a sync). It
// runs once no step changes a value's attributes any more (after
// hysteresis and roll-ups): from here on they are only read, so sharing is
// invisible.
// Maps holding anything but strings, numbers and booleans keep their own.
func internAttributes(vals []indicators.Value) {
	seen := make(map[string]map[string]any, 1024)
	var key []byte
	var keys []string
	for i := range vals {
		a := vals[i].Attributes
		if len(a) == 0 {
			continue
		}
		keys = keys[:0]
		for k := range a {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		key = key[:0]
		ok := true
		for _, k := range keys {
			key = strconv.AppendInt(key, int64(len(k)), 10)
			key = append(key, ':')
			key = append(key, k...)
			switch v := a[k].(type) {
			case string:
				key = append(key, 's')
				key = strconv.AppendInt(key, int64(len(v)), 10)
				key = append(key, ':')
				key = append(key, v...)
			case float64:
				key = append(key, 'f')
				key = strconv.AppendUint(key, math.Float64bits(v), 16)
			case int:
				key = append(key, 'i')
				key = strconv.AppendInt(key, int64(v), 10)
			case int64:
				key = append(key, 'I')
				key = strconv.AppendInt(key, v, 10)
			case bool:
				key = strconv.AppendBool(append(key, 'b'), v)
			default:
				ok = false
			}
			if !ok {
				break
			}
			key = append(key, ';')
		}
		if !ok {
			continue
		}
		if m, hit := seen[string(key)]; hit {
			vals[i].Attributes = m
		} else {
			seen[string(key)] = a
		}
	}
}
