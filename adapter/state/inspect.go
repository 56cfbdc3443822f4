package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// bDeliveredAt holds when each delivered record was acknowledged, under the
// same key as bDelivered (kept apart so the delivered records keep their
// format). Records delivered before it existed have no time.
var bDeliveredAt = []byte("delivered_at")

// Record statuses listed by List.
const (
	StatusDelivered = "delivered"
	StatusPending   = "pending"
	StatusRejected  = "rejected"
)

// Record is one value as the state knows it, for `hazardsync state list`.
type Record struct {
	Sink   string           `json:"sink"`
	Status string           `json:"status"`
	Value  indicators.Value `json:"value"`
	// At is when it was acknowledged (delivered) or refused (rejected); zero
	// for pending values and for values delivered by older versions.
	At time.Time `json:"at,omitzero"`
	// Answer is the sink's answer: the verbatim reason of a rejection; for
	// delivered values the sink acknowledged it (GeoSight: 201 Created).
	Answer string `json:"answer,omitempty"`
}

// Filter selects records by sink, indicator shortcode, area ucode, date
// and status; empty fields match everything.
type Filter struct {
	Sink      string
	Indicator string
	Code      string
	Date      indicators.Date
	Status    string
}

func (f Filter) match(status string, v indicators.Value) bool {
	return (f.Status == "" || f.Status == status) && (f.Indicator == "" || f.Indicator == v.Indicator) &&
		(f.Code == "" || f.Code == v.Code) && (f.Date == "" || f.Date == v.Date)
}

// markDelivered records when v was acknowledged; called inside Ack's
// transaction.
func markDelivered(sb *bolt.Bucket, k indicators.Key, at time.Time) error {
	return sub(sb, bDeliveredAt).Put(deliveredKey(k), []byte(at.UTC().Format(time.RFC3339)))
}

// List returns the records f selects, sink by sink (sorted by name): each
// sink's delivered (by date, indicator, area), then pending (oldest first),
// then rejected (newest first).
func (s *Store) List(f Filter) ([]Record, error) {
	names, err := s.sinkNames(f.Sink)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, name := range names {
		d := &sinkStore{s: s, name: name}
		err := d.view(func(sb *bolt.Bucket) error {
			recs, err := listSink(sb, f)
			for i := range recs {
				recs[i].Sink = name
			}
			out = append(out, recs...)
			return err
		})
		if err != nil {
			return nil, d.errorf("list: %w", err)
		}
	}
	return out, nil
}

func listSink(sb *bolt.Bucket, f Filter) ([]Record, error) {
	var out []Record
	if f.Status == "" || f.Status == StatusDelivered {
		at := sub(sb, bDeliveredAt)
		c := sub(sb, bDelivered).Cursor()
		var prefix []byte
		if f.Date != "" {
			prefix = []byte(string(f.Date) + "\x00")
		}
		for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			var v indicators.Value
			if err := json.Unmarshal(raw, &v); err != nil {
				return out, fmt.Errorf("delivered record %q: %w", k, err)
			}
			if !f.match(StatusDelivered, v) {
				continue
			}
			r := Record{Status: StatusDelivered, Value: v, Answer: "accepted"}
			if t, err := time.Parse(time.RFC3339, string(at.Get(k))); err == nil {
				r.At = t
			}
			out = append(out, r)
		}
	}
	if f.Status == "" || f.Status == StatusPending {
		err := sub(sb, bOutbox).ForEach(func(k, raw []byte) error {
			var v indicators.Value
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("outbox record %x: %w", k, err)
			}
			if f.match(StatusPending, v) {
				out = append(out, Record{Status: StatusPending, Value: v})
			}
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	if f.Status == "" || f.Status == StatusRejected {
		var rej []adapter.Rejection
		if err := newestFirst(sub(sb, bRejections), 0, &rej); err != nil {
			return out, err
		}
		for _, r := range rej {
			if f.match(StatusRejected, r.Value) {
				out = append(out, Record{Status: StatusRejected, Value: r.Value, At: r.At, Answer: r.Reason})
			}
		}
	}
	return out, nil
}

// Resend queues again, for each sink f selects, the last delivered value of
// every key f selects (its Status is ignored), and, with rejected, the last
// rejected value of every selected key that has no newer value pending or
// delivered. The next sync delivers them. It returns how many values it
// queued.
func (s *Store) Resend(f Filter, rejected bool) (int, error) {
	names, err := s.sinkNames(f.Sink)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		f.Sink = name
		k, err := s.resendSink(f, rejected)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

func (s *Store) resendSink(f Filter, rejected bool) (int, error) {
	f.Status = ""
	recs, err := s.List(f)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	var vals []indicators.Value
	// Pending first (those keys are going out anyway), then delivered, so a
	// key both delivered and rejected resends the value GeoSight accepted.
	rank := map[string]int{StatusPending: 0, StatusDelivered: 1, StatusRejected: 2}
	sort.SliceStable(recs, func(i, j int) bool { return rank[recs[i].Status] < rank[recs[j].Status] })
	for _, r := range recs {
		k := r.Value.Key().String()
		switch {
		case r.Status == StatusPending:
			seen[k] = true // already going out
		case seen[k]:
		case r.Status == StatusDelivered, r.Status == StatusRejected && rejected:
			seen[k] = true
			vals = append(vals, r.Value)
		}
	}
	if err := s.Sink(f.Sink).Enqueue(vals); err != nil {
		return 0, err
	}
	return len(vals), nil
}

// PurgeResult counts what Purge dropped.
type PurgeResult struct {
	Delivered, Pending, Rejected int
}

// Purge forgets, in each sink f selects, the records f selects: delivered
// records (so the next sync sends those values again if they are still
// computed), pending values (they are not delivered) and rejections.
// f.Status limits it to one kind, e.g. only rejections.
func (s *Store) Purge(f Filter) (PurgeResult, error) {
	var res PurgeResult
	names, err := s.sinkNames(f.Sink)
	if err != nil {
		return res, err
	}
	for _, name := range names {
		d := &sinkStore{s: s, name: name}
		err := s.db.Update(func(tx *bolt.Tx) error {
			sb := sinkBucket(tx, name)
			if sb == nil {
				return nil // a sink without state has nothing to forget
			}
			r, err := purgeSink(sb, f)
			res.Delivered, res.Pending, res.Rejected = res.Delivered+r.Delivered, res.Pending+r.Pending, res.Rejected+r.Rejected
			return err
		})
		if err != nil {
			return PurgeResult{}, d.errorf("purge: %w", err)
		}
	}
	return res, nil
}

func purgeSink(sb *bolt.Bucket, f Filter) (PurgeResult, error) {
	var res PurgeResult
	err := func() error {
		var err error
		if f.Status == "" || f.Status == StatusDelivered {
			at := sub(sb, bDeliveredAt)
			res.Delivered, err = dropWhere(sub(sb, bDelivered), f, StatusDelivered, func(raw []byte) (indicators.Value, error) {
				var v indicators.Value
				return v, json.Unmarshal(raw, &v)
			}, func(k []byte) error {
				if at == nil {
					return nil
				}
				return at.Delete(k)
			})
			if err != nil {
				return err
			}
		}
		if f.Status == "" || f.Status == StatusPending {
			// Through dropIfSame, which keeps the key index in step.
			var drop []indicators.Value
			err := sub(sb, bOutbox).ForEach(func(k, raw []byte) error {
				var v indicators.Value
				if err := json.Unmarshal(raw, &v); err != nil {
					return fmt.Errorf("outbox record %x: %w", k, err)
				}
				if f.match(StatusPending, v) {
					drop = append(drop, v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, v := range drop {
				if err := dropIfSame(sb, v); err != nil {
					return err
				}
			}
			res.Pending = len(drop)
		}
		if f.Status == "" || f.Status == StatusRejected {
			res.Rejected, err = dropWhere(sub(sb, bRejections), f, StatusRejected, func(raw []byte) (indicators.Value, error) {
				var r adapter.Rejection
				return r.Value, json.Unmarshal(raw, &r)
			}, nil)
			if err != nil {
				return err
			}
		}
		return nil
	}()
	return res, err
}

// dropWhere deletes the records of b whose value (read by value) f selects
// with the given status, calling also for each deleted key; it returns how
// many it deleted.
func dropWhere(b *bolt.Bucket, f Filter, status string, value func(raw []byte) (indicators.Value, error), also func(k []byte) error) (int, error) {
	var drop [][]byte
	err := b.ForEach(func(k, raw []byte) error {
		v, err := value(raw)
		if err != nil {
			return fmt.Errorf("%s record %q: %w", status, k, err)
		}
		if f.match(status, v) {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
		if also != nil {
			if err := also(k); err != nil {
				return 0, err
			}
		}
	}
	return len(drop), nil
}
