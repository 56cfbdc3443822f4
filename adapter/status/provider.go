// Package status is hazardsync's own HTTP surface: /healthz, /readyz,
// /metrics, a JSON snapshot, the areas as GeoJSON with current values, and
// the status page a country office sees first (per-source health, delivery,
// warnings, config reload state and a choropleth map of every indicator).
// It also writes the --dry-run preview (map.html, values.geojson,
// values.csv). Everything is self-contained: no CDN, works offline.
package status

import (
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// Provider is what the daemon exposes to the status server. *adapter.Runner
// has every method but Warnings, Reload and Info, which the daemon adds.
type Provider interface {
	SourceHealth() []adapter.SourceHealth
	Delivery() adapter.DeliveryHealth
	LastRun() adapter.RunSummary
	Areas() []indicators.Area
	Indicators() []indicators.Definition
	CurrentValues() []indicators.Value
	Warnings() []adapter.Warning
	Reload() adapter.ReloadState
	Info() Info
}

// Info describes the running daemon for the page header.
type Info struct {
	Version    string    `json:"version"`
	Started    time.Time `json:"started,omitzero"`
	ConfigPath string    `json:"config_path"`
	StateDir   string    `json:"state_dir"`
	// GeoSightURL is the target's base URL only: never the API key.
	GeoSightURL string `json:"geosight_url"`
	DryRun      bool   `json:"dry_run"`
	// Embedded is true when values go to the embedded GeoSight-compatible
	// fake (the demo); EmbeddedURL is where it is browsable.
	Embedded    bool   `json:"embedded"`
	EmbeddedURL string `json:"embedded_url,omitempty"`
	// ProjectURL is the embedded GeoSight's project (the dashboard that
	// shows the indicators), as the project editor loads it.
	ProjectURL string `json:"project_url,omitempty"`
	// GridCoverage is the share (0..1) of the areas' extent the population
	// grid covers; absent without a grid.
	GridCoverage *float64 `json:"grid_coverage,omitempty"`
}

// IndicatorInfo is the presentation side of an indicator definition: what
// the map needs to pick, label and colour it. Params are left out on
// purpose (they are config, and the page has no use for them).
type IndicatorInfo struct {
	Shortcode   string               `json:"shortcode"`
	Name        string               `json:"name"`
	Description string               `json:"description,omitempty"`
	Category    string               `json:"category,omitempty"`
	Type        indicators.ValueType `json:"type"`
	Unit        string               `json:"unit,omitempty"`
	Codes       []string             `json:"codes,omitempty"`
	AdminLevels []int                `json:"admin_levels,omitempty"`
	// Property is the GeoJSON feature property holding the value (the
	// shortcode, unless that collides with a reserved property).
	Property string `json:"property"`
	// Values is how many areas have a value for this indicator now.
	Values int `json:"values"`
	// LowerIsUrgent marks lead times: the map colours short lead times
	// strongest.
	LowerIsUrgent bool `json:"lower_is_urgent,omitempty"`
}

// Snapshot is the whole status, as /api/status serves it.
type Snapshot struct {
	Generated   time.Time              `json:"generated"`
	Info        Info                   `json:"info"`
	Ready       bool                   `json:"ready"`
	ReadyReason string                 `json:"ready_reason,omitempty"`
	LastRun     adapter.RunSummary     `json:"last_run"`
	Sources     []adapter.SourceHealth `json:"sources"`
	Delivery    adapter.DeliveryHealth `json:"delivery"`
	Warnings    []adapter.Warning      `json:"warnings"`
	Reload      adapter.ReloadState    `json:"reload"`
	Indicators  []IndicatorInfo        `json:"indicators"`
	// AreasPerLevel counts areas by admin level ("0", "1", ...).
	AreasPerLevel map[int]int `json:"areas_per_level"`
	Values        int         `json:"values"`
}
