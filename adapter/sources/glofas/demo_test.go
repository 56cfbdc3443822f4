package glofas

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// The demo replay: the Amber river exceeds its rp5 on day 4 only.
func TestDemoFeed(t *testing.T) {
	cfg := defaultConfig()
	cfg.URL = "file://" + testutil.Fixture(t, "demo", "feeds", "glofas", "flood.json")
	cfg.Points = []RiverPoint{
		{ID: "amber-bridge", Name: "Amber river at Bridge", Lon: 61.475, Lat: 11.025, Areas: []string{"DML_0003_0006_V1"}, RP2: f(1100), RP5: f(1500), RP20: f(2400)},
		{ID: "cedar-mouth", Name: "Cedar river mouth", Lon: 62.975, Lat: 12.525, Areas: []string{"DML_0002_0008_V1"}, RP2: f(900), RP5: f(1300), RP20: f(2000)},
	}
	require.NoError(t, cfg.Validate())
	s, err := New(cfg, adapter.Env{Name: "glofas", Now: func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
		Fetch: config.Fetch{Timeout: time.Second, MaxBodyBytes: 1 << 20}})
	require.NoError(t, err)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	e := b.Events[0]
	assert.Equal(t, "glofas:amber-bridge", e.ID)
	assert.Equal(t, indicators.SeverityOrange, e.Severity)
	var orange []string
	for _, fp := range e.Footprints {
		if fp.Severity == indicators.SeverityOrange {
			orange = append(orange, fp.ValidFrom.Format("2006-01-02"))
		}
	}
	assert.Equal(t, []string{"2026-11-30"}, orange, "day 4 above rp5")
}
