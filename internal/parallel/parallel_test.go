package parallel

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every piece runs exactly once, on a worker numbered below the workers
// asked for, whatever the counts.
func TestEachRunsEveryPieceOnce(t *testing.T) {
	for _, tc := range []struct{ workers, n int }{{1, 0}, {0, 5}, {2, 1}, {2, 1000}, {8, 3}, {3, 10000}} {
		runs := make([]atomic.Int32, tc.n)
		var badWorker atomic.Bool
		EachOn(tc.workers, tc.n, func(w, i int) {
			if w < 0 || w >= max(1, tc.workers) {
				badWorker.Store(true)
			}
			runs[i].Add(1)
		})
		for i := range runs {
			require.EqualValues(t, 1, runs[i].Load(), "workers %d n %d piece %d", tc.workers, tc.n, i)
		}
		assert.False(t, badWorker.Load(), "workers %d n %d", tc.workers, tc.n)
	}
}
