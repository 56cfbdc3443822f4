package adapter

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hazardsync/hazardsync/config"
)

// Factory builds plugins of one kind: P is what it builds (Source, Sink),
// E the environment it builds them in (Env, SinkEnv). Sources and sinks
// share it and one registry, so both seams work alike.
type Factory[P, E any] struct {
	// Kind is the registered name used as `type:` in config (or the
	// instance name when type is omitted).
	Kind string
	// Description is one line for `hazardsync sources` and the docs.
	Description string
	// NewConfig returns the kind's typed config filled with defaults.
	NewConfig func() config.PluginConfig
	// New builds the plugin from a validated config.
	New func(cfg config.PluginConfig, env E) (P, error)
}

// typedFactory is the Factory of a kind whose typed config is C (a pointer
// to the kind's config struct): the config type check lives here once, not
// in every plugin.
func typedFactory[C config.PluginConfig, P, E any](kind, description string, newConfig func() C, build func(C, E) (P, error)) Factory[P, E] {
	return Factory[P, E]{
		Kind:        kind,
		Description: description,
		NewConfig:   func() config.PluginConfig { return newConfig() },
		New: func(c config.PluginConfig, env E) (P, error) {
			cfg, ok := c.(C)
			if !ok {
				var want C
				var zero P
				return zero, fmt.Errorf("%s: config is %T, want %T", kind, c, want)
			}
			return build(cfg, env)
		},
	}
}

// registry holds the registered kinds of one plugin family.
type registry[P, E any] struct {
	what string // "source" or "sink", for messages
	// teach tells the config loader a kind's typed config.
	teach func(kind string, newConfig func() config.PluginConfig)

	mu    sync.RWMutex
	kinds map[string]Factory[P, E]
}

func (r *registry[P, E]) register(f Factory[P, E]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[f.Kind]; dup {
		panic("adapter: duplicate " + r.what + " kind " + f.Kind)
	}
	if r.kinds == nil {
		r.kinds = map[string]Factory[P, E]{}
	}
	r.kinds[f.Kind] = f
	r.teach(f.Kind, f.NewConfig)
}

func (r *registry[P, E]) lookup(kind string) (Factory[P, E], bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.kinds[kind]
	return f, ok
}

// list is every registered kind, sorted by name.
func (r *registry[P, E]) list() []Factory[P, E] {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Factory[P, E], 0, len(r.kinds))
	for _, f := range r.kinds {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Factory[P, E]) int { return strings.Compare(a.Kind, b.Kind) })
	return out
}

// find is the factory of an instance's kind, or an error naming both.
func (r *registry[P, E]) find(name, kind string) (Factory[P, E], error) {
	f, ok := r.lookup(kind)
	if !ok {
		return f, fmt.Errorf("%s %s: unknown type %q", r.what, name, kind)
	}
	return f, nil
}
