package runner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapKV is a KV in memory that counts its reads.
type mapKV struct {
	m    map[string][]byte
	gets int
}

func (k *mapKV) GetJSON(bucket, key string, v any) (bool, error) {
	k.gets++
	raw, ok := k.m[bucket+"/"+key]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func (k *mapKV) PutJSON(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	k.m[bucket+"/"+key] = raw
	return err
}

// scanKV adds the one-pass read.
type scanKV struct{ *mapKV }

func (k scanKV) EachJSON(bucket string, fn func(string, []byte) error) error {
	var keys []string
	for full := range k.m {
		keys = append(keys, full)
	}
	slices.Sort(keys)
	for _, full := range keys {
		if len(full) > len(bucket) && full[:len(bucket)+1] == bucket+"/" {
			if err := fn(full[len(bucket)+1:], k.m[full]); err != nil {
				return err
			}
		}
	}
	return nil
}

// readLedger reads the same entries in one pass as key by key, and with a
// scanner never reads key by key (that cost a transaction per area in every
// sync, a tenth of a country-scale sync where nothing changed).
func TestReadLedgerOnePassIsKeyByKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	for round := range 100 {
		kv := &mapKV{m: map[string][]byte{}}
		var keys []string
		for i := range rng.IntN(40) {
			key := fmt.Sprintf("EW|A%03d", i)
			if rng.IntN(3) > 0 {
				keys = append(keys, key) // configured
			}
			if rng.IntN(2) == 0 { // stored (configured or not any more)
				require.NoError(t, kv.PutJSON(ledgerBucket, key, LedgerEntry{Level: "watch", Since: at.Add(time.Duration(i) * time.Hour),
					History: []Transition{{Level: "watch", At: at}}}))
			}
		}
		require.NoError(t, kv.PutJSON("other", "EW|A000", LedgerEntry{Level: "alert"}))
		want, err := readLedger(kv, keys)
		require.NoError(t, err)
		kv.gets = 0
		got, err := readLedger(scanKV{kv}, keys)
		require.NoError(t, err)
		assert.Equal(t, want, got, "round %d", round)
		assert.Zero(t, kv.gets, "round %d: no read per key", round)
	}

	// A damaged entry of a configured series is an error, as key by key.
	kv := &mapKV{m: map[string][]byte{ledgerBucket + "/EW|A": []byte("{")}}
	_, err := readLedger(kv, []string{"EW|A"})
	require.Error(t, err)
	_, err = readLedger(scanKV{kv}, []string{"EW|A"})
	require.Error(t, err)
}
