package postgis

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// flakySink stands for GeoSight: down (every value retryable) until up.
type flakySink struct {
	mu   sync.Mutex
	up   bool
	got  map[indicators.Key]indicators.Value
	sent int
}

func (f *flakySink) Name() string                                          { return "geosight" }
func (f *flakySink) Ensure(context.Context, []indicators.Definition) error { return nil }
func (f *flakySink) Write(_ context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range vals {
		if !f.up {
			ack(adapter.Outcome{Value: v, Err: adapter.Classify(adapter.Retryable, "geosight", "", errors.New("502 Bad Gateway"))})
			continue
		}
		f.got[v.Key()] = v
		f.sent++
		ack(adapter.Outcome{Value: v})
	}
	return nil
}

type oneBatch struct{ events []indicators.Event }

func (o oneBatch) Fetch(context.Context, adapter.Cursor) (adapter.Batch, error) {
	return adapter.Batch{Complete: true, Events: o.events}, nil
}

// TestBesideAnotherSinkThroughTheRunner: the runner delivers every value
// and the footprints to PostGIS while the other sink is down; a repeat
// sync writes nothing to the database, and the other sink catches up.
func TestBesideAnotherSinkThroughTheRunner(t *testing.T) {
	d := newDB(t)
	pg, err := newNamed("db", d.cfg, nil)
	require.NoError(t, err)
	t.Cleanup(pg.Close)
	other := &flakySink{got: map[indicators.Key]indicators.Value{}}

	sq := func(x float64) orb.Polygon { return orb.Polygon{{{x, 0}, {x + 1, 0}, {x + 1, 1}, {x, 1}, {x, 0}}} }
	areas := []indicators.Area{{Code: "W", Level: 1, Geometry: sq(0)}, {Code: "E", Level: 1, Geometry: sq(1)}}
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	q := indicators.Event{ID: "usgs:q1", Source: "feed", Version: "1", Type: indicators.Earthquake, Phase: indicators.Observed,
		Severity: indicators.SeverityOrange, Issued: now.Add(-time.Hour), Footprints: []indicators.Footprint{{Geometry: orb.Polygon{{{0.5, 0.2}, {1.5, 0.2}, {1.5, 0.8}, {0.5, 0.8}, {0.5, 0.2}}}}}}
	cfg := config.Defaults()
	cfg.Sources = map[string]config.SourceSpec{"feed": {Name: "feed", Kind: "test", Enabled: true, Interval: time.Minute}}
	cfg.Indicators = []indicators.Definition{{Shortcode: "AL", Name: "Alert", Type: indicators.String, Recipe: "alert_level",
		Codes: []string{"none", "green", "orange", "red"}}}
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r := runner.New(runner.Options{Store: st, Clock: func() time.Time { return now }})
	r.Configure(runner.Setup{Config: cfg, Areas: areas, Exposure: indicators.NewAreaWeighted(areas),
		Sources: map[string]adapter.Source{"feed": oneBatch{[]indicators.Event{q}}}, Sinks: map[string]adapter.Sink{"db": pg, "geosight": other}})

	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Summary.Sinks["db"].Sent)
	assert.Equal(t, 2, res.Summary.Sinks["geosight"].Pending, "the down sink keeps its values queued")
	assert.Equal(t, 2, d.count(`SELECT count(*) FROM `+d.table(d.cfg.ValuesTable)))
	assert.Equal(t, 1, d.count(`SELECT count(*) FROM `+d.table(d.cfg.FootprintsTable)))
	versions := func() int {
		return d.count(`SELECT count(DISTINCT xmin::text) FROM ` + d.table(d.cfg.ValuesTable))
	}
	var before string
	require.NoError(t, d.pool.QueryRow(context.Background(), `SELECT string_agg(xmin::text||sent_at::text, ',' ORDER BY ucode) FROM `+d.table(d.cfg.ValuesTable)).Scan(&before))
	require.Positive(t, versions())

	other.mu.Lock()
	other.up = true
	other.mu.Unlock()
	res, err = r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Summary.Sinks["db"].Sent, "a repeat sync sends the database nothing")
	assert.Equal(t, 2, res.Summary.Sinks["geosight"].Sent, "the other sink catches up")
	var after string
	require.NoError(t, d.pool.QueryRow(context.Background(), `SELECT string_agg(xmin::text||sent_at::text, ',' ORDER BY ucode) FROM `+d.table(d.cfg.ValuesTable)).Scan(&after))
	assert.Equal(t, before, after, "rows untouched")
	assert.Len(t, other.got, 2)
}
