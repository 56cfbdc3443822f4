package grid

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
	"github.com/paulmach/orb/geojson"
	"github.com/stretchr/testify/require"
)

// The committed demo grids (make demo-grid) open through NewEngine and their
// district totals match the demo baseline table.
func TestDemoPopulationGrid(t *testing.T) {
	ab, err := os.ReadFile(testutil.Fixture(t, "demo", "areas.geojson"))
	if err != nil {
		t.Skipf("demo areas not present: %v", err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(ab)
	require.NoError(t, err)
	bf, err := os.Open(testutil.Fixture(t, "demo", "baseline.csv"))
	require.NoError(t, err)
	defer bf.Close()
	rows, err := csv.NewReader(bf).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	base := map[string]float64{}
	for _, r := range rows[1:] {
		base[r[col["ucode"]]], _ = strconv.ParseFloat(r[col["population"]], 64)
	}
	var areas []indicators.Area
	for _, f := range fc.Features {
		lvl, _ := f.Properties["admin_level"].(float64)
		areas = append(areas, indicators.Area{Code: f.Properties.MustString("ucode", ""), Level: int(lvl), Geometry: f.Geometry})
	}
	e, err := NewEngine(areas, Options{
		Grid:    openLayer(t, testutil.Fixture(t, "demo", "population", "population.tif")),
		Under18: openLayer(t, testutil.Fixture(t, "demo", "population", "under18.tif")),
	})
	require.NoError(t, err)
	for _, a := range areas {
		pop, u18, km2, ok := e.Totals(a.Code)
		require.True(t, ok, a.Code)
		require.Greater(t, km2, 0.0)
		if want, ok := base[a.Code]; ok && a.Level == 2 {
			require.InDelta(t, 1, pop/want, 1e-3, a.Code)
			require.Greater(t, u18, 0.3*pop)
		}
	}
}
