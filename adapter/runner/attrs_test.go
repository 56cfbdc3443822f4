package runner

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// internAttributes: values share a map exactly when their attributes are
// equal (same keys, same values of the same type), and no value's
// attributes change.
func TestInternAttributesSharesEqualMapsOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	pick := []any{"a", "b", "a;b", "1:x", "", 1.0, 2.5, 1, int64(1), true, false}
	keys := []string{"events", "phase", "method", "a;", "1:x", ""}
	var vals []indicators.Value
	for range 3000 {
		var a map[string]any
		if rng.IntN(10) > 0 {
			a = map[string]any{}
			for range 1 + rng.IntN(3) {
				a[keys[rng.IntN(len(keys))]] = pick[rng.IntN(len(pick))]
			}
		}
		vals = append(vals, indicators.Value{Code: fmt.Sprint(len(vals)), Attributes: a})
	}
	vals = append(vals, indicators.Value{Attributes: map[string]any{"list": []string{"x"}}},
		indicators.Value{Attributes: map[string]any{"list": []string{"x"}}})
	want := make([]map[string]any, len(vals))
	for i, v := range vals {
		if v.Attributes != nil {
			want[i] = map[string]any{}
			for k, x := range v.Attributes {
				want[i][k] = x
			}
		}
	}
	internAttributes(vals)
	shared := 0
	for i := range vals {
		require.Equal(t, want[i], vals[i].Attributes, "value %d keeps its attributes", i)
		for j := i + 1; j < min(len(vals), i+200); j++ {
			if vals[i].Attributes == nil || vals[j].Attributes == nil {
				continue
			}
			same := mapID(vals[i].Attributes) == mapID(vals[j].Attributes)
			equal := reflect.DeepEqual(want[i], want[j])
			if _, list := want[i]["list"]; list {
				equal = false // not interned: maps of other kinds keep their own
			}
			require.Equal(t, equal, same, "values %d and %d: %v, %v", i, j, want[i], want[j])
			if same {
				shared++
			}
		}
	}
	assert.Positive(t, shared)
	n := len(vals)
	assert.NotEqual(t, mapID(vals[n-1].Attributes), mapID(vals[n-2].Attributes), "a list value is not interned")
}

// BenchmarkInternAttributes is internAttributes on make bench-e2e's
// country's values (countrySync); retained-MB is what the values'
// attributes hold on the heap afterwards (measured after a collection),
// beside base-MB without interning.
func BenchmarkInternAttributes(b *testing.B) {
	retained := func(intern bool) float64 {
		_, _, vals := countrySync()
		if intern {
			internAttributes(vals)
		}
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for i := range vals {
			vals[i].Attributes = nil
		}
		runtime.GC()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		runtime.KeepAlive(vals)
		return float64(m0.HeapAlloc-m1.HeapAlloc) / 1e6
	}
	base, interned := retained(false), retained(true)
	for b.Loop() {
		b.StopTimer()
		_, _, vals := countrySync()
		b.StartTimer()
		internAttributes(vals)
	}
	b.ReportMetric(base, "base-MB")
	b.ReportMetric(interned, "retained-MB")
}
