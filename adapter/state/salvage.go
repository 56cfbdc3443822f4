package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// ErrLocked is returned (wrapped) when another process holds the state.
var ErrLocked = errors.New("state is locked by another process")

// SalvageReport says what Salvage copied.
type SalvageReport struct {
	// Copied and Lost count records per bucket; Lost is -1 where the rest of
	// a bucket could not be read (the count is unknown).
	Copied map[string]int
	Lost   map[string]int
}

func (r SalvageReport) String() string {
	var names []string
	for n := range r.Copied {
		names = append(names, n)
	}
	for n := range r.Lost {
		if _, ok := r.Copied[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	s := ""
	for _, n := range names {
		s += fmt.Sprintf("%s: %d copied", n, r.Copied[n])
		switch {
		case r.Lost[n] < 0:
			s += ", the rest unreadable"
		case r.Lost[n] > 0:
			s += fmt.Sprintf(", %d damaged records dropped", r.Lost[n])
		}
		s += "\n"
	}
	return s
}

// Salvage copies every record still readable from the (damaged) database
// file src into a new database file dst, bucket by bucket and key by key:
// a bucket whose pages are broken keeps what was read before the break.
// Opening dst as a state dir then works like any state (what was lost is
// sent again: delivered records are how the daemon knows what not to
// resend). src is opened read-only and never written.
func Salvage(src, dst string) (SalvageReport, error) {
	rep := SalvageReport{Copied: map[string]int{}, Lost: map[string]int{}}
	if _, err := os.Stat(dst); err == nil {
		return rep, fmt.Errorf("state: salvage: %s exists; give a new file", dst)
	}
	var in *bolt.DB
	err := func() (err error) {
		defer guard(src, &err)()
		in, err = bolt.Open(src, 0o400, &bolt.Options{ReadOnly: true, Timeout: DefaultLockTimeout})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return fmt.Errorf("state: %s: %w", src, ErrLocked)
		}
		return err
	}()
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return rep, err
		}
		return rep, fmt.Errorf("state: salvage: %s cannot be opened at all (%v): nothing is readable; start fresh", src, err)
	}
	defer in.Close()
	src2 := guardedDB{in, src}
	// Every bucket, nested ones (the sinks') too, by path; each read in its
	// own transaction so damage in one loses nothing of the others.
	var paths []string
	var walk func(path string, b *bolt.Bucket) error
	walk = func(path string, b *bolt.Bucket) error {
		paths = append(paths, path)
		return b.ForEachBucket(func(k []byte) error { return walk(path+"/"+string(k), b.Bucket(k)) })
	}
	var top [][]byte
	_ = src2.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			top = append(top, bytes.Clone(name))
			return nil
		})
	})
	for _, name := range top {
		_ = src2.View(func(tx *bolt.Tx) error { return walk(string(name), tx.Bucket(name)) })
	}
	type kv struct{ k, v []byte }
	read := map[string][]kv{}
	seq := map[string]uint64{}
	for _, path := range paths {
		var got []kv
		err := src2.View(func(tx *bolt.Tx) error {
			b := bucketAt(tx, path)
			if b == nil {
				return nil
			}
			seq[path] = b.Sequence()
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				switch {
				case v == nil: // a nested bucket, walked on its own
				case !recordReads(path, v):
					// The damage hit this record's bytes.
					rep.Lost[path]++
				default:
					got = append(got, kv{bytes.Clone(k), bytes.Clone(v)})
				}
			}
			return nil
		})
		read[path] = got
		rep.Copied[path] = len(got)
		if err != nil {
			rep.Lost[path] = -1 // the rest of the bucket: count unknown
		}
	}
	// A delivery time whose delivered record was lost would never be pruned.
	for path, at := range read {
		dir, last := splitPath(path)
		if last != string(bDeliveredAt) {
			continue
		}
		have := map[string]bool{}
		for _, x := range read[dir+string(bDelivered)] {
			have[string(x.k)] = true
		}
		kept := at[:0]
		for _, x := range at {
			if have[string(x.k)] {
				kept = append(kept, x)
			}
		}
		read[path] = kept
		rep.Copied[path] = len(kept)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: DefaultLockTimeout})
	if err != nil {
		return rep, fmt.Errorf("state: salvage: create %s: %w", dst, err)
	}
	slices.Sort(paths) // parents before children
	err = out.Update(func(tx *bolt.Tx) error {
		for _, path := range paths {
			b, err := createBucketAt(tx, path)
			if err != nil {
				return err
			}
			if err := b.SetSequence(seq[path]); err != nil {
				return err
			}
			for _, x := range read[path] {
				if err := b.Put(x.k, x.v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(dst)
		return rep, fmt.Errorf("state: salvage: write %s: %w", dst, err)
	}
	return rep, nil
}

// splitPath splits a bucket path into its parent (with the trailing "/",
// "" at the top) and its last name.
func splitPath(path string) (dir, last string) {
	i := strings.LastIndexByte(path, '/')
	return path[:i+1], path[i+1:]
}

// bucketAt is the bucket at a "/"-separated path (nil when absent).
func bucketAt(tx *bolt.Tx, path string) *bolt.Bucket {
	parts := strings.Split(path, "/")
	b := tx.Bucket([]byte(parts[0]))
	for _, p := range parts[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(p))
	}
	return b
}

func createBucketAt(tx *bolt.Tx, path string) (*bolt.Bucket, error) {
	parts := strings.Split(path, "/")
	b, err := tx.CreateBucketIfNotExists([]byte(parts[0]))
	for _, p := range parts[1:] {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists([]byte(p))
	}
	return b, err
}

// recordReads reports whether a record decodes as what its bucket (by
// path) holds.
func recordReads(path string, v []byte) bool {
	dir, name := splitPath(path)
	inSink := strings.HasPrefix(dir, string(bSinks)+"/")
	var target any
	switch {
	case dir == "" && name == string(bMeta):
		return true
	case dir == "" && name == string(bCursors):
		target = new(adapter.Cursor)
	case dir == "" && name == string(bEvents):
		target = new([]indicators.Event)
	case dir == "" && name == string(bRuns):
		target = new(adapter.RunSummary)
	case dir == "" && strings.HasPrefix(name, ExtPrefix), inSink && name == string(bSinkState):
		return json.Valid(v) // PutJSON buckets
	case inSink && (name == string(bDelivered) || name == string(bOutbox) || name == string(bLatest)):
		target = new(indicators.Value)
	case inSink && name == string(bRejections):
		target = new(adapter.Rejection)
	case inSink && name == string(bOutboxKey):
		return len(v) == 8 // an outbox sequence number
	case inSink && name == string(bDeliveredAt):
		_, err := time.Parse(time.RFC3339, string(v))
		return err == nil
	default:
		return true // a bucket this code does not know: keep it as it is
	}
	return json.Unmarshal(v, target) == nil
}
