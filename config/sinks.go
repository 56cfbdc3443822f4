package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"

	"github.com/hazardsync/hazardsync/indicators"
)

// SinkSpec is one configured sink instance: the options every sink shares,
// plus the kind's own typed section.
type SinkSpec struct {
	Name string `json:"name"`
	// Kind is the registered sink type (`type:`, default the name).
	Kind    string `json:"type"`
	Enabled bool   `json:"enabled"` // False keeps the section but delivers nothing to it.
	// Plugin is the kind's typed config (for the sink made from the
	// geosight: section, the kind's config filled by SetGeoSight).
	Plugin PluginConfig `json:"-"`
	// Raw is the section as written, for change detection on reload.
	Raw map[string]any `json:"-"`
}

// GeoSightSink is the name of the sink the geosight: section configures:
// its delivery state (outbox, delivered values) is kept under this name,
// also when geosight.url is embedded.
const GeoSightSink = "geosight"

// Sink kinds the geosight: section maps to.
const (
	GeoSightKind = "geosight"
	EmbeddedKind = "embedded"
)

// GeoSightSection is implemented by the typed config of the sink kinds the
// geosight: section maps to: the section's settings (API key resolved)
// become the sink's config.
type GeoSightSection interface {
	PluginConfig
	SetGeoSight(GeoSight)
}

// commonSinkKeys are handled here, not by plugins.
var commonSinkKeys = map[string]bool{"type": true, "enabled": true}

// RegisterSinkKind teaches the loader a sink kind's config. Called by
// adapter.RegisterSink; nothing else needs it.
func RegisterSinkKind(kind string, newConfig func() PluginConfig) {
	sinkSection.kinds.register(kind, newConfig)
}

// SinkKindNames lists the sink kinds the loader knows.
func SinkKindNames() []string { return sinkSection.kinds.names() }

// NewSinkConfig returns the default config of a sink kind.
func NewSinkConfig(kind string) (PluginConfig, bool) { return sinkSection.kinds.newConfig(kind) }

// decodeSinks decodes the raw sinks map, appending problems. The name
// geosight belongs to the geosight: section (still the way to configure
// GeoSight: the dashboard, geographies.from and the pull feed read it).
func decodeSinks(raw map[string]any, baseDir string, p *Problems) map[string]SinkSpec {
	out := map[string]SinkSpec{}
	for _, name := range sortedNames(raw) {
		path := "sinks." + name
		if name == GeoSightSink {
			p.Add(path, "the sink named geosight is the geosight: section (geosight.url); "+
				"configure GeoSight there, or give this sink another name")
			continue
		}
		sec, ok := instanceSection(raw, name)
		if !ok {
			p.Add(path, "must be a mapping, got %T", raw[name])
			continue
		}
		spec := SinkSpec{Name: name, Kind: instanceKind(name, sec), Enabled: instanceEnabled(path, sec, p), Raw: sec}
		plug := sinkSection.decodePlugin(path, spec.Kind, sec, baseDir, p)
		if plug == nil {
			continue
		}
		spec.Plugin = plug
		out[name] = spec
	}
	return out
}

// AllSinks lists every enabled sink, sorted by name: the geosight:
// section's (named geosight, kind geosight or embedded) and the sinks:
// entries.
func (c Config) AllSinks() []SinkSpec {
	out := make([]SinkSpec, 0, len(c.Sinks)+1)
	g := c.GeoSight
	kind := GeoSightKind
	if c.Embedded() {
		kind = EmbeddedKind
	}
	var plug PluginConfig = &g
	if p, ok := NewSinkConfig(kind); ok {
		if sec, ok := p.(GeoSightSection); ok {
			sec.SetGeoSight(g)
			plug = p
		}
	}
	out = append(out, SinkSpec{Name: GeoSightSink, Kind: kind, Enabled: true, Plugin: plug})
	for _, s := range c.Sinks {
		if s.Enabled {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Validate checks the section (also as the typed config of a geosight sink
// in sinks:), every problem a FieldError relative to it.
func (g *GeoSight) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	switch {
	case g.URL == "":
		bad("url", "is required (an https:// URL, or %q for the built-in fake)", EmbeddedURL)
	case g.URL == EmbeddedURL:
	default:
		u, err := url.Parse(g.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "must be an http(s) URL like https://geosight.example.org, got %q", g.URL)
		}
		if g.APIKey == "" && g.APIKeyFile == "" {
			bad("api_key_file", "no API key: set %s or api_key_file", EnvAPIKey)
		}
		if !emailRE.MatchString(g.User) {
			bad("user", "must be the e-mail of the API key's owner, got %q", g.User)
		}
	}
	if !uuidRE.MatchString(g.Dataset) {
		bad("dataset", "must be the reference dataset UUID, got %q", g.Dataset)
	}
	if g.Concurrency < 1 || g.Concurrency > 32 {
		bad("concurrency", "must be 1..32, got %d", g.Concurrency)
	}
	if g.RequestsPerSecond < 0 {
		bad("requests_per_second", "must be >= 0, got %g", g.RequestsPerSecond)
	}
	if g.Timeout <= 0 {
		bad("timeout", "must be > 0, got %s", g.Timeout)
	}
	if g.MaxRetries < 0 {
		bad("max_retries", "must be >= 0, got %d", g.MaxRetries)
	}
	return errors.Join(errs...)
}

// DefaultGeoSight is the geosight: section's defaults (a geosight sink in
// sinks: starts from them too).
func DefaultGeoSight() *GeoSight {
	g := Defaults().GeoSight
	return &g
}

// ResolveAPIKey reads a geosight sink's key from its api_key_file (relative
// to baseDir). The geosight: section's key is resolved at load time, where
// HAZARDSYNC_GEOSIGHT_API_KEY wins over the file.
func (g *GeoSight) ResolveAPIKey(baseDir string) error {
	if g.APIKey != "" || g.URL == EmbeddedURL {
		return nil
	}
	if g.APIKeyFile == "" {
		return errors.New("no API key: set api_key_file")
	}
	if !filepath.IsAbs(g.APIKeyFile) && baseDir != "" {
		g.APIKeyFile = filepath.Join(baseDir, g.APIKeyFile)
	}
	return readAPIKeyFile(g)
}
