// Package openmeteo is the `openmeteo` source: Open-Meteo daily forecasts
// (apparent temperature, precipitation, wind gusts by default) at each
// area's representative point, turned into forecast heat / heavy rain /
// wind events where the daily values reach configured thresholds. The
// package also holds the Open-Meteo API layer the glofas source shares.
package openmeteo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "openmeteo"

// EnvAPIKey holds a commercial Open-Meteo API key (wins over api_key_file).
const EnvAPIKey = "HAZARDSYNC_OPENMETEO_API_KEY"

func init() {
	adapter.Register(Kind, "Open-Meteo daily forecasts (heat, heavy rain, wind gusts) at each area's point, against thresholds", defaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env)
		})
}

// Source is one configured openmeteo feed.
type Source struct {
	cfg        Config
	env        adapter.Env
	thresholds map[string]Threshold
	minSev     indicators.Severity
	req        *Requester
	apiKey     string
}

var _ adapter.Source = (*Source)(nil)

// New builds the source from a validated config.
func New(cfg *Config, env adapter.Env) (*Source, error) {
	th, err := cfg.Resolved()
	if err != nil {
		return nil, err
	}
	minSev, _ := indicators.ParseSeverity(cfg.MinSeverity)
	if env.Now == nil {
		env.Now = time.Now
	}
	s := &Source{cfg: *cfg, env: env, thresholds: th, minSev: minSev}
	s.apiKey = strings.TrimSpace(os.Getenv(EnvAPIKey))
	if s.apiKey == "" && cfg.APIKeyFile != "" {
		b, err := os.ReadFile(cfg.APIKeyFile)
		if err != nil {
			return nil, fmt.Errorf("api_key_file: %w", err)
		}
		s.apiKey = strings.TrimSpace(string(b))
	}
	s.req = cfg.settings().Requester(env)
	if s.apiKey != "" {
		s.req.Secrets = []string{s.apiKey}
	}
	return s, nil
}

func (s *Source) query() url.Values {
	q := url.Values{}
	q.Set("daily", strings.Join(s.cfg.Variables, ","))
	q.Set("timezone", s.cfg.Timezone)
	q.Set("forecast_days", strconv.Itoa(s.cfg.ForecastDays))
	if s.apiKey != "" {
		q.Set("apikey", s.apiKey)
	}
	return q
}

// Fetch polls the forecast for every point. The batch is Complete: an area
// whose forecast no longer reaches a threshold is absent, so its event ends.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	var file map[string]orb.Point
	if s.cfg.PointsFile != "" {
		var err error
		if file, err = ReadPointsFile(s.cfg.PointsFile); err != nil {
			return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, "", err)
		}
	}
	pts, problems := selectPoints(s.env.Areas, s.cfg.AdminLevels, file)
	if len(pts) == 0 {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, fetch.Redact(s.cfg.URL, s.req.Secrets...),
			errors.Join(append([]error{errors.New("no points to sample: no areas at the selected admin levels and no points_file")}, problems...)...))
	}
	next := adapter.Cursor{Extra: map[string]string{}}
	locs, notModified, err := s.req.Get(ctx, pts, s.query(), cur, &next)
	if err != nil {
		return adapter.Batch{}, err
	}
	if notModified {
		return adapter.Batch{NotModified: true, Cursor: cur, Problems: problems}, nil
	}
	issued := s.env.Now().UTC().Truncate(s.cfg.ModelRunInterval)
	events, perr := s.Events(pts, locs, issued)
	problems = append(problems, perr...)
	return CompleteBatch(cur, next, events, problems), nil
}

// Severity classifies v against t.
func (t Threshold) Severity(v float64) indicators.Severity {
	switch {
	case v >= t.Red:
		return indicators.SeverityRed
	case v >= t.Orange:
		return indicators.SeverityOrange
	case v >= t.Green:
		return indicators.SeverityGreen
	}
	return indicators.SeverityNone
}

// Band is the label of the threshold a severity stands for ("≥39 °C").
func (t Threshold) Band(s indicators.Severity, unit string) string {
	v := map[indicators.Severity]float64{indicators.SeverityGreen: t.Green, indicators.SeverityOrange: t.Orange, indicators.SeverityRed: t.Red}[s]
	return strings.TrimSpace("≥" + strconv.FormatFloat(v, 'f', -1, 64) + " " + unit)
}

var varTitles = map[string]string{
	"apparent_temperature_max": "Apparent temperature max",
	"precipitation_sum":        "Precipitation",
	"wind_gusts_10m_max":       "Wind gusts",
}

// Events turns locations (one per point, same order) into events: one per
// (area, variable) with at least one day at or above min_severity, one
// point footprint per such day.
func (s *Source) Events(pts []Point, locs []Location, issued time.Time) ([]indicators.Event, []error) {
	var events []indicators.Event
	var problems []error
	for i, loc := range locs {
		if i >= len(pts) {
			break
		}
		p := pts[i]
		geom, err := indicators.NormalizeGeometry(orb.Point{p.Lon, p.Lat})
		if err != nil {
			problems = append(problems, fmt.Errorf("point %s: %w", p.Key, err))
			continue
		}
		for _, v := range s.cfg.Variables {
			th := s.thresholds[v]
			days, err := loc.DailySeries(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("point %s: %w", p.Key, err))
				continue
			}
			unit := loc.Unit(v)
			ev := indicators.Event{
				ID: Kind + ":" + v + ":" + p.Key, Source: s.env.Name, Type: th.Hazard, Phase: indicators.Forecast,
				Issued: issued, Areas: []string{p.Key},
			}
			parts := []string{v, unit, strconv.FormatFloat(p.Lon, 'f', 4, 64), strconv.FormatFloat(p.Lat, 'f', 4, 64)}
			peak := 0.0
			for _, d := range days {
				if d.Value == nil {
					continue // null: no forecast for that day
				}
				sev := th.Severity(*d.Value)
				if sev < s.minSev {
					continue
				}
				val := *d.Value
				ev.Footprints = append(ev.Footprints, indicators.Footprint{
					Geometry: geom, Band: th.Band(sev, unit), Intensity: val, Unit: unit, Severity: sev,
					ValidFrom: d.Start, ValidTo: d.End, Value: &val,
				})
				if ev.ValidFrom.IsZero() {
					ev.ValidFrom = d.Start
				}
				ev.ValidTo = d.End
				if len(ev.Footprints) == 1 || val > peak {
					peak = val
				}
				ev.Severity = max(ev.Severity, sev)
				parts = append(parts, d.Date, strconv.FormatFloat(val, 'f', -1, 64))
			}
			if len(ev.Footprints) == 0 {
				continue
			}
			ev.Version = HashVersion(parts...)
			ev.NativeSeverity = fmt.Sprintf("%s %s %s", v, strconv.FormatFloat(peak, 'f', -1, 64), unit)
			title := varTitles[v]
			if title == "" {
				title = v
			}
			ev.Title = fmt.Sprintf("%s up to %s %s (forecast)", title, strconv.FormatFloat(peak, 'f', -1, 64), unit)
			ev.Properties = map[string]any{
				"variable": v, "timezone": loc.Timezone, "utc_offset_seconds": loc.UTCOffsetSeconds,
				"grid_latitude": loc.Latitude, "grid_longitude": loc.Longitude,
				"issued_note": "Open-Meteo gives no model run time: issued is the fetch time truncated to model_run_interval",
			}
			events = append(events, ev)
		}
	}
	return events, problems
}
