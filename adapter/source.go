// Package adapter is the daemon and everything that does I/O: sources (feeds),
// sinks (GeoSight), the state store and the runner that ties them together.
// This file is the Source contract and its registry; each feed lives in its
// own package under adapter/sources/ and registers itself in init.
package adapter

import (
	"context"
	"log/slog"
	"time"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Source fetches hazards from one feed.
type Source interface {
	// Fetch polls the feed. cur is what the previous successful fetch
	// returned (zero on the first run). The batch says which events are new,
	// changed or ended, and carries the cursor to keep for next time.
	// Errors are classified (see Classify) and name the source and URL.
	Fetch(ctx context.Context, cur Cursor) (Batch, error)
}

// Cursor is a source's incremental-poll state, persisted between runs.
type Cursor struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Versions maps event id (or any upstream key) to its last seen version.
	Versions map[string]string `json:"versions,omitempty"`
	// Extra is free per-source state (watermarks, page tokens).
	Extra map[string]string `json:"extra,omitempty"`
}

// Batch is the result of one fetch.
type Batch struct {
	// Events are the events the fetch saw. When Complete, they are the
	// source's whole current set: any stored event of this source that is
	// missing has ended. Otherwise they are updates merged over the stored
	// set (events with Closed set end).
	Events   []indicators.Event
	Complete bool
	Cursor   Cursor
	// NotModified: upstream said nothing changed (304, same version); the
	// stored events stay as they are.
	NotModified bool
	// Problems are per-item errors that did not stop the fetch (a malformed
	// feature, a detail that failed); they show in the source's health.
	Problems []error
}

// Env is what a source may use: its name, a logger scoped to it, an HTTP
// fetcher with the daemon's limits, the areas (for sources that sample
// per-area points), and the clock.
type Env struct {
	Name   string
	Logger *slog.Logger
	Areas  []indicators.Area
	Now    func() time.Time
	// Fetch is shared config for fetches (timeouts, size limits, user agent).
	Fetch config.Fetch
	// BaseDir is the config file's directory (config.Config.BaseDir):
	// relative file:// URLs resolve against it ("" = the working directory).
	BaseDir string
}

// SourceFactory builds a source of one kind.
type SourceFactory = Factory[Source, Env]

var sources = registry[Source, Env]{what: "source", teach: config.RegisterSourceKind}

// RegisterSource registers a source kind; call it from the kind's init. It
// also teaches the config loader the kind's typed config.
func RegisterSource(f SourceFactory) { sources.register(f) }

// Register registers a source kind whose typed config is C (a pointer to the
// kind's config struct).
func Register[C config.PluginConfig](kind, description string, newConfig func() C, build func(C, Env) (Source, error)) {
	RegisterSource(typedFactory(kind, description, newConfig, build))
}

// LookupSource finds a registered kind.
func LookupSource(kind string) (SourceFactory, bool) { return sources.lookup(kind) }

// SourceKinds lists registered kinds, sorted.
func SourceKinds() []SourceFactory { return sources.list() }

// BuildSource builds the configured source instance name.
func BuildSource(spec config.SourceSpec, env Env) (Source, error) {
	f, err := sources.find(spec.Name, spec.Kind)
	if err != nil {
		return nil, err
	}
	env.Name = spec.Name
	return f.New(spec.Plugin, env)
}
