package runner

import (
	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// groupAcks records a delivery's acks in batches: one goroutine commits
// whatever acks arrived while the previous commit ran (up to maxAckBatch)
// in one transaction, so the sink's workers never wait on a commit, and an
// idle store commits each ack at once. A crash loses only acks not yet
// committed: those values are still pending and are sent again, which
// GeoSight's upsert on (indicator, date, area) stores once.
type groupAcks struct {
	ch   chan indicators.Value
	done chan struct{}
	err  error // the first failed commit's
}

const maxAckBatch = 1024

func startGroupAcks(st adapter.BatchAcker) *groupAcks {
	g := &groupAcks{ch: make(chan indicators.Value, maxAckBatch), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		batch := make([]indicators.Value, 0, maxAckBatch)
		for v := range g.ch {
			batch = append(batch[:0], v)
		more:
			for len(batch) < maxAckBatch {
				select {
				case v, ok := <-g.ch:
					if !ok {
						break more
					}
					batch = append(batch, v)
				default:
					break more
				}
			}
			if err := st.AckAll(batch); err != nil && g.err == nil {
				g.err = err
			}
		}
	}()
	return g
}

// add queues an ack; it waits only when maxAckBatch are already waiting.
func (g *groupAcks) add(v indicators.Value) { g.ch <- v }

// close commits what is queued and returns the first commit error.
func (g *groupAcks) close() error {
	close(g.ch)
	<-g.done
	return g.err
}
