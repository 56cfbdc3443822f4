// Package glofas is the `glofas` source: GloFAS river discharge forecasts
// from the Open-Meteo Flood API at configured river points, compared with
// each point's return-period (or percentile) thresholds, as forecast flood
// events for the areas the point represents.
package glofas

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/sources/openmeteo"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "glofas"

func init() {
	adapter.Register(Kind, "GloFAS river discharge forecasts (Open-Meteo Flood API) at river points, against return periods", defaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env)
		})
}

// Source is one configured glofas feed.
type Source struct {
	cfg    Config
	env    adapter.Env
	minSev indicators.Severity
	req    *openmeteo.Requester
}

var _ adapter.Source = (*Source)(nil)

// New builds the source from a validated config.
func New(cfg *Config, env adapter.Env) (*Source, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	minSev, _ := indicators.ParseSeverity(cfg.MinSeverity)
	return &Source{cfg: *cfg, env: env, minSev: minSev, req: cfg.settings().Requester(env)}, nil
}

func (s *Source) points() []openmeteo.Point {
	pts := make([]openmeteo.Point, len(s.cfg.Points))
	for i, p := range s.cfg.Points {
		pts[i] = openmeteo.Point{Key: p.ID, Lon: p.Lon, Lat: p.Lat}
	}
	return pts
}

// Fetch polls discharge at every configured point (in config order). The
// batch is Complete: a point whose forecast falls below its thresholds is
// absent, so its event ends.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	q := url.Values{}
	q.Set("daily", s.cfg.Variable)
	q.Set("forecast_days", strconv.Itoa(s.cfg.ForecastDays))
	q.Set("timezone", s.cfg.Timezone)
	if s.cfg.PastDays > 0 {
		q.Set("past_days", strconv.Itoa(s.cfg.PastDays))
	}
	next := adapter.Cursor{Extra: map[string]string{}}
	pts := s.points()
	locs, notModified, err := s.req.Get(ctx, pts, q, cur, &next)
	if err != nil {
		return adapter.Batch{}, err
	}
	if notModified {
		return adapter.Batch{NotModified: true, Cursor: cur}, nil
	}
	now := s.env.Now()
	events, problems := s.Events(locs, now, now.UTC().Truncate(s.cfg.ModelRunInterval))
	return openmeteo.CompleteBatch(cur, next, events, problems), nil
}

// thresholds are the discharges for green, orange, red and their labels.
type thresholds struct {
	v      [3]float64
	labels [3]string
}

func (t thresholds) severity(q float64) indicators.Severity {
	for i := 2; i >= 0; i-- {
		if q >= t.v[i] {
			return indicators.Severity(i + 1)
		}
	}
	return indicators.SeverityNone
}

// Events turns locations (one per configured point, in order) into flood
// events. Days ending before now are history (past_days): they feed
// percentile thresholds and never become footprints.
func (s *Source) Events(locs []openmeteo.Location, now, issued time.Time) ([]indicators.Event, []error) {
	var events []indicators.Event
	var problems []error
	for i, loc := range locs {
		if i >= len(s.cfg.Points) {
			break
		}
		p := s.cfg.Points[i]
		days, err := loc.DailySeries(s.cfg.Variable)
		if err != nil {
			problems = append(problems, fmt.Errorf("river point %s: %w", p.ID, err))
			continue
		}
		var past, future []openmeteo.Day
		for _, d := range days {
			if !d.End.After(now) {
				past = append(past, d)
			} else {
				future = append(future, d)
			}
		}
		var th thresholds
		if len(p.Percentiles) == 3 {
			var hist []float64
			for _, d := range past {
				if d.Value != nil {
					hist = append(hist, *d.Value)
				}
			}
			if len(hist) < 30 {
				problems = append(problems, fmt.Errorf("river point %s: %d days of history for percentile thresholds, need >= 30 (past_days)", p.ID, len(hist)))
				continue
			}
			sort.Float64s(hist)
			for k, pc := range p.Percentiles {
				th.v[k] = percentile(hist, pc)
				th.labels[k] = "≥P" + strconv.FormatFloat(pc, 'f', -1, 64)
			}
		} else {
			th.v = [3]float64{*p.RP2, *p.RP5, *p.RP20}
			th.labels = [3]string{"≥RP2", "≥RP5", "≥RP20"}
		}
		geom, err := indicators.NormalizeGeometry(orb.Point{p.Lon, p.Lat})
		if err != nil {
			problems = append(problems, fmt.Errorf("river point %s: %w", p.ID, err))
			continue
		}
		unit := loc.Unit(s.cfg.Variable)
		title := p.Name
		if title == "" {
			title = p.ID
		}
		ev := indicators.Event{
			ID: Kind + ":" + p.ID, Source: s.env.Name, Type: indicators.Flood, Phase: indicators.Forecast,
			Issued: issued, Areas: append([]string(nil), p.Areas...),
		}
		parts := []string{p.ID, s.cfg.Variable, unit, fmt.Sprint(th.v)}
		peak := math.Inf(-1)
		for _, d := range future {
			if d.Value == nil {
				continue
			}
			q := *d.Value
			sev := th.severity(q)
			if sev < s.minSev {
				continue
			}
			ev.Footprints = append(ev.Footprints, indicators.Footprint{
				Geometry: geom, Band: th.labels[sev-1], Intensity: q, Unit: unit, Severity: sev,
				ValidFrom: d.Start, ValidTo: d.End, Value: &q,
			})
			if ev.ValidFrom.IsZero() {
				ev.ValidFrom = d.Start
			}
			ev.ValidTo = d.End
			ev.Severity = max(ev.Severity, sev)
			peak = math.Max(peak, q)
			parts = append(parts, d.Date, strconv.FormatFloat(q, 'f', -1, 64))
		}
		if len(ev.Footprints) == 0 {
			continue
		}
		ev.Version = openmeteo.HashVersion(parts...)
		ev.NativeSeverity = fmt.Sprintf("GloFAS %s %s %s (%s)", s.cfg.Variable, strconv.FormatFloat(peak, 'f', -1, 64), unit, th.labels[ev.Severity-1])
		ev.Title = fmt.Sprintf("%s: river discharge up to %s %s (%s, forecast)", title, strconv.FormatFloat(peak, 'f', -1, 64), unit, th.labels[ev.Severity-1])
		ev.Properties = map[string]any{
			"point_id": p.ID, "point_name": p.Name, "variable": s.cfg.Variable,
			"threshold_green": th.v[0], "threshold_orange": th.v[1], "threshold_red": th.v[2],
			"grid_latitude": loc.Latitude, "grid_longitude": loc.Longitude, "timezone": loc.Timezone,
		}
		events = append(events, ev)
	}
	return events, problems
}

// percentile of sorted values (linear interpolation between ranks).
func percentile(sorted []float64, pc float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	r := pc / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(r))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := r - float64(lo)
	return sorted[lo] + f*(sorted[lo+1]-sorted[lo])
}
