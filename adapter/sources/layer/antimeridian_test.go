package layer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestAntimeridianFeatureKept: a flood extent over Fiji written in standard
// GeoJSON form (longitudes jump 179.5 → -179.5), in either ring direction,
// is kept and split at 180 into correctly oriented parts (it used to be
// dropped: "ring 0 cannot be oriented"), with the area of the whole shape.
func TestAntimeridianFeatureKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fiji.geojson")
	require.NoError(t, os.WriteFile(path, []byte(`{"type":"FeatureCollection","features":[
{"type":"Feature","id":"ccw","properties":{"event_id":"FJ-1","depth_class":"high","depth_m":2,"observed":"2026-11-22T05:00:00Z"},
 "geometry":{"type":"Polygon","coordinates":[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16],[179.5,-17]]]}},
{"type":"Feature","id":"cw","properties":{"event_id":"FJ-2","depth_class":"low","depth_m":0.3,"observed":"2026-11-22T05:00:00Z"},
 "geometry":{"type":"Polygon","coordinates":[[[179.5,-17],[179.5,-16],[-179.5,-16],[-179.5,-17],[179.5,-17]]]}}
]}`), 0o644))
	cfg := defaultConfig()
	cfg.URL = "file://" + path
	cfg.Mapping = floodMapping()
	cfg.Mapping.EventIDProperty = "event_id"
	s := newTestSource(t, "fiji", cfg)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Empty(t, b.Problems)
	require.Len(t, b.Events, 2, "both features kept")
	box := indicators.GeodesicAreaKm2(orb.Polygon{{{179.5, -17}, {180, -17}, {180, -16}, {179.5, -16}, {179.5, -17}}}) * 2
	for _, e := range b.Events {
		require.Len(t, e.Footprints, 1)
		mp, ok := e.Footprints[0].Geometry.(orb.MultiPolygon)
		require.True(t, ok, "%s: split at 180, got %T", e.ID, e.Footprints[0].Geometry)
		require.Len(t, mp, 2)
		for _, p := range mp {
			assert.Greater(t, ringArea(p[0]), 0.0, "%s: shell counter-clockwise", e.ID)
		}
		assert.InDelta(t, box, indicators.GeodesicAreaKm2(mp), box*1e-9, e.ID)
	}
}
