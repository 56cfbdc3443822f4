package state

// TEMPORARY (branch sinks): until branch sinkstate keys delivery state by
// sink, every sink shares the single outbox/delivered/rejections buckets
// and sink-private JSON lives in the bucket named after the sink (today's
// "geosight" bucket). Deleted when sinkstate is merged.

import (
	"github.com/hazardsync/hazardsync/adapter"
)

type shimSink struct {
	*Store
	name string
}

func (s shimSink) GetJSON(key string, v any) (bool, error) { return s.Store.GetJSON(s.name, key, v) }
func (s shimSink) PutJSON(key string, v any) error         { return s.Store.PutJSON(s.name, key, v) }

// Sink implements adapter.Store.
func (s *Store) Sink(name string) adapter.SinkStore { return shimSink{Store: s, name: name} }

// Sinks implements adapter.Store.
func (s *Store) Sinks() ([]string, error) { return []string{"geosight"}, nil }
