package state

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// FuzzOutboxAgainstModel drives random Enqueue/Ack/Reject/reopen sequences
// against the store and a plain in-memory model of the outbox rules, and
// checks they agree on what is pending (in order) and what is delivered.
// Each input byte is one operation on one of four keys with one of four
// payloads, so the fuzzer explores replace-while-in-flight interleavings.
func FuzzOutboxAgainstModel(f *testing.F) {
	f.Add([]byte{0x00, 0x40, 0x01, 0x41})                   // enqueue a, ack a, enqueue b, ack b
	f.Add([]byte{0x00, 0x04, 0x40})                         // enqueue a1, enqueue a2, ack a1: a2 stays
	f.Add([]byte{0x00, 0x04, 0x44, 0x80})                   // ack newest, reject older
	f.Add([]byte{0x00, 0x01, 0x02, 0xc0, 0x41, 0x03, 0xc0}) // reopen between
	f.Add([]byte{0x05, 0x0a, 0x0f, 0x4a, 0x8f, 0x05, 0x45, 0xc0, 0x80})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		dir := t.TempDir()
		s, err := Open(dir, Options{NoSync: true})
		require.NoError(t, err)
		defer func() { _ = s.Close() }()

		type item struct{ key, payload int }
		var pending []item         // model outbox, oldest first
		delivered := map[int]int{} // key → payload
		rejected := 0
		value := func(key, payload int) indicators.Value {
			return indicators.Value{Indicator: "i", Code: fmt.Sprint("K", key), Date: "2026-11-24",
				Type: indicators.Float, Number: float64(payload + 1)}
		}
		dropIfPending := func(key, payload int) {
			for i, it := range pending {
				if it.key == key && it.payload == payload {
					pending = append(pending[:i], pending[i+1:]...)
					return
				}
			}
		}
		for _, op := range ops {
			key, payload := int(op&0x03), int(op>>2&0x03)
			v := value(key, payload)
			switch op >> 6 {
			case 0:
				require.NoError(t, s.Sink(testSink).Enqueue([]indicators.Value{v}))
				for i, it := range pending {
					if it.key == key {
						pending = append(pending[:i], pending[i+1:]...)
						break
					}
				}
				pending = append(pending, item{key, payload})
			case 1:
				require.NoError(t, s.Sink(testSink).Ack(v))
				dropIfPending(key, payload)
				delivered[key] = payload
			case 2:
				require.NoError(t, s.Sink(testSink).Reject(v, "rejected"))
				dropIfPending(key, payload)
				rejected++
			case 3:
				require.NoError(t, s.Close())
				s, err = Open(dir, Options{NoSync: true})
				require.NoError(t, err)
			}
			got, err := s.Sink(testSink).Pending()
			require.NoError(t, err)
			require.Len(t, got, len(pending), "after op %#x", op)
			for i, it := range pending {
				require.Equal(t, value(it.key, it.payload), got[i], "pending[%d] after op %#x", i, op)
			}
			n, err := s.Sink(testSink).PendingCount()
			require.NoError(t, err)
			require.Equal(t, len(pending), n)
		}
		for key := range 4 {
			got, ok, err := s.Sink(testSink).LastDelivered(value(key, 0).Key())
			require.NoError(t, err)
			want, wantOK := delivered[key]
			require.Equal(t, wantOK, ok, "key %d delivered", key)
			if ok {
				require.Equal(t, value(key, want), got)
			}
		}
		rej, err := s.Sink(testSink).Rejections(0)
		require.NoError(t, err)
		require.Len(t, rej, min(rejected, DefaultMaxRejections))
	})
}

func TestOpenRejectsAFileThatIsNotAStore(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("this is not a bbolt file, it is long enough to have a header but garbage all the way through...................................................................................................."), 0o600))
	_, err := Open(dir, Options{})
	require.Error(t, err)
	require.Contains(t, err.Error(), filepath.Join(dir, FileName))
}
