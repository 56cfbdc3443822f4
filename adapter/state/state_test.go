package state

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

var fixedNow = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)

func openTest(t testing.TB, dir string, o ...Options) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	var opts Options
	if len(o) > 0 {
		opts = o[0]
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 50 * time.Millisecond
	}
	s, err := Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func val(ind, code string, d indicators.Date, n float64) indicators.Value {
	return indicators.Value{Indicator: ind, Code: code, AdminLevel: 2, Date: d, Type: indicators.Integer, Number: n,
		Attributes: map[string]any{"events": []any{"usgs:us6000pi9w@" + strconv.Itoa(int(n))}}}
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	s := openTest(t, dir)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	assert.Equal(t, filepath.Join(dir, FileName), s.Path())
	_, err = os.Stat(s.Path())
	require.NoError(t, err)
}

func TestOpenRefusesSecondProcessOnSameDir(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)
	// flock is per open file, so a second Open in this process contends
	// exactly like a second daemon would.
	_, err := Open(dir, Options{LockTimeout: 20 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "state dir "+dir+" is in use by another hazardsync process")
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion+1)))
	}))
	require.NoError(t, s.Close())

	_, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("schema version %d, newer than this hazardsync understands (%d)", SchemaVersion+1, SchemaVersion))
}

func TestOpenKeepsDataAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{val("eq_u18", "DML_0001_0001_V1", "2026-11-24", 10)}))
	require.NoError(t, s.Close())
	s2 := openTest(t, dir)
	p, err := s2.Sink(testSink).Pending()
	require.NoError(t, err)
	require.Len(t, p, 1)
	assert.Equal(t, 10.0, p[0].Number)
}

func TestCursorAndEventsRoundTrip(t *testing.T) {
	s := openTest(t, "")
	c, err := s.Cursor("usgs")
	require.NoError(t, err)
	assert.Equal(t, adapter.Cursor{}, c)
	ev, err := s.Events("usgs")
	require.NoError(t, err)
	assert.Empty(t, ev)

	cur := adapter.Cursor{ETag: `"abc"`, LastModified: "Tue, 24 Nov 2026 09:00:00 GMT",
		Versions: map[string]string{"usgs:us6000pi9w": "1764000000000"}, Extra: map[string]string{"page": "2"}}
	v := 6.5
	events := []indicators.Event{{
		ID: "usgs:us6000pi9w", Source: "usgs", Version: "1764000000000", Type: indicators.Earthquake,
		Phase: indicators.Observed, Severity: indicators.SeverityOrange, NativeSeverity: "PAGER orange",
		Title: "M 6.1 - Demoland", Issued: fixedNow,
		Footprints: []indicators.Footprint{
			{Geometry: orb.Polygon{{{61, 11}, {62, 11}, {62, 12}, {61, 12}, {61, 11}}}, Band: "MMI 6", Intensity: 6, Unit: "MMI", Severity: indicators.SeverityOrange},
			{Geometry: orb.Point{61.5, 11.5}, Band: "epicentre", Value: &v},
		},
		Areas:      []string{"DML_0001_V1"},
		Properties: map[string]any{"mag": 6.1},
	}}
	require.NoError(t, s.CommitFetch("usgs", cur, events))

	gotC, err := s.Cursor("usgs")
	require.NoError(t, err)
	assert.Equal(t, cur, gotC)
	gotE, err := s.Events("usgs")
	require.NoError(t, err)
	require.Len(t, gotE, 1)
	assert.Equal(t, events[0].ID, gotE[0].ID)
	assert.Equal(t, events[0].Severity, gotE[0].Severity)
	assert.True(t, events[0].Issued.Equal(gotE[0].Issued))
	require.Len(t, gotE[0].Footprints, 2)
	assert.Equal(t, events[0].Footprints[0].Geometry, gotE[0].Footprints[0].Geometry)
	assert.Equal(t, orb.Point{61.5, 11.5}, gotE[0].Footprints[1].Geometry)
	require.NotNil(t, gotE[0].Footprints[1].Value)
	assert.Equal(t, 6.5, *gotE[0].Footprints[1].Value)

	// Another source is independent; an empty commit clears events.
	other, err := s.Events("gdacs")
	require.NoError(t, err)
	assert.Empty(t, other)
	require.NoError(t, s.CommitFetch("usgs", adapter.Cursor{ETag: "x"}, nil))
	gotE, err = s.Events("usgs")
	require.NoError(t, err)
	assert.Empty(t, gotE)
}

// Events decodes a source's stored events again only when their bytes
// changed: a sync where nothing changed must not pay the GeoJSON decoding.
func TestEventsDecodedOnlyWhenChanged(t *testing.T) {
	s := openTest(t, "")
	ev := func(id string, x float64) indicators.Event {
		return indicators.Event{ID: id, Source: "layer", Type: indicators.Flood, Phase: indicators.Observed, Issued: fixedNow,
			Footprints: []indicators.Footprint{{Geometry: orb.Polygon{{{x, 0}, {x + 1, 0}, {x + 1, 1}, {x, 0}}}}}}
	}
	first := []indicators.Event{ev("layer:a", 0), ev("layer:b", 5)}
	require.NoError(t, s.CommitFetch("layer", adapter.Cursor{}, first))
	got, err := s.Events("layer")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, 1, s.eventDecodes)

	// Read again, and the same events committed again: no decoding.
	got[0] = ev("layer:changed-by-caller", 9) // the slice is the caller's
	require.NoError(t, s.CommitFetch("layer", adapter.Cursor{ETag: "e"}, first))
	again, err := s.Events("layer")
	require.NoError(t, err)
	assert.Equal(t, 1, s.eventDecodes)
	require.Len(t, again, 2)
	assert.Equal(t, "layer:a", again[0].ID)
	assert.Equal(t, first[1].Footprints[0].Geometry, again[1].Footprints[0].Geometry)

	// Changed events are decoded, and what is returned is what is stored.
	moved := []indicators.Event{ev("layer:a", 0.5), ev("layer:b", 5)}
	require.NoError(t, s.CommitFetch("layer", adapter.Cursor{}, moved))
	now, err := s.Events("layer")
	require.NoError(t, err)
	assert.Equal(t, 2, s.eventDecodes)
	require.Len(t, now, 2)
	assert.Equal(t, moved[0].Footprints[0].Geometry, now[0].Footprints[0].Geometry)

	// Cleared events are empty, not the cached ones.
	require.NoError(t, s.CommitFetch("layer", adapter.Cursor{}, nil))
	now, err = s.Events("layer")
	require.NoError(t, err)
	assert.Empty(t, now)
}

func TestOutboxAndDelivery(t *testing.T) {
	const d = indicators.Date("2026-11-24")
	a1 := val("eq_u18", "A", d, 1)
	a2 := val("eq_u18", "A", d, 2)
	b1 := val("eq_u18", "B", d, 5)
	c1 := val("eq_alert", "A", d, 3)

	type step struct {
		op      string // enqueue, ack, reject
		vals    []indicators.Value
		pending []indicators.Value
	}
	tests := []struct {
		name      string
		steps     []step
		delivered map[indicators.Key]indicators.Value
		rejected  int
	}{
		{
			name: "pending is oldest first",
			steps: []step{
				{op: "enqueue", vals: []indicators.Value{b1, a1}, pending: []indicators.Value{b1, a1}},
				{op: "enqueue", vals: []indicators.Value{c1}, pending: []indicators.Value{b1, a1, c1}},
			},
		},
		{
			name: "enqueue replaces a pending value with the same key and moves it last",
			steps: []step{
				{op: "enqueue", vals: []indicators.Value{a1, b1}, pending: []indicators.Value{a1, b1}},
				{op: "enqueue", vals: []indicators.Value{a2}, pending: []indicators.Value{b1, a2}},
			},
		},
		{
			name: "ack removes the value and marks it delivered",
			steps: []step{
				{op: "enqueue", vals: []indicators.Value{a1, b1}, pending: []indicators.Value{a1, b1}},
				{op: "ack", vals: []indicators.Value{a1}, pending: []indicators.Value{b1}},
			},
			delivered: map[indicators.Key]indicators.Value{a1.Key(): a1},
		},
		{
			name: "ack of an older value keeps the newer pending value",
			steps: []step{
				{op: "enqueue", vals: []indicators.Value{a1}, pending: []indicators.Value{a1}},
				{op: "enqueue", vals: []indicators.Value{a2}, pending: []indicators.Value{a2}},
				{op: "ack", vals: []indicators.Value{a1}, pending: []indicators.Value{a2}},
			},
			delivered: map[indicators.Key]indicators.Value{a1.Key(): a1},
		},
		{
			name: "ack of a value that is not pending still records delivery",
			steps: []step{
				{op: "ack", vals: []indicators.Value{b1}, pending: nil},
			},
			delivered: map[indicators.Key]indicators.Value{b1.Key(): b1},
		},
		{
			name: "reject drops the value without marking it delivered",
			steps: []step{
				{op: "enqueue", vals: []indicators.Value{a1, b1}, pending: []indicators.Value{a1, b1}},
				{op: "reject", vals: []indicators.Value{b1}, pending: []indicators.Value{a1}},
			},
			rejected: 1,
		},
		{
			name: "reject of an older value keeps the newer pending value",
			steps: []step{
				{op: "enqueue", vals: []indicators.Value{a1}, pending: []indicators.Value{a1}},
				{op: "enqueue", vals: []indicators.Value{a2}, pending: []indicators.Value{a2}},
				{op: "reject", vals: []indicators.Value{a1}, pending: []indicators.Value{a2}},
			},
			rejected: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, "")
			for i, st := range tc.steps {
				for _, v := range st.vals {
					switch st.op {
					case "enqueue":
					case "ack":
						require.NoError(t, s.Sink(testSink).Ack(v))
					case "reject":
						require.NoError(t, s.Sink(testSink).Reject(v, "400 Bad Request: code not in dataset"))
					}
				}
				if st.op == "enqueue" {
					require.NoError(t, s.Sink(testSink).Enqueue(st.vals))
				}
				got, err := s.Sink(testSink).Pending()
				require.NoError(t, err)
				assert.Equal(t, keysOf(st.pending), keysOf(got), "step %d", i)
				for j := range st.pending {
					assert.Equal(t, st.pending[j].Number, got[j].Number, "step %d value %d", i, j)
				}
				n, err := s.Sink(testSink).PendingCount()
				require.NoError(t, err)
				assert.Equal(t, len(st.pending), n, "step %d count", i)
			}
			for _, k := range []indicators.Key{a1.Key(), b1.Key(), c1.Key()} {
				got, ok, err := s.Sink(testSink).LastDelivered(k)
				require.NoError(t, err)
				want, wantOK := tc.delivered[k]
				require.Equal(t, wantOK, ok, "delivered %s", k)
				if ok {
					assert.True(t, want.Same(got), "delivered %s: got %v want %v", k, got, want)
				}
			}
			rej, err := s.Sink(testSink).Rejections(0)
			require.NoError(t, err)
			assert.Len(t, rej, tc.rejected)
			for _, r := range rej {
				assert.Equal(t, "400 Bad Request: code not in dataset", r.Reason)
				assert.Equal(t, fixedNow, r.At)
			}
		})
	}
}

func keysOf(vs []indicators.Value) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Key().String())
	}
	return out
}

func TestEnqueueSurvivesCloseWithoutAck(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	vals := []indicators.Value{val("i", "A", "2026-11-24", 1), val("i", "B", "2026-11-24", 2), val("i", "C", "2026-11-25", 3)}
	require.NoError(t, s.Sink(testSink).Enqueue(vals))
	require.NoError(t, s.Sink(testSink).Ack(vals[1]))
	require.NoError(t, s.Close()) // as if the process died before acking the rest

	s2 := openTest(t, dir)
	got, err := s2.Sink(testSink).Pending()
	require.NoError(t, err)
	assert.Equal(t, keysOf([]indicators.Value{vals[0], vals[2]}), keysOf(got))
	_, ok, err := s2.Sink(testSink).LastDelivered(vals[1].Key())
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestDeliveredOn(t *testing.T) {
	s := openTest(t, "")
	vals := []indicators.Value{
		val("eq_u18", "B", "2026-11-24", 1),
		val("eq_u18", "A", "2026-11-24", 2),
		val("alert", "A", "2026-11-24", 3),
		val("eq_u18", "A", "2026-11-23", 4),
		val("eq_u18", "A", "2026-11-25", 5),
		// a longer indicator name must not leak across the date boundary
		val("eq_u18", "A", "2026-11-2", 6),
	}
	for _, v := range vals {
		require.NoError(t, s.Sink(testSink).Ack(v))
	}
	tests := []struct {
		date indicators.Date
		want []string
	}{
		{"2026-11-24", []string{"alert|2026-11-24|A", "eq_u18|2026-11-24|A", "eq_u18|2026-11-24|B"}},
		{"2026-11-23", []string{"eq_u18|2026-11-23|A"}},
		{"2026-11-2", []string{"eq_u18|2026-11-2|A"}},
		{"2026-11-26", []string{}},
	}
	for _, tc := range tests {
		t.Run(string(tc.date), func(t *testing.T) {
			got, err := s.Sink(testSink).DeliveredOn(tc.date)
			require.NoError(t, err)
			assert.Equal(t, tc.want, keysOf(got))
		})
	}
	// A later ack replaces the day's value.
	require.NoError(t, s.Sink(testSink).Ack(val("eq_u18", "A", "2026-11-24", 9)))
	got, err := s.Sink(testSink).DeliveredOn("2026-11-24")
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, 9.0, got[1].Number)
}

func TestRejectionsAndRunsAreBoundedNewestFirst(t *testing.T) {
	s := openTest(t, "", Options{MaxRuns: 5, MaxRejections: 3})
	for i := 1; i <= 12; i++ {
		require.NoError(t, s.RecordRun(adapter.RunSummary{Started: fixedNow.Add(time.Duration(i) * time.Minute), Values: i, Duration: time.Second}))
		require.NoError(t, s.Sink(testSink).Reject(val("i", "A", "2026-11-24", float64(i)), "reason "+strconv.Itoa(i)))
	}
	runs, err := s.Runs(0)
	require.NoError(t, err)
	require.Len(t, runs, 5)
	for i, r := range runs {
		assert.Equal(t, 12-i, r.Values)
	}
	assert.Equal(t, time.Second, runs[0].Duration)
	runs, err = s.Runs(2)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	assert.Equal(t, 11, runs[1].Values)

	rej, err := s.Sink(testSink).Rejections(10)
	require.NoError(t, err)
	require.Len(t, rej, 3)
	assert.Equal(t, []string{"reason 12", "reason 11", "reason 10"}, []string{rej[0].Reason, rej[1].Reason, rej[2].Reason})
	assert.Equal(t, 12.0, rej[0].Value.Number)
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name     string
		keepDays int
		before   indicators.Date
		dropped  int
		left     []indicators.Date
	}{
		{"drops days before the date", 2, "2026-11-20", 2, []indicators.Date{"2026-11-20", "2026-11-22", "2026-11-24"}},
		{"never drops the kept days", 3, "2026-11-30", 3, []indicators.Date{"2026-11-22", "2026-11-24"}},
		{"default keeps two weeks", 0, "2026-11-30", 1, []indicators.Date{"2026-11-10", "2026-11-20", "2026-11-22", "2026-11-24"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, "", Options{KeepDays: tc.keepDays})
			all := []indicators.Date{"2026-11-01", "2026-11-10", "2026-11-20", "2026-11-22", "2026-11-24"}
			for _, d := range all {
				require.NoError(t, s.Sink(testSink).Ack(val("i", "A", d, 1)))
				require.NoError(t, s.Sink(testSink).Ack(val("j", "B", d, 1)))
			}
			// pending values are not touched by Prune
			require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{val("i", "A", "2026-11-01", 2)}))
			n, err := s.Prune(tc.before)
			require.NoError(t, err)
			assert.Equal(t, tc.dropped*2, n)
			var left []indicators.Date
			for _, d := range all {
				got, err := s.Sink(testSink).DeliveredOn(d)
				require.NoError(t, err)
				if len(got) > 0 {
					assert.Len(t, got, 2)
					left = append(left, d)
				}
			}
			assert.Equal(t, tc.left, left)
			cnt, err := s.Sink(testSink).PendingCount()
			require.NoError(t, err)
			assert.Equal(t, 1, cnt)
		})
	}
	s := openTest(t, "")
	_, err := s.Prune("24/11/2026")
	assert.ErrorContains(t, err, "not a YYYY-MM-DD date")
}

func TestBackupIsAReadableCopy(t *testing.T) {
	s := openTest(t, "")
	require.NoError(t, s.Sink(testSink).Ack(val("i", "A", "2026-11-24", 7)))
	require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{val("i", "B", "2026-11-24", 8)}))
	var buf bytes.Buffer
	n, err := s.Backup(&buf)
	require.NoError(t, err)
	assert.Equal(t, int64(buf.Len()), n)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), buf.Bytes(), 0o600))
	b := openTest(t, dir)
	got, ok, err := b.Sink(testSink).LastDelivered(indicators.Key{Indicator: "i", Date: "2026-11-24", Code: "A"})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, 7.0, got.Number)
	p, err := b.Sink(testSink).Pending()
	require.NoError(t, err)
	assert.Equal(t, []string{"i|2026-11-24|B"}, keysOf(p))
}

func TestJSONBuckets(t *testing.T) {
	s := openTest(t, "")
	type ledger struct {
		Stage string    `json:"stage"`
		Since time.Time `json:"since"`
	}
	var got ledger
	ok, err := s.GetJSON("ew_ledger", "DML_0001_V1", &got)
	require.NoError(t, err)
	assert.False(t, ok)

	want := ledger{Stage: "warning", Since: fixedNow}
	require.NoError(t, s.PutJSON("ew_ledger", "DML_0001_V1", want))
	require.NoError(t, s.PutJSON("footprint_hashes", "earthquake", "sha256:abc"))
	ok, err = s.GetJSON("ew_ledger", "DML_0001_V1", &got)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, want.Stage, got.Stage)
	assert.True(t, want.Since.Equal(got.Since))

	// Extension buckets never alias the store's own.
	ok, err = s.GetJSON("cursors", "usgs", &got)
	require.NoError(t, err)
	assert.False(t, ok)
	names, err := s.Buckets()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"ew_ledger", "footprint_hashes"}, names)

	require.NoError(t, s.DeleteJSON("ew_ledger", "DML_0001_V1"))
	ok, err = s.GetJSON("ew_ledger", "DML_0001_V1", &got)
	require.NoError(t, err)
	assert.False(t, ok)

	assert.Error(t, s.PutJSON("", "k", 1))
	assert.Error(t, s.PutJSON("b", "k", func() {}), "unencodable values are errors")
}

func TestConcurrentUse(t *testing.T) {
	s := openTest(t, "", Options{NoSync: true})
	const workers, perWorker = 6, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				v := val("i", fmt.Sprintf("W%d_%d", w, i), "2026-11-24", float64(i))
				if err := s.Sink(testSink).Enqueue([]indicators.Value{v}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Sink(testSink).Pending(); err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					if err := s.Sink(testSink).Ack(v); err != nil {
						t.Error(err)
						return
					}
				}
				if err := s.RecordRun(adapter.RunSummary{Values: i}); err != nil {
					t.Error(err)
					return
				}
				if err := s.PutJSON("x", fmt.Sprint(w), i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n, err := s.Sink(testSink).PendingCount()
	require.NoError(t, err)
	assert.Equal(t, workers*perWorker/2, n)
	got, err := s.Sink(testSink).DeliveredOn("2026-11-24")
	require.NoError(t, err)
	assert.Len(t, got, workers*perWorker/2)
}

func BenchmarkEnqueueAck(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("fsync=%v", sync), func(b *testing.B) {
			s := openTest(b, "", Options{NoSync: !sync})
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				v := val("eq_u18", fmt.Sprintf("DML_%04d", i%5000), "2026-11-24", float64(i))
				if err := s.Sink(testSink).Enqueue([]indicators.Value{v}); err != nil {
					b.Fatal(err)
				}
				if err := s.Sink(testSink).Ack(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnqueueBatchAck is the runner's real pattern: one Enqueue of a
// sync's changed values, then one Ack per delivered value.
func BenchmarkEnqueueBatchAck(b *testing.B) {
	const batch = 500
	s := openTest(b, "")
	vals := make([]indicators.Value, batch)
	b.ReportAllocs()
	for r := 0; b.Loop(); r++ {
		for i := range vals {
			vals[i] = val("eq_u18", fmt.Sprintf("DML_%04d", i), "2026-11-24", float64(r))
		}
		if err := s.Sink(testSink).Enqueue(vals); err != nil {
			b.Fatal(err)
		}
		for _, v := range vals {
			if err := s.Sink(testSink).Ack(v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/value")
}

func TestEachJSONReadsTheBucketInKeyOrder(t *testing.T) {
	s := openTest(t, "")
	require.NoError(t, s.EachJSON("ledger", func(string, []byte) error {
		t.Fatal("an absent bucket has no keys")
		return nil
	}))
	require.NoError(t, s.PutJSON("ledger", "b", map[string]int{"n": 2}))
	require.NoError(t, s.PutJSON("ledger", "a", map[string]int{"n": 1}))
	require.NoError(t, s.PutJSON("other", "c", 3))
	got := map[string]string{}
	var order []string
	require.NoError(t, s.EachJSON("ledger", func(k string, raw []byte) error {
		got[k] = string(raw)
		order = append(order, k)
		return nil
	}))
	assert.Equal(t, map[string]string{"a": `{"n":1}`, "b": `{"n":2}`}, got)
	assert.Equal(t, []string{"a", "b"}, order)
	require.Error(t, s.EachJSON("", func(string, []byte) error { return nil }))
}

// testSink is the sink the tests deliver for.
const testSink = "gs"

// AckAll leaves the store exactly as one Ack per value, in order, would:
// delivered and latest values, the outbox (a newer value enqueued while
// one was in flight stays pending), and the check's verdict.
func TestAckAllIsAckForEach(t *testing.T) {
	d := indicators.Date("2026-11-24")
	var vals []indicators.Value
	for i := range 300 {
		vals = append(vals, val(fmt.Sprintf("HS_%d", i%7), fmt.Sprintf("A%d", i%40), d, float64(i)))
	}
	newer := val("HS_0", "A0", d, 999) // enqueued after vals[0] went out
	run := func(ack func(s adapter.SinkStore, vs []indicators.Value)) map[string][]indicators.Value {
		s := openTest(t, "")
		sk := s.Sink(testSink)
		require.NoError(t, sk.Enqueue(vals))
		require.NoError(t, sk.Enqueue([]indicators.Value{newer}))
		ack(sk, vals)
		out := map[string][]indicators.Value{}
		var err error
		out["pending"], err = sk.Pending()
		require.NoError(t, err)
		out["latest"], err = sk.Latest()
		require.NoError(t, err)
		out["delivered"], err = sk.DeliveredOn(d)
		require.NoError(t, err)
		return out
	}
	one := run(func(s adapter.SinkStore, vs []indicators.Value) {
		for _, v := range vs {
			require.NoError(t, s.Ack(v))
		}
	})
	all := run(func(s adapter.SinkStore, vs []indicators.Value) {
		require.NoError(t, s.(adapter.BatchAcker).AckAll(vs[:100]))
		require.NoError(t, s.(adapter.BatchAcker).AckAll(vs[100:]))
		require.NoError(t, s.(adapter.BatchAcker).AckAll(nil))
	})
	require.Equal(t, one, all)
	require.Equal(t, []indicators.Value{newer}, all["pending"][:1], "the newer value stays pending")
}
