package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// Retention keeps the state bounded. Delivered-value history is one record
// per (date, indicator, area) and run records one per sync, so without it
// the file grows every day. Retain drops both beyond the retention period
// (the latest value of every series, the outbox, cursors, events and the
// warning ledger are never touched: they are bounded by the number of
// areas and feeds). bbolt reuses freed pages, so a pruned database stops
// growing even in a daemon that never restarts; Open compacts a file that is
// mostly free pages, which shrinks it. Nothing compacts while the store is
// in use: its handle is shared without a lock (see README.md).

// RetainResult says what Retain dropped.
type RetainResult struct {
	Delivered int // delivered-value records
	Runs      int // run records
}

// Retain drops delivered records dated more than days before today and run
// records that started more than days before now (the store's clock). The
// KeepDays floor of Prune still applies to delivered records.
func (s *Store) Retain(today indicators.Date, days int) (RetainResult, error) {
	var res RetainResult
	if days < 1 {
		return res, fmt.Errorf("state: retain: days must be at least 1, got %d", days)
	}
	day, err := time.Parse(time.DateOnly, string(today))
	if err != nil {
		return res, fmt.Errorf("state: retain: %q is not a YYYY-MM-DD date", today)
	}
	res.Delivered, err = s.Prune(indicators.DateOf(day.AddDate(0, 0, -days), time.UTC))
	if err != nil {
		return res, err
	}
	res.Runs, err = s.pruneRuns(s.opts.Now().AddDate(0, 0, -days))
	return res, err
}

// pruneRuns drops run records that started before cutoff. Records are in
// sequence order, which is start order.
func (s *Store) pruneRuns(cutoff time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bRuns).Cursor()
		for k, raw := c.First(); k != nil; k, raw = c.First() {
			var r adapter.RunSummary
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("run record %x: %w", k, err)
			}
			if !r.Started.Before(cutoff) {
				return nil
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state: prune runs: %w", err)
	}
	return n, nil
}

// Compaction thresholds: a file is compacted at Open when at least half of
// it is free pages and the free part is worth a rewrite.
const (
	compactMinFree  = 0.5
	compactMinBytes = 4 << 20
)

// CompactResult is what the compaction at Open did (zero when none ran).
type CompactResult struct {
	Before, After int64
}

// Compaction reports the compaction done by Open, if any.
func (s *Store) Compaction() CompactResult { return s.compacted }

// compactIfSparse rewrites the database without its free pages when they
// are most of the file. It runs in Open, before anything else uses the
// store. The new file replaces the old by rename while the old one is still
// open and locked, so no other process can write to the old file meanwhile.
// Failure is not fatal: the uncompacted file stays in use.
func (s *Store) compactIfSparse(minBytes int64) error {
	info, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	used, err := s.usedBytes()
	if err != nil {
		return err
	}
	free := info.Size() - used
	if free < minBytes || float64(free) < compactMinFree*float64(info.Size()) {
		return nil
	}
	tmp := s.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: s.opts.NoSync})
	if err != nil {
		return err
	}
	if err := bolt.Compact(dst, s.db.DB, 16<<20); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return err
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	_ = s.db.Close() // the old file is gone from the directory; its lock with it
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: s.opts.LockTimeout, NoSync: s.opts.NoSync})
	if err != nil {
		s.db = guardedDB{path: s.path} // Open fails: the store is unusable
		return errors.Join(errors.New("reopening the compacted state"), err)
	}
	s.db = guardedDB{db, s.path}
	after, err := os.Stat(s.path)
	if err == nil {
		s.compacted = CompactResult{Before: info.Size(), After: after.Size()}
	}
	return nil
}

// usedBytes is the part of the file holding data: the pages up to the
// high-water mark minus the free ones. The rest is free pages and bbolt's
// pre-grown tail (the file grows in doubling steps, so its size alone is a
// coarse measure).
func (s *Store) usedBytes() (int64, error) {
	var hw int64
	if err := s.db.View(func(tx *bolt.Tx) error { hw = tx.Size(); return nil }); err != nil {
		return 0, err
	}
	return hw - int64(s.db.Stats().FreeAlloc), nil
}

// dataBytes is what the buckets' pages hold (leaf and branch pages
// allocated), for tests and diagnostics.
func (s *Store) dataBytes() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			st := b.Stats()
			n += int64(st.LeafAlloc + st.BranchAlloc)
			return nil
		})
	})
	return n, err
}

// appendMostly tunes a bucket whose keys mostly arrive at the end and leave
// from the front (delivered history is keyed by date first): pages are
// filled to 90% instead of bbolt's 50%. With 50%, 60 simulated days at 30
// days' retention kept adding pages though the record count was flat.
func appendMostly(b *bolt.Bucket) *bolt.Bucket {
	b.FillPercent = 0.9
	return b
}
