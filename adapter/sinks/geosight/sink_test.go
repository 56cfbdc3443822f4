package geosight_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	gssink "github.com/hazardsync/hazardsync/adapter/sinks/geosight"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

const (
	key     = "sink-test-key-5e1f"
	user    = "ops@example.org"
	dataset = "6f3a2c1e-0000-4000-8000-0000000000cd"
)

// mapState is a SinkState in memory.
type mapState map[string][]byte

func (m mapState) GetJSON(k string, v any) (bool, error) {
	b, ok := m[k]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

func (m mapState) PutJSON(k string, v any) error {
	b, err := json.Marshal(v)
	m[k] = b
	return err
}

func square(x, y, d float64) orb.Polygon {
	return orb.Polygon{{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}}
}

func target(t *testing.T) (*fake.Server, config.GeoSight) {
	t.Helper()
	area := indicators.Area{Code: "DL_001", Name: "North", Level: 1, Geometry: square(60, 10, 2)}
	gs := fake.New(fake.Options{Users: []fake.User{{Key: key, Email: user, Role: fake.Creator}},
		Datasets: []fake.Dataset{{UUID: dataset, Areas: []indicators.Area{area}}}})
	u := gs.Start()
	t.Cleanup(gs.Close)
	g := *config.DefaultGeoSight()
	g.URL, g.APIKey, g.User, g.Dataset, g.MaxRetries = u, key, user, dataset, 0
	g.ContextLayers.NamePrefix = "HS "
	return gs, g
}

var quake = indicators.Event{ID: "usgs:q1", Source: "usgs", Version: "1", Type: indicators.Earthquake,
	Phase: indicators.Observed, Severity: indicators.SeverityOrange, Issued: time.Now().Add(-time.Hour),
	Footprints: []indicators.Footprint{{Geometry: square(60.5, 10.5, 0.5), Band: "MMI 6", Intensity: 6, Unit: "MMI"}}}

// TestSinkKeepsItsStateAcrossRebuilds: what the client learns (footprint
// hashes, indicator records) goes to the sink's state, and a sink built
// again from that state does not upload or PATCH anything twice.
func TestSinkKeepsItsStateAcrossRebuilds(t *testing.T) {
	gs, g := target(t)
	g.ContextLayers.Enabled = true
	st := mapState{}
	ctx := context.Background()
	defs := []indicators.Definition{{Shortcode: "HS_EQ_ALERT", Name: "Alert", Type: indicators.String,
		Codes: []string{"none", "orange"}, Recipe: "alert_level", Unit: "level"}}

	s, err := gssink.New("primary", g, st, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, "primary", s.Name(), "the instance name, for metrics and state")
	require.NoError(t, s.Ensure(ctx, defs))
	require.NoError(t, s.PublishFootprints(ctx, []indicators.Event{quake}))
	require.Len(t, gs.ContextLayers(), 1)
	assert.Contains(t, st, "footprint-hashes")
	assert.Contains(t, st, "indicator-records")

	before := gs.RequestCount("", "/api/")
	again, err := gssink.New("primary", g, st, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, again.PublishFootprints(ctx, []indicators.Event{quake}))
	assert.Equal(t, before, gs.RequestCount("", "/api/"), "an unchanged layer is not uploaded again")
	require.NoError(t, again.Ensure(ctx, defs))
	assert.Zero(t, gs.RequestCount("PATCH", "/api/"), "a known indicator is not PATCHed again")
	assert.Zero(t, gs.RequestCount("PUT", "/api/v1/indicators/"))
}

// TestFootprintsOnlyWhenConfigured: publishing footprints is the sink's
// own decision (context_layers.enabled), not the runner's.
func TestFootprintsOnlyWhenConfigured(t *testing.T) {
	gs, g := target(t)
	s, err := gssink.New("geosight", g, nil, nil)
	require.NoError(t, err)
	var fs adapter.FootprintSink = s
	require.NoError(t, fs.PublishFootprints(context.Background(), []indicators.Event{quake}))
	assert.Zero(t, gs.RequestCount("", "/api/"), "context_layers.enabled is off: nothing published")
	assert.Empty(t, gs.ContextLayers())
}

// TestRegisteredKindBuildsFromConfig: the registry builds the kind from a
// sinks: entry, reading its api_key_file relative to the config's dir.
func TestRegisteredKindBuildsFromConfig(t *testing.T) {
	_, g := target(t)
	f, ok := adapter.LookupSink(gssink.Kind)
	require.True(t, ok)
	c := gssink.NewConfig()
	c.GeoSight = g
	c.APIKey, c.APIKeyFile = "", "missing-key-file"
	_, err := adapter.BuildSink(config.SinkSpec{Name: "mirror", Kind: gssink.Kind, Plugin: c}, adapter.SinkEnv{BaseDir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sink mirror: api_key_file")
	c.APIKey = key
	s, err := f.New(c, adapter.SinkEnv{Name: "mirror"})
	require.NoError(t, err)
	assert.Equal(t, "mirror", s.Name())
}

// TestErrorsNameTheSink: a second GeoSight sink's errors say which sink
// they come from, not just "geosight".
func TestErrorsNameTheSink(t *testing.T) {
	_, g := target(t)
	g.APIKey = "not-the-key"
	s, err := gssink.New("staging", g, nil, nil)
	require.NoError(t, err)
	err = s.Ensure(context.Background(), []indicators.Definition{{Shortcode: "HS_X", Name: "X", Type: indicators.Integer, Recipe: "hazard_presence"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "source=staging")
	assert.NotContains(t, err.Error(), "source=geosight")
	assert.NotContains(t, err.Error(), "not-the-key", "the key never appears in errors")
}
