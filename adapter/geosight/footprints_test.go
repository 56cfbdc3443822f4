package geosight_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

func footprintsFor(t *testing.T, n int) []*geojson.Feature {
	t.Helper()
	var out []*geojson.Feature
	for i := 0; i < n; i++ {
		x := 60 + float64(i%40)/10
		f := geojson.NewFeature(orb.Polygon{{{x, 10}, {x + 0.1, 10}, {x + 0.1, 10.1}, {x, 10.1}, {x, 10}}})
		f.Properties = geojson.Properties{"event_id": fmt.Sprintf("test:%d", i), "severity": "orange", "band": "MMI 6"}
		out = append(out, f)
	}
	return out
}

func demoEvents(now time.Time) []indicators.Event {
	square := func(x, y, d float64) orb.Polygon {
		return orb.Polygon{{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}}
	}
	return []indicators.Event{
		{ID: "usgs:dm1", Source: "usgs", Version: "1", Type: indicators.Earthquake, Phase: indicators.Observed,
			Severity: indicators.SeverityOrange, NativeSeverity: "PAGER orange", Title: "M6.4 Demoland", Issued: now.Add(-time.Hour),
			Footprints: []indicators.Footprint{
				{Geometry: square(61, 11, 1), Band: "MMI 6", Intensity: 6, Unit: "MMI"},
				{Geometry: square(61.3, 11.3, 0.4), Band: "MMI 7", Intensity: 7, Unit: "MMI", Severity: indicators.SeverityRed},
			}},
		{ID: "gdacs:TC:1", Source: "gdacs", Version: "3", Type: indicators.TropicalCyclone, Phase: indicators.Forecast,
			Severity: indicators.SeverityRed, Issued: now.Add(-2 * time.Hour), ValidFrom: now, ValidTo: now.Add(48 * time.Hour),
			Footprints: []indicators.Footprint{{Geometry: square(62, 12, 1.5), Band: "64 kt", Intensity: 64, Unit: "kt"}}},
		{ID: "usgs:old", Source: "usgs", Version: "1", Type: indicators.Earthquake, Phase: indicators.Observed, Closed: true,
			Footprints: []indicators.Footprint{{Geometry: square(60, 10, 1), Band: "MMI 5", Intensity: 5}}},
	}
}

func TestPublishFootprints(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	cfg := tg.cfg
	cfg.ContextLayers.Enabled = true
	cfg.ContextLayers.NamePrefix = tg.prefix
	cfg.EventsTable.Enabled = true
	cfg.EventsTable.Name = tg.prefix + "events"
	c := tg.newClient(t, cfg)
	now := time.Now()
	events := demoEvents(now)
	t.Cleanup(func() {
		for _, ht := range []indicators.HazardType{indicators.Earthquake, indicators.TropicalCyclone} {
			if l, _ := c.FindContextLayer(context.Background(), c.LayerName(ht)); l != nil {
				_ = c.DeleteContextLayer(context.Background(), l.ID)
			}
		}
		if tb, _ := c.FindRelatedTable(context.Background(), cfg.EventsTable.Name); tb != nil {
			_ = c.DeleteRelatedTable(context.Background(), tb.ID)
		}
	})
	require.NoError(t, c.PublishFootprints(ctx, events))

	eq, err := c.FindContextLayer(ctx, c.LayerName(indicators.Earthquake))
	require.NoError(t, err)
	require.NotNil(t, eq)
	rows, err := c.LayerFeatures(ctx, eq.ID)
	require.NoError(t, err)
	require.Len(t, rows, 2, "closed events are not published")
	sev := map[string]bool{}
	for _, r := range rows {
		assert.Equal(t, "usgs:dm1", r["event_id"])
		assert.Equal(t, "observed", r["phase"])
		sev[fmt.Sprint(r["severity"])] = true
		for _, col := range []string{"band", "intensity", "valid_from", "valid_to", "native_severity"} {
			assert.Contains(t, r, col)
		}
	}
	assert.Equal(t, map[string]bool{"orange": true, "red": true}, sev, "footprint severity overrides the event's")
	assert.NotNil(t, eq.Styles, "MapLibre style attached")
	tc, err := c.FindContextLayer(ctx, c.LayerName(indicators.TropicalCyclone))
	require.NoError(t, err)
	require.NotNil(t, tc)
	tbl, err := c.FindRelatedTable(ctx, cfg.EventsTable.Name)
	require.NoError(t, err)
	require.NotNil(t, tbl)
	trows, err := c.TableRows(ctx, tbl.ID)
	require.NoError(t, err)
	assert.Len(t, trows, 2)

	hashes := c.FootprintHashes()
	assert.Len(t, hashes, 3, "two layers and the events table")

	uploads := func() int {
		return tg.sent.count("POST", "/api/v1/context-layers/") + tg.sent.count("POST", "/api/v1/related-tables/")
	}
	before := uploads()
	require.NoError(t, c.PublishFootprints(ctx, events))
	assert.Equal(t, before, uploads(), "nothing changed: zero feature uploads")

	// A fresh client restored from the persisted hashes also uploads nothing.
	c2 := tg.newClient(t, cfg)
	c2.SetFootprintHashes(hashes)
	require.NoError(t, c2.PublishFootprints(ctx, events))
	assert.Equal(t, before, uploads())

	// One event changes: only its layer is re-uploaded.
	replaces := func(id int) int {
		return tg.sent.count("POST", fmt.Sprintf("/api/v1/context-layers/%d/data/replace/", id))
	}
	eqBefore, tcBefore := replaces(eq.ID), replaces(tc.ID)
	events[1].Footprints[0].Band = "50 kt"
	require.NoError(t, c.PublishFootprints(ctx, events))
	assert.Equal(t, tcBefore+1, replaces(tc.ID))
	assert.Equal(t, eqBefore, replaces(eq.ID))

	// The last cyclone ends: its layer is emptied on the server, not left
	// stale (GeoSight refuses an empty replace; see emptyLayer).
	require.NoError(t, c.PublishFootprints(ctx, events[:1]))
	rows, err = c.LayerFeatures(ctx, tc.ID)
	require.NoError(t, err)
	assert.Empty(t, rows, "a layer whose events all ended is empty")
	if !tg.real() {
		assert.Len(t, tg.fake.ContextLayers(), 2, "layers are never duplicated")
	}
}
