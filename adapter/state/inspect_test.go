package state

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/indicators"
)

func statuses(recs []Record) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		out[r.Status] = append(out[r.Status], r.Value.Key().String())
	}
	return out
}

func TestListResendPurge(t *testing.T) {
	s := openTest(t, "")
	a1 := val("A", "X1", "2026-11-24", 1)
	a2 := val("A", "X2", "2026-11-24", 2)
	b1 := val("B", "X1", "2026-11-24", 3)
	b2 := val("B", "X2", "2026-11-25", 4)
	require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{a1, a2, b1, b2}))
	require.NoError(t, s.Sink(testSink).Ack(a1))
	require.NoError(t, s.Sink(testSink).Ack(b1))
	require.NoError(t, s.Sink(testSink).Reject(a2, "400 unknown ucode X2"))

	all, err := s.List(Filter{})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{
		StatusDelivered: {a1.Key().String(), b1.Key().String()},
		StatusPending:   {b2.Key().String()},
		StatusRejected:  {a2.Key().String()},
	}, statuses(all))
	for _, r := range all {
		switch r.Status {
		case StatusDelivered:
			assert.Equal(t, fixedNow, r.At, "when it was acknowledged")
			assert.Equal(t, "accepted", r.Answer)
		case StatusRejected:
			assert.Equal(t, "400 unknown ucode X2", r.Answer)
		}
	}
	for _, tc := range []struct {
		f    Filter
		want int
	}{{Filter{Indicator: "A"}, 2}, {Filter{Code: "X1"}, 2}, {Filter{Date: "2026-11-25"}, 1},
		{Filter{Status: StatusRejected}, 1}, {Filter{Indicator: "B", Status: StatusDelivered}, 1}, {Filter{Indicator: "C"}, 0}} {
		got, err := s.List(tc.f)
		require.NoError(t, err)
		assert.Len(t, got, tc.want, "%+v", tc.f)
	}

	// Resend an area: its delivered values go back to the outbox; pending
	// ones are not doubled.
	n, err := s.Resend(Filter{Code: "X1"}, false)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = s.Resend(Filter{}, true)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the rejected value was not queued yet")
	p, err := s.Sink(testSink).Pending()
	require.NoError(t, err)
	assert.Len(t, p, 4)

	// Purge an indicator: delivered, pending and rejected records go.
	res, err := s.Purge(Filter{Indicator: "A"})
	require.NoError(t, err)
	assert.Equal(t, PurgeResult{Delivered: 1, Pending: 2, Rejected: 1}, res)
	left, err := s.List(Filter{Indicator: "A"})
	require.NoError(t, err)
	assert.Empty(t, left)
	// Purge only rejections.
	require.NoError(t, s.Sink(testSink).Reject(b2, "400 bad date"))
	res, err = s.Purge(Filter{Status: StatusRejected})
	require.NoError(t, err)
	assert.Equal(t, PurgeResult{Rejected: 1}, res)
}

func TestPruneDropsDeliveryTimes(t *testing.T) {
	s := openTest(t, "")
	old := val("A", "X1", "2026-10-01", 1)
	require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{old}))
	require.NoError(t, s.Sink(testSink).Ack(old))
	n, err := s.Prune("2026-11-01")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	left := -1
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		left = sub(sinkBucket(tx, testSink), bDeliveredAt).Stats().KeyN
		return nil
	}))
	assert.Zero(t, left, "the delivery time goes with the delivered record")
}
