package state

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// TestLatestPerSeries: Latest holds each series' newest delivered value
// whatever its date; a backfill's older date never replaces a newer one.
func TestLatestPerSeries(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	v := func(code string, date indicators.Date, x float64) indicators.Value {
		return indicators.Value{Indicator: "I", Code: code, Date: date, Type: indicators.Float, Number: x}
	}
	for _, x := range []indicators.Value{v("A", "2026-11-20", 1), v("A", "2026-11-22", 2), v("B", "2026-11-21", 5), v("A", "2026-11-19", 9)} {
		require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{x}))
		require.NoError(t, s.Sink(testSink).Ack(x))
	}
	want := []indicators.Value{v("A", "2026-11-22", 2), v("B", "2026-11-21", 5)}
	got, err := s.Sink(testSink).Latest()
	require.NoError(t, err)
	assert.Equal(t, want, got, "the 2026-11-19 backfill does not replace the 2026-11-22 value")

	// A file from before the latest values were kept gets them filled from
	// its history: TestMigrateSchema1.
}
