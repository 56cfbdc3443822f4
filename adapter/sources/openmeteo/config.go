package openmeteo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// DefaultURL is the public forecast endpoint.
const DefaultURL = "https://api.open-meteo.com/v1/forecast"

// Config is the `openmeteo` source section.
type Config struct {
	// URL is the endpoint (points and the query are added), a full URL
	// template with {latitude} and {longitude} placeholders, or a file://
	// replay holding the array response for all points in request order.
	URL string `mapstructure:"url"`
	// Variables are the daily variables to follow; each needs thresholds
	// (built in for the three defaults).
	Variables []string `mapstructure:"variables"`
	// Points is "centroid" (point-on-surface when the centroid falls outside
	// the polygon) or "population-weighted" (needs points_file).
	Points string `mapstructure:"points"`
	// PointsFile is a CSV ucode,lon,lat[,weight] supplying the points; it
	// wins over computed ones. The daemon will fill it from the population
	// grid (indicators/grid) for population-weighted points.
	PointsFile string `mapstructure:"points_file"`
	// AdminLevels to sample (empty = the deepest level present).
	AdminLevels  []int  `mapstructure:"admin_levels"`
	ForecastDays int    `mapstructure:"forecast_days"` // Days of forecast requested (1..16).
	Timezone     string `mapstructure:"timezone"`      // Timezone of the daily values.
	// BatchSize is the number of locations per request.
	BatchSize int `mapstructure:"batch_size"`
	// CallsPerMinute paces requests: a request for n locations costs n
	// calls (the free tier allows 600/min).
	CallsPerMinute int `mapstructure:"calls_per_minute"`
	// ModelRunInterval: Issued is the fetch time truncated to it, because
	// Open-Meteo does not say which model run produced the forecast.
	ModelRunInterval time.Duration `mapstructure:"model_run_interval"`
	// MinSeverity is the lowest daily severity that makes a day part of
	// the event (green, orange or red).
	MinSeverity string `mapstructure:"min_severity"`
	// Thresholds per variable override the defaults field by field.
	Thresholds map[string]ThresholdConfig `mapstructure:"thresholds"`
	// MaxCoordinateShift (degrees) between a requested point and the grid
	// cell returned, beyond which the response is out of order.
	MaxCoordinateShift float64 `mapstructure:"max_coordinate_shift"`
	// APIKeyFile holds a commercial API key (or set HAZARDSYNC_OPENMETEO_API_KEY).
	APIKeyFile string `mapstructure:"api_key_file"`
}

// ThresholdConfig is one variable's hazard type and severity thresholds
// (value >= threshold).
type ThresholdConfig struct {
	Hazard string   `mapstructure:"hazard"` // Hazard type the variable stands for (heat, heavy_rain, wind, ...).
	Green  *float64 `mapstructure:"green"`  // Value from which a day is green.
	Orange *float64 `mapstructure:"orange"` // Value from which a day is orange.
	Red    *float64 `mapstructure:"red"`    // Value from which a day is red.
}

// Threshold is a resolved ThresholdConfig.
type Threshold struct {
	Hazard             indicators.HazardType
	Green, Orange, Red float64
}

// DefaultThresholds are from hazard-sources.md §2.7 (all [gk]: make them
// per-country in config):
//   - apparent_temperature_max: NWS heat-index bands, Extreme caution
//     32 °C, Danger 39 °C, Extreme danger 52 °C.
//   - precipitation_sum: IMD 24 h classes, heavy 64.5 mm, very heavy
//     115.6 mm, extremely heavy 204.5 mm.
//   - wind_gusts_10m_max: gale 63 km/h, storm 89 km/h, hurricane force
//     118 km/h (Beaufort 8/10/12).
var DefaultThresholds = map[string]Threshold{
	"apparent_temperature_max": {indicators.Heat, 32, 39, 52},
	"precipitation_sum":        {indicators.HeavyRain, 64.5, 115.6, 204.5},
	"wind_gusts_10m_max":       {indicators.Wind, 63, 89, 118},
}

func defaultConfig() *Config {
	return &Config{
		URL:                DefaultURL,
		Variables:          []string{"apparent_temperature_max", "precipitation_sum", "wind_gusts_10m_max"},
		Points:             "centroid",
		ForecastDays:       7,
		Timezone:           "auto",
		BatchSize:          50,
		CallsPerMinute:     500,
		ModelRunInterval:   time.Hour,
		MinSeverity:        "green",
		MaxCoordinateShift: 0.5,
	}
}

// Resolved returns the thresholds of every configured variable.
func (c *Config) Resolved() (map[string]Threshold, error) {
	out := map[string]Threshold{}
	var errs []error
	for _, v := range c.Variables {
		t, known := DefaultThresholds[v]
		tc, given := lookupFold(c.Thresholds, v)
		if !known && !given {
			errs = append(errs, indicators.FieldError{Field: "thresholds." + v, Message: "no built-in thresholds for this variable: give hazard, green, orange and red"})
			continue
		}
		if tc.Hazard != "" {
			h, err := indicators.ParseHazardType(tc.Hazard)
			if err != nil {
				errs = append(errs, indicators.FieldError{Field: "thresholds." + v + ".hazard", Message: err.Error()})
			}
			t.Hazard = h
		}
		if tc.Green != nil {
			t.Green = *tc.Green
		}
		if tc.Orange != nil {
			t.Orange = *tc.Orange
		}
		if tc.Red != nil {
			t.Red = *tc.Red
		}
		if !known && (tc.Green == nil || tc.Orange == nil || tc.Red == nil || tc.Hazard == "") {
			errs = append(errs, indicators.FieldError{Field: "thresholds." + v, Message: "a variable without built-in thresholds needs hazard, green, orange and red"})
			continue
		}
		if !(t.Green <= t.Orange && t.Orange <= t.Red) {
			errs = append(errs, indicators.FieldError{Field: "thresholds." + v, Message: fmt.Sprintf("must rise: green %g <= orange %g <= red %g", t.Green, t.Orange, t.Red)})
		}
		out[v] = t
	}
	for k := range c.Thresholds {
		if !containsFold(c.Variables, k) {
			errs = append(errs, indicators.FieldError{Field: "thresholds." + k, Message: fmt.Sprintf("not one of variables %v", c.Variables)})
		}
	}
	return out, errors.Join(errs...)
}

// ResolvePaths makes a relative points_file relative to the config file
// (config.PathResolver).
func (c *Config) ResolvePaths(baseDir string) {
	c.PointsFile = config.ResolvePath(baseDir, c.PointsFile)
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	add := func(f, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: f, Message: fmt.Sprintf(format, a...)})
	}
	c.settings().ValidateURL(add)
	if len(c.Variables) == 0 {
		add("variables", "give at least one daily variable")
	}
	seen := map[string]bool{}
	for _, v := range c.Variables {
		if seen[v] {
			add("variables", "%q listed twice", v)
		}
		seen[v] = true
	}
	switch c.Points {
	case "centroid":
	case "population-weighted":
		if c.PointsFile == "" {
			add("points_file", "points: population-weighted needs points_file (CSV ucode,lon,lat[,weight]) until the daemon fills it from the population grid")
		}
	default:
		add("points", "must be centroid or population-weighted, got %q", c.Points)
	}
	for _, l := range c.AdminLevels {
		if l < 0 {
			add("admin_levels", "levels are >= 0, got %d", l)
		}
	}
	if c.ForecastDays < 1 || c.ForecastDays > 16 {
		add("forecast_days", "must be 1..16, got %d", c.ForecastDays)
	}
	c.settings().Validate(add)
	if _, err := c.Resolved(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// settings are the keys shared with the other Open-Meteo source.
func (c *Config) settings() Settings {
	return Settings{URL: c.URL, Timezone: c.Timezone, BatchSize: c.BatchSize, CallsPerMinute: c.CallsPerMinute,
		MaxCoordinateShift: c.MaxCoordinateShift, ModelRunInterval: c.ModelRunInterval, MinSeverity: c.MinSeverity}
}

func lookupFold[V any](m map[string]V, k string) (V, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for kk, v := range m {
		if strings.EqualFold(kk, k) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}
