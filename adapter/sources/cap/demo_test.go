package cap

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

// The demo replay: a Severe flood warning and the Update superseding it
// become one event, at the Update's version, over the southeast.
func TestDemoFeed(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig()
	cfg.URL = "file://" + testutil.Fixture(t, "demo", "feeds", "cap", "index.atom")
	cfg.GeocodeTable = testutil.Fixture(t, "demo", "feeds", "cap", "geocodes.csv")
	require.NoError(t, cfg.Validate())
	s, err := New(cfg, adapter.Env{Name: "cap", Now: func() time.Time { return time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) },
		Fetch: config.Fetch{Timeout: time.Second, MaxBodyBytes: 1 << 20}})
	require.NoError(t, err)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Empty(t, b.Problems)
	require.Len(t, b.Events, 1)
	e := b.Events[0]
	assert.Equal(t, rootID, e.ID)
	assert.Equal(t, "2026-11-26T06:00:00+04:00", e.Version)
	assert.Equal(t, indicators.Flood, e.Type)
	assert.Equal(t, indicators.SeverityRed, e.Severity)
	assert.Equal(t, []string{"DML_0002_0007_V1", "DML_0004_V1"}, e.Areas)
	b2, err := s.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified, "unchanged file: no recomputation")
}
