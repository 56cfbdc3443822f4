package indicators

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// sameAttributes recognises plainly equal attribute sets without
// marshalling them: it must answer exactly what comparing their JSON does,
// for values as computed (ints) against values read back from the store
// (float64), and for the cases where equal JSON and equal Go values part:
// -0, huge integers, NaN, invalid UTF-8, nil against empty.
func TestSameAttributesIsJSONEquality(t *testing.T) {
	scalars := []any{"a", "b", "", "\xff", "\xfe", "<", "\u003c", "\ufffd", true, false, nil,
		0, 2, -3, 1 << 53, 1<<53 + 1, -1 << 53, 0.0, math.Copysign(0, -1), 2.0, -3.0, 0.1, 1e20, 1e21,
		float64(1 << 53), float64(1<<53 + 2), math.NaN(), math.Inf(1), int64(2), float32(2),
		[]any{1.0}, []any{1}, map[string]any{"x": 1}, map[string]any{"x": 1.0}}
	keys := []string{"phase", "events", "from_level", "sub_areas", "\xff", "\ufffd"}
	random := func(rng *rand.Rand) map[string]any {
		switch rng.IntN(8) {
		case 0:
			return nil
		case 1:
			return map[string]any{}
		}
		m := map[string]any{}
		for range 1 + rng.IntN(3) {
			m[keys[rng.IntN(len(keys))]] = scalars[rng.IntN(len(scalars))]
		}
		return m
	}
	jsonSame := func(a, b map[string]any) bool {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return string(x) == string(y)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 20000 {
		a := random(rng)
		b := random(rng)
		if round%2 == 0 && a != nil { // mostly-equal pairs: b is a with one value swapped
			b = map[string]any{}
			for k, v := range a {
				b[k] = v
			}
			for k := range b {
				b[k] = scalars[rng.IntN(len(scalars))]
				break
			}
		}
		require.Equal(t, jsonSame(a, b), sameAttributes(a, b), "round %d: %#v vs %#v", round, a, b)
		require.True(t, sameAttributes(a, a) == jsonSame(a, a), "round %d: %#v with itself", round, a)
	}
}
