package layer

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb/geojson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// workedExampleYAML is the README's worked example (the sources and
// indicators sections), around the demo's geography and GeoSight settings.
const workedExampleYAML = `
geosight:
  url: embedded
  dataset: 6f3a2c1e-0000-4000-8000-000000000001
geographies:
  from: file
  files:
    - path: areas.geojson
      code_property: ucode
      name_property: name
      level_property: admin_level
baseline:
  file: baseline.csv
  key_column: ucode
  population_column: population
  under18_column: under18

# --- README worked example starts here ---
sources:
  flood_extent:
    type: layer
    format: geojson
    url: file://feeds/layer/flood_extent.geojson
    interval: 15m
    hazard_type: flood
    phase: observed
    event_id_property: event_id
    severity:
      property: depth_class
      map: {High: red, Medium: orange, Low: green}
    intensity:
      property: depth_m
      unit: m
    valid_from:
      property: observed

indicators:
  - shortcode: HS_FL_CHILD
    name: Children in observed flood extents
    category: Exposure
    type: Integer
    unit: children
    recipe: children_exposed
    params: {hazard_types: [flood], phase: observed, sources: [flood_extent]}
`

// demoDistricts reads the demo's admin-2 areas with their baselines.
func demoDistricts(t *testing.T) []indicators.Area {
	t.Helper()
	fc, err := geojson.UnmarshalFeatureCollection(readFixture(t, "demo", "areas.geojson"))
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(readFixture(t, "demo", "baseline.csv"))).ReadAll()
	require.NoError(t, err)
	u18 := map[string]float64{}
	pop := map[string]float64{}
	for _, r := range rows[1:] {
		p, err1 := strconv.ParseFloat(r[4], 64)
		u, err2 := strconv.ParseFloat(r[5], 64)
		require.NoError(t, err1)
		require.NoError(t, err2)
		pop[r[0]], u18[r[0]] = p, u
	}
	var out []indicators.Area
	for _, f := range fc.Features {
		if fmt.Sprint(f.Properties["admin_level"]) != "2" {
			continue
		}
		code := f.Properties.MustString("ucode")
		out = append(out, indicators.Area{Code: code, Name: f.Properties.MustString("name"), Level: 2, Geometry: f.Geometry,
			Baseline: indicators.Baseline{Population: indicators.F(pop[code]), Under18: indicators.F(u18[code])}})
	}
	require.Len(t, out, 36)
	return out
}

// TestWorkedExampleChildrenExposed runs the README example end to end: the
// config as an admin writes it (viper lower-cases the severity map's keys),
// the layer source reading the demo flood extent, and children_exposed per
// district by the area-weighted method. The result is a golden CSV.
func TestWorkedExampleChildrenExposed(t *testing.T) {
	demoDir := testutil.Fixture(t, "demo")
	cfg, err := config.Parse([]byte(workedExampleYAML), demoDir, config.Overrides{})
	require.NoError(t, err)
	spec, ok := cfg.Sources["flood_extent"]
	require.True(t, ok)
	lc := spec.Plugin.(*Config)
	assert.Equal(t, map[string]string{"high": "red", "medium": "orange", "low": "green"}, lc.Severity.Map, "viper lower-cases map keys")

	src, err := adapter.BuildSource(spec, adapter.Env{Fetch: cfg.Fetch, BaseDir: cfg.BaseDir, Now: func() time.Time { return testNow }})
	require.NoError(t, err)
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Empty(t, b.Problems)
	require.Len(t, b.Events, 2)
	assert.Equal(t, indicators.SeverityRed, b.Events[0].Severity, "High matched the lower-cased map key")

	areas := demoDistricts(t)
	def := cfg.Indicators[0]
	recipe, ok := indicators.LookupRecipe(def.Recipe)
	require.True(t, ok)
	in := &indicators.Input{Events: b.Events, Areas: areas, Exposure: indicators.NewAreaWeighted(areas),
		Now: testNow, Date: indicators.DateOf(testNow, time.UTC)}
	vals, err := recipe.Compute(def, in)
	require.NoError(t, err)

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	require.NoError(t, w.Write([]string{"ucode", "name", "under18", "children_exposed", "events"}))
	names := map[string]indicators.Area{}
	for _, a := range areas {
		names[a.Code] = a
	}
	total := 0.0
	for _, v := range vals {
		a := names[v.Code]
		total += v.Number
		require.NoError(t, w.Write([]string{v.Code, a.Name, strconv.FormatFloat(*a.Baseline.Under18, 'f', -1, 64),
			strconv.FormatFloat(v.Number, 'f', -1, 64), fmt.Sprint(v.Attributes["events"])}))
		assert.Greater(t, v.Number, 0.0)
		assert.Less(t, v.Number, *a.Baseline.Under18, "a river valley never covers a whole district")
	}
	w.Flush()
	// The main river crosses the country and the creek joins it: many
	// districts, but far from all 36.
	assert.GreaterOrEqual(t, len(vals), 8)
	assert.Less(t, len(vals), 30)
	t.Logf("%d districts, %.0f children exposed in total", len(vals), total)

	golden := testutil.Fixture(t, "layer", "golden", "demo_children_exposed.csv")
	if *update {
		require.NoError(t, os.MkdirAll(testutil.Fixture(t, "layer", "golden"), 0o755))
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), buf.String(), "rerun with -update after an intended change")
}
