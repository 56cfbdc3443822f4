// Package state is the daemon's durable memory on bbolt: per-source cursors
// and events, the last value delivered per GeoSight key, the outbox of values
// still to deliver, rejections and run history. Every method is one bbolt
// transaction, so a crash between two calls leaves the store as one of them
// left it.
package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// SchemaVersion is the layout this code reads and writes. Bump it (and add a
// migration in migrate) whenever a bucket's key or value format changes.
//
// 2: delivery state is per sink (sinks/<name>/...); schema 1's single
// outbox, history and rejections became the legacy sink's.
const SchemaVersion = 2

// FileName is the database file inside the state dir.
const FileName = "hazardsync.db"

// Defaults for Options.
const (
	DefaultLockTimeout   = 3 * time.Second
	DefaultMaxRuns       = 200
	DefaultMaxRejections = 1000
	DefaultKeepDays      = 14
)

var (
	bMeta    = []byte("meta")
	bCursors = []byte("cursors")
	bEvents  = []byte("events")
	bRuns    = []byte("runs")  // seq → RunSummary JSON
	bSinks   = []byte("sinks") // sink name → that sink's buckets (sinks.go)

	keySchema = []byte("schema")

	coreBuckets = [][]byte{bMeta, bCursors, bEvents, bRuns, bSinks}
)

// ExtPrefix prefixes the names of buckets made by GetJSON/PutJSON so they
// can never collide with the store's own buckets.
const ExtPrefix = "x:"

// Options tune a store; zero fields take the defaults.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the database before giving up.
	LockTimeout time.Duration
	// MaxRuns and MaxRejections bound the history kept.
	MaxRuns       int
	MaxRejections int
	// KeepDays is the number of most recent days Prune never drops, whatever
	// date it is given.
	KeepDays int
	// Now is the clock for rejection times and Prune's floor.
	Now func() time.Time
	// CompactMinBytes is how much free space Open needs before it compacts
	// a file that is at least half free (default 4 MiB).
	CompactMinBytes int64
	// NoSync skips fsync on commit. Only for tests and benchmarks that
	// measure something else: a crash may then lose acknowledged writes.
	NoSync bool
}

func (o *Options) fill() {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.MaxRuns <= 0 {
		o.MaxRuns = DefaultMaxRuns
	}
	if o.MaxRejections <= 0 {
		o.MaxRejections = DefaultMaxRejections
	}
	if o.KeepDays <= 0 {
		o.KeepDays = DefaultKeepDays
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CompactMinBytes <= 0 {
		o.CompactMinBytes = compactMinBytes
	}
}

// Store implements adapter.Store on a bbolt file.
type Store struct {
	db   guardedDB // every transaction recovers bbolt's panics: see check.go
	opts Options
	path string
	// scratch is the temporary dir of a dry-run copy (OpenSnapshot),
	// removed on Close.
	scratch string
	// compacted is what Open's compaction did (retention.go).
	compacted CompactResult

	// events keeps each source's last decoded events with the bytes they
	// were decoded from: every fetch and every sync reads them, and decoding
	// the footprints' GeoJSON was a quarter of a sync where nothing changed.
	eventsMu sync.Mutex
	events   map[string]decodedEvents
	// eventDecodes counts decodes of stored events (tests read it).
	eventDecodes int
}

type decodedEvents struct {
	raw    []byte
	events []indicators.Event
}

var _ adapter.Store = (*Store)(nil)

// optionsOf is the options a variadic Open-like call was given, defaults
// filled in.
func optionsOf(opts []Options) Options {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o.fill()
	return o
}

// Open opens or creates <dir>/hazardsync.db. It fails with a clear error when
// another hazardsync process holds the same state dir, and when the file was
// written by a newer hazardsync with a schema this one does not know.
func Open(dir string, opts ...Options) (*Store, error) {
	o := optionsOf(opts)
	if dir == "" {
		return nil, errors.New("state: no state dir given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := openBolt(path, &bolt.Options{Timeout: o.LockTimeout, NoSync: o.NoSync})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, lockedErr(dir, path, o.LockTimeout)
		}
		if IsCorrupt(err) {
			return nil, err
		}
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	if err := checkOpen(db, path); err != nil {
		_ = db.Close()
		return nil, err
	}
	s := &Store{db: guardedDB{db, path}, opts: o, path: path}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := s.compactIfSparse(o.CompactMinBytes); err != nil && s.db.DB == nil {
		return nil, fmt.Errorf("state: %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return fmt.Errorf("state: create bucket %s: %w", bMeta, err)
		}
		v := SchemaVersion
		if raw := meta.Get(keySchema); raw != nil {
			if v, err = strconv.Atoi(string(raw)); err != nil {
				return fmt.Errorf("state: %s has an unreadable schema version %q", s.path, raw)
			}
		} else if tx.Bucket(bOutbox) != nil {
			v = 1 // written before the schema was recorded
		}
		if v > SchemaVersion {
			return fmt.Errorf("state: %s has schema version %d, newer than this hazardsync understands (%d): upgrade hazardsync or point it at another state dir", s.path, v, SchemaVersion)
		}
		for _, name := range coreBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("state: create bucket %s: %w", name, err)
			}
		}
		if v < 2 {
			if err := migrateToSinks(tx); err != nil {
				return fmt.Errorf("state: %s: moving delivery state to sink %q: %w", s.path, LegacySink, err)
			}
		}
		// Every sink's parts exist (a salvaged file may have lost one), so
		// reads never meet a missing bucket.
		var names [][]byte
		_ = tx.Bucket(bSinks).ForEachBucket(func(k []byte) error { names = append(names, bytes.Clone(k)); return nil })
		for _, name := range names {
			if _, err := createSinkBucket(tx, string(name)); err != nil {
				return fmt.Errorf("state: %w", err)
			}
		}
		return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close releases the database and its lock.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.scratch != "" {
		err = errors.Join(err, os.RemoveAll(s.scratch))
	}
	return err
}

// --- source state ---

// Cursor returns a source's stored cursor (zero when none).
func (s *Store) Cursor(source string) (adapter.Cursor, error) {
	var c adapter.Cursor
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := getJSON(tx.Bucket(bCursors), []byte(source), &c)
		return err
	})
	if err != nil {
		return adapter.Cursor{}, fmt.Errorf("state: cursor of %s: %w", source, err)
	}
	return c, nil
}

// Events returns a source's stored current events.
//
// The events are decoded again only when their stored bytes changed; the
// slice is the caller's, the events in it are shared and must not be
// modified.
func (s *Store) Events(source string) ([]indicators.Event, error) {
	var ev []indicators.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bEvents).Get([]byte(source))
		if raw == nil {
			return nil
		}
		s.eventsMu.Lock()
		defer s.eventsMu.Unlock()
		if c, ok := s.events[source]; ok && bytes.Equal(c.raw, raw) {
			ev = slices.Clone(c.events)
			return nil
		}
		s.eventDecodes++
		if _, err := getJSON(tx.Bucket(bEvents), []byte(source), &ev); err != nil {
			return err
		}
		if s.events == nil {
			s.events = map[string]decodedEvents{}
		}
		// raw is only valid inside the transaction: keep a copy.
		s.events[source] = decodedEvents{raw: bytes.Clone(raw), events: slices.Clone(ev)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: events of %s: %w", source, err)
	}
	return ev, nil
}

// CommitFetch stores a source's cursor and events together.
func (s *Store) CommitFetch(source string, cur adapter.Cursor, events []indicators.Event) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := putJSON(tx.Bucket(bCursors), []byte(source), cur); err != nil {
			return err
		}
		if events == nil {
			events = []indicators.Event{}
		}
		return putJSON(tx.Bucket(bEvents), []byte(source), events)
	})
	if err != nil {
		return fmt.Errorf("state: commit fetch of %s: %w", source, err)
	}
	return nil
}

// --- delivery state ---

// deliveredKey puts the date first so DeliveredOn and Prune are range scans.
// NUL separates the parts because shortcodes and ucodes never contain it.
func deliveredKey(k indicators.Key) []byte {
	return []byte(string(k.Date) + "\x00" + k.Indicator + "\x00" + k.Code)
}

// LastDelivered returns the last value delivered for k.
func (d *sinkStore) LastDelivered(k indicators.Key) (indicators.Value, bool, error) {
	var v indicators.Value
	var found bool
	err := d.view(func(sb *bolt.Bucket) error {
		var err error
		found, err = getJSON(sub(sb, bDelivered), deliveredKey(k), &v)
		return err
	})
	if err != nil {
		return indicators.Value{}, false, d.errorf("last delivered %s: %w", k, err)
	}
	return v, found, nil
}

// DeliveredOn lists the last delivered value of every key dated d, ordered
// by indicator then code.
func (d *sinkStore) DeliveredOn(day indicators.Date) ([]indicators.Value, error) {
	var out []indicators.Value
	prefix := []byte(string(day) + "\x00")
	err := d.view(func(sb *bolt.Bucket) error {
		c := sub(sb, bDelivered).Cursor()
		for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			var v indicators.Value
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("record %q: %w", k, err)
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, d.errorf("delivered on %s: %w", day, err)
	}
	return out, nil
}

// Enqueue writes values to the outbox. A value replaces a pending value with
// the same key and goes to the back of the queue.
func (d *sinkStore) Enqueue(vals []indicators.Value) error {
	if len(vals) == 0 {
		return nil
	}
	err := d.update(func(sb *bolt.Bucket) error {
		ob, idx := sub(sb, bOutbox), sub(sb, bOutboxKey)
		for _, v := range vals {
			key := []byte(v.Key().String())
			if old := idx.Get(key); old != nil {
				if err := ob.Delete(old); err != nil {
					return err
				}
			}
			n, err := ob.NextSequence()
			if err != nil {
				return err
			}
			seq := seqKey(n)
			if err := putJSON(ob, seq, v); err != nil {
				return fmt.Errorf("value %s: %w", v.Key(), err)
			}
			if err := idx.Put(key, seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d.errorf("enqueue %d values: %w", len(vals), err)
	}
	return nil
}

// Pending lists the outbox, oldest first.
func (d *sinkStore) Pending() ([]indicators.Value, error) {
	var out []indicators.Value
	err := d.view(func(sb *bolt.Bucket) (err error) {
		out, err = valuesIn(sub(sb, bOutbox), "outbox record")
		return err
	})
	if err != nil {
		return nil, d.errorf("pending: %w", err)
	}
	return out, nil
}

// valuesIn decodes every value of a bucket (none when it does not exist).
func valuesIn(b *bolt.Bucket, what string) ([]indicators.Value, error) {
	if b == nil {
		return nil, nil
	}
	var out []indicators.Value
	err := b.ForEach(func(k, raw []byte) error {
		var v indicators.Value
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s %q: %w", what, k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// PendingCount is the outbox depth.
func (d *sinkStore) PendingCount() (int, error) {
	var n int
	err := d.view(func(sb *bolt.Bucket) error {
		n = sub(sb, bOutbox).Stats().KeyN
		return nil
	})
	return n, err
}

// dropIfSame removes v's key from the outbox only when the pending value is
// the one given: a newer value enqueued while v was in flight stays pending.
func dropIfSame(sb *bolt.Bucket, v indicators.Value) error {
	ob, idx := sub(sb, bOutbox), sub(sb, bOutboxKey)
	key := []byte(v.Key().String())
	seq := idx.Get(key)
	if seq == nil {
		return nil
	}
	var pending indicators.Value
	found, err := getJSON(ob, seq, &pending)
	if err != nil {
		return err
	}
	if found && !v.Same(pending) {
		return nil
	}
	if err := ob.Delete(seq); err != nil {
		return err
	}
	return idx.Delete(key)
}

// Ack marks v delivered: it becomes the key's last delivered value and leaves
// the outbox unless a different value for the key was enqueued meanwhile.
func (d *sinkStore) Ack(v indicators.Value) error {
	if err := d.update(func(sb *bolt.Bucket) error { return d.ackIn(sb, v) }); err != nil {
		return d.errorf("ack %s: %w", v.Key(), err)
	}
	return nil
}

// AckAll is Ack for each value in one transaction (adapter.BatchAcker): a
// delivery's acks cost one durable write per batch instead of one per
// value (at country size against the embedded GeoSight, the per-value
// commits were the delivery's bottleneck).
func (d *sinkStore) AckAll(vs []indicators.Value) error {
	if len(vs) == 0 {
		return nil
	}
	var at indicators.Key
	err := d.update(func(sb *bolt.Bucket) error {
		for _, v := range vs {
			if err := d.ackIn(sb, v); err != nil {
				at = v.Key()
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d.errorf("ack %d values (at %s): %w", len(vs), at, err)
	}
	return nil
}

func (d *sinkStore) ackIn(sb *bolt.Bucket, v indicators.Value) error {
	if err := dropIfSame(sb, v); err != nil {
		return err
	}
	if err := putLatest(sb, v); err != nil {
		return err
	}
	if err := markDelivered(sb, v.Key(), d.s.opts.Now()); err != nil {
		return err
	}
	return putJSON(appendMostly(sub(sb, bDelivered)), deliveredKey(v.Key()), v)
}

// Reject records a permanent rejection and drops v from the outbox (again
// only if it is still the pending value for its key). v is not marked
// delivered.
func (d *sinkStore) Reject(v indicators.Value, reason string) error {
	err := d.update(func(sb *bolt.Bucket) error {
		if err := dropIfSame(sb, v); err != nil {
			return err
		}
		return appendBounded(sub(sb, bRejections), adapter.Rejection{Value: v, Reason: reason, At: d.s.opts.Now().UTC()}, d.s.opts.MaxRejections)
	})
	if err != nil {
		return d.errorf("reject %s: %w", v.Key(), err)
	}
	return nil
}

// Rejections lists recorded rejections, newest first, at most n (all when
// n <= 0).
func (d *sinkStore) Rejections(n int) ([]adapter.Rejection, error) {
	var out []adapter.Rejection
	err := d.view(func(sb *bolt.Bucket) error { return newestFirst(sub(sb, bRejections), n, &out) })
	if err != nil {
		return nil, d.errorf("rejections: %w", err)
	}
	return out, nil
}

// RecordRun appends a run summary to the bounded history.
func (s *Store) RecordRun(r adapter.RunSummary) error {
	err := s.db.Update(func(tx *bolt.Tx) error { return appendBounded(tx.Bucket(bRuns), r, s.opts.MaxRuns) })
	if err != nil {
		return fmt.Errorf("state: record run: %w", err)
	}
	return nil
}

// Runs lists run summaries, newest first, at most n (all when n <= 0).
func (s *Store) Runs(n int) ([]adapter.RunSummary, error) {
	var out []adapter.RunSummary
	err := s.db.View(func(tx *bolt.Tx) error { return newestFirst(tx.Bucket(bRuns), n, &out) })
	if err != nil {
		return nil, fmt.Errorf("state: runs: %w", err)
	}
	return out, nil
}

// --- maintenance ---

// Prune drops every sink's delivered records dated before the given day, but never any of
// the last KeepDays days (counted back from today), so a mistaken date
// cannot make the daemon forget today's values and resend them all. It
// returns how many records it dropped. Pending values are never pruned.
func (s *Store) Prune(before indicators.Date) (int, error) {
	if !before.Valid() {
		return 0, fmt.Errorf("state: prune: %q is not a YYYY-MM-DD date", before)
	}
	floor := indicators.DateOf(s.opts.Now().AddDate(0, 0, -s.opts.KeepDays), time.UTC)
	if before > floor {
		before = floor
	}
	limit := []byte(string(before))
	var n int
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bSinks).ForEachBucket(func(name []byte) error {
			sb := tx.Bucket(bSinks).Bucket(name)
			c := sub(sb, bDelivered).Cursor()
			at := sub(sb, bDeliveredAt)
			// Deleting through the cursor moves it to the next key.
			for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; {
				next := append([]byte(nil), k...)
				if err := c.Delete(); err != nil {
					return err
				}
				if err := at.Delete(next); err != nil {
					return err
				}
				n++
				// Re-seek: a bbolt cursor is not positioned after Delete.
				k, _ = c.Seek(next)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("state: prune before %s: %w", before, err)
	}
	return n, nil
}

// Backup writes a consistent copy of the whole database to w (a bbolt file
// that Open can read); the daemon keeps running meanwhile.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("state: backup: %w", err)
	}
	return n, nil
}

// --- small JSON key-value for other parts of the daemon ---

func extBucket(name string) ([]byte, error) {
	if name == "" {
		return nil, errors.New("empty bucket name")
	}
	return []byte(ExtPrefix + name), nil
}

// GetJSON reads key from the named bucket into v; false when absent.
func (s *Store) GetJSON(bucket, key string, v any) (bool, error) {
	name, err := extBucket(bucket)
	if err != nil {
		return false, fmt.Errorf("state: get %s/%s: %w", bucket, key, err)
	}
	var found bool
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(name)
		if b == nil {
			return nil
		}
		found, err = getJSON(b, []byte(key), v)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("state: get %s/%s: %w", bucket, key, err)
	}
	return found, nil
}

// EachJSON calls fn with every key of the named bucket and its raw JSON, in
// key order, in one transaction (an absent bucket has none): reading many
// keys with GetJSON costs a transaction each. raw is valid only during fn.
func (s *Store) EachJSON(bucket string, fn func(key string, raw []byte) error) error {
	name, err := extBucket(bucket)
	if err == nil {
		err = s.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(name)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, raw []byte) error { return fn(string(k), raw) })
		})
	}
	if err != nil {
		return fmt.Errorf("state: read %s: %w", bucket, err)
	}
	return nil
}

// PutJSON writes v as JSON under key in the named bucket (created on demand).
func (s *Store) PutJSON(bucket, key string, v any) error {
	name, err := extBucket(bucket)
	if err == nil {
		err = s.db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			return putJSON(b, []byte(key), v)
		})
	}
	if err != nil {
		return fmt.Errorf("state: put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// DeleteJSON removes key from the named bucket; absent keys are fine.
func (s *Store) DeleteJSON(bucket, key string) error {
	name, err := extBucket(bucket)
	if err == nil {
		err = s.db.Update(func(tx *bolt.Tx) error {
			if b := tx.Bucket(name); b != nil {
				return b.Delete([]byte(key))
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("state: delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Buckets lists the names given to PutJSON (without the prefix), for
// diagnostics.
func (s *Store) Buckets() ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if n, ok := strings.CutPrefix(string(name), ExtPrefix); ok {
				out = append(out, n)
			}
			return nil
		})
	})
	return out, err
}

// --- helpers ---

func seqKey(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("record %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// appendBounded adds v under the next sequence and drops the oldest records
// beyond max.
func appendBounded(b *bolt.Bucket, v any, max int) error {
	n, err := b.NextSequence()
	if err != nil {
		return err
	}
	if err := putJSON(b, seqKey(n), v); err != nil {
		return err
	}
	// Sequences only grow and records leave from the front, so everything
	// below n-max+1 is surplus.
	if n <= uint64(max) {
		return nil
	}
	keep := seqKey(n - uint64(max) + 1)
	c := b.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, keep) < 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// newestFirst decodes up to n records from the end of b into *out (a slice
// pointer).
func newestFirst[T any](b *bolt.Bucket, n int, out *[]T) error {
	c := b.Cursor()
	for k, raw := c.Last(); k != nil && (n <= 0 || len(*out) < n); k, raw = c.Prev() {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("record %x: %w", k, err)
		}
		*out = append(*out, v)
	}
	return nil
}
