package adapter

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// count is how many series a collector exposes.
func count(t *testing.T, c prometheus.Collector) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 1000)
	c.Collect(ch)
	close(ch)
	return len(ch)
}

// value reads one gauge or counter series.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	close(ch)
	var m dto.Metric
	require.NoError(t, (<-ch).Write(&m))
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

// TestMetricsInit: every alertable series exists at 0 from start-up, so
// increase() sees the first failure; a reload adds new sources' series and
// drops removed ones, and never resets a count.
func TestMetricsInit(t *testing.T) {
	m := NewMetrics()
	m.Init([]string{"usgs", "gdacs"}, "geosight", 7)
	assert.Equal(t, 2*len(FetchClasses), count(t, m.FetchErrors))
	assert.Equal(t, len(ValueOutcomes), count(t, m.Values))
	assert.Equal(t, len(ReloadResults), count(t, m.Reloads))
	assert.Equal(t, 2, count(t, m.FetchSuccess))
	assert.Equal(t, 7.0, value(t, m.OutboxDepth.WithLabelValues("geosight")))
	assert.Equal(t, 0.0, value(t, m.SinkUp.WithLabelValues("geosight")))

	m.FetchErrors.WithLabelValues("usgs", "auth").Inc()
	m.Values.WithLabelValues("geosight", "failed").Add(3)
	m.Init([]string{"usgs", "cap"}, "geosight", 2)
	assert.Equal(t, 1.0, value(t, m.FetchErrors.WithLabelValues("usgs", "auth")), "a reload keeps counts")
	assert.Equal(t, 3.0, value(t, m.Values.WithLabelValues("geosight", "failed")))
	assert.Equal(t, 2*len(FetchClasses), count(t, m.FetchErrors), "gdacs dropped, cap added")
	assert.Equal(t, 2, count(t, m.LastSuccess))

	at := time.Unix(1_800_000_000, 0)
	m.Delivered("geosight", true, 0, at)
	assert.Equal(t, 1.0, value(t, m.SinkUp.WithLabelValues("geosight")))
	assert.Equal(t, float64(at.Unix()), value(t, m.SinkLastOK.WithLabelValues("geosight")))
	m.Delivered("geosight", false, 5, at.Add(time.Hour))
	assert.Equal(t, 0.0, value(t, m.SinkUp.WithLabelValues("geosight")))
	assert.Equal(t, float64(at.Unix()), value(t, m.SinkLastOK.WithLabelValues("geosight")), "last success stays")
	assert.Equal(t, 5.0, value(t, m.OutboxDepth.WithLabelValues("geosight")))
}

// blockingSink holds every Write until release is closed.
type blockingSink struct {
	writing chan struct{}
	release chan struct{}
}

func (b *blockingSink) Name() string                                          { return "slow" }
func (b *blockingSink) Ensure(context.Context, []indicators.Definition) error { return nil }
func (b *blockingSink) Write(ctx context.Context, vals []indicators.Value, ack func(Outcome)) error {
	close(b.writing)
	<-b.release
	for _, v := range vals {
		ack(Outcome{Value: v})
	}
	return nil
}

// memStore is the part of Store a sync uses, in memory.
type memStore struct {
	Store
	mu      sync.Mutex
	pending []indicators.Value
	events  []indicators.Event
}

func (m *memStore) Events(string) ([]indicators.Event, error) { return m.events, nil }
func (m *memStore) LastDelivered(indicators.Key) (indicators.Value, bool, error) {
	return indicators.Value{}, false, nil
}
func (m *memStore) DeliveredOn(indicators.Date) ([]indicators.Value, error) { return nil, nil }
func (m *memStore) Latest() ([]indicators.Value, error)                     { return nil, nil }
func (m *memStore) Enqueue(v []indicators.Value) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, v...)
	return nil
}
func (m *memStore) Pending() ([]indicators.Value, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]indicators.Value(nil), m.pending...), nil
}
func (m *memStore) PendingCount() (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending), nil
}
func (m *memStore) Ack(v indicators.Value) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.pending {
		if p.Key() == v.Key() {
			m.pending = append(m.pending[:i], m.pending[i+1:]...)
			break
		}
	}
	return nil
}
func (m *memStore) RecordRun(RunSummary) error            { return nil }
func (m *memStore) Sink(string) SinkStore                 { return m }
func (m *memStore) Reject(indicators.Value, string) error { return nil }
func (m *memStore) Rejections(int) ([]Rejection, error)   { return nil, nil }
func (m *memStore) GetJSON(string, any) (bool, error)     { return false, nil }
func (m *memStore) PutJSON(string, any) error             { return nil }

// TestOutboxDepthWhileDeliveryHangs: what a sync queued is on /metrics at
// once, not when a hung delivery ends; the sink is up once it ends well.
func TestOutboxDepthWhileDeliveryHangs(t *testing.T) {
	sink := &blockingSink{writing: make(chan struct{}), release: make(chan struct{})}
	m := NewMetrics()
	area := indicators.Area{Code: "A", Level: 1, Geometry: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}}
	cfg := config.Defaults()
	cfg.Indicators = []indicators.Definition{{Shortcode: "AL", Name: "Alert", Type: indicators.String, Recipe: "alert_level"}}
	cfg.Sources = map[string]config.SourceSpec{"feed": {Name: "feed", Enabled: true}}
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	quake := indicators.Event{ID: "q1", Version: "1", Type: indicators.Earthquake, Phase: indicators.Observed,
		Severity: indicators.SeverityOrange, Issued: now.Add(-time.Hour), Footprints: []indicators.Footprint{{Geometry: area.Geometry}}}
	r := &Runner{Store: &memStore{events: []indicators.Event{quake}}, Sink: sink, Now: func() time.Time { return now }, Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.Configure(Setup{Config: cfg, Areas: []indicators.Area{area}, Exposure: indicators.NewAreaWeighted([]indicators.Area{area})})
	m.Init(nil, sink.Name(), 0)

	done := make(chan error, 1)
	go func() { _, err := r.Sync(context.Background(), SyncOptions{}); done <- err }()
	<-sink.writing
	assert.Equal(t, 1.0, value(t, m.OutboxDepth.WithLabelValues("slow")), "queued, delivery hanging")
	assert.Equal(t, 0.0, value(t, m.SinkUp.WithLabelValues("slow")))
	close(sink.release)
	require.NoError(t, <-done)
	assert.Equal(t, 0.0, value(t, m.OutboxDepth.WithLabelValues("slow")))
	assert.Equal(t, 1.0, value(t, m.SinkUp.WithLabelValues("slow")))
	assert.Equal(t, 1.0, value(t, m.Values.WithLabelValues("slow", "sent")))
}
