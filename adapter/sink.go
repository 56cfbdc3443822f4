package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
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
type SinkFactory struct {
	// Kind is the registered name used as `type:` in config (or the
	// instance name when type is omitted).
	Kind string
	// Description is one line for the docs.
	Description string
	// NewConfig returns the kind's typed config filled with defaults.
	NewConfig func() config.PluginConfig
	// New builds the sink from a validated config.
	New func(cfg config.PluginConfig, env SinkEnv) (Sink, error)
}

var (
	sinksMu       sync.RWMutex
	sinkFactories = map[string]SinkFactory{}
)

// RegisterSinkFactory registers a sink kind; call it from the kind's init.
// It also teaches the config loader the kind's typed config.
func RegisterSinkFactory(f SinkFactory) {
	sinksMu.Lock()
	defer sinksMu.Unlock()
	if _, dup := sinkFactories[f.Kind]; dup {
		panic("adapter: duplicate sink kind " + f.Kind)
	}
	sinkFactories[f.Kind] = f
	config.RegisterSinkKind(f.Kind, f.NewConfig)
}

// RegisterSink registers a sink kind whose typed config is C (a pointer to
// the kind's config struct), like Register does for sources.
func RegisterSink[C config.PluginConfig](kind, description string, newConfig func() C, build func(C, SinkEnv) (Sink, error)) {
	RegisterSinkFactory(SinkFactory{
		Kind:        kind,
		Description: description,
		NewConfig:   func() config.PluginConfig { return newConfig() },
		New: func(c config.PluginConfig, env SinkEnv) (Sink, error) {
			cfg, ok := c.(C)
			if !ok {
				var want C
				return nil, fmt.Errorf("%s: config is %T, want %T", kind, c, want)
			}
			return build(cfg, env)
		},
	})
}

// LookupSink finds a registered sink kind.
func LookupSink(kind string) (SinkFactory, bool) {
	sinksMu.RLock()
	defer sinksMu.RUnlock()
	f, ok := sinkFactories[kind]
	return f, ok
}

// SinkKinds lists registered sink kinds, sorted.
func SinkKinds() []SinkFactory {
	sinksMu.RLock()
	defer sinksMu.RUnlock()
	out := make([]SinkFactory, 0, len(sinkFactories))
	for _, f := range sinkFactories {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// BuildSink builds the configured sink instance.
func BuildSink(spec config.SinkSpec, env SinkEnv) (Sink, error) {
	f, ok := LookupSink(spec.Kind)
	if !ok {
		return nil, fmt.Errorf("sink %s: unknown type %q", spec.Name, spec.Kind)
	}
	env.Name = spec.Name
	s, err := f.New(spec.Plugin, env)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", spec.Name, err)
	}
	return s, nil
}
