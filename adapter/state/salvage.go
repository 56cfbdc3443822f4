package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
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
	var names [][]byte
	_ = src2.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, append([]byte(nil), name...))
			return nil
		})
	})
	type kv struct{ k, v []byte }
	read := map[string][]kv{}
	seq := map[string]uint64{}
	for _, name := range names {
		var got []kv
		err := src2.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(name)
			if b == nil {
				return nil
			}
			seq[string(name)] = b.Sequence()
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				switch {
				case v == nil:
				case !recordReads(name, v):
					// The damage hit this record's bytes.
					rep.Lost[string(name)]++
				default:
					got = append(got, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
				}
			}
			return nil
		})
		read[string(name)] = got
		rep.Copied[string(name)] = len(got)
		if err != nil {
			rep.Lost[string(name)] = -1 // the rest of the bucket: count unknown
		}
	}
	// A delivery time whose delivered record was lost would never be pruned.
	if at, ok := read[string(bDeliveredAt)]; ok {
		have := map[string]bool{}
		for _, x := range read[string(bDelivered)] {
			have[string(x.k)] = true
		}
		kept := at[:0]
		for _, x := range at {
			if have[string(x.k)] {
				kept = append(kept, x)
			}
		}
		read[string(bDeliveredAt)] = kept
		rep.Copied[string(bDeliveredAt)] = len(kept)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: DefaultLockTimeout})
	if err != nil {
		return rep, fmt.Errorf("state: salvage: create %s: %w", dst, err)
	}
	err = out.Update(func(tx *bolt.Tx) error {
		for name, kvs := range read {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			if err := b.SetSequence(seq[name]); err != nil {
				return err
			}
			for _, x := range kvs {
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

// recordReads reports whether a record decodes as what its bucket holds.
func recordReads(bucket, v []byte) bool {
	var target any
	switch {
	case bytes.Equal(bucket, bMeta):
		return true
	case bytes.Equal(bucket, bCursors):
		target = new(adapter.Cursor)
	case bytes.Equal(bucket, bEvents):
		target = new([]indicators.Event)
	case bytes.Equal(bucket, bDelivered), bytes.Equal(bucket, bOutbox):
		target = new(indicators.Value)
	case bytes.Equal(bucket, bRejections):
		target = new(adapter.Rejection)
	case bytes.Equal(bucket, bRuns):
		target = new(adapter.RunSummary)
	case bytes.Equal(bucket, bOutboxKey):
		return len(v) == 8 // an outbox sequence number
	case bytes.Equal(bucket, bDeliveredAt):
		_, err := time.Parse(time.RFC3339, string(v))
		return err == nil
	case bytes.HasPrefix(bucket, []byte(ExtPrefix)):
		return json.Valid(v) // PutJSON buckets
	default:
		return true // a bucket this code does not know: keep it as it is
	}
	return json.Unmarshal(v, target) == nil
}
