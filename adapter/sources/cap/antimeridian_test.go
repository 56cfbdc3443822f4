package cap

import (
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// TestPolygonAcrossAntimeridian: a CAP polygon over Fiji ("lat,lon" pairs
// jumping 179.5 → -179.5), written either way round, becomes two oriented
// parts split at 180, not a polygon around the rest of the world.
func TestPolygonAcrossAntimeridian(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"-17,179.5 -17,-179.5 -16,-179.5 -16,179.5 -17,179.5",
		"-17,179.5 -16,179.5 -16,-179.5 -17,-179.5 -17,179.5",
	} {
		p, err := ParsePolygon(s)
		require.NoError(t, err)
		g, err := indicators.NormalizeGeometry(p)
		require.NoError(t, err)
		mp, ok := g.(orb.MultiPolygon)
		require.True(t, ok, "%s: %T", s, g)
		require.Len(t, mp, 2)
		want := indicators.GeodesicAreaKm2(orb.Polygon{{{179.5, -17}, {180, -17}, {180, -16}, {179.5, -16}, {179.5, -17}}}) * 2
		assert.InDelta(t, want, indicators.GeodesicAreaKm2(mp), want*1e-9, "about 1° × 1°, not the rest of the world")
		for _, poly := range mp {
			a := 0.0
			r := poly[0]
			for i := 0; i+1 < len(r); i++ {
				a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
			}
			assert.Greater(t, a, 0.0, "shell counter-clockwise (it came out clockwise when oriented before unwrapping)")
			b := poly.Bound()
			assert.LessOrEqual(t, b.Max[0]-b.Min[0], 0.5+1e-12)
		}
	}
}
