package runner

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

type recordingAcker struct {
	mu      sync.Mutex
	acked   map[string]int
	batches int
	fail    error
}

func (r *recordingAcker) AckAll(vs []indicators.Value) error {
	time.Sleep(time.Millisecond) // a commit takes a while: acks pile up meanwhile
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	if r.fail != nil {
		return r.fail
	}
	for _, v := range vs {
		r.acked[v.Code]++
	}
	return nil
}

// Every ack from concurrent workers is committed exactly once, in batches
// (not one commit per ack), all of them before close returns.
func TestGroupAcksCommitsEachOnceInBatches(t *testing.T) {
	rec := &recordingAcker{acked: map[string]int{}}
	g := startGroupAcks(rec)
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				g.add(indicators.Value{Code: fmt.Sprintf("%d-%d", w, i)})
			}
		}()
	}
	wg.Wait()
	require.NoError(t, g.close())
	require.Len(t, rec.acked, workers*each)
	for code, n := range rec.acked {
		require.Equal(t, 1, n, code)
	}
	require.Less(t, rec.batches, workers*each/4, "grouped: %d commits for %d acks", rec.batches, workers*each)
}

// A failed commit is reported by close (the delivery's store error); the
// values stay pending in the store, to be sent again.
func TestGroupAcksReportsAFailedCommit(t *testing.T) {
	rec := &recordingAcker{acked: map[string]int{}, fail: errors.New("disk full")}
	g := startGroupAcks(rec)
	g.add(indicators.Value{Code: "A"})
	require.EqualError(t, g.close(), "disk full")
	require.Empty(t, rec.acked)
}
