// Package config is hazardsync's configuration: the schema, its defaults,
// loading with viper (YAML file plus environment overrides: every scalar and
// list key as HAZARDSYNC_<KEY PATH>, e.g. HAZARDSYNC_GEOSIGHT_TIMEOUT or
// HAZARDSYNC_SOURCES_USGS_INTERVAL; `hazardsync config show` prints the
// effective config),
// validation that reports every problem with its key path, and the
// registry through which source plugins contribute their typed sections.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

// Config is the whole hazardsync.yaml.
type Config struct {
	GeoSight    GeoSight    `mapstructure:"geosight"`
	Geographies Geographies `mapstructure:"geographies"`
	Baseline    Baseline    `mapstructure:"baseline"`
	Population  Population  `mapstructure:"population"`
	// Sources are keyed by instance name; see SourceSpec.
	Sources map[string]SourceSpec `mapstructure:"-"`
	// Sinks are the delivery targets beside the geosight: section, keyed
	// by instance name; see SinkSpec and AllSinks.
	Sinks      map[string]SinkSpec     `mapstructure:"-"`
	Indicators []indicators.Definition `mapstructure:"indicators"` // The indicators computed and pushed, one row each.
	// Triggers are the early-warning rules by name (defaults: heat,
	// heavy_rain, wind, river_flood, cyclone); a config replaces any by name.
	Triggers map[string]indicators.Trigger `mapstructure:"triggers"`
	Schedule Schedule                      `mapstructure:"schedule"`
	StateDir string                        `mapstructure:"state_dir"` // Directory of the state database (cursors, outbox, delivery history); relative to where the daemon runs.
	HTTP     HTTP                          `mapstructure:"http"`
	Fetch    Fetch                         `mapstructure:"fetch"`
	Log      Log                           `mapstructure:"log"`
	Output   Output                        `mapstructure:"output"`
	// Delivery decides how values are dated and when they are re-sent.
	Delivery Delivery `mapstructure:"delivery"`
	// Retention bounds the history kept in the state dir.
	Retention Retention `mapstructure:"retention"`
	// Overlay decides when a footprint hits an area.
	Overlay Overlay `mapstructure:"overlay"`
	// Memory bounds the garbage collector's headroom.
	Memory Memory `mapstructure:"memory"`
	// ReplayTime pins "now" for computing values (which events are active,
	// lead times, value dates) to an RFC 3339 time: for demos and replays of
	// recorded feeds. Never set it in production.
	ReplayTime time.Time `mapstructure:"replay_time"`

	// Path is the file the config was read from ("" for built-in).
	Path string `mapstructure:"-"`
	// BaseDir is the directory relative paths in the config resolve against
	// (the config file's; "" = the working directory). Parse sets it; sources
	// get it through adapter.Env for relative file:// URLs.
	BaseDir string `mapstructure:"-"`
}

// EnvAPIKey is the environment variable holding the GeoSight API key.
const EnvAPIKey = "HAZARDSYNC_GEOSIGHT_API_KEY"

// EmbeddedURL as geosight.url delivers into the in-process GeoSight fake:
// the demo, and a way to try a config without an instance.
const EmbeddedURL = "embedded"

// GeoSight is the target instance.
type GeoSight struct {
	// URL of the instance, e.g. https://geosight.unicef.org, or "embedded".
	URL string `mapstructure:"url"`
	// APIKeyFile holds the API key; the environment variable
	// HAZARDSYNC_GEOSIGHT_API_KEY wins over it. Never put the key here.
	APIKeyFile string `mapstructure:"api_key_file"`
	// User is the e-mail of the key's owner, sent as GeoSight-User-Key.
	User string `mapstructure:"user"`
	// Dataset is the reference dataset (GeoRepo view) UUID values belong to.
	Dataset string `mapstructure:"dataset"`
	// Concurrency is the most value POSTs in flight; the client adapts below
	// it to the server (GeoSight runs 4 uwsgi workers and on 2 cores 2 in
	// flight deliver as much as 4).
	Concurrency int `mapstructure:"concurrency"`
	// RequestsPerSecond caps the request rate (0 = no cap).
	RequestsPerSecond float64       `mapstructure:"requests_per_second"`
	Timeout           time.Duration `mapstructure:"timeout"` // Per request to GeoSight, retries excluded.
	// MaxRetries per value within one delivery pass, for retryable errors.
	MaxRetries int `mapstructure:"max_retries"`
	// Category for created indicators when a definition names none.
	Category string `mapstructure:"category"`
	// EntityRefresh is how often the reference dataset's codes are re-read.
	EntityRefresh time.Duration `mapstructure:"entity_refresh"`
	// ContextLayers publishes hazard footprints as Cloud Native GIS layers.
	ContextLayers ContextLayers `mapstructure:"context_layers"`
	// EventsTable publishes the active events as a related table.
	EventsTable EventsTable `mapstructure:"events_table"`

	// APIKey is resolved at load time from the environment or the file.
	APIKey Secret `mapstructure:"-"`
}

// ContextLayers controls footprint publishing: one layer per hazard type.
type ContextLayers struct {
	Enabled bool `mapstructure:"enabled"` // Publish footprints as context layers.
	// HazardTypes to publish (empty = all).
	HazardTypes []string `mapstructure:"hazard_types"`
	// NamePrefix of each layer's name ("<prefix><hazard type>").
	NamePrefix string `mapstructure:"name_prefix"`
	Category   string `mapstructure:"category"` // GeoSight category of the created layers.
}

// EventsTable controls the related table of active events.
type EventsTable struct {
	Enabled bool   `mapstructure:"enabled"` // Publish the active events as a related table.
	Name    string `mapstructure:"name"`    // Name of the related table in GeoSight.
}

// Geographies says where the areas come from.
type Geographies struct {
	// From is "file" (GeoJSON files below) or "geosight" (the reference
	// dataset's entities with geometries).
	From  string    `mapstructure:"from"`
	Files []GeoFile `mapstructure:"files"` // GeoJSON files of areas, when from is file.
	// Levels to read from GeoSight when From is geosight.
	Levels []int `mapstructure:"levels"`
}

// GeoFile is one GeoJSON file of areas.
type GeoFile struct {
	Path string `mapstructure:"path"` // GeoJSON FeatureCollection of areas (relative to the config file).
	// Level of every feature, or -1 to read LevelProperty.
	Level         int    `mapstructure:"level"`
	CodeProperty  string `mapstructure:"code_property"`  // Feature property holding the ucode GeoSight keys values by.
	NameProperty  string `mapstructure:"name_property"`  // Feature property holding the area name.
	LevelProperty string `mapstructure:"level_property"` // Feature property holding the admin level, when level is -1.
	// ParentProperty holds the parent's ucode (optional).
	ParentProperty string `mapstructure:"parent_property"`
	// PCodeProperty holds the PCode, for baselines keyed by PCode.
	PCodeProperty string `mapstructure:"pcode_property"`
}

// Baseline is per-area population from a CSV table.
type Baseline struct {
	File string `mapstructure:"file"` // CSV table of per-area population (relative to the config file); empty = no table.
	// KeyColumn joins rows to areas; KeyType says whether it holds ucodes or
	// PCodes (matched through geographies.files[].pcode_property).
	KeyColumn        string `mapstructure:"key_column"`
	KeyType          string `mapstructure:"key_type"`
	PopulationColumn string `mapstructure:"population_column"`        // Column with the total population.
	Under18Column    string `mapstructure:"under18_column"`           // Column with the under-18 population.
	SchoolsColumn    string `mapstructure:"schools_column"`           // Column with the number of schools (optional).
	HealthColumn     string `mapstructure:"health_facilities_column"` // Column with the number of health facilities (optional).
}

// Population configures the exact grid engine (exposure on a population
// raster). Empty Grid means area-weighting from the baseline table.
type Population struct {
	Grid        string `mapstructure:"grid"`         // Population GeoTIFF (WorldPop-style, float32); exposure becomes exact per cell.
	Under18Grid string `mapstructure:"under18_grid"` // Under-18 population GeoTIFF on the same grid.
	// Facilities is a CSV or GeoJSON of points (schools, health facilities).
	Facilities string `mapstructure:"facilities"`
	// MinGridCoverage is the least share (0..1) of the areas' extent the
	// population grid must cover; below it the grid is refused (a grid of
	// the wrong country would otherwise give area-weighted numbers
	// everywhere while looking exact). validate and the status data show
	// the share.
	MinGridCoverage float64 `mapstructure:"min_grid_coverage"`
}

// Schedule is the default polling and the value calendar.
type Schedule struct {
	// Interval between syncs for sources that set none.
	Interval time.Duration `mapstructure:"interval"`
	// Jitter spreads source polls by up to this much.
	Jitter time.Duration `mapstructure:"jitter"`
	// Timezone of the civil day values are dated in (GeoSight keeps days).
	Timezone string `mapstructure:"timezone"`
}

// HTTP is the daemon's own server: /, /healthz, /readyz, /metrics.
type HTTP struct {
	// Listen address; loopback by default. Empty disables the server.
	Listen string `mapstructure:"listen"`
	// TokenFile holds an optional bearer token for the status page (and
	// /pull/, as a header).
	TokenFile string `mapstructure:"token_file"`
	// PullTokenFile holds a token for /pull/ sent as ?token= in the URL
	// (GeoSight's importer can only put a secret there). With token_file or
	// this set, /pull/ needs a token; read at start.
	PullTokenFile string `mapstructure:"pull_token_file"`
}

// Fetch holds limits for every feed request.
type Fetch struct {
	Timeout      time.Duration `mapstructure:"timeout"`        // Per feed request, body included.
	MaxBodyBytes int64         `mapstructure:"max_body_bytes"` // Largest feed response read; larger ones fail the fetch.
	UserAgent    string        `mapstructure:"user_agent"`     // User-Agent sent to feeds (some ask for a contact).
}

// Log configures log/slog.
type Log struct {
	Level  string `mapstructure:"level"`  // Debug, info, warn or error.
	Format string `mapstructure:"format"` // text or json
}

// Dating modes for delivery.dating.
const (
	DatingOnChange = "on_change"
	DatingDaily    = "daily"
)

// Delivery decides how values are dated.
type Delivery struct {
	// Dating is on_change (default): a value is dated the day it became
	// what it is and sent only when it changes, so GeoSight's latest value
	// per area is the current one and an unchanged value is never rewritten;
	// an area no longer exposed gets an explicit 0 / none dated the day it
	// cleared. daily: every value is re-dated and re-sent every day (a daily
	// snapshot, for dashboards filtered to a single day; costs one POST per
	// value per day).
	Dating string `mapstructure:"dating"`
	// MaxDuration caps one sync's delivery to each sink when more than one
	// sink is configured, so a hung or slow sink holds back the others'
	// next sync by at most this long: what it did not send stays queued and
	// goes with the next sync. 0 = no cap. With one sink there is no cap.
	MaxDuration time.Duration `mapstructure:"max_duration"`
}

// Retention bounds the state: delivered-value history and run records older
// than Days are dropped daily and their space is reused, so the file stops
// growing; it is compacted (shrunk) when the daemon starts. The latest
// delivered value of every area and indicator is always kept (it decides
// what changed).
type Retention struct {
	// Days of delivered-value history and run records kept (the latest
	// value of every series is kept whatever its age).
	Days int `mapstructure:"days"`
}

// Output is where --dry-run writes its preview (GeoJSON, CSV, map).
type Output struct {
	Dir string `mapstructure:"dir"` // Where `once --dry-run` writes its preview; relative to where it runs.
}

// Memory bounds how far the daemon's Go heap grows between garbage
// collections. By default Go lets it grow to twice what is live: at country
// scale (~150 MB live beside the population grid's engine, whose arrays are
// not on the heap) that is ~150 MB of garbage held for nothing. The daemon
// keeps the growth near gc_headroom_mb instead, never above Go's default
// (GOGC=100) and never below a tenth of the live heap, re-aimed after every
// collection, with Go's soft memory limit one more headroom above, so freed
// memory goes back to the OS. An explicit GOGC in the environment turns the
// tuner off; an explicit GOMEMLIMIT keeps its limit. Smaller headroom means
// more collections: each costs CPU in proportion to the live heap (see
// docs/operating.md for the measured trade).
type Memory struct {
	// GCHeadroomMB is the heap growth allowed between collections, in MB;
	// 0 leaves Go's default (twice the live heap). A reload changes the
	// headroom; turning the tuner on or off takes a restart.
	GCHeadroomMB int `mapstructure:"gc_headroom_mb"`
	// KeepOverlayAreas keeps the overlay's prepared areas (each area's
	// projected outline and edge index, ~37 MB at 5,130 areas of ~300
	// vertices) between syncs. Off by default: they are dropped after each
	// sync that measured new footprints, and a later sync re-prepares the
	// areas its new footprints reach (measured at that size: a sync where
	// 10% of the footprints moved took ~0.04 s longer, and the memory
	// beside the grid engine fell from ~200 MB to ~160 MB).
	KeepOverlayAreas bool `mapstructure:"keep_overlay_areas"`
}

// Overlay decides when a hazard footprint hits an area, for every source
// and every recipe. A polygon hits only with an intersection of positive
// area: sharing an edge or a corner is not hitting (CAP polygons often
// follow admin boundaries). Points and lines hit where they lie inside.
type Overlay struct {
	// MinShare is the smallest share of the area's surface (0..1) a
	// footprint must cover to hit it; 0 means any positive area.
	MinShare float64 `mapstructure:"min_share"`
	// MinKm2 is the smallest intersection in km² that hits; 0 means any.
	MinKm2 float64 `mapstructure:"min_km2"`
}

// Options converts the section for the indicators package.
func (o Overlay) Options() indicators.OverlayOptions {
	return indicators.OverlayOptions{MinShare: o.MinShare, MinKm2: o.MinKm2}
}

// Defaults returns a config with every default filled in.
func Defaults() Config {
	return Config{
		GeoSight: GeoSight{
			Concurrency:   4,
			Timeout:       30 * time.Second,
			MaxRetries:    5,
			Category:      "Hazards",
			EntityRefresh: 6 * time.Hour,
			ContextLayers: ContextLayers{NamePrefix: "hazardsync: ", Category: "Hazards"},
			EventsTable:   EventsTable{Name: "hazardsync active events"},
		},
		Geographies: Geographies{From: "file"},
		Baseline: Baseline{
			KeyColumn: "ucode", KeyType: "ucode",
			PopulationColumn: "population", Under18Column: "under18",
		},
		Population: Population{MinGridCoverage: 0.5},
		Schedule:   Schedule{Interval: 10 * time.Minute, Jitter: 30 * time.Second, Timezone: "UTC"},
		StateDir:   "./hazardsync-state",
		HTTP:       HTTP{Listen: "127.0.0.1:8080"},
		Fetch: Fetch{
			Timeout:      60 * time.Second,
			MaxBodyBytes: 64 << 20,
			UserAgent:    "hazardsync (+https://github.com/hazardsync/hazardsync)",
		},
		Triggers:  indicators.DefaultTriggers(),
		Log:       Log{Level: "info", Format: "text"},
		Output:    Output{Dir: "./hazardsync-preview"},
		Delivery:  Delivery{Dating: DatingOnChange, MaxDuration: 10 * time.Minute},
		Retention: Retention{Days: 30},
		Memory:    Memory{GCHeadroomMB: 32},
	}
}

// GeoFileDefaults fills a geography file's property names.
func GeoFileDefaults() GeoFile {
	return GeoFile{Level: -1, CodeProperty: "ucode", NameProperty: "name", LevelProperty: "admin_level",
		ParentProperty: "parent", PCodeProperty: ""}
}

// Location is the schedule's timezone (UTC when unset or invalid).
func (c Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Schedule.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Clock returns the time to compute with: the replay time when set, else
// the wall clock.
func (c Config) Clock() func() time.Time {
	if t := c.ReplayTime; !t.IsZero() {
		return func() time.Time { return t }
	}
	return time.Now
}

// Embedded reports whether delivery goes into the in-process fake.
func (c Config) Embedded() bool { return c.GeoSight.URL == EmbeddedURL }

// Secret is a string that never prints: logs, errors, JSON and the status
// page see "[redacted]".
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing it too.
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts the secret in JSON, YAML and the like.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// resolveAPIKey reads the key from the environment, else from the file.
func resolveAPIKey(g *GeoSight) error {
	if k := strings.TrimSpace(os.Getenv(EnvAPIKey)); k != "" {
		g.APIKey = Secret(k)
		return nil
	}
	if g.APIKeyFile == "" {
		return nil
	}
	return readAPIKeyFile(g)
}

// readAPIKeyFile reads g.APIKeyFile into g.APIKey; an empty file is an
// error (a key file that lost its content must not read as "no key set").
func readAPIKeyFile(g *GeoSight) error {
	b, err := os.ReadFile(g.APIKeyFile)
	if err != nil {
		return fmt.Errorf("cannot read api key file: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return fmt.Errorf("api key file %s is empty", g.APIKeyFile)
	}
	g.APIKey = Secret(k)
	return nil
}
