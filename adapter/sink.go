package adapter

import (
	"context"

	"github.com/hazardsync/hazardsync/indicators"
)

// Sink delivers indicator values somewhere (GeoSight, a file, a pull feed).
type Sink interface {
	// Name identifies the sink in logs, metrics and the status page.
	Name() string
	// Ensure makes sure every indicator exists on the other side (find by
	// shortcode, create when missing, update when our definition changed).
	Ensure(ctx context.Context, defs []indicators.Definition) error
	// Write delivers values and calls ack once per value, as soon as its
	// outcome is known, so the runner can persist progress value by value.
	// A nil Err means delivered; otherwise Err is classified (Retryable
	// values stay in the outbox, Permanent ones are recorded as rejected).
	// Write returns an error only when the whole sink failed (auth, ctx).
	Write(ctx context.Context, vals []indicators.Value, ack func(Outcome)) error
}

// Outcome is the fate of one value.
type Outcome struct {
	Value indicators.Value
	Err   error
	// Retries is how many attempts beyond the first this value needed.
	Retries int
}

// FootprintSink is an optional capability: sinks that also publish the
// hazard footprints themselves (GeoSight context layers).
type FootprintSink interface {
	PublishFootprints(ctx context.Context, events []indicators.Event) error
}
