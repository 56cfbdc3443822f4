package areas

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

func demoFile(t *testing.T) config.GeoFile {
	f := config.GeoFileDefaults()
	f.Path = testutil.Fixture(t, "demo", "areas.geojson")
	f.PCodeProperty = "pcode"
	return f
}

func TestLoadDemo(t *testing.T) {
	as, pcodes, err := LoadFiles([]config.GeoFile{demoFile(t)})
	require.NoError(t, err)
	require.Len(t, as, 41)
	assert.Equal(t, "DML_V1", as[0].Code, "sorted by level then code")
	var d *int
	for i, a := range as {
		if a.Code == "DML_0004_0009_V1" {
			d = &i
			assert.Equal(t, []string{"DML_0004_V1", "DML_V1"}, a.Parents, "full parent chain, nearest first")
			assert.Equal(t, 2, a.Level)
		}
	}
	require.NotNil(t, d)
	assert.Equal(t, "DML_0004_0009_V1", pcodes["DM0409"])

	warnings, err := ApplyBaseline(as, config.Baseline{File: testutil.Fixture(t, "demo", "baseline.csv"), KeyColumn: "pcode",
		KeyType: "pcode", PopulationColumn: "population", Under18Column: "under18", SchoolsColumn: "schools"}, pcodes)
	require.NoError(t, err)
	assert.Empty(t, warnings)
	for _, a := range as {
		require.NotNil(t, a.Baseline.Population, a.Code)
		require.NotNil(t, a.Baseline.Under18, a.Code)
		assert.Less(t, *a.Baseline.Under18, *a.Baseline.Population)
	}
}

func TestBadInputsNameWhatAndWhere(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	cases := []struct {
		name, body, want string
	}{
		{"nocode.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"admin_level":1},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`,
			`feature 0: property "ucode" (code_property) is missing`},
		{"nolevel.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ucode":"A"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`,
			`feature 0 (A): property "admin_level" (level_property) is missing`},
		{"point.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ucode":"A","admin_level":1},"geometry":{"type":"Point","coordinates":[0,0]}}]}`,
			`(A): geometry is Point, want Polygon or MultiPolygon`},
		{"dup.geojson", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ucode":"A","admin_level":1},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},{"type":"Feature","properties":{"ucode":"A","admin_level":1},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`,
			`feature 1 (A): code A also in`},
		{"notjson.geojson", `{"type":`, `not a GeoJSON FeatureCollection`},
	}
	for _, c := range cases {
		f := config.GeoFileDefaults()
		f.Path = write(c.name, c.body)
		_, _, err := LoadFiles([]config.GeoFile{f})
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Contains(t, err.Error(), c.name, "names the file")
	}

	as, _, err := LoadFiles([]config.GeoFile{demoFile(t)})
	require.NoError(t, err)
	csv := write("base.csv", "ucode,population,under18\nDML_V1,100,x\nNOPE,1,1\nDML_0001_V1,-5,1\n")
	warnings, err := ApplyBaseline(as, config.Baseline{File: csv, KeyColumn: "ucode", KeyType: "ucode", PopulationColumn: "population", Under18Column: "under18"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `line 2 column "under18": want a number >= 0, got "x"`)
	assert.Contains(t, err.Error(), `line 4 column "population"`)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], `line 3: ucode "NOPE" matches no area`)
	_, err = ApplyBaseline(as, config.Baseline{File: csv, KeyColumn: "code", KeyType: "ucode"}, nil)
	assert.ErrorContains(t, err, `key column "code" not in header`)
}
