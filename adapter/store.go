package adapter

import (
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

// Store is the durable state the runner relies on (adapter/state implements
// it on bbolt). Every method is atomic: a crash between two calls leaves the
// store as one of them left it.
type Store interface {
	// Source state: the cursor and the current events of a source.
	Cursor(source string) (Cursor, error)
	Events(source string) ([]indicators.Event, error)
	// CommitFetch stores a source's new cursor and event set together.
	CommitFetch(source string, cur Cursor, events []indicators.Event) error

	// Sink is one sink's delivery state: its own outbox, last-delivered
	// values, rejections and private state, so a slow or failing sink never
	// holds back another. Nothing is written until the sink's first write.
	Sink(name string) SinkStore
	// Sinks lists the sinks that have delivery state, sorted (a sink removed
	// from the config keeps its state until purged).
	Sinks() ([]string, error)

	// RecordRun appends a run summary to the history (bounded).
	RecordRun(r RunSummary) error
	Runs(n int) ([]RunSummary, error)

	Close() error
}

// SinkStore is one sink's delivery state, keyed by GeoSight's upsert key
// (indicator, area, date) whatever the sink.
type SinkStore interface {
	LastDelivered(k indicators.Key) (indicators.Value, bool, error)
	// DeliveredOn lists the last delivered value of every key on date d.
	DeliveredOn(d indicators.Date) ([]indicators.Value, error)
	// Latest lists the newest delivered value of every series (indicator,
	// area), whatever its date: what dating by change compares with.
	Latest() ([]indicators.Value, error)
	// Enqueue writes values to the outbox durably (replacing pending values
	// with the same key).
	Enqueue(vals []indicators.Value) error
	// Pending lists the outbox, oldest first.
	Pending() ([]indicators.Value, error)
	// PendingCount is the outbox depth, without reading the values.
	PendingCount() (int, error)
	// Ack marks a value delivered: it leaves the outbox (unless a newer value
	// for the key was enqueued meanwhile) and becomes the last delivered.
	Ack(v indicators.Value) error
	// Reject records a permanent rejection with the server's text and drops
	// the value from the outbox; it is not marked delivered.
	Reject(v indicators.Value, reason string) error
	// Rejections lists recorded rejections, newest first, at most n.
	Rejections(n int) ([]Rejection, error)
	SinkState
}

// BatchAcker is a SinkStore that marks many values delivered in one
// durable write: the runner groups a delivery's acks through it instead of
// one write (one fsync) per value.
type BatchAcker interface {
	// AckAll is Ack for each value, all or none.
	AckAll(vals []indicators.Value) error
}

// SinkState is a sink's own small durable state (footprint hashes, records
// of what it last sent), JSON by key. Sinks get it in their environment
// instead of the daemon saving it for them.
type SinkState interface {
	// GetJSON reads key into v; false when absent.
	GetJSON(key string, v any) (bool, error)
	// PutJSON writes v as JSON under key.
	PutJSON(key string, v any) error
}

// Rejection is a value a sink refused, with its verbatim reason.
type Rejection struct {
	Value  indicators.Value `json:"value"`
	Reason string           `json:"reason"`
	At     time.Time        `json:"at"`
}

// RunSummary is one sync's counts, as printed by `once`.
type RunSummary struct {
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration"`
	Events    int           `json:"events"`
	Values    int           `json:"values"`
	Sent      int           `json:"sent"`
	Unchanged int           `json:"unchanged"`
	Rejected  int           `json:"rejected"`
	Failed    int           `json:"failed"`
	Pending   int           `json:"pending"`
	SourceErr int           `json:"source_errors"`
	DryRun    bool          `json:"dry_run,omitempty"`

	// Sinks are the delivery counts of each sink; Sent, Unchanged,
	// Rejected, Failed and Pending above are their sums (Failed also counts
	// indicators that failed to compute).
	Sinks map[string]SinkRun `json:"sinks,omitempty"`

	// AsOf is the time the values were computed for: the wall clock in
	// service, the replay time in the demo and in backfills. Hazard times
	// (warning since, lead times) are on this clock.
	AsOf time.Time `json:"as_of,omitzero"`
}

// SinkRun is one sink's part of a sync.
type SinkRun struct {
	Sent      int    `json:"sent"`
	Unchanged int    `json:"unchanged"`
	Rejected  int    `json:"rejected"`
	Failed    int    `json:"failed"`
	Pending   int    `json:"pending"`
	Error     string `json:"error,omitempty"`
}
