package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Sink delivers indicator values somewhere (GeoSight, a database, a file).
// Each sink lives in its own package under adapter/sinks/ and registers
// itself in init (RegisterSink); the runner gives every sink its own outbox,
// progress and health.
type Sink interface {
	// Name identifies the sink in logs, metrics and the status page: the
	// configured instance name.
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
// hazard footprints (GeoSight context layers, a PostGIS table). Whether a
// sink publishes them is its own config's business: the runner hands every
// FootprintSink the active events after each delivery pass.
type FootprintSink interface {
	PublishFootprints(ctx context.Context, events []indicators.Event) error
}

// Closer is an optional capability: sinks holding connections or servers
// release them when the daemon stops or a reload replaces them.
type Closer interface {
	Close()
}

// SinkEnv is what a sink may use: its instance name, a logger scoped to it,
// its own small durable state, the config's directory (relative paths), the
// daemon's fetch limits, the areas and the clock.
type SinkEnv struct {
	Name   string
	Logger *slog.Logger
	// State is the sink's own durable key-value state (footprint hashes,
	// indicator records), kept beside its outbox; nil in a dry run that
	// builds no state.
	State SinkState
	// BaseDir is the directory of the config file.
	BaseDir string
	// StateDir is the daemon's state directory (a sink serving files keeps
	// them there).
	StateDir string
	Fetch    config.Fetch
	Areas    []indicators.Area
	Now      func() time.Time
	// GeoSight is the config's geosight: section (the geosight and embedded
	// kinds built from it read it; the dashboard reads it too).
	GeoSight config.GeoSight
}

// SinkFactory builds a sink of one kind.
type SinkFactory = Factory[Sink, SinkEnv]

var sinks = registry[Sink, SinkEnv]{what: "sink", teach: config.RegisterSinkKind}

// RegisterSinkFactory registers a sink kind; call it from the kind's init.
// It also teaches the config loader the kind's typed config.
func RegisterSinkFactory(f SinkFactory) { sinks.register(f) }

// RegisterSink registers a sink kind whose typed config is C (a pointer to
// the kind's config struct), like Register does for sources.
func RegisterSink[C config.PluginConfig](kind, description string, newConfig func() C, build func(C, SinkEnv) (Sink, error)) {
	RegisterSinkFactory(typedFactory(kind, description, newConfig, build))
}

// LookupSink finds a registered sink kind.
func LookupSink(kind string) (SinkFactory, bool) { return sinks.lookup(kind) }

// SinkKinds lists registered sink kinds, sorted.
func SinkKinds() []SinkFactory { return sinks.list() }

// BuildSink builds the configured sink instance.
func BuildSink(spec config.SinkSpec, env SinkEnv) (Sink, error) {
	f, err := sinks.find(spec.Name, spec.Kind)
	if err != nil {
		return nil, err
	}
	env.Name = spec.Name
	s, err := f.New(spec.Plugin, env)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", spec.Name, err)
	}
	return s, nil
}
