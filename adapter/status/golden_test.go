package status

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestValuesCSVGolden pins values.csv's exact format: column order, number
// spelling (Integer rounded, Float as is), String codes, attributes as
// sorted JSON and CSV quoting.
func TestValuesCSVGolden(t *testing.T) {
	vals := []indicators.Value{
		{Indicator: "HZ_ALERT", Code: "DML_0001_0005_V1", AdminLevel: 2, Date: "2026-11-27", Type: indicators.String, Text: "orange",
			Attributes: map[string]any{"phase": "observed", "events": []string{"eonet:EONET_99101@2026-11-26T21:00:00Z"}}},
		{Indicator: "HZ_CHILDREN_EXPOSED", Code: "DML_0001_V1", AdminLevel: 1, Date: "2026-11-27", Type: indicators.Float, Number: 10757.25,
			Attributes: map[string]any{"method": "area-weighted", "note": `says "hi", twice`}},
		{Indicator: "HZ_PRESENT", Code: "DML_V1", AdminLevel: 0, Date: "2026-11-27", Type: indicators.Integer, Number: 0.6},
		{Indicator: "HZ_PRESENT", Code: "DML_0004_V1", AdminLevel: 1, Date: "2026-11-27", Type: indicators.Integer,
			Attributes: map[string]any{"cleared": true}},
	}
	attrs, err := (&attributesJSON{}).encode(vals)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, writeValuesCSV(&buf, vals, attrs))
	got := buf.Bytes()
	path := testutil.Fixture(t, "status", "values.golden.csv")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./adapter/status -run Golden -update")
	require.Equal(t, string(want), string(got))
}

func BenchmarkAreasGeoJSON(b *testing.B) {
	p, _ := demoData(b)
	s := NewServer(p, nil, Options{})
	b.ReportAllocs()
	for b.Loop() {
		rec := get(b, s, "/api/areas.geojson", nil)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkPage(b *testing.B) {
	p, _ := demoData(b)
	s := NewServer(p, nil, Options{Redact: []string{"some-api-key-value"}})
	b.ReportAllocs()
	for b.Loop() {
		rec := get(b, s, "/", nil)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
