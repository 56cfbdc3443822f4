package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// values.geojson is streamed feature by feature and must be exactly what
// marshalling the whole collection gave.
func TestWriteIndentedCollectionIsMarshalIndent(t *testing.T) {
	pop := 1200.5
	areas := []indicators.Area{
		{Code: "A", Name: "North <&> \"quoted\"", Level: 1, Geometry: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}, Baseline: indicators.Baseline{Population: &pop}},
		{Code: "A1", Name: "Söd", Level: 2, Parents: []string{"A"}, Geometry: orb.MultiPolygon{{{{0, 0}, {0.5, 0}, {0.5, 0.5}, {0, 0}}}, {{{0.6, 0.6}, {0.9, 0.6}, {0.9, 0.9}, {0.6, 0.6}}}}},
		{Code: "B", Name: "No geometry", Level: 2},
	}
	defs := []indicators.Definition{{Shortcode: "HS_X", Name: "X", Type: indicators.Float}, {Shortcode: "HS_S", Name: "S", Type: indicators.String, Codes: []string{"none", "red"}}}
	vals := []indicators.Value{
		{Indicator: "HS_X", Code: "A1", AdminLevel: 2, Date: "2026-01-02", Type: indicators.Float, Number: 3.25, Attributes: map[string]any{"method": "grid-exact", "events": []string{"e<1>"}}},
		{Indicator: "HS_S", Code: "A", AdminLevel: 1, Date: "2026-01-02", Type: indicators.String, Text: "red"},
	}
	tests := []struct {
		name  string
		areas []indicators.Area
		vals  []indicators.Value
	}{
		{"areas and values", areas, vals},
		{"no values", areas, nil},
		{"one area", areas[:1], vals},
		{"no areas", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.MarshalIndent(areasCollection(tc.areas, defs, tc.vals, false), "", " ")
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, writeIndentedCollection(&got, areasCollection(tc.areas, defs, tc.vals, false)))
			assert.Equal(t, string(want), got.String())
		})
	}
}

func TestWriteFileAtomicFuncLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "values.geojson")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
	err := writeFileAtomicFunc(p, func(io.Writer) error { return errors.New("boom") })
	require.Error(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b), "the old file stays")
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, es, 1, "no temp file left")
}
