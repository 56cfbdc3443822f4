// Package parallel runs independent pieces of work on every core: the
// compute that holds a country-scale sync or start (area parsing, overlay
// pairs, grid rows) is pieces that share nothing.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each runs fn(w, i) for every i in [0, n) on GOMAXPROCS goroutines and
// returns when all are done. w (0 ≤ w < the workers used) names the worker,
// for scratch buffers that outlive one piece. Pieces are handed out in
// order; which worker runs which is up to the scheduler, so fn must write
// only its own piece's results.
func Each(n int, fn func(w, i int)) { EachOn(runtime.GOMAXPROCS(0), n, fn) }

// EachOn is Each on at most workers goroutines (at least one).
func EachOn(workers, n int, fn func(w, i int)) {
	nw := min(max(1, workers), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
}
