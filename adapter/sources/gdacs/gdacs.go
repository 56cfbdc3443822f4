// Package gdacs is the GDACS source: the event list API (all hazard types,
// paged), and per new episode its geometry as banded footprints. See
// README.md.
package gdacs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "gdacs"

// PageSize is the most the SEARCH endpoint returns per page.
const PageSize = 100

// Config is the `gdacs` source section.
type Config struct {
	BaseURL string `mapstructure:"base_url"` // GDACS API root.
	// ListURL replaces the SEARCH request (e.g. a file:// recording);
	// {page} is replaced by the page number when present, else one page.
	ListURL string `mapstructure:"list_url"`
	// GeometryURLTemplate replaces the list's own geometry link; {type},
	// {id} and {episode} are replaced.
	GeometryURLTemplate string   `mapstructure:"geometry_url_template"`
	EventTypes          []string `mapstructure:"event_types"`    // GDACS event types: EQ, TC, FL, DR, VO, WF.
	AlertLevels         []string `mapstructure:"alert_levels"`   // Alert levels kept: Green, Orange, Red.
	DaysBack            int      `mapstructure:"days_back"`      // Search window: events updated in the last N days.
	Country             string   `mapstructure:"country"`        // Only events in this country (ISO3); empty = all.
	MaxPages            int      `mapstructure:"max_pages"`      // Most search pages read per poll.
	FetchGeometry       bool     `mapstructure:"fetch_geometry"` // Fetch each event's footprint polygons (else points).
}

// DefaultConfig is the config with every default filled in.
func DefaultConfig() *Config {
	return &Config{BaseURL: "https://www.gdacs.org/gdacsapi/api",
		EventTypes: []string{"EQ", "TC", "FL", "DR", "VO", "WF"}, AlertLevels: []string{"Green", "Orange", "Red"},
		DaysBack: 7, MaxPages: 10, FetchGeometry: true}
}

func validURL(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "file://")
}

// Validate returns every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.ListURL == "" && !validURL(c.BaseURL) {
		errs = append(errs, indicators.FieldError{Field: "base_url", Message: fmt.Sprintf("must be an http(s):// URL, got %q", c.BaseURL)})
	}
	if c.ListURL != "" && !validURL(c.ListURL) {
		errs = append(errs, indicators.FieldError{Field: "list_url", Message: fmt.Sprintf("must be an http(s):// or file:// URL, got %q", c.ListURL)})
	}
	if t := c.GeometryURLTemplate; t != "" && (!validURL(t) || !strings.Contains(t, "{id}")) {
		errs = append(errs, indicators.FieldError{Field: "geometry_url_template", Message: "must be an http(s):// or file:// URL containing {id} (and usually {type}, {episode})"})
	}
	if len(c.EventTypes) == 0 {
		errs = append(errs, indicators.FieldError{Field: "event_types", Message: "must list at least one of EQ, TC, FL, DR, VO, WF, TS"})
	}
	for i, t := range c.EventTypes {
		up := strings.ToUpper(strings.TrimSpace(t))
		if _, ok := hazardTypes[up]; !ok {
			errs = append(errs, indicators.FieldError{Field: fmt.Sprintf("event_types[%d]", i), Message: fmt.Sprintf("unknown GDACS event type %q (want EQ, TC, FL, DR, VO, WF or TS)", t)})
		}
		c.EventTypes[i] = up
	}
	if len(c.AlertLevels) == 0 {
		errs = append(errs, indicators.FieldError{Field: "alert_levels", Message: "must list at least one of Green, Orange, Red"})
	}
	for i, l := range c.AlertLevels {
		if levelSeverity(l) == indicators.SeverityNone {
			errs = append(errs, indicators.FieldError{Field: fmt.Sprintf("alert_levels[%d]", i), Message: fmt.Sprintf("unknown alert level %q (want Green, Orange or Red)", l)})
			continue
		}
		l = strings.ToLower(strings.TrimSpace(l))
		c.AlertLevels[i] = strings.ToUpper(l[:1]) + l[1:]
	}
	if c.DaysBack < 1 || c.DaysBack > 366 {
		errs = append(errs, indicators.FieldError{Field: "days_back", Message: fmt.Sprintf("must be 1..366, got %d", c.DaysBack)})
	}
	if c.Country != "" && len(c.Country) != 3 {
		errs = append(errs, indicators.FieldError{Field: "country", Message: fmt.Sprintf("must be an ISO3 code like PAK, got %q", c.Country)})
	}
	if c.MaxPages < 1 {
		errs = append(errs, indicators.FieldError{Field: "max_pages", Message: "must be >= 1"})
	}
	return errors.Join(errs...)
}

func init() {
	adapter.Register(Kind, "GDACS multi-hazard alerts (EQ, TC, FL, DR, VO, WF, TS) with episode footprints; TC forecast cones as separate forecast events", DefaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env), nil
		})
}

// Source polls the GDACS event list.
type Source struct {
	cfg    Config
	name   string
	log    *slog.Logger
	now    func() time.Time
	client *fetch.Client
}

// New builds the source.
func New(cfg *Config, env adapter.Env) *Source {
	log, now := env.Logger, env.Now
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Source{cfg: *cfg, name: env.Name, log: log, now: now, client: fetch.ForSource(env)}
}

var _ adapter.Source = (*Source)(nil)

// Cursor.Versions keys: "TC:1001253" → "<episodeid>|current" or
// "<episodeid>|closed"; "TC:1001253:forecast" → episode of the forecast
// event still open. A key whose state is unchanged is not re-emitted.
const (
	stateCurrent  = "current"
	stateClosed   = "closed"
	pendingSuffix = "+pending-geometry"
)

func cursorState(episode, state string) string { return episode + "|" + state }

// Fetch lists the window's events and emits what changed since the cursor:
// new episodes (with their geometry), events that closed, and events that
// left the window (closed). The batch is not Complete: unchanged events stay
// as stored.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	items, problems, truncated, err := s.list(ctx)
	if err != nil {
		return adapter.Batch{}, err
	}
	next := adapter.Cursor{Versions: map[string]string{}}
	var events []indicators.Event
	seen := map[string]bool{}
	for i := range items {
		it := &items[i]
		if !s.wanted(it) {
			continue
		}
		key := it.Key()
		if seen[key] {
			continue // paging overlap: the same event on two pages
		}
		seen[key] = true
		ev := BaseEvent(s.name, it)
		state := stateCurrent
		if ev.Closed {
			state = stateClosed
		}
		want := cursorState(ev.Version, state)
		prev := cur.Versions[key]
		if prev == want {
			next.Versions[key] = prev
			if v, ok := cur.Versions[key+":forecast"]; ok {
				next.Versions[key+":forecast"] = v
			}
			continue
		}
		if ev.Closed {
			// Ended: its areas go back to none, geometry is not needed.
			events = append(events, ev)
			next.Versions[key] = want
			if _, ok := cur.Versions[key+":forecast"]; ok {
				events = append(events, forecastClosed(s.name, it))
			}
			continue
		}
		var geo *Geometry
		if s.cfg.FetchGeometry {
			g, probs, err := s.geometry(ctx, it)
			problems = append(problems, probs...)
			if err != nil {
				problems = append(problems, err)
				ev.Version += pendingSuffix
				want = cursorState(ev.Version, state)
			} else {
				geo = g
			}
		}
		ev.Footprints = observedFootprints(it, geo)
		next.Versions[key] = want
		events = append(events, ev)
		if geo != nil && len(geo.Forecast) > 0 {
			events = append(events, forecastEvent(ev, it, geo))
			next.Versions[key+":forecast"] = ev.Version
		} else if _, ok := cur.Versions[key+":forecast"]; ok && geo != nil {
			events = append(events, forecastClosed(s.name, it))
		} else if v, ok := cur.Versions[key+":forecast"]; ok {
			next.Versions[key+":forecast"] = v
		}
	}
	// Events that left the window have ended, unless the list was cut short
	// by max_pages and we cannot tell.
	if truncated {
		for k, v := range cur.Versions {
			if _, ok := next.Versions[k]; !ok {
				next.Versions[k] = v
			}
		}
	} else {
		var gone []string
		for k := range cur.Versions {
			if _, ok := next.Versions[k]; !ok {
				gone = append(gone, k)
			}
		}
		sort.Strings(gone)
		for _, k := range gone {
			if strings.HasSuffix(cur.Versions[k], "|"+stateClosed) {
				continue // already ended
			}
			if base, ok := strings.CutSuffix(k, ":forecast"); ok && seen[base] {
				continue // handled with its observed event above
			}
			typ := strings.SplitN(k, ":", 2)[0]
			events = append(events, indicators.Event{ID: "gdacs:" + k, Source: s.name, Version: strings.SplitN(cur.Versions[k], "|", 2)[0],
				Type: hazardTypes[typ], Phase: phaseOfKey(k), Closed: true,
				Properties: map[string]any{"ended": "left the GDACS list window"}})
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].ID < events[j].ID })
	if len(events) == 0 && len(problems) == 0 && sameVersions(cur.Versions, next.Versions) {
		return adapter.Batch{NotModified: true, Cursor: next}, nil
	}
	return adapter.Batch{Events: events, Cursor: next, Problems: problems}, nil
}

func phaseOfKey(k string) indicators.Phase {
	if strings.HasSuffix(k, ":forecast") {
		return indicators.Forecast
	}
	return indicators.Observed
}

func sameVersions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (s *Source) wanted(it *Item) bool {
	okType := false
	for _, t := range s.cfg.EventTypes {
		if t == it.EventType {
			okType = true
		}
	}
	okLevel := false
	for _, l := range s.cfg.AlertLevels {
		if strings.EqualFold(l, it.AlertLevel) {
			okLevel = true
		}
	}
	return okType && okLevel && (s.cfg.Country == "" || it.InCountry(s.cfg.Country))
}

// observedFootprints are the episode's observed polygons, or the event's
// point when there is no polygon (EQ centroids, geometry switched off).
func observedFootprints(it *Item, g *Geometry) []indicators.Footprint {
	if g != nil && len(g.Observed) > 0 {
		return g.Observed
	}
	if g != nil && len(g.Forecast) > 0 {
		return nil // a TC known only by its forecast: the forecast event has it
	}
	if it.point != ([2]float64{}) {
		return []indicators.Footprint{{Geometry: it.point, Band: "centroid"}}
	}
	return nil
}

// forecastEvent is the TC's forecast part as its own event.
func forecastEvent(obs indicators.Event, it *Item, g *Geometry) indicators.Event {
	ev := obs
	ev.ID = obs.ID + ":forecast"
	ev.Phase = indicators.Forecast
	ev.Footprints = g.Forecast
	ev.Issued = g.Advisory
	ev.Properties = map[string]any{}
	for k, v := range obs.Properties {
		ev.Properties[k] = v
	}
	ev.Properties["advisory_time"] = g.Advisory.Format(time.RFC3339)
	for _, f := range g.Forecast {
		if f.Band == "cone" {
			continue
		}
		if ev.ValidFrom.IsZero() || f.ValidFrom.Before(ev.ValidFrom) {
			ev.ValidFrom = f.ValidFrom
		}
		if f.ValidTo.After(ev.ValidTo) {
			ev.ValidTo = f.ValidTo
		}
	}
	if ev.ValidFrom.IsZero() {
		for _, f := range g.Forecast {
			ev.ValidFrom, ev.ValidTo = f.ValidFrom, f.ValidTo
		}
	}
	return ev
}

func forecastClosed(source string, it *Item) indicators.Event {
	return indicators.Event{ID: "gdacs:" + it.Key() + ":forecast", Source: source, Version: strconv.FormatInt(it.EpisodeID, 10),
		Type: hazardTypes[it.EventType], Phase: indicators.Forecast, Closed: true}
}

// list fetches every page of the event list. truncated reports that
// max_pages was reached with more pages left.
func (s *Source) list(ctx context.Context) (items []Item, problems []error, truncated bool, err error) {
	for page := 1; page <= s.cfg.MaxPages; page++ {
		u, paged := s.listURL(page)
		resp, err := s.client.Get(ctx, fetch.Request{URL: u, Accept: []int{http.StatusNoContent, http.StatusNotFound}})
		if err != nil {
			return nil, nil, false, err
		}
		if resp.Status == http.StatusNoContent || resp.Status == http.StatusNotFound {
			return items, problems, false, nil // GDACS says "no (more) events" this way
		}
		got, probs, err := ParseEventList(resp.Body)
		if err != nil {
			return nil, nil, false, adapter.Classify(adapter.Permanent, s.name, resp.URL, fmt.Errorf("event list page %d: %w", page, err))
		}
		items = append(items, got...)
		problems = append(problems, probs...)
		if !paged || len(got)+len(probs) < PageSize {
			return items, problems, false, nil
		}
	}
	problems = append(problems, fmt.Errorf("event list: stopped at max_pages=%d with more pages left; events that left the window are not ended this run", s.cfg.MaxPages))
	return items, problems, true, nil
}

func (s *Source) listURL(page int) (string, bool) {
	if s.cfg.ListURL != "" {
		if strings.Contains(s.cfg.ListURL, "{page}") {
			return strings.ReplaceAll(s.cfg.ListURL, "{page}", strconv.Itoa(page)), true
		}
		return s.cfg.ListURL, false
	}
	now := s.now().UTC()
	q := url.Values{}
	q.Set("eventlist", strings.Join(s.cfg.EventTypes, ";"))
	q.Set("alertlevel", strings.Join(s.cfg.AlertLevels, ";"))
	q.Set("fromDate", now.AddDate(0, 0, -s.cfg.DaysBack).Format("2006-01-02"))
	q.Set("toDate", now.AddDate(0, 0, 1).Format("2006-01-02"))
	q.Set("pageSize", strconv.Itoa(PageSize))
	q.Set("pageNumber", strconv.Itoa(page))
	// GDACS reads ';' literally; keep it readable in logs too.
	enc := strings.ReplaceAll(q.Encode(), "%3B", ";")
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/events/geteventlist/SEARCH?" + enc, true
}

func (s *Source) geometryURL(it *Item) string {
	if t := s.cfg.GeometryURLTemplate; t != "" {
		r := strings.NewReplacer("{type}", it.EventType, "{id}", strconv.FormatInt(it.EventID, 10), "{episode}", strconv.FormatInt(it.EpisodeID, 10))
		return r.Replace(t)
	}
	if u := it.GeometryURL(); u != "" {
		return u
	}
	return fmt.Sprintf("%s/polygons/getgeometry?eventtype=%s&eventid=%d&episodeid=%d", strings.TrimRight(s.cfg.BaseURL, "/"), it.EventType, it.EventID, it.EpisodeID)
}

func (s *Source) geometry(ctx context.Context, it *Item) (*Geometry, []error, error) {
	u := s.geometryURL(it)
	resp, err := s.client.Get(ctx, fetch.Request{URL: u, Accept: []int{http.StatusNoContent, http.StatusNotFound}})
	if err != nil {
		return nil, nil, fmt.Errorf("%s episode %d: geometry: %w", it.Key(), it.EpisodeID, err)
	}
	if resp.Status == http.StatusNoContent || resp.Status == http.StatusNotFound || len(fetch.TrimBOM(resp.Body)) == 0 {
		return &Geometry{}, nil, nil // no polygons for this episode: the centroid stands in
	}
	g, probs, err := ParseGeometry(resp.Body)
	var wrapped []error
	for _, p := range probs {
		wrapped = append(wrapped, fmt.Errorf("%s episode %d: %w", it.Key(), it.EpisodeID, p))
	}
	if err != nil {
		return nil, wrapped, adapter.Classify(adapter.Permanent, s.name, resp.URL, fmt.Errorf("%s episode %d: geometry: %w", it.Key(), it.EpisodeID, err))
	}
	return g, wrapped, nil
}
