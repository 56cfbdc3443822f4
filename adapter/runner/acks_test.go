package runner

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

type recordingAcker struct {
	mu      sync.Mutex
	acked   map[string]int
	batches []int
	fail    error
	// entered, when set, is told that the first commit started, which
	// then waits for release.
	entered, release chan struct{}
}

func (r *recordingAcker) AckAll(vs []indicators.Value) error {
	if r.entered != nil {
		r.entered <- struct{}{}
		<-r.release
		r.entered = nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, len(vs))
	if r.fail != nil {
		return r.fail
	}
	for _, v := range vs {
		r.acked[v.Code]++
	}
	return nil
}

// Acks that arrive while a commit runs go in the next commit, all of them
// at once; every ack is committed exactly once, before close returns.
func TestGroupAcksCommitsEachOnceInBatches(t *testing.T) {
	rec := &recordingAcker{acked: map[string]int{}, entered: make(chan struct{}), release: make(chan struct{})}
	g := startGroupAcks(rec)
	g.add(indicators.Value{Code: "first"})
	<-rec.entered // the first commit is running
	const workers, each = 8, 100
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
	close(rec.release)
	require.NoError(t, g.close())
	require.Equal(t, []int{1, workers * each}, rec.batches, "the acks that piled up during the first commit, in one")
	require.Len(t, rec.acked, workers*each+1)
	for code, n := range rec.acked {
		require.Equal(t, 1, n, code)
	}
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
