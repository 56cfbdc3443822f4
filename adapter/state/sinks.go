package state

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
)

// Delivery state is per sink: every sink has its own outbox, delivered
// history, latest values, rejections and private state, under
// sinks/<name>/, so one sink that is down keeps its queue while another
// delivers (Telegraf gives each output its own buffer the same way).

// LegacySink is the sink that owns the delivery state of a schema-1 file,
// written when hazardsync had one sink: the GeoSight sink built from the
// config's geosight section.
const LegacySink = "geosight"

var (
	bDelivered  = []byte("delivered") // date \x00 indicator \x00 code → Value JSON
	bOutbox     = []byte("outbox")    // seq (8 bytes BE) → Value JSON
	bOutboxKey  = []byte("outbox_by_key")
	bRejections = []byte("rejections") // seq → Rejection JSON
	bSinkState  = []byte("state")      // the sink's own JSON by key

	// sinkBuckets are created together with a sink's bucket.
	sinkBuckets = [][]byte{bDelivered, bDeliveredAt, bOutbox, bOutboxKey, bRejections, bLatest, bSinkState}
)

// sinkStore is one sink's view of the store (adapter.SinkStore).
type sinkStore struct {
	s    *Store
	name string
}

var _ adapter.SinkStore = (*sinkStore)(nil)

// Sink returns the delivery state of the named sink. Its buckets are
// created by its first write; until then it reads as empty.
func (s *Store) Sink(name string) adapter.SinkStore { return &sinkStore{s: s, name: name} }

// Sinks lists the sinks that have delivery state, sorted.
func (s *Store) Sinks() ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSinks).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: sinks: %w", err)
	}
	slices.Sort(out)
	return out, nil
}

// sinkNames is the sinks a filter selects: the one named, or every sink
// with state.
func (s *Store) sinkNames(name string) ([]string, error) {
	if name != "" {
		return []string{name}, nil
	}
	return s.Sinks()
}

func (d *sinkStore) errorf(format string, args ...any) error {
	return fmt.Errorf("state: sink %s: "+format, append([]any{d.name}, args...)...)
}

// view runs fn on the sink's bucket; a sink that never wrote has none and
// fn is not called (every read is then empty).
func (d *sinkStore) view(fn func(sb *bolt.Bucket) error) error {
	if d.name == "" {
		return errors.New("no sink name")
	}
	return d.s.db.View(func(tx *bolt.Tx) error {
		if sb := sinkBucket(tx, d.name); sb != nil {
			return fn(sb)
		}
		return nil
	})
}

// update runs fn on the sink's bucket, created with all its parts first.
func (d *sinkStore) update(fn func(sb *bolt.Bucket) error) error {
	if d.name == "" {
		return errors.New("no sink name")
	}
	return d.s.db.Update(func(tx *bolt.Tx) error {
		sb, err := createSinkBucket(tx, d.name)
		if err != nil {
			return err
		}
		return fn(sb)
	})
}

func sinkBucket(tx *bolt.Tx, name string) *bolt.Bucket {
	return tx.Bucket(bSinks).Bucket([]byte(name))
}

func createSinkBucket(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	sb, err := tx.Bucket(bSinks).CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("create sink bucket %q: %w", name, err)
	}
	for _, b := range sinkBuckets {
		if _, err := sb.CreateBucketIfNotExists(b); err != nil {
			return nil, fmt.Errorf("create bucket %s/%s: %w", name, b, err)
		}
	}
	return sb, nil
}

// sub is a part of a sink's bucket.
func sub(sb *bolt.Bucket, name []byte) *bolt.Bucket { return sb.Bucket(name) }

// GetJSON reads the sink's own state under key into v; false when absent.
func (d *sinkStore) GetJSON(key string, v any) (bool, error) {
	var found bool
	err := d.view(func(sb *bolt.Bucket) (err error) {
		found, err = getJSON(sub(sb, bSinkState), []byte(key), v)
		return err
	})
	if err != nil {
		return false, d.errorf("get %s: %w", key, err)
	}
	return found, nil
}

// PutJSON writes v as JSON under key in the sink's own state.
func (d *sinkStore) PutJSON(key string, v any) error {
	err := d.update(func(sb *bolt.Bucket) error { return putJSON(sub(sb, bSinkState), []byte(key), v) })
	if err != nil {
		return d.errorf("put %s: %w", key, err)
	}
	return nil
}

// migrateToSinks moves schema 1's delivery buckets, and the GeoSight
// client's private JSON bucket, into the legacy sink's bucket, in the
// opening transaction: a crash leaves the file as it was.
func migrateToSinks(tx *bolt.Tx) error {
	if tx.Bucket(bOutbox) == nil && tx.Bucket(bDelivered) == nil {
		return nil
	}
	sb, err := tx.Bucket(bSinks).CreateBucketIfNotExists([]byte(LegacySink))
	if err != nil {
		return err
	}
	hadLatest := tx.Bucket(bLatest) != nil
	moves := map[string][]byte{string(ExtPrefix + LegacySink): bSinkState}
	for _, b := range sinkBuckets {
		moves[string(b)] = b
	}
	for from, to := range moves {
		if tx.Bucket([]byte(from)) == nil {
			continue
		}
		if from != string(to) {
			// MoveBucket keeps the name: move, then rename by copy.
			if err := copyBucket(tx.Bucket([]byte(from)), sb, to); err != nil {
				return err
			}
			if err := tx.DeleteBucket([]byte(from)); err != nil {
				return err
			}
			continue
		}
		if err := tx.MoveBucket([]byte(from), nil, sb); err != nil {
			return fmt.Errorf("move %s: %w", from, err)
		}
	}
	if _, err := createSinkBucket(tx, LegacySink); err != nil {
		return err
	}
	if hadLatest {
		return nil
	}
	// A file from before the latest values were kept gets them from its
	// history.
	return fillLatest(sb)
}

// copyBucket copies the flat bucket src into dst under name.
func copyBucket(src, dst *bolt.Bucket, name []byte) error {
	b, err := dst.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	if err := b.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil
		}
		return b.Put(k, v)
	})
}
