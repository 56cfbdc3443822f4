package areas

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestAntimeridianAreas: admin areas of Fiji, Tonga, Kiribati and Chukotka
// written in standard GeoJSON form (longitudes jump across ±180) load as
// split, correctly oriented shapes with the area of the whole shape.
func TestAntimeridianAreas(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pacific.geojson")
	require.NoError(t, os.WriteFile(p, []byte(`{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"ucode":"FJI_V1","admin_level":0},"geometry":{"type":"Polygon","coordinates":[[[177,-19],[-179,-19],[-179,-16],[177,-16],[177,-19]]]}},
{"type":"Feature","properties":{"ucode":"TON_V1","admin_level":0},"geometry":{"type":"Polygon","coordinates":[[[-173,-22],[-173,-15],[-179.9,-15],[179.9,-18],[-179.9,-22],[-173,-22]]]}},
{"type":"Feature","properties":{"ucode":"KIR_V1","admin_level":0},"geometry":{"type":"MultiPolygon","coordinates":[[[[172,1],[174,1],[174,3],[172,3],[172,1]]],[[[179.5,-2],[-178,-2],[-178,0],[179.5,0],[179.5,-2]]]]}},
{"type":"Feature","properties":{"ucode":"RUS_CHU_V1","admin_level":1},"geometry":{"type":"Polygon","coordinates":[[[170,65],[-170,65],[-170,70],[-175,68],[179.5,71],[170,70],[170,65]]]}}
]}`), 0o644))
	f := config.GeoFileDefaults()
	f.Path = p
	as, _, err := LoadFiles([]config.GeoFile{f})
	require.NoError(t, err)
	require.Len(t, as, 4)
	unwrapped := map[string]orb.Geometry{
		"FJI_V1":     orb.Polygon{{{177, -19}, {181, -19}, {181, -16}, {177, -16}, {177, -19}}},
		"TON_V1":     orb.Polygon{{{-173, -22}, {-173, -15}, {-179.9, -15}, {-180.1, -18}, {-179.9, -22}, {-173, -22}}},
		"KIR_V1":     orb.MultiPolygon{{{{172, 1}, {174, 1}, {174, 3}, {172, 3}, {172, 1}}}, {{{179.5, -2}, {182, -2}, {182, 0}, {179.5, 0}, {179.5, -2}}}},
		"RUS_CHU_V1": orb.Polygon{{{170, 65}, {190, 65}, {190, 70}, {185, 68}, {179.5, 71}, {170, 70}, {170, 65}}},
	}
	for _, a := range as {
		mp, ok := a.Geometry.(orb.MultiPolygon)
		require.True(t, ok, "%s split at 180: %T", a.Code, a.Geometry)
		for _, poly := range mp {
			for i, r := range poly {
				assert.Equal(t, i == 0, signedArea(r) > 0, "%s ring %d oriented", a.Code, i)
				for _, pt := range r {
					assert.True(t, pt[0] >= -180 && pt[0] <= 180, "%s longitude %g", a.Code, pt[0])
				}
			}
		}
		// Planar in lon/lat, as the overlay and the grid engine see shapes:
		// cutting at 180 must neither add nor lose any of it.
		assert.InDelta(t, planar(unwrapped[a.Code]), planar(a.Geometry), 1e-9, "%s: area of the whole shape", a.Code)
	}
}

func planar(g orb.Geometry) float64 {
	s := 0.0
	for _, p := range indicators.Polygons(g) {
		for i, r := range p {
			a := signedArea(r)
			if (i == 0) != (a > 0) {
				a = -a
			}
			s += a
		}
	}
	return s
}

func signedArea(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}
