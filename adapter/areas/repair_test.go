package areas

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestInvalidAreasRepairedAndReported: a figure-8 used to stop the whole
// run with "empty geometry" and a self-intersecting ring was accepted
// silently with numbers unlike its repaired shape. Each is now repaired as
// GEOS make_valid would and reported with its ucode and the problem; an
// area with nothing left after repair is refused by name.
func TestInvalidAreasRepairedAndReported(t *testing.T) {
	write := func(features string) config.GeoFile {
		p := filepath.Join(t.TempDir(), "areas.geojson")
		require.NoError(t, os.WriteFile(p, []byte(`{"type":"FeatureCollection","features":[`+features+`]}`), 0o644))
		f := config.GeoFileDefaults()
		f.Path = p
		return f
	}
	feat := func(code, coords string) string {
		return `{"type":"Feature","properties":{"ucode":"` + code + `","admin_level":1},"geometry":{"type":"Polygon","coordinates":` + coords + `}}`
	}
	f := write(strings.Join([]string{
		feat("OK_1", `[[[0,0],[2,0],[2,2],[0,2],[0,0]]]`),
		feat("EIGHT_1", `[[[10,0],[12,2],[12,0],[10,2],[10,0]]]`),
		feat("LOOP_1", `[[[20,0],[23,0],[23,3],[21,3],[21,1],[22,1],[22,2],[20,2],[20,0]]]`),
	}, ","))
	as, _, repairs, err := LoadFilesReport([]config.GeoFile{f})
	require.NoError(t, err, "a figure-8 no longer stops the run")
	require.Len(t, as, 3)
	require.Len(t, repairs, 2)
	byCode := map[string]Repair{}
	for _, r := range repairs {
		byCode[r.Code] = r
	}
	assert.Contains(t, byCode["EIGHT_1"].Problems[0], "ring 0 crosses itself")
	assert.Contains(t, byCode["EIGHT_1"].String(), "area EIGHT_1")
	assert.Contains(t, byCode["EIGHT_1"].Result, "2 polygon(s), 0 hole(s)")
	assert.Contains(t, byCode["LOOP_1"].Result, "1 polygon(s), 1 hole(s)")
	planar := map[string]float64{"OK_1": 4, "EIGHT_1": 2, "LOOP_1": 7} // shapely.make_valid areas
	for _, a := range as {
		got := 0.0
		for _, p := range indicators.Polygons(a.Geometry) {
			for i, r := range p {
				ar := signedArea(r)
				assert.Equal(t, i == 0, ar > 0, "%s ring %d oriented", a.Code, i)
				got += ar
			}
			assert.Empty(t, indicators.PolygonProblems(p), "%s is valid after repair", a.Code)
		}
		assert.InDelta(t, planar[a.Code], got, 1e-9, a.Code)
	}

	bad := write(feat("LINE_1", `[[[0,0],[1,1],[2,2],[0,0]]]`) + "," + feat("OK_2", `[[[0,0],[2,0],[2,2],[0,2],[0,0]]]`))
	_, _, _, err = LoadFilesReport([]config.GeoFile{bad})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(LINE_1)")
}
