package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// healthyDB writes a state file with something in every bucket and returns
// its bytes.
func healthyDB(t testing.TB) []byte { return healthyDBOf(t, 1500) }

// healthyDBOf is healthyDB with n values (900/1500 delivered, 50/1500
// rejected, the rest pending).
func healthyDBOf(t testing.TB, n int) []byte {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{Now: func() time.Time { return fixedNow }, NoSync: true})
	require.NoError(t, err)
	var vals []indicators.Value
	for i := range n {
		vals = append(vals, val("eq_u18", fmt.Sprintf("DML_%04d", i), "2026-11-24", float64(i+1)))
	}
	require.NoError(t, s.Sink(testSink).Enqueue(vals))
	for _, v := range vals[:n*900/1500] {
		require.NoError(t, s.Sink(testSink).Ack(v))
	}
	for _, v := range vals[n*900/1500 : n*950/1500] {
		require.NoError(t, s.Sink(testSink).Reject(v, "400 unknown geom_id"))
	}
	require.NoError(t, s.CommitFetch("usgs", adapter.Cursor{ETag: `"abc"`}, []indicators.Event{{ID: "usgs:1", Version: "1"}}))
	for range 20 {
		require.NoError(t, s.RecordRun(adapter.RunSummary{Started: fixedNow, Sent: 3}))
	}
	require.NoError(t, s.PutJSON("ledger", "k", map[string]int{"a": 1}))
	require.NoError(t, s.Close())
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	return b
}

// useStore does what the daemon does with a store, returning the first
// error. A panic or a fault fails the test binary.
func useStore(s *Store) error {
	if _, err := s.Cursor("usgs"); err != nil {
		return err
	}
	if _, err := s.Events("usgs"); err != nil {
		return err
	}
	if _, err := s.Sink(testSink).DeliveredOn("2026-11-24"); err != nil {
		return err
	}
	p, err := s.Sink(testSink).Pending()
	if err != nil {
		return err
	}
	if _, err := s.Sink(testSink).PendingCount(); err != nil {
		return err
	}
	if _, err := s.Sink(testSink).Rejections(0); err != nil {
		return err
	}
	if _, err := s.Runs(0); err != nil {
		return err
	}
	if _, err := s.List(Filter{}); err != nil {
		return err
	}
	for _, v := range p[:min(len(p), 50)] {
		if err := s.Sink(testSink).Ack(v); err != nil {
			return err
		}
	}
	return s.Sink(testSink).Enqueue([]indicators.Value{val("new", "DML_0001", "2026-11-25", 1)})
}

// TestDamagedFileNeverPanics cuts and scribbles over a real state file with
// many seeds. What must never happen: a panic or a fault (either kills this
// test binary). What must happen: the damage is found either at Open, with
// a CorruptError naming the file and the recovery, or the store works.
func TestDamagedFileNeverPanics(t *testing.T) {
	good := healthyDB(t)
	seeds := 80
	if testing.Short() {
		seeds = 30
	}
	damages := []struct {
		name   string
		damage func(r *rand.Rand, b []byte) []byte
	}{
		{"cut in half", func(_ *rand.Rand, b []byte) []byte { return b[:len(b)/2] }},
		{"cut anywhere", func(r *rand.Rand, b []byte) []byte { return b[:r.IntN(len(b))] }},
		{"200 random bytes", func(r *rand.Rand, b []byte) []byte {
			for range 200 {
				b[r.IntN(len(b))] = byte(r.UintN(256))
			}
			return b
		}},
		{"one random byte past the meta pages", func(r *rand.Rand, b []byte) []byte {
			b[8192+r.IntN(len(b)-8192)] ^= byte(1 + r.UintN(255))
			return b
		}},
		{"a zeroed page", func(r *rand.Rand, b []byte) []byte {
			p := 2 + r.IntN(len(b)/4096-2)
			clear(b[p*4096 : (p+1)*4096])
			return b
		}},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			refused := 0
			for seed := range seeds {
				r := rand.New(rand.NewPCG(uint64(seed), 13))
				dir := t.TempDir()
				path := filepath.Join(dir, FileName)
				require.NoError(t, os.WriteFile(path, d.damage(r, append([]byte(nil), good...)), 0o600))
				s, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond, NoSync: true})
				if err != nil {
					refused++
					require.True(t, IsCorrupt(err), "seed %d: %v", seed, err)
					assert.Contains(t, err.Error(), path, "seed %d", seed)
					assert.Contains(t, err.Error(), "hazardsync state check", "seed %d", seed)
					problems, cerr := Check(dir, Options{LockTimeout: 50 * time.Millisecond})
					require.NoError(t, cerr, "seed %d", seed)
					assert.NotEmpty(t, problems, "seed %d: Open refused it but Check finds nothing", seed)
					continue
				}
				// Opened: any error later must still be a clean one.
				if err := useStore(s); err != nil {
					assert.Contains(t, err.Error(), "state", "seed %d", seed)
				}
				require.NoError(t, s.Close())
			}
			t.Logf("%s: %d of %d damaged files refused at open", d.name, refused, seeds)
		})
	}
}

func TestCutFileIsRefusedWithRecovery(t *testing.T) {
	good := healthyDB(t)
	// Cut half of what holds data: bbolt grows files in steps, and a tail
	// of never-written zeros is no loss when cut.
	used := len(bytes.TrimRight(good, "\x00"))
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	require.NoError(t, os.WriteFile(path, good[:used/2], 0o600))
	_, err := Open(dir)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{path, "damaged", "cut short", "hazardsync state check", "hazardsync state backup", ".damaged"} {
		assert.Contains(t, msg, want)
	}
}

func TestCheckHealthyFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), healthyDB(t), 0o600))
	problems, err := Check(dir)
	require.NoError(t, err)
	assert.Empty(t, problems)
	_, err = Check(t.TempDir())
	require.Error(t, err, "no database is not a healthy database")
}

// TestDamageWhileOpenNeverPanics scribbles over the file under an open
// store (bbolt maps the file, so the store sees the damage at once): reads
// and writes must then fail with errors, never panic.
func TestDamageWhileOpenNeverPanics(t *testing.T) {
	good := healthyDB(t)
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	failed := 0
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		require.NoError(t, os.WriteFile(path, good, 0o600))
		s, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond, NoSync: true})
		require.NoError(t, err)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		require.NoError(t, err)
		for range 200 {
			_, err := f.WriteAt([]byte{byte(r.UintN(256))}, 8192+r.Int64N(int64(len(good)-8192)))
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
		if err := useStore(s); err != nil {
			failed++
			assert.Contains(t, err.Error(), "state", "seed %d", seed)
		}
		_ = s.Close()
	}
	t.Logf("%d of %d stores damaged while open returned an error (the rest did not touch a damaged page)", failed, seeds)
}

// BenchmarkOpenCheck measures what the check at open costs on a state file
// of 100,000 delivered values, against opening without it (bbolt alone).
func BenchmarkOpenCheck(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	require.NoError(b, err)
	for batch := range 20 {
		var vals []indicators.Value
		for i := range 5000 {
			vals = append(vals, val("eq_u18", fmt.Sprintf("DML_%06d", batch*5000+i), "2026-11-24", float64(i+1)))
		}
		require.NoError(b, s.Sink(testSink).Enqueue(vals))
		for _, v := range vals {
			require.NoError(b, s.db.Update(func(tx *bolt.Tx) error {
				sb := sinkBucket(tx, testSink)
				if err := dropIfSame(sb, v); err != nil {
					return err
				}
				return putJSON(sub(sb, bDelivered), deliveredKey(v.Key()), v)
			}))
		}
	}
	require.NoError(b, s.Close())
	fi, err := os.Stat(filepath.Join(dir, FileName))
	require.NoError(b, err)
	b.Logf("state file: %.1f MB", float64(fi.Size())/1e6)
	b.Run("bbolt-open", func(b *testing.B) {
		for b.Loop() {
			db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
			require.NoError(b, err)
			require.NoError(b, db.Close())
		}
	})
	b.Run("state-open-checked", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(dir)
			require.NoError(b, err)
			require.NoError(b, s.Close())
		}
	})
}

// TestSalvageKeepsWhatIsReadable: from a file with a zeroed page, Salvage
// writes a healthy state with every record it could read.
func TestSalvageKeepsWhatIsReadable(t *testing.T) {
	good := healthyDB(t)
	salvaged := 0
	for seed := range 20 {
		r := rand.New(rand.NewPCG(uint64(seed), 99))
		bad := append([]byte(nil), good...)
		p := 2 + r.IntN(len(bad)/4096-2)
		clear(bad[p*4096 : (p+1)*4096])
		dir := t.TempDir()
		src := filepath.Join(dir, "damaged.db")
		require.NoError(t, os.WriteFile(src, bad, 0o600))
		outDir := t.TempDir()
		rep, err := Salvage(src, filepath.Join(outDir, FileName))
		if err != nil {
			assert.Contains(t, err.Error(), "nothing is readable", "seed %d", seed)
			continue
		}
		salvaged++
		s, err := Open(outDir)
		require.NoError(t, err, "seed %d: the salvaged copy opens as a healthy state\n%s", seed, rep)
		recs, err := s.List(Filter{})
		require.NoError(t, err)
		total := 0
		for _, n := range rep.Copied {
			total += n
		}
		assert.LessOrEqual(t, len(recs), total)
		require.NoError(t, useStore(s), "seed %d", seed)
		require.NoError(t, s.Close())
	}
	assert.Greater(t, salvaged, 10)
	// A healthy file salvages completely.
	dir := t.TempDir()
	src := filepath.Join(dir, "ok.db")
	require.NoError(t, os.WriteFile(src, good, 0o600))
	rep, err := Salvage(src, filepath.Join(dir, "copy.db"))
	require.NoError(t, err)
	assert.Empty(t, rep.Lost)
	assert.Equal(t, 900, rep.Copied["sinks/"+testSink+"/delivered"])
	assert.Equal(t, 550, rep.Copied["sinks/"+testSink+"/outbox"])
}

// A panic on a healthy file is a bug, not damage: the error must not send
// the operator to move the file aside.
func TestPanicOnHealthyFileIsNotCalledDamage(t *testing.T) {
	s := openTest(t, "")
	var nilMap map[string]int
	err := s.db.View(func(*bolt.Tx) error {
		nilMap["x"] = 1 // a programming error inside a transaction
		return nil
	})
	require.Error(t, err)
	assert.False(t, IsCorrupt(err), "%v", err)
	assert.Contains(t, err.Error(), "this is a bug")
	assert.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{val("A", "X", "2026-11-24", 1)}), "the store still works")
}
