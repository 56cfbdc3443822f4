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
func putLatest(sb *bolt.Bucket, v indicators.Value) error {
	b := sub(sb, bLatest)
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

// fillLatest fills a sink's latest values from its delivered history, for
// a database written before they were kept (keys sort by date, so the last
// write per series is its newest).
func fillLatest(sb *bolt.Bucket) error {
	return sub(sb, bDelivered).ForEach(func(k, raw []byte) error {
		var v indicators.Value
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("delivered record %q: %w", k, err)
		}
		return putLatest(sb, v)
	})
}

// Latest lists the newest delivered value of every series (indicator,
// area), ordered by indicator then code.
func (d *sinkStore) Latest() ([]indicators.Value, error) {
	var out []indicators.Value
	err := d.view(func(sb *bolt.Bucket) (err error) {
		out, err = valuesIn(sub(sb, bLatest), "record")
		return err
	})
	if err != nil {
		return nil, d.errorf("latest values: %w", err)
	}
	return out, nil
}
