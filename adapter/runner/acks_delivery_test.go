package runner_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/indicators"
)

// ackCountingStore counts how a delivery records its acks.
type ackCountingStore struct {
	adapter.Store
	mu                       sync.Mutex
	acks, ackAlls, ackAllVal int
}

func (c *ackCountingStore) Sink(name string) adapter.SinkStore {
	return ackCountingSink{SinkStore: c.Store.Sink(name), c: c}
}

type ackCountingSink struct {
	adapter.SinkStore
	c *ackCountingStore
}

func (s ackCountingSink) Ack(v indicators.Value) error {
	s.c.mu.Lock()
	s.c.acks++
	s.c.mu.Unlock()
	return s.SinkStore.Ack(v)
}

func (s ackCountingSink) AckAll(vs []indicators.Value) error {
	s.c.mu.Lock()
	s.c.ackAlls++
	s.c.ackAllVal += len(vs)
	s.c.mu.Unlock()
	return s.SinkStore.(adapter.BatchAcker).AckAll(vs)
}

// A store that can record many acks in one write gets every ack of a
// delivery that way, none through a transaction of its own (one fsync per
// value held a country-size push to the embedded GeoSight at 384
// values/s), and the values end up delivered, none pending.
func TestDeliveryGroupsItsAcks(t *testing.T) {
	q := quake("q1", "1", indicators.SeverityOrange, rect(0.5, 0, 1.5, 1))
	src := &scriptedSource{batches: []adapter.Batch{{Complete: true, Events: []indicators.Event{q}}}}
	sink := &memSink{}
	st, err := state.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cs := &ackCountingStore{Store: st}
	r := newRunner(cs, src, sink)
	res, err := r.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	require.Positive(t, res.Summary.Sent)
	require.Zero(t, cs.acks, "no ack through a transaction of its own")
	require.Equal(t, res.Summary.Sent, cs.ackAllVal, "every ack recorded, once")
	require.LessOrEqual(t, cs.ackAlls, res.Summary.Sent)
	n, err := st.Sink(sink.Name()).PendingCount()
	require.NoError(t, err)
	require.Zero(t, n)
}
