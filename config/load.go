package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/viper"

	"github.com/hazardsync/hazardsync/indicators"
)

// Overrides are command-line settings that win over the file.
type Overrides struct {
	StateDir string
	HTTPAddr string
}

// Load reads, decodes and validates a config file. Relative paths inside the
// file are resolved against the file's directory, so a config can be run
// from anywhere. Environment variables HAZARDSYNC_<KEY PATH> override every
// scalar and list key (HAZARDSYNC_GEOSIGHT_TIMEOUT, HAZARDSYNC_STATE_DIR,
// HAZARDSYNC_SOURCES_USGS_INTERVAL, ...; see EnvKeys).
func Load(path string, ov Overrides) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := Parse(b, filepath.Dir(path), ov)
	cfg.Path = path
	if ve, ok := err.(*ValidationError); ok {
		ve.File = path
	}
	return cfg, err
}

// Parse decodes and validates YAML config bytes; baseDir resolves relative
// paths.
func Parse(yaml []byte, baseDir string, ov Overrides) (Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(yaml)); err != nil {
		return Config{}, &ValidationError{Problems: Problems{{Path: "", Message: yamlProblem(yaml, err)}}}
	}
	cfg := Defaults()
	var p Problems

	settings := v.AllSettings()
	if len(settings) == 0 {
		return cfg, &ValidationError{Problems: Problems{{Path: "", Message: "the file is empty (no keys at all): start from `hazardsync config sample`"}}}
	}
	// The environment overrides every key of the schema (HAZARDSYNC_<PATH>).
	env := envOverrides(append(EnvKeys(), leafPaths("", settings)...))
	for k, val := range env {
		setPath(settings, k, envValue(k, val))
	}
	rawSources, _ := settings["sources"].(map[string]any)
	delete(settings, "sources")
	if s, ok := v.Get("sources").(map[string]any); ok {
		rawSources = s
	} else if v.Get("sources") != nil {
		p.Add("sources", "must be a mapping of source name to its settings")
	}
	for k, val := range sourceSection.env(rawSources) {
		env[k] = val
	}
	rawSinks, _ := settings["sinks"].(map[string]any)
	delete(settings, "sinks")
	if s, ok := v.Get("sinks").(map[string]any); ok {
		rawSinks = s
	} else if v.Get("sinks") != nil {
		p.Add("sinks", "must be a mapping of sink name to its settings")
	}
	for k, val := range sinkSection.env(rawSinks) {
		env[k] = val
	}
	rawTriggers, _ := settings["triggers"].(map[string]any)
	delete(settings, "triggers")
	for k, val := range settings {
		if val == nil {
			delete(settings, k)
		}
		if m, ok := val.(map[string]any); ok {
			for kk, vv := range m {
				if vv == nil {
					delete(m, kk)
				}
			}
		}
	}
	if err := decodeStrict(settings, &cfg); err != nil {
		p.AddErr("", err)
	}
	for i := range cfg.Geographies.Files {
		cfg.Geographies.Files[i] = withGeoFileDefaults(cfg.Geographies.Files[i], v, i)
	}
	// A trigger named like a default starts from the default, so a config
	// can change one threshold without restating the whole rule.
	for name, raw := range rawTriggers {
		t := cfg.Triggers[name].Clone() // decoding merges into maps: never into another trigger's
		m, ok := raw.(map[string]any)
		if !ok {
			p.Add("triggers."+name, "must be a mapping")
			continue
		}
		if _, ok := m["levels"]; ok {
			t.Levels = nil // levels replace, never merge: a missing level means none
		}
		if err := decodeStrict(m, &t); err != nil {
			p.AddErr("triggers."+name, err)
		}
		cfg.Triggers[name] = t
	}
	if ov.StateDir != "" {
		cfg.StateDir = ov.StateDir
	}
	if ov.HTTPAddr != "" {
		cfg.HTTP.Listen = ov.HTTPAddr
	}
	cfg.BaseDir = baseDir
	cfg.resolvePaths(baseDir)
	if err := resolveAPIKey(&cfg.GeoSight); err != nil {
		p.Add("geosight.api_key_file", "%v", err)
	}
	cfg.Sources = decodeSources(rawSources, cfg.Schedule, baseDir, &p)
	cfg.Sinks = decodeSinks(rawSinks, baseDir, &p)
	p = append(p, cfg.validate()...)
	p = suggestKeys(p, func(path string) bool { return v.IsSet(path) })
	nameEnvVars(p, env)
	return cfg, p.Err()
}

// withGeoFileDefaults fills property names the file entry left out.
func withGeoFileDefaults(f GeoFile, v *viper.Viper, i int) GeoFile {
	d := GeoFileDefaults()
	raw, _ := v.Get("geographies.files").([]any)
	var set map[string]any
	if i < len(raw) {
		set, _ = raw[i].(map[string]any)
	}
	if _, ok := set["level"]; !ok {
		f.Level = d.Level
	}
	for _, kv := range []struct {
		key string
		dst *string
		def string
	}{{"code_property", &f.CodeProperty, d.CodeProperty}, {"name_property", &f.NameProperty, d.NameProperty},
		{"level_property", &f.LevelProperty, d.LevelProperty}, {"parent_property", &f.ParentProperty, d.ParentProperty}} {
		if *kv.dst == "" {
			*kv.dst = kv.def
		}
	}
	return f
}

func (c *Config) resolvePaths(base string) {
	abs := func(p *string) { *p = ResolvePath(base, *p) }
	abs(&c.GeoSight.APIKeyFile)
	abs(&c.Baseline.File)
	abs(&c.Population.Grid)
	abs(&c.Population.Under18Grid)
	abs(&c.Population.Facilities)
	abs(&c.HTTP.TokenFile)
	abs(&c.HTTP.PullTokenFile)
	for i := range c.Geographies.Files {
		abs(&c.Geographies.Files[i].Path)
	}
	// state_dir and output dir stay relative to where the daemon runs: they
	// are the operator's choice at run time, not part of the config's data.
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// validate checks everything but the source sections (done while decoding).
func (c *Config) validate() Problems {
	var p Problems
	p.AddErr("geosight", c.GeoSight.Validate())

	switch c.Geographies.From {
	case "file":
		if len(c.Geographies.Files) == 0 {
			p.Add("geographies.files", "at least one GeoJSON file is required when from: file")
		}
		for i, f := range c.Geographies.Files {
			path := fmt.Sprintf("geographies.files[%d]", i)
			if f.Path == "" {
				p.Add(path+".path", "is required")
			} else if _, err := os.Stat(f.Path); err != nil {
				p.Add(path+".path", "cannot read %s: %v", f.Path, unwrapPathErr(err))
			}
			if f.CodeProperty == "" {
				p.Add(path+".code_property", "is required")
			}
		}
	case "geosight":
		if c.Embedded() && len(c.Geographies.Files) == 0 {
			p.Add("geographies.from", "the embedded GeoSight serves the areas of geographies.files; list them")
		}
	default:
		p.Add("geographies.from", "must be file or geosight, got %q", c.Geographies.From)
	}

	if c.Baseline.File != "" {
		if _, err := os.Stat(c.Baseline.File); err != nil {
			p.Add("baseline.file", "cannot read %s: %v", c.Baseline.File, unwrapPathErr(err))
		}
		if c.Baseline.KeyType != "ucode" && c.Baseline.KeyType != "pcode" {
			p.Add("baseline.key_type", "must be ucode or pcode, got %q", c.Baseline.KeyType)
		}
		if c.Baseline.KeyColumn == "" {
			p.Add("baseline.key_column", "is required")
		}
	}
	for _, f := range []struct{ key, path string }{{"population.grid", c.Population.Grid},
		{"population.under18_grid", c.Population.Under18Grid}, {"population.facilities", c.Population.Facilities}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				p.Add(f.key, "cannot read %s: %v", f.path, unwrapPathErr(err))
			}
		}
	}

	if c.Population.MinGridCoverage < 0 || c.Population.MinGridCoverage > 1 {
		p.Add("population.min_grid_coverage", "must be a share between 0 and 1 (0.5 = half of the areas), got %g", c.Population.MinGridCoverage)
	}
	switch c.Delivery.Dating {
	case DatingOnChange, DatingDaily:
	default:
		p.Add("delivery.dating", "must be %s or %s, got %q", DatingOnChange, DatingDaily, c.Delivery.Dating)
	}
	if c.Delivery.MaxDuration < 0 {
		p.Add("delivery.max_duration", "must not be negative, got %s", c.Delivery.MaxDuration)
	}
	if c.Memory.GCHeadroomMB < 0 {
		p.Add("memory.gc_headroom_mb", "must not be negative (0 = Go's default), got %d", c.Memory.GCHeadroomMB)
	}
	if c.Retention.Days < 1 {
		p.Add("retention.days", "must be at least 1, got %d", c.Retention.Days)
	}
	for name, t := range c.Triggers {
		p.AddErr("triggers."+name, t.Validate())
	}
	seen := map[string]int{}
	for i, d := range c.Indicators {
		path := fmt.Sprintf("indicators[%d]", i)
		if d.Shortcode != "" {
			path = fmt.Sprintf("indicators[%d](%s)", i, d.Shortcode)
		}
		if j, dup := seen[d.Shortcode]; dup {
			p.Add(path+".shortcode", "duplicates indicators[%d]", j)
		}
		seen[d.Shortcode] = i
		p.AddErr(path, d.Validate())
		if tr, ok := d.Params["trigger"].(string); ok {
			if _, known := c.Triggers[tr]; !known {
				p.Add(path+".params.trigger", "no trigger %q under triggers: (known: %s)", tr, strings.Join(triggerNames(c.Triggers), ", "))
			}
		}
	}
	p = append(p, c.validateLevelsAndListen()...)
	if c.Schedule.Interval < MinInterval {
		p.Add("schedule.interval", "must be >= %s, got %s", MinInterval, c.Schedule.Interval)
	}
	if c.Schedule.Jitter < 0 {
		p.Add("schedule.jitter", "must be >= 0, got %s", c.Schedule.Jitter)
	}
	if _, err := time.LoadLocation(c.Schedule.Timezone); err != nil {
		p.Add("schedule.timezone", "%v", err)
	}
	if c.StateDir == "" {
		p.Add("state_dir", "is required")
	}
	if c.Fetch.Timeout <= 0 {
		p.Add("fetch.timeout", "must be > 0, got %s", c.Fetch.Timeout)
	}
	if c.Fetch.MaxBodyBytes < 1024 {
		p.Add("fetch.max_body_bytes", "must be >= 1024, got %d", c.Fetch.MaxBodyBytes)
	}
	if c.Overlay.MinShare < 0 || c.Overlay.MinShare >= 1 {
		p.Add("overlay.min_share", "must be in [0, 1), got %g", c.Overlay.MinShare)
	}
	if c.Overlay.MinKm2 < 0 {
		p.Add("overlay.min_km2", "must be >= 0, got %g", c.Overlay.MinKm2)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.Add("log.format", "must be text or json, got %q", c.Log.Format)
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		p.Add("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	return p
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// ValidateCron checks a standard 5-field cron expression.
func ValidateCron(expr string) error {
	_, err := cron.ParseStandard(expr)
	if err != nil {
		return fmt.Errorf("not a 5-field cron expression (like \"*/15 * * * *\"): %v", err)
	}
	return nil
}

func triggerNames(m map[string]indicators.Trigger) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
