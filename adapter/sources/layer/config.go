package layer

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/hazardsync/hazardsync/indicators"
)

// Formats the layer source reads.
const (
	FormatGeoJSON = "geojson" // a GeoJSON file or URL (file:// too)
	FormatOGC     = "ogc"     // OGC API – Features collection items
	FormatArcGIS  = "arcgis"  // ArcGIS REST feature/map service layer
)

// Config is one configured layer. Each layer is its own source instance, so
// each has its own schedule, cursor and health.
type Config struct {
	Format string `mapstructure:"format"` // Geojson, ogc (OGC API Features) or arcgis (FeatureServer).
	// URL is the GeoJSON document, the OGC API root (with collection) or the
	// collection's items URL, or the ArcGIS layer URL (…/FeatureServer/0).
	URL string `mapstructure:"url"`
	// Collection is the OGC API collection id; when set, URL is the API root.
	Collection string `mapstructure:"collection"`
	// BBox filters OGC items (minLon,minLat,maxLon,maxLat), and ArcGIS
	// features through an envelope geometry filter.
	BBox []float64 `mapstructure:"bbox"`
	// Datetime is the OGC datetime filter (an instant or an interval).
	Datetime string `mapstructure:"datetime"`
	// Where is the ArcGIS where clause.
	Where string `mapstructure:"where"`
	// PageSize is the OGC limit and the ArcGIS resultRecordCount.
	PageSize int `mapstructure:"page_size"`
	// MaxPages stops a runaway paging loop; reaching it is an error because
	// the set would be incomplete.
	MaxPages int `mapstructure:"max_pages"`
	// TokenEnv names the environment variable holding an ArcGIS token.
	TokenEnv string `mapstructure:"token_env"`

	Mapping `mapstructure:",squash"`
}

// Mapping says how feature properties become the event model.
type Mapping struct {
	// HazardType is fixed for the layer, or HazardTypeProperty names the
	// property carrying it, translated through HazardTypeMap (values are
	// hazard types; keys compared case-insensitively).
	HazardType         string            `mapstructure:"hazard_type"`
	HazardTypeProperty string            `mapstructure:"hazard_type_property"`
	HazardTypeMap      map[string]string `mapstructure:"hazard_type_map"` // Property values to hazard types.
	Phase              string            `mapstructure:"phase"`           // Observed or forecast, for every feature.
	Severity           SeverityMapping   `mapstructure:"severity"`        // How features get a severity.
	Intensity          IntensityMapping  `mapstructure:"intensity"`       // How footprints get an intensity band.
	// EventIDProperty groups features into events; empty = one event per
	// layer. VersionProperty is the version key; empty = content hash.
	EventIDProperty string `mapstructure:"event_id_property"`
	VersionProperty string `mapstructure:"version_property"`
	TitleProperty   string `mapstructure:"title_property"` // Property used as the event title.
	// FeatureIDProperty names features in problems when they have no
	// GeoJSON id (default: id, then OBJECTID/FID-like properties).
	FeatureIDProperty string      `mapstructure:"feature_id_property"`
	Issued            TimeMapping `mapstructure:"issued"`     // When the event was issued.
	ValidFrom         TimeMapping `mapstructure:"valid_from"` // When the hazard starts.
	ValidTo           TimeMapping `mapstructure:"valid_to"`   // When the hazard ends.
}

// SeverityMapping maps a property's values to none/green/orange/red.
type SeverityMapping struct {
	// Value is a fixed severity for every feature (used when Property is
	// empty).
	Value    string            `mapstructure:"value"`
	Property string            `mapstructure:"property"` // Property holding the severity value.
	Map      map[string]string `mapstructure:"map"`      // Property values to none/green/orange/red.
	// Default applies to values absent from Map; without it they are
	// reported as problems.
	Default string `mapstructure:"default"`
}

// IntensityMapping gives each footprint its band.
type IntensityMapping struct {
	// Property holds a number (or Map translates its values to numbers).
	Property string             `mapstructure:"property"`
	Map      map[string]float64 `mapstructure:"map"`
	Unit     string             `mapstructure:"unit"` // Unit of the intensity (m, mm, kt, ...).
	// BandProperty is the band label (default: the severity property's
	// value, else the intensity).
	BandProperty string `mapstructure:"band_property"`
}

// TimeMapping reads a time from a property.
type TimeMapping struct {
	Property string `mapstructure:"property"` // Property holding the time.
	// Format: auto (RFC 3339, date, or epoch numbers: ms above 1e11, else
	// seconds), rfc3339, date, unix, unix_ms, or a Go layout (2006-01-02…).
	Format string `mapstructure:"format"`
}

// Defaults.
const (
	DefaultPageSize = 1000
	DefaultMaxPages = 500
)

func defaultConfig() *Config {
	return &Config{Format: FormatGeoJSON, PageSize: DefaultPageSize, MaxPages: DefaultMaxPages, Where: "1=1",
		Mapping: Mapping{Phase: string(indicators.Observed)}}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate returns every problem with the layer's config.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	c.Format = strings.ToLower(strings.TrimSpace(c.Format))
	switch c.Format {
	case FormatGeoJSON, FormatOGC, FormatArcGIS:
	default:
		add("format", "must be geojson, ogc or arcgis, got %q", c.Format)
	}
	if c.URL == "" {
		add("url", "is required")
	} else if u, err := url.Parse(c.URL); err != nil {
		add("url", "is not a URL: %v", err)
	} else {
		switch u.Scheme {
		case "http", "https":
		case "file":
			if c.Format != FormatGeoJSON && c.Format != "" {
				add("url", "file:// URLs are for format geojson; %s is a web service", c.Format)
			}
		default:
			add("url", "must be http, https or file, got %q", c.URL)
		}
		if u.RawQuery != "" && c.Format == FormatArcGIS {
			add("url", "give the layer URL without a query (…/FeatureServer/0); use where, bbox and page_size")
		}
	}
	if c.Collection != "" && c.Format != FormatOGC {
		add("collection", "is only for format ogc")
	}
	if c.Datetime != "" && c.Format != FormatOGC {
		add("datetime", "is only for format ogc")
	}
	if c.TokenEnv != "" {
		if c.Format != FormatArcGIS {
			add("token_env", "is only for format arcgis")
		}
		if !envNameRE.MatchString(c.TokenEnv) {
			add("token_env", "must be an environment variable name, got %q", c.TokenEnv)
		}
	}
	if c.Format == FormatArcGIS && strings.TrimSpace(c.Where) == "" {
		add("where", "must not be empty (use 1=1 for every feature)")
	}
	if len(c.BBox) > 0 {
		if c.Format == FormatGeoJSON {
			add("bbox", "is only for formats ogc and arcgis")
		} else if len(c.BBox) != 4 {
			add("bbox", "must be [minLon, minLat, maxLon, maxLat], got %d numbers", len(c.BBox))
		} else if b := c.BBox; b[1] < -90 || b[3] > 90 || b[1] > b[3] || b[0] < -180 || b[2] > 180 ||
			math.IsNaN(b[0]+b[1]+b[2]+b[3]) {
			add("bbox", "must be WGS84 [minLon, minLat, maxLon, maxLat], got %v", b)
		}
	}
	if c.PageSize < 1 || c.PageSize > 100000 {
		add("page_size", "must be 1..100000, got %d", c.PageSize)
	}
	if c.MaxPages < 1 {
		add("max_pages", "must be at least 1, got %d", c.MaxPages)
	}
	errs = append(errs, c.Mapping.validate()...)
	return errors.Join(errs...)
}

func (m *Mapping) validate() []error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	switch {
	case m.HazardType != "" && m.HazardTypeProperty != "":
		add("hazard_type", "give hazard_type or hazard_type_property, not both")
	case m.HazardType != "":
		if _, err := indicators.ParseHazardType(m.HazardType); err != nil {
			add("hazard_type", "%v (known: %v)", err, indicators.KnownHazardTypes)
		}
	case m.HazardTypeProperty != "":
	default:
		add("hazard_type", "is required (or hazard_type_property), e.g. flood")
	}
	if len(m.HazardTypeMap) > 0 && m.HazardTypeProperty == "" {
		add("hazard_type_map", "needs hazard_type_property")
	}
	for k, v := range m.HazardTypeMap {
		if _, err := indicators.ParseHazardType(v); err != nil {
			add("hazard_type_map."+k, "%v", err)
		}
	}
	if _, err := indicators.ParsePhase(m.Phase); err != nil {
		add("phase", "%v", err)
	}
	s := m.Severity
	if s.Value != "" {
		if s.Property != "" {
			add("severity.value", "give severity.value or severity.property, not both")
		}
		if _, err := indicators.ParseSeverity(s.Value); err != nil {
			add("severity.value", "%v", err)
		}
	}
	if s.Property == "" && (len(s.Map) > 0 || s.Default != "") {
		add("severity.property", "is required with severity.map or severity.default")
	}
	if s.Property != "" && len(s.Map) == 0 {
		add("severity.map", "is required with severity.property, e.g. {High: red, Medium: orange, Low: green}")
	}
	for k, v := range s.Map {
		if _, err := indicators.ParseSeverity(v); err != nil {
			add("severity.map."+k, "%v", err)
		}
	}
	if s.Default != "" {
		if _, err := indicators.ParseSeverity(s.Default); err != nil {
			add("severity.default", "%v", err)
		}
	}
	in := m.Intensity
	if len(in.Map) > 0 && in.Property == "" {
		add("intensity.property", "is required with intensity.map")
	}
	if in.Property != "" && in.Unit == "" {
		add("intensity.unit", "is required with intensity.property (intensities of different scales are never compared)")
	}
	for name, t := range map[string]TimeMapping{"issued": m.Issued, "valid_from": m.ValidFrom, "valid_to": m.ValidTo} {
		if t.Format != "" && t.Property == "" {
			add(name+".property", "is required with %s.format", name)
		}
		if err := checkTimeFormat(t.Format); err != nil {
			add(name+".format", "%v", err)
		}
	}
	return errs
}
