package state

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/indicators"
)

// TestLatestPerSeries: Latest holds each series' newest delivered value
// whatever its date; a backfill's older date never replaces a newer one;
// and a database written before the bucket existed gets it filled from the
// delivered history on Open (else an upgrade would re-send every value).
func TestLatestPerSeries(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	v := func(code string, date indicators.Date, x float64) indicators.Value {
		return indicators.Value{Indicator: "I", Code: code, Date: date, Type: indicators.Float, Number: x}
	}
	for _, x := range []indicators.Value{v("A", "2026-11-20", 1), v("A", "2026-11-22", 2), v("B", "2026-11-21", 5), v("A", "2026-11-19", 9)} {
		require.NoError(t, s.Enqueue([]indicators.Value{x}))
		require.NoError(t, s.Ack(x))
	}
	want := []indicators.Value{v("A", "2026-11-22", 2), v("B", "2026-11-21", 5)}
	got, err := s.Latest()
	require.NoError(t, err)
	assert.Equal(t, want, got, "the 2026-11-19 backfill does not replace the 2026-11-22 value")

	// An older file: drop the bucket, reopen.
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bLatest) }))
	require.NoError(t, s.Close())
	s = openTest(t, dir)
	got, err = s.Latest()
	require.NoError(t, err)
	assert.Equal(t, want, got, "filled from the delivered history")
}
