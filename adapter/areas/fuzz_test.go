package areas

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// FuzzLoad reads arbitrary GeoJSON and CSV as geographies and baseline: no
// panic, and errors name the file.
func FuzzLoad(f *testing.F) {
	geo, _ := os.ReadFile(testutil.Fixture(f, "demo", "areas.geojson"))
	csv, _ := os.ReadFile(testutil.Fixture(f, "demo", "baseline.csv"))
	f.Add(geo, csv)
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ucode":"A","admin_level":"1"},"geometry":{"type":"MultiPolygon","coordinates":[[[[179,0],[-179,0],[-179,1],[179,1],[179,0]]]]}}]}`),
		[]byte("ucode,population,under18\nA,1e3,\n"))
	f.Fuzz(func(t *testing.T, g, c []byte) {
		dir := t.TempDir()
		gp, cp := filepath.Join(dir, "a.geojson"), filepath.Join(dir, "b.csv")
		if os.WriteFile(gp, g, 0o644) != nil || os.WriteFile(cp, c, 0o644) != nil {
			t.Skip()
		}
		f := config.GeoFileDefaults()
		f.Path = gp
		as, pcodes, err := LoadFiles([]config.GeoFile{f})
		if err != nil {
			return
		}
		_, _ = ApplyBaseline(as, config.Baseline{File: cp, KeyColumn: "ucode", KeyType: "ucode",
			PopulationColumn: "population", Under18Column: "under18"}, pcodes)
	})
}
