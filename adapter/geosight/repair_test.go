package geosight_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestInvalidEntityGeometryRepaired: a figure-8 boundary served by GeoSight
// is repaired as GEOS make_valid would (two polygons) and reported by
// ucode, not an error that stops loading the geographies.
func TestInvalidEntityGeometryRepaired(t *testing.T) {
	eight := orb.Polygon{{{10, 0}, {12, 2}, {12, 0}, {10, 2}, {10, 0}}}
	gs := fake.New(fake.Options{Users: []fake.User{{Key: testKey, Email: testUser, Role: fake.Creator}},
		Datasets: []fake.Dataset{{UUID: testDataset, Name: "x", Areas: []indicators.Area{
			{Code: "EIGHT_V1", Name: "Eight", Level: 0, Geometry: eight}}}}})
	u := gs.Start()
	defer gs.Close()
	var logs strings.Builder
	c, err := geosight.NewClient(baseConfig(u), slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	as, err := c.Areas(context.Background(), []int{0})
	require.NoError(t, err)
	require.Len(t, as, 1)
	assert.Len(t, indicators.Polygons(as[0].Geometry), 2)
	assert.Contains(t, logs.String(), "ucode=EIGHT_V1")
	assert.Contains(t, logs.String(), "crosses itself")
}
