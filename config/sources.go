package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// PluginConfig is a source kind's typed config. The struct returned by the
// kind's NewConfig holds its defaults; Validate returns every problem, as
// indicators.FieldError values with paths relative to the section.
type PluginConfig interface {
	Validate() error
}

// PathResolver is a PluginConfig with file paths in it: the loader calls
// ResolvePaths with the config file's directory before Validate, so relative
// paths resolve as the config's own do (resolve only non-empty relative
// paths, and only when baseDir is not "").
type PathResolver interface {
	ResolvePaths(baseDir string)
}

// ResolvePath joins a non-empty relative path to baseDir (when not "").
func ResolvePath(baseDir, path string) string {
	if path == "" || filepath.IsAbs(path) || baseDir == "" {
		return path
	}
	return filepath.Join(baseDir, path)
}

// SourceSpec is one configured source instance: the options every source
// shares, plus the kind's own typed section.
type SourceSpec struct {
	Name string `json:"name"`
	// Kind is the registered source type (`type:`, default the name).
	Kind    string `json:"type"`
	Enabled bool   `json:"enabled"` // False keeps the section but never polls it.
	// Interval between polls (>= 1m) or a 5-field Cron expression.
	Interval time.Duration `json:"interval"`
	Cron     string        `json:"cron,omitempty"` // 5-field cron schedule (UTC) instead of interval.
	// Timeout for one run; default 80% of the interval, and below it.
	Timeout time.Duration `json:"timeout"`
	Plugin  PluginConfig  `json:"-"`
	// Raw is the section as written, for change detection on reload.
	Raw map[string]any `json:"-"`
}

// commonSourceKeys are handled here, not by plugins.
var commonSourceKeys = map[string]bool{"type": true, "enabled": true, "interval": true, "cron": true, "timeout": true}

// kindRegistry is what the loader knows of the plugin kinds of one section
// (sources:, sinks:): each kind's typed config constructor.
type kindRegistry struct {
	mu    sync.RWMutex
	kinds map[string]func() PluginConfig
}

func (r *kindRegistry) register(kind string, newConfig func() PluginConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kinds == nil {
		r.kinds = map[string]func() PluginConfig{}
	}
	r.kinds[kind] = newConfig
}

func (r *kindRegistry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *kindRegistry) newConfig(kind string) (PluginConfig, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.kinds[kind]
	if !ok {
		return nil, false
	}
	return f(), true
}

// pluginSection describes a section of named plugin instances: its key,
// the keys every instance shares (decoded by the loader, not the plugin),
// and its kinds.
type pluginSection struct {
	key    string
	what   string // "source", "sink": for messages
	common map[string]bool
	kinds  *kindRegistry
}

var (
	sourceSection = pluginSection{key: "sources", what: "source", common: commonSourceKeys, kinds: &kindRegistry{}}
	sinkSection   = pluginSection{key: "sinks", what: "sink", common: commonSinkKeys, kinds: &kindRegistry{}}
)

// RegisterSourceKind teaches the loader a source kind's config. Called by
// adapter.RegisterSource; nothing else needs it.
func RegisterSourceKind(kind string, newConfig func() PluginConfig) {
	sourceSection.kinds.register(kind, newConfig)
}

// SourceKindNames lists the kinds the loader knows.
func SourceKindNames() []string { return sourceSection.kinds.names() }

// NewPluginConfig returns the default config of a source kind.
func NewPluginConfig(kind string) (PluginConfig, bool) { return sourceSection.kinds.newConfig(kind) }

// instanceSection returns the raw section of one plugin instance (a
// missing body is an empty section).
func instanceSection(raw map[string]any, name string) (map[string]any, bool) {
	if raw[name] == nil {
		return map[string]any{}, true
	}
	sec, ok := raw[name].(map[string]any)
	return sec, ok
}

// instanceKind is the instance's `type:`, default its name.
func instanceKind(name string, sec map[string]any) string {
	if t, ok := sec["type"]; ok {
		return fmt.Sprint(t)
	}
	return name
}

// instanceEnabled reads `enabled:` (default true).
func instanceEnabled(path string, sec map[string]any, p *Problems) bool {
	e, ok := sec["enabled"]
	if !ok {
		return true
	}
	b, ok := e.(bool)
	if !ok {
		p.Add(path+".enabled", "must be true or false, got %v", e)
	}
	return b
}

// decodePlugin decodes the kind's own keys of an instance section into its
// typed config and validates it; nil when the kind is unknown.
func (s pluginSection) decodePlugin(path, kind string, sec map[string]any, baseDir string, p *Problems) PluginConfig {
	plug, known := s.kinds.newConfig(kind)
	if !known {
		p.Add(path+".type", "unknown %s type %q (known: %s)", s.what, kind, strings.Join(s.kinds.names(), ", "))
		return nil
	}
	rest := map[string]any{}
	for k, v := range sec {
		if !s.common[k] {
			rest[k] = v
		}
	}
	// Decoding keeps going past unknown keys, so Validate still sees and
	// reports everything else that is wrong.
	if err := decodeStrict(rest, plug); err != nil {
		p.AddErr(path, err)
	}
	if r, ok := plug.(PathResolver); ok {
		r.ResolvePaths(baseDir)
	}
	if err := plug.Validate(); err != nil {
		p.AddErr(path, err)
	}
	return plug
}

// sortedNames lists a raw section's instance names.
func sortedNames(raw map[string]any) []string {
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// MinInterval is the shortest polling interval allowed: feeds update at most
// every minute and ask clients not to poll faster.
const MinInterval = time.Minute

// decodeSources decodes the raw sources map, appending problems.
func decodeSources(raw map[string]any, sched Schedule, baseDir string, p *Problems) map[string]SourceSpec {
	out := map[string]SourceSpec{}
	for _, name := range sortedNames(raw) {
		path := "sources." + name
		sec, ok := instanceSection(raw, name)
		if !ok {
			p.Add(path, "must be a mapping, got %T", raw[name])
			continue
		}
		spec := SourceSpec{Name: name, Kind: instanceKind(name, sec), Enabled: instanceEnabled(path, sec, p),
			Interval: sched.Interval, Raw: sec}
		if v, ok := sec["interval"]; ok {
			d, err := toDuration(v)
			if err != nil {
				p.Add(path+".interval", "%v", err)
			} else {
				spec.Interval = d
			}
		}
		if v, ok := sec["timeout"]; ok {
			d, err := toDuration(v)
			if err != nil {
				p.Add(path+".timeout", "%v", err)
			} else {
				spec.Timeout = d
			}
		}
		if v, ok := sec["cron"]; ok {
			spec.Cron = fmt.Sprint(v)
			if err := ValidateCron(spec.Cron); err != nil {
				p.Add(path+".cron", "%v", err)
			}
		}
		if spec.Cron == "" && spec.Interval < MinInterval {
			p.Add(path+".interval", "must be >= %s, got %s", MinInterval, spec.Interval)
		}
		if spec.Timeout == 0 {
			spec.Timeout = spec.Interval * 8 / 10
		} else if spec.Cron == "" && spec.Timeout >= spec.Interval {
			p.Add(path+".timeout", "must be below the interval (%s), got %s", spec.Interval, spec.Timeout)
		}
		plug := sourceSection.decodePlugin(path, spec.Kind, sec, baseDir, p)
		if plug == nil {
			continue
		}
		spec.Plugin = plug
		out[name] = spec
	}
	return out
}

func toDuration(v any) (time.Duration, error) {
	switch t := v.(type) {
	case time.Duration:
		return t, nil
	case string:
		d, err := time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("not a duration (like 10m or 1h30m): %q", t)
		}
		return d, nil
	case int, int64, float64:
		return 0, fmt.Errorf("give a unit (like 10m), got %v", t)
	}
	return 0, fmt.Errorf("not a duration: %v", v)
}

// decodeStrict decodes a map into a struct; unknown keys are errors.
func decodeStrict(in map[string]any, out any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.TextUnmarshallerHookFunc(),
			durationHook,
			mapstructure.StringToTimeHookFunc(time.RFC3339),
			mapstructure.StringToSliceHookFunc(","),
		),
	})
	if err != nil {
		return err
	}
	if err := d.Decode(in); err != nil {
		return explainDecode(err)
	}
	return nil
}
