package state

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// simulateDays runs days of daily-snapshot deliveries (the worst case for
// growth: every value re-dated and delivered every day) plus hourly run
// records, with the daemon's daily Retain when retain > 0 and a restart
// every restartEvery days (0: never), and returns the file size and the data
// bytes after each day.
func simulateDays(t *testing.T, days, values, retain, restartEvery int) (sizes, used []int64, _ *Store) {
	t.Helper()
	dir := t.TempDir()
	start := time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC)
	now := start
	opts := Options{Now: func() time.Time { return now }, NoSync: true, KeepDays: 30, CompactMinBytes: 1 << 20}
	s, err := Open(dir, opts)
	require.NoError(t, err)
	attrs := strings.Repeat("x", 300) // provenance: event ids, versions, method
	for d := 0; d < days; d++ {
		now = start.AddDate(0, 0, d)
		date := indicators.DateOf(now, time.UTC)
		vals := make([]indicators.Value, values)
		for i := range vals {
			vals[i] = indicators.Value{Indicator: fmt.Sprintf("HS_%d", i%11), Code: fmt.Sprintf("AREA_%05d", i), AdminLevel: 2,
				Date: date, Type: indicators.Float, Number: float64(i + d), Attributes: map[string]any{"events": attrs}}
		}
		require.NoError(t, s.Sink(testSink).Enqueue(vals))
		for _, v := range vals {
			require.NoError(t, s.Sink(testSink).Ack(v))
		}
		for h := 0; h < 24; h++ {
			require.NoError(t, s.RecordRun(adapter.RunSummary{Started: now.Add(time.Duration(h) * time.Hour), Values: values}))
		}
		if retain > 0 {
			_, err := s.Retain(date, retain)
			require.NoError(t, err)
		}
		if restartEvery > 0 && d%restartEvery == restartEvery-1 {
			require.NoError(t, s.Close())
			s, err = Open(dir, opts)
			require.NoError(t, err)
		}
		info, err := os.Stat(s.Path())
		require.NoError(t, err)
		sizes = append(sizes, info.Size())
		u, err := s.dataBytes()
		require.NoError(t, err)
		used = append(used, u)
	}
	t.Cleanup(func() { s.Close() })
	return sizes, used, s
}

// TestRetentionBoundsTheFile: 60 simulated days with 30 days' retention:
// the file stops growing once the retention period is full, while the same
// 60 days without retention keep growing. The latest value of every series
// survives retention (it decides what changed).
func TestRetentionBoundsTheFile(t *testing.T) {
	const days, values, keep = 60, 150, 30
	sizes, used, s := simulateDays(t, days, values, keep, 10)
	full := keep + 5
	for d := full; d < days; d++ {
		// The data stays flat once the retention period is full; the file
		// grows in doubling steps and bbolt's free-page reuse is not
		// perfect, so allow one step (a restart compacts it back).
		assert.LessOrEqual(t, used[d], used[full]*11/10, "day %d: %d bytes of data, day %d had %d: still growing", d, used[d], full, used[full])
		assert.LessOrEqual(t, sizes[d], 2*sizes[full], "day %d: file %d bytes", d, sizes[d])
	}
	sizesU, usedU, _ := simulateDays(t, days, values, 0, 10)
	t.Logf("after %d days of %d values/day: %d bytes of data, file %d bytes with %d days' retention (day %d: %d of data); without: %d of data, file %d",
		days, values, used[days-1], sizes[days-1], keep, full, used[full], usedU[days-1], sizesU[days-1])
	assert.Greater(t, usedU[days-1], used[days-1]*3/2, "without retention the data keeps growing")
	assert.LessOrEqual(t, sizes[days-1], sizes[full], "the restart on day %d compacted the file", days)

	latest, err := s.Sink(testSink).Latest()
	require.NoError(t, err)
	assert.Len(t, latest, values, "every series keeps its latest value")
	old, err := s.Sink(testSink).DeliveredOn("2026-10-01")
	require.NoError(t, err)
	assert.Empty(t, old, "day 1 is past retention")
	recent, err := s.Sink(testSink).DeliveredOn(indicators.DateOf(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days-keep), time.UTC))
	require.NoError(t, err)
	assert.Len(t, recent, values, "the last %d days are kept", keep)
	runs, err := s.Runs(0)
	require.NoError(t, err)
	for _, r := range runs {
		assert.False(t, r.Started.Before(time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC).AddDate(0, 0, days-1-keep)), "run of %s is past retention", r.Started)
	}
}

// TestRetentionBoundsTheFileWithoutRestarts: a daemon that runs for months
// never reaches the compaction at Open, and none runs while it is up (the
// Store's handle is shared, unlocked, by every sink, source and status
// request, so swapping it for a rewritten file would need a lock around
// every transaction). Retention alone must then bound the file: bbolt
// reuses the pages it frees, so once the retention period is full the file
// and its high-water mark (the pages ever used) stop growing.
func TestRetentionBoundsTheFileWithoutRestarts(t *testing.T) {
	const days, values, keep = 60, 150, 30
	sizes, used, s := simulateDays(t, days, values, keep, 0)
	full := keep + 5
	for d := full; d < days; d++ {
		assert.LessOrEqual(t, used[d], used[full]*11/10, "day %d: %d bytes of data, day %d had %d", d, used[d], full, used[full])
		assert.Equal(t, sizes[full], sizes[d], "day %d: the file grew from %d to %d bytes", d, sizes[full], sizes[d])
	}
	var highWater int64
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error { highWater = tx.Size(); return nil }))
	free := s.db.Stats().FreeAlloc
	t.Logf("day %d: file %d bytes, pages up to %d used, %d free for reuse, %d of data; day %d: file %d",
		days, sizes[days-1], highWater, free, used[days-1], full, sizes[full])
	assert.LessOrEqual(t, highWater, sizes[days-1], "the pages in use fit in the file")
	assert.Positive(t, free, "retention freed pages that later days reuse")
}

// TestCompactionAtOpen: a file that is mostly free pages is rewritten at
// Open, keeping every record and bucket sequence.
func TestCompactionAtOpen(t *testing.T) {
	dir := t.TempDir()
	now := fixedNow
	opts := Options{Now: func() time.Time { return now }, NoSync: true, CompactMinBytes: 1 << 10, KeepDays: 1}
	s, err := Open(dir, opts)
	require.NoError(t, err)
	var vals []indicators.Value
	for i := 0; i < 3000; i++ {
		// 300 days of 10 areas' values, all older than the retention.
		date := indicators.DateOf(time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/10), time.UTC)
		vals = append(vals, indicators.Value{Indicator: "I", Code: fmt.Sprintf("A%02d", i%10), Date: date, Type: indicators.Float,
			Number: float64(i), Attributes: map[string]any{"pad": strings.Repeat("y", 200)}})
	}
	for _, v := range vals {
		require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{v}))
		require.NoError(t, s.Sink(testSink).Ack(v))
	}
	require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{{Indicator: "I", Code: "P", Date: "2026-11-24", Type: indicators.Float, Number: 2}}))
	n, err := s.Prune("2026-11-20")
	require.NoError(t, err)
	require.Equal(t, 3000, n)
	require.NoError(t, s.Close())
	before, _ := os.Stat(s.Path())

	s, err = Open(dir, opts)
	require.NoError(t, err)
	defer s.Close()
	after, _ := os.Stat(s.Path())
	c := s.Compaction()
	assert.Equal(t, before.Size(), c.Before)
	assert.Equal(t, after.Size(), c.After)
	assert.Less(t, after.Size(), before.Size()/2, "compacted")
	p, err := s.Sink(testSink).Pending()
	require.NoError(t, err)
	require.Len(t, p, 1, "the outbox survives compaction")
	latest, err := s.Sink(testSink).Latest()
	require.NoError(t, err)
	assert.Len(t, latest, 10, "latest values survive compaction")
	require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{{Indicator: "I", Code: "Q", Date: "2026-11-24", Type: indicators.Float, Number: 3}}))
	p, err = s.Sink(testSink).Pending()
	require.NoError(t, err)
	assert.Equal(t, "Q", p[len(p)-1].Code, "the outbox sequence continues after compaction")
}
