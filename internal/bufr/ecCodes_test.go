package bufr

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

// dumpKey is one entry of `bufr_dump -jf` (ecCodes 2.28) output.
type dumpKey struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Index     int             `json:"index"`
	Code      string          `json:"code"`
	Units     string          `json:"units"`
	Scale     int             `json:"scale"`
	Reference int64           `json:"reference"`
	Width     int             `json:"width"`
}

// splitDump cuts the flat key list into messages (index restarts at 1) and,
// for uncompressed messages, subsets (a subsetNumber key starts each).
func splitDump(keys []dumpKey) [][]dumpKey {
	var msgs [][]dumpKey
	for _, k := range keys {
		if k.Key == "subsetNumber" {
			continue
		}
		if k.Index == 1 {
			msgs = append(msgs, nil)
		}
		msgs[len(msgs)-1] = append(msgs[len(msgs)-1], k)
	}
	return msgs
}

// TestEveryKeyMatchesEcCodes decodes every real ECMWF track sample and
// compares each key of each message with ecCodes' independent decoding:
// descriptor, name, units, scale, reference, width and the value in every
// subset (null = missing).
func TestEveryKeyMatchesEcCodes(t *testing.T) {
	files := testutil.SharedSamples(t, "ecmwf", "*.bufr")
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			dumpRaw, err := os.ReadFile(strings.TrimSuffix(path, ".bufr") + ".ecCodes.json")
			require.NoError(t, err)
			var dump struct {
				Messages []dumpKey `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(dumpRaw, &dump))
			want := splitDump(dump.Messages)

			msgs, err := Decode(raw)
			require.NoError(t, err)
			require.Len(t, msgs, len(want), "messages")
			checked := 0
			for mi, m := range msgs {
				got := make([][]Value, m.NumSubsets())
				for s := range got {
					got[s] = m.Subset(s)
				}
				require.NotEmpty(t, got)
				if !m.Compressed {
					// ecCodes lists an uncompressed message subset after subset.
					var all []Value
					for _, s := range got {
						all = append(all, s...)
					}
					got = [][]Value{all}
				}
				require.Len(t, got[0], len(want[mi]), "message %d: number of keys", mi+1)
				for ki, wk := range want[mi] {
					where := fmt.Sprintf("message %d key %d (%s)", mi+1, ki+1, wk.Key)
					e := got[0][ki].Elem
					require.Equal(t, wk.Code, e.Code.String(), where)
					require.Equal(t, wk.Key, e.Key, where)
					require.Equal(t, wk.Units, e.Unit, where)
					require.Equal(t, wk.Scale, e.Scale, where)
					require.Equal(t, wk.Reference, e.Reference, where)
					require.Equal(t, wk.Width, e.Width, where)
					var perSubset []json.RawMessage
					if len(wk.Value) > 0 && wk.Value[0] == '[' {
						require.NoError(t, json.Unmarshal(wk.Value, &perSubset), where)
						require.Len(t, perSubset, len(got), where)
					}
					for s := range got {
						w := wk.Value
						if perSubset != nil {
							w = perSubset[s]
						}
						assertValue(t, w, got[s][ki], fmt.Sprintf("%s subset %d", where, s+1))
						checked++
					}
				}
			}
			t.Logf("%d values checked against ecCodes", checked)
		})
	}
}

func assertValue(t *testing.T, want json.RawMessage, got Value, where string) {
	t.Helper()
	if string(want) == "null" {
		require.True(t, got.Missing, "%s: ecCodes says missing, got %v %q", where, got.Num, got.Str)
		return
	}
	require.False(t, got.Missing, "%s: missing, ecCodes says %s", where, want)
	if want[0] == '"' {
		var s string
		require.NoError(t, json.Unmarshal(want, &s))
		require.Equal(t, s, got.Str, where)
		return
	}
	var f float64
	require.NoError(t, json.Unmarshal(want, &f), where)
	require.LessOrEqual(t, math.Abs(f-got.Num), 1e-9*math.Max(1, math.Abs(f)), "%s: want %v got %v", where, f, got.Num)
}
