package openmeteo

import (
	"context"
	"os"
	"strings"
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

// DemoAreas reads Demoland's areas.
func demoAreas(t *testing.T) []indicators.Area {
	b, err := os.ReadFile(testutil.Fixture(t, "demo", "areas.geojson"))
	if os.IsNotExist(err) {
		t.Skip("fixtures/demo/areas.geojson not written yet")
	}
	require.NoError(t, err)
	fc, err := geojson.UnmarshalFeatureCollection(b)
	require.NoError(t, err)
	var out []indicators.Area
	for _, f := range fc.Features {
		out = append(out, indicators.Area{Code: f.Properties.MustString("ucode"), Level: int(f.Properties.MustFloat64("admin_level")), Geometry: f.Geometry})
	}
	return out
}

// The demo replay must match the points the source requests, carry the
// heat wave and the rain, and clear with forecast_next.json.
func TestDemoFeed(t *testing.T) {
	t.Parallel()
	areas := demoAreas(t)
	run := func(file string) adapter.Batch {
		cfg := defaultConfig()
		cfg.URL = "file://" + testutil.Fixture(t, "demo", "feeds", "openmeteo", file)
		require.NoError(t, cfg.Validate())
		s, err := New(cfg, adapter.Env{Name: "openmeteo", Areas: areas, Now: func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
			Fetch: config.Fetch{Timeout: time.Second, MaxBodyBytes: 1 << 20}})
		require.NoError(t, err)
		b, err := s.Fetch(context.Background(), adapter.Cursor{})
		require.NoError(t, err, "regenerate with go run ./fixtures/demo/feeds/openmeteo/gen")
		assert.Empty(t, b.Problems)
		return b
	}
	b := run("forecast.json")
	heat, rain := 0, 0
	for _, e := range b.Events {
		switch e.Type {
		case indicators.Heat:
			heat++
			assert.Equal(t, indicators.SeverityOrange, e.Severity)
			assert.Equal(t, "2026-11-29", e.ValidFrom.Format("2006-01-02"), "day 3")
			assert.True(t, strings.HasPrefix(e.Areas[0], "DML_0001_") || strings.HasPrefix(e.Areas[0], "DML_0003_"), "west: %s", e.Areas[0])
		case indicators.HeavyRain:
			rain++
			assert.Equal(t, indicators.SeverityOrange, e.Severity, "120 mm is IMD very heavy")
			assert.Equal(t, "2026-11-28", e.ValidFrom.Format("2006-01-02"), "day 2")
			assert.True(t, strings.HasPrefix(e.Areas[0], "DML_0004_"), "southeast: %s", e.Areas[0])
		default:
			t.Errorf("unexpected %s event %s", e.Type, e.ID)
		}
	}
	assert.Equal(t, 18, heat, "the 18 western districts")
	assert.Equal(t, 9, rain, "the 9 southeastern districts")
	assert.Empty(t, run("forecast_next.json").Events, "the next forecast clears every warning")
}
