package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/hazardsync/hazardsync/indicators"
)

// What dating values by the day they changed needs: the newest delivered
// value of every series (indicator, area), whatever its date, so a sync can
// tell "unchanged since it was sent on Monday" from "new". Kept apart from
// the dated history, which retention prunes: pruning old days must never
// make an unchanged value look new.

var bLatest = []byte("latest") // indicator \x00 code → newest delivered Value JSON

func latestKey(v indicators.Value) []byte {
	return []byte(v.Indicator + "\x00" + v.Code)
}

// putLatest records v as its series' latest delivered value, unless a
// value dated later is there (a backfill of past days delivers old dates).
func putLatest(tx *bolt.Tx, v indicators.Value) error {
	b := tx.Bucket(bLatest)
	var cur indicators.Value
	found, err := getJSON(b, latestKey(v), &cur)
	if err != nil {
		return err
	}
	if found && cur.Date > v.Date {
		return nil
	}
	return putJSON(b, latestKey(v), v)
}

// ensureLatest creates the latest bucket; in a database written before it
// existed it is filled from the delivered history (keys sort by date, so
// the last write per series is its newest).
func ensureLatest(tx *bolt.Tx) error {
	if tx.Bucket(bLatest) != nil {
		return nil
	}
	if _, err := tx.CreateBucket(bLatest); err != nil {
		return fmt.Errorf("state: create bucket %s: %w", bLatest, err)
	}
	return tx.Bucket(bDelivered).ForEach(func(k, raw []byte) error {
		var v indicators.Value
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("state: delivered record %q: %w", k, err)
		}
		return putLatest(tx, v)
	})
}

// Latest lists the newest delivered value of every series (indicator,
// area), ordered by indicator then code.
func (s *Store) Latest() ([]indicators.Value, error) {
	var out []indicators.Value
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		out, err = valuesIn(tx.Bucket(bLatest), "record")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("state: latest values: %w", err)
	}
	return out, nil
}
