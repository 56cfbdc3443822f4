package runner_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// blockingSink holds every Write until release is closed.
type blockingSink struct {
	writing chan struct{}
	release chan struct{}
}

func (b *blockingSink) Name() string                                          { return "slow" }
func (b *blockingSink) Ensure(context.Context, []indicators.Definition) error { return nil }
func (b *blockingSink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	close(b.writing)
	<-b.release
	for _, v := range vals {
		ack(adapter.Outcome{Value: v})
	}
	return nil
}

// memStore is the part of Store a sync uses, in memory (one sink).
type memStore struct {
	adapter.Store
	adapter.SinkStore
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
func (m *memStore) RecordRun(adapter.RunSummary) error          { return nil }
func (m *memStore) Sink(string) adapter.SinkStore               { return m }
func (m *memStore) Rejections(int) ([]adapter.Rejection, error) { return nil, nil }

// TestOutboxDepthWhileDeliveryHangs: what a sync queued is on /metrics at
// once, not when a hung delivery ends; the sink is up once it ends well.
func TestOutboxDepthWhileDeliveryHangs(t *testing.T) {
	sink := &blockingSink{writing: make(chan struct{}), release: make(chan struct{})}
	m := adapter.NewMetrics()
	area := indicators.Area{Code: "A", Level: 1, Geometry: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}}
	cfg := config.Defaults()
	cfg.Indicators = []indicators.Definition{{Shortcode: "AL", Name: "Alert", Type: indicators.String, Recipe: "alert_level"}}
	cfg.Sources = map[string]config.SourceSpec{"feed": {Name: "feed", Enabled: true}}
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	quake := indicators.Event{ID: "q1", Version: "1", Type: indicators.Earthquake, Phase: indicators.Observed,
		Severity: indicators.SeverityOrange, Issued: now.Add(-time.Hour), Footprints: []indicators.Footprint{{Geometry: area.Geometry}}}
	r := runner.New(runner.Options{Store: &memStore{events: []indicators.Event{quake}}, Clock: func() time.Time { return now },
		Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r.Configure(runner.Setup{Config: cfg, Areas: []indicators.Area{area}, Exposure: indicators.NewAreaWeighted([]indicators.Area{area}),
		Sinks: sinks(sink)})
	m.Init(nil, map[string]int{sink.Name(): 0})

	done := make(chan error, 1)
	go func() { _, err := r.Sync(context.Background(), runner.SyncOptions{}); done <- err }()
	<-sink.writing
	assert.Equal(t, 1.0, testutil.MetricValue(t, m.OutboxDepth.WithLabelValues("slow")), "queued, delivery hanging")
	assert.Equal(t, 0.0, testutil.MetricValue(t, m.SinkUp.WithLabelValues("slow")))
	close(sink.release)
	require.NoError(t, <-done)
	assert.Equal(t, 0.0, testutil.MetricValue(t, m.OutboxDepth.WithLabelValues("slow")))
	assert.Equal(t, 1.0, testutil.MetricValue(t, m.SinkUp.WithLabelValues("slow")))
	assert.Equal(t, 1.0, testutil.MetricValue(t, m.Values.WithLabelValues("slow", "sent")))
}
