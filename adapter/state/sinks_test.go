package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestMigrateSchema1: a state file written when hazardsync had one sink
// opens with its outbox, history, latest values, rejections and the GeoSight
// client's saved state all belonging to the geosight sink, nothing lost and
// nothing left at the top; the latest values of a file older still are
// filled from its history (else an upgrade would re-send every value).
func TestMigrateSchema1(t *testing.T) {
	for _, withLatest := range []bool{true, false} {
		t.Run(fmt.Sprintf("latest=%v", withLatest), func(t *testing.T) {
			dir := t.TempDir()
			delivered := []indicators.Value{val("A", "X1", "2026-11-20", 1), val("A", "X1", "2026-11-22", 2), val("B", "X2", "2026-11-21", 5)}
			pending := val("A", "X1", "2026-11-23", 3)
			rejected := adapter.Rejection{Value: val("C", "X9", "2026-11-22", 7), Reason: "Geometry not found", At: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)}
			writeSchema1(t, filepath.Join(dir, FileName), delivered, pending, rejected, withLatest)

			s := openTest(t, dir)
			names, err := s.Sinks()
			require.NoError(t, err)
			assert.Equal(t, []string{LegacySink}, names)
			gs := s.Sink(LegacySink)

			got, err := gs.Pending()
			require.NoError(t, err)
			assert.Equal(t, []indicators.Value{pending}, got)
			on, err := gs.DeliveredOn("2026-11-22")
			require.NoError(t, err)
			assert.Equal(t, delivered[1:2], on)
			latest, err := gs.Latest()
			require.NoError(t, err)
			assert.Equal(t, []indicators.Value{delivered[1], delivered[2]}, latest)
			rej, err := gs.Rejections(0)
			require.NoError(t, err)
			assert.Equal(t, []adapter.Rejection{rejected}, rej)
			var hashes map[string]string
			found, err := gs.GetJSON("footprint-hashes", &hashes)
			require.NoError(t, err)
			assert.True(t, found)
			assert.Equal(t, map[string]string{"earthquake": "abc"}, hashes)
			found, err = s.GetJSON("geosight", "footprint-hashes", &hashes)
			require.NoError(t, err)
			assert.False(t, found, "the old bucket is gone")

			// The queue goes on where it was: a new value for the pending key
			// replaces it, an ack empties the outbox.
			next := pending
			next.Number = 4
			require.NoError(t, gs.Enqueue([]indicators.Value{next}))
			require.NoError(t, gs.Ack(next))
			n, err := gs.PendingCount()
			require.NoError(t, err)
			assert.Zero(t, n)

			require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
				for _, b := range sinkBuckets {
					assert.Nil(t, tx.Bucket(b), "no %s left at the top", b)
				}
				assert.Equal(t, "2", string(tx.Bucket(bMeta).Get(keySchema)))
				return nil
			}))
			// Reopening migrates nothing twice.
			require.NoError(t, s.Close())
			s = openTest(t, dir)
			latest2, err := s.Sink(LegacySink).Latest()
			require.NoError(t, err)
			assert.Len(t, latest2, 2)
		})
	}
}

// writeSchema1 writes a state file laid out as schema 1 did.
func writeSchema1(t *testing.T, path string, delivered []indicators.Value, pending indicators.Value, rej adapter.Rejection, withLatest bool) {
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	put := func(b *bolt.Bucket, k []byte, v any) {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, b.Put(k, raw))
	}
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		mk := func(name string) *bolt.Bucket {
			b, err := tx.CreateBucket([]byte(name))
			require.NoError(t, err)
			return b
		}
		require.NoError(t, mk("meta").Put(keySchema, []byte("1")))
		mk("cursors")
		mk("events")
		mk("runs")
		del, at := mk("delivered"), mk("delivered_at")
		var latest *bolt.Bucket
		if withLatest {
			latest = mk("latest")
		}
		for _, v := range delivered {
			put(del, deliveredKey(v.Key()), v)
			require.NoError(t, at.Put(deliveredKey(v.Key()), []byte("2026-11-22T00:00:00Z")))
			if latest != nil {
				put(latest, latestKey(v), v) // written in date order per series
			}
		}
		ob, idx := mk("outbox"), mk("outbox_by_key")
		seq := make([]byte, 8)
		binary.BigEndian.PutUint64(seq, 1)
		put(ob, seq, pending)
		require.NoError(t, ob.SetSequence(1))
		require.NoError(t, idx.Put([]byte(pending.Key().String()), seq))
		put(mk("rejections"), seq, rej)
		put(mk(ExtPrefix+"geosight"), []byte("footprint-hashes"), map[string]string{"earthquake": "abc"})
		put(mk(ExtPrefix+"warnings"), []byte("k"), 1)
		return nil
	}))
}

// TestSinksAreIndependent: what one sink queues, acks or rejects is never
// seen by another, and a sink that never wrote reads as empty.
func TestSinksAreIndependent(t *testing.T) {
	s := openTest(t, "")
	a, b := s.Sink("a"), s.Sink("b")
	v1, v2 := val("A", "X1", "2026-11-22", 1), val("A", "X2", "2026-11-22", 2)
	require.NoError(t, a.Enqueue([]indicators.Value{v1, v2}))
	require.NoError(t, b.Enqueue([]indicators.Value{v1}))
	require.NoError(t, a.Ack(v1))
	require.NoError(t, a.Reject(v2, "no"))
	require.NoError(t, a.PutJSON("k", "a's"))

	pb, err := b.Pending()
	require.NoError(t, err)
	assert.Equal(t, []indicators.Value{v1}, pb, "a's ack leaves b's queue alone")
	_, ok, err := b.LastDelivered(v1.Key())
	require.NoError(t, err)
	assert.False(t, ok)
	rb, err := b.Rejections(0)
	require.NoError(t, err)
	assert.Empty(t, rb)
	var x string
	found, err := b.GetJSON("k", &x)
	require.NoError(t, err)
	assert.False(t, found)

	c := s.Sink("never")
	pc, err := c.Pending()
	require.NoError(t, err)
	assert.Empty(t, pc)
	n, err := c.PendingCount()
	require.NoError(t, err)
	assert.Zero(t, n)
	names, err := s.Sinks()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, names, "reading creates nothing")

	// List, Purge and Resend by sink, or across all.
	recs, err := s.List(Filter{})
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, []string{"a", "a", "b"}, []string{recs[0].Sink, recs[1].Sink, recs[2].Sink})
	res, err := s.Purge(Filter{Sink: "b"})
	require.NoError(t, err)
	assert.Equal(t, PurgeResult{Pending: 1}, res)
	pa, err := a.Pending()
	require.NoError(t, err)
	assert.Empty(t, pa)
	k, err := s.Resend(Filter{Sink: "a"}, false)
	require.NoError(t, err)
	assert.Equal(t, 1, k)
	pb, err = b.Pending()
	require.NoError(t, err)
	assert.Empty(t, pb, "a resend for a queues nothing for b")

	_, err = s.Sink("").Pending()
	require.Error(t, err)
}
