package glofas

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter/sources/openmeteo"
	"github.com/hazardsync/hazardsync/indicators"
)

// DefaultURL is the public Open-Meteo Flood API (GloFAS v4) endpoint.
const DefaultURL = "https://flood-api.open-meteo.com/v1/flood"

// Config is the `glofas` source section.
type Config struct {
	// URL is the endpoint, a template with {latitude}/{longitude}, or a
	// file:// replay holding the array response for all points in order.
	URL    string       `mapstructure:"url"`
	Points []RiverPoint `mapstructure:"points"` // River cells followed, each with its thresholds and areas.
	// Variable is the daily discharge series compared with thresholds:
	// river_discharge (default), river_discharge_max, _mean, _median.
	Variable     string `mapstructure:"variable"`
	ForecastDays int    `mapstructure:"forecast_days"` // Days of discharge forecast requested.
	// PastDays of discharge history requested; points with percentile
	// thresholds compute them over these days.
	PastDays int    `mapstructure:"past_days"`
	Timezone string `mapstructure:"timezone"` // Timezone of the daily series (GMT by default).
	// BatchSize, CallsPerMinute, MaxCoordinateShift: as in openmeteo.
	BatchSize          int     `mapstructure:"batch_size"`
	CallsPerMinute     int     `mapstructure:"calls_per_minute"`
	MaxCoordinateShift float64 `mapstructure:"max_coordinate_shift"`
	// ModelRunInterval: Issued is the fetch time truncated to it (GloFAS
	// runs daily; the API gives no run time).
	ModelRunInterval time.Duration `mapstructure:"model_run_interval"`
	MinSeverity      string        `mapstructure:"min_severity"` // Lowest daily severity that makes a day part of the event.
}

// RiverPoint is one configured river cell and what it stands for.
type RiverPoint struct {
	ID   string  `mapstructure:"id"`   // Stable id of the point (part of the event id).
	Name string  `mapstructure:"name"` // Name shown with the event.
	Lon  float64 `mapstructure:"lon"`  // Longitude of the river cell.
	Lat  float64 `mapstructure:"lat"`  // Latitude of the river cell.
	// Areas are the ucodes the point represents (they count as covered).
	Areas []string `mapstructure:"areas"`
	// Return-period discharges (m³/s): green >= rp2, orange >= rp5, red >= rp20.
	RP2  *float64 `mapstructure:"rp2"`
	RP5  *float64 `mapstructure:"rp5"`  // 5-year return-period discharge (m³/s): orange.
	RP20 *float64 `mapstructure:"rp20"` // 20-year return-period discharge (m³/s): red.
	// Percentiles (green, orange, red) of the past_days history, used
	// instead of return periods when given.
	Percentiles []float64 `mapstructure:"percentiles"`
}

func defaultConfig() *Config {
	return &Config{
		URL: DefaultURL, Variable: "river_discharge", ForecastDays: 30, Timezone: "GMT",
		BatchSize: 50, CallsPerMinute: 500, MaxCoordinateShift: 0.5, ModelRunInterval: 24 * time.Hour,
		MinSeverity: "green",
	}
}

// settings are the keys shared with the other Open-Meteo source.
func (c *Config) settings() openmeteo.Settings {
	return openmeteo.Settings{URL: c.URL, Timezone: c.Timezone, BatchSize: c.BatchSize, CallsPerMinute: c.CallsPerMinute,
		MaxCoordinateShift: c.MaxCoordinateShift, ModelRunInterval: c.ModelRunInterval, MinSeverity: c.MinSeverity}
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	add := func(f, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: f, Message: fmt.Sprintf(format, a...)})
	}
	c.settings().ValidateURL(add)
	if !strings.HasPrefix(c.Variable, "river_discharge") {
		add("variable", "must be a river_discharge series (river_discharge, river_discharge_max, ...), got %q", c.Variable)
	}
	if c.ForecastDays < 1 || c.ForecastDays > 210 {
		add("forecast_days", "must be 1..210 (always sent: the API default is 92), got %d", c.ForecastDays)
	}
	if c.PastDays < 0 || c.PastDays > 366 {
		add("past_days", "must be 0..366, got %d", c.PastDays)
	}
	c.settings().Validate(add)
	if len(c.Points) == 0 {
		add("points", "give at least one river point (id, lon, lat, areas, rp2/rp5/rp20)")
	}
	ids := map[string]bool{}
	for i, p := range c.Points {
		f := fmt.Sprintf("points[%d]", i)
		if p.ID == "" {
			add(f+".id", "is required")
		} else if ids[p.ID] {
			add(f+".id", "%q used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Lon < -180 || p.Lon > 180 || p.Lat < -90 || p.Lat > 90 {
			add(f, "lon %g lat %g are not WGS84 degrees", p.Lon, p.Lat)
		}
		if len(p.Percentiles) > 0 {
			if len(p.Percentiles) != 3 || !(p.Percentiles[0] <= p.Percentiles[1] && p.Percentiles[1] <= p.Percentiles[2]) ||
				p.Percentiles[0] <= 0 || p.Percentiles[2] > 100 {
				add(f+".percentiles", "want three rising percentiles in (0,100] for green, orange, red, got %v", p.Percentiles)
			}
			if c.PastDays < 30 {
				add(f+".percentiles", "percentile thresholds need past_days >= 30 of history, got %d", c.PastDays)
			}
			if p.RP2 != nil || p.RP5 != nil || p.RP20 != nil {
				add(f, "give return periods (rp2, rp5, rp20) or percentiles, not both")
			}
			continue
		}
		if p.RP2 == nil || p.RP5 == nil || p.RP20 == nil {
			add(f, "needs rp2, rp5 and rp20 (m³/s) or percentiles")
		} else if !(*p.RP2 <= *p.RP5 && *p.RP5 <= *p.RP20) || *p.RP2 <= 0 {
			add(f, "return-period discharges must be positive and rise: rp2 %g <= rp5 %g <= rp20 %g", *p.RP2, *p.RP5, *p.RP20)
		}
	}
	return errors.Join(errs...)
}
