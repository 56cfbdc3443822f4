// Package eonet is the NASA EONET v3 source: open natural events (wildfires,
// storms, volcanoes, floods, ...) with their geometry time series.
package eonet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "eonet"

// DefaultURL is the EONET v3 events endpoint.
const DefaultURL = "https://eonet.gsfc.nasa.gov/api/v3/events"

// Config is the eonet source's section.
type Config struct {
	URL string `mapstructure:"url"` // EONET events endpoint (or a file:// recording).
	// Status is open (default: the batch is the complete open set, events
	// that leave it end) or all (closed events come back with Closed).
	Status string `mapstructure:"status"`
	// Days limits to events with geometry in the last N days (0 = no limit).
	Days int `mapstructure:"days"`
	// Categories restricts to these EONET category ids (empty = all).
	Categories []string `mapstructure:"categories"`
	// PointRadiusKm turns a point event of a category into a geodesic circle
	// of that radius, so it can overlap areas (0 = keep the point).
	PointRadiusKm map[string]float64 `mapstructure:"point_radius_km"`
	// MaxBodyBytes overrides the daemon's fetch size limit (0 = default).
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
}

// DefaultConfig is the config with its defaults.
func DefaultConfig() *Config {
	return &Config{URL: DefaultURL, Status: "open", Days: 30,
		PointRadiusKm: map[string]float64{"wildfires": 5, "volcanoes": 10}}
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, indicators.FieldError{Field: "url", Message: "is required"})
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		errs = append(errs, indicators.FieldError{Field: "url", Message: fmt.Sprintf("must be an http(s) or file:// URL, got %q", c.URL)})
	}
	switch strings.ToLower(c.Status) {
	case "open", "all":
	default:
		errs = append(errs, indicators.FieldError{Field: "status", Message: fmt.Sprintf("must be open or all, got %q", c.Status)})
	}
	if c.Days < 0 || c.Days > 3650 {
		errs = append(errs, indicators.FieldError{Field: "days", Message: fmt.Sprintf("must be 0..3650, got %d", c.Days)})
	}
	for _, cat := range c.Categories {
		if _, ok := lookupCategory(cat); !ok {
			errs = append(errs, indicators.FieldError{Field: "categories", Message: fmt.Sprintf("unknown EONET category %q (known: %s)", cat, strings.Join(categoryIDs(), ", "))})
		}
	}
	keys := make([]string, 0, len(c.PointRadiusKm))
	for k := range c.PointRadiusKm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.PointRadiusKm[k]
		if _, ok := lookupCategory(k); !ok {
			errs = append(errs, indicators.FieldError{Field: "point_radius_km." + k, Message: fmt.Sprintf("unknown EONET category (known: %s)", strings.Join(categoryIDs(), ", "))})
		}
		if v < 0 || v > 500 || math.IsNaN(v) {
			errs = append(errs, indicators.FieldError{Field: "point_radius_km." + k, Message: fmt.Sprintf("must be 0..500 km, got %g", v)})
		}
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, indicators.FieldError{Field: "max_body_bytes", Message: "must be >= 0"})
	}
	return errors.Join(errs...)
}

type category struct {
	id   string
	typ  indicators.HazardType
	note string
}

// categories maps EONET v3 category ids to hazard types. severeStorms is a
// tropical cyclone when the title names one (see stormType).
var categories = []category{
	{"drought", indicators.Drought, ""},
	{"dustHaze", indicators.DustStorm, ""},
	{"earthquakes", indicators.Earthquake, ""},
	{"floods", indicators.Flood, ""},
	{"landslides", indicators.Landslide, ""},
	{"manmade", indicators.OtherHazard, ""},
	{"seaLakeIce", indicators.OtherHazard, ""},
	{"severeStorms", indicators.SevereStorm, ""},
	{"snow", indicators.OtherHazard, ""},
	{"tempExtremes", indicators.Heat, "cold extremes are mapped to other by title"},
	{"volcanoes", indicators.Volcano, ""},
	{"waterColor", indicators.OtherHazard, ""},
	{"wildfires", indicators.Wildfire, ""},
}

// lookupCategory is case-insensitive: viper lower-cases map keys.
func lookupCategory(id string) (category, bool) {
	for _, c := range categories {
		if strings.EqualFold(c.id, id) {
			return c, true
		}
	}
	return category{}, false
}

func categoryIDs() []string {
	out := make([]string, len(categories))
	for i, c := range categories {
		out[i] = c.id
	}
	return out
}

func init() {
	adapter.Register(Kind, "NASA EONET v3 open natural events (wildfires, storms, volcanoes, floods, ...)", DefaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env), nil
		})
}

// Source polls EONET.
type Source struct {
	cfg    Config
	env    adapter.Env
	client *fetch.Client
	radius map[string]float64 // lower-cased category id → km
}

var _ adapter.Source = (*Source)(nil)

// New builds the source.
func New(cfg *Config, env adapter.Env) *Source {
	if env.Now == nil {
		env.Now = time.Now
	}
	r := map[string]float64{}
	for k, v := range cfg.PointRadiusKm {
		r[strings.ToLower(k)] = v
	}
	return &Source{cfg: *cfg, env: env, client: fetch.ForSource(env), radius: r}
}

func (s *Source) query() url.Values {
	q := url.Values{}
	q.Set("status", strings.ToLower(s.cfg.Status))
	if s.cfg.Days > 0 {
		q.Set("days", strconv.Itoa(s.cfg.Days))
	}
	if len(s.cfg.Categories) > 0 {
		ids := make([]string, len(s.cfg.Categories))
		for i, c := range s.cfg.Categories {
			cat, _ := lookupCategory(c)
			ids[i] = cat.id
		}
		q.Set("category", strings.Join(ids, ","))
	}
	return q
}

// Fetch polls the events list.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	req := fetch.Request{URL: s.cfg.URL, ETag: cur.ETag, LastModified: cur.LastModified, MaxBytes: s.cfg.MaxBodyBytes}
	if !strings.HasPrefix(s.cfg.URL, "file://") {
		req.Query = s.query()
	}
	resp, err := s.client.Get(ctx, req)
	if err != nil {
		return adapter.Batch{}, err
	}
	if resp.NotModified {
		return adapter.Batch{NotModified: true, Cursor: cur}, nil
	}
	feed, err := Parse(resp.Body)
	if err != nil {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
	}
	open := strings.EqualFold(s.cfg.Status, "open")
	b := adapter.Batch{Complete: open,
		Cursor: adapter.Cursor{ETag: resp.ETag, LastModified: resp.LastModified, Versions: map[string]string{}}}
	seen := map[string]bool{}
	for _, fe := range feed.Events {
		if len(s.cfg.Categories) > 0 && !s.wanted(fe) {
			continue // file:// replays ignore the query: filter here too
		}
		id := "eonet:" + fe.ID
		seen[id] = true
		ev, err := s.toEvent(fe)
		if err != nil {
			b.Problems = append(b.Problems, fmt.Errorf("eonet event %s (%s): %w", fe.ID, fe.Title, err))
			if v, ok := cur.Versions[id]; ok {
				b.Cursor.Versions[id] = v // keep the stored version; retried next poll
			}
			continue
		}
		b.Events = append(b.Events, ev)
		b.Cursor.Versions[ev.ID] = ev.Version
	}
	if open && len(b.Problems) > 0 {
		// A bad event must not look like an ended one: send updates plus
		// explicit ends for events that really left the open set.
		b.Complete = false
		for id, v := range cur.Versions {
			if !seen[id] {
				b.Events = append(b.Events, indicators.Event{ID: id, Source: s.env.Name, Version: v + "|gone",
					Phase: indicators.Observed, Closed: true})
			}
		}
	}
	if sameVersions(cur.Versions, b.Cursor.Versions) && len(b.Problems) == 0 {
		return adapter.Batch{NotModified: true, Cursor: b.Cursor}, nil
	}
	return b, nil
}

func (s *Source) wanted(fe FeedEvent) bool {
	for _, c := range fe.Categories {
		for _, w := range s.cfg.Categories {
			if strings.EqualFold(c.ID, w) {
				return true
			}
		}
	}
	return false
}

func sameVersions(a, b map[string]string) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// toEvent converts one EONET event.
func (s *Source) toEvent(fe FeedEvent) (indicators.Event, error) {
	if fe.ID == "" {
		return indicators.Event{}, errors.New("no id")
	}
	if len(fe.Geometry) == 0 {
		return indicators.Event{}, errors.New("no geometry")
	}
	last := fe.Geometry[len(fe.Geometry)-1]
	lastAt, err := parseTime(last.Date)
	if err != nil {
		return indicators.Event{}, fmt.Errorf("geometry[%d].date: %w", len(fe.Geometry)-1, err)
	}
	firstAt, err := parseTime(fe.Geometry[0].Date)
	if err != nil {
		firstAt = lastAt
	}
	catID := ""
	if len(fe.Categories) > 0 {
		catID = fe.Categories[0].ID
	}
	typ := hazardType(catID, fe.Title)
	g, err := last.orb()
	if err != nil {
		return indicators.Event{}, fmt.Errorf("geometry[%d]: %w", len(fe.Geometry)-1, err)
	}
	fp := indicators.Footprint{Band: catTitle(fe), ValidFrom: lastAt}
	if last.MagnitudeValue != nil && !math.IsNaN(*last.MagnitudeValue) && !math.IsInf(*last.MagnitudeValue, 0) {
		fp.Intensity = *last.MagnitudeValue
		fp.Unit = last.MagnitudeUnit
		v := *last.MagnitudeValue
		fp.Value = &v
	}
	if p, ok := g.(orb.Point); ok {
		if r := s.radius[strings.ToLower(catID)]; r > 0 {
			g = indicators.Circle(p, r, 32)
		}
	}
	g, err = indicators.NormalizeGeometry(g)
	if err != nil {
		return indicators.Event{}, fmt.Errorf("geometry[%d]: %w", len(fe.Geometry)-1, err)
	}
	fp.Geometry = g
	sev, native := severity(typ, last)
	version := fe.ID + "@" + lastAt.UTC().Format(time.RFC3339)
	ev := indicators.Event{
		ID: "eonet:" + fe.ID, Source: s.env.Name, Version: version, Type: typ, Phase: indicators.Observed,
		Severity: sev, NativeSeverity: native, Title: fe.Title, Issued: lastAt, ValidFrom: firstAt,
		Footprints: []indicators.Footprint{fp},
		Properties: map[string]any{"link": fe.Link, "category": catID, "geometry_count": len(fe.Geometry)},
	}
	if fe.Closed != nil && *fe.Closed != "" {
		ev.Closed = true
		ev.Version += "|closed"
		if t, err := parseTime(*fe.Closed); err == nil {
			ev.ValidTo = t
		}
	}
	if fe.Description != nil && *fe.Description != "" {
		ev.Properties["description"] = *fe.Description
	}
	var srcs []string
	for _, so := range fe.Sources {
		srcs = append(srcs, so.ID)
	}
	if len(srcs) > 0 {
		ev.Properties["sources"] = strings.Join(srcs, ",")
	}
	return ev, nil
}

func catTitle(fe FeedEvent) string {
	if len(fe.Categories) > 0 && fe.Categories[0].Title != "" {
		return fe.Categories[0].Title
	}
	return "event"
}

var cycloneWords = []string{"hurricane", "typhoon", "cyclone", "tropical storm", "tropical depression"}

// hazardType maps a category (and, for storms and temperature, the title).
func hazardType(catID, title string) indicators.HazardType {
	c, ok := lookupCategory(catID)
	if !ok {
		return indicators.OtherHazard
	}
	t := strings.ToLower(title)
	switch c.id {
	case "severeStorms":
		for _, w := range cycloneWords {
			if strings.Contains(t, w) {
				return indicators.TropicalCyclone
			}
		}
	case "tempExtremes":
		if strings.Contains(t, "cold") || strings.Contains(t, "freez") {
			return indicators.OtherHazard
		}
	}
	return c.typ
}

// severity: EONET has no alert level. Storm winds (kts) follow
// Saffir-Simpson (< 64 green, 64-95 orange, >= 96 red); every other event is
// green for presence.
func severity(typ indicators.HazardType, g Geometry) (indicators.Severity, string) {
	if g.MagnitudeValue == nil {
		return indicators.SeverityGreen, ""
	}
	native := strconv.FormatFloat(*g.MagnitudeValue, 'f', -1, 64) + " " + g.MagnitudeUnit
	if (typ == indicators.TropicalCyclone || typ == indicators.SevereStorm) && strings.EqualFold(g.MagnitudeUnit, "kts") {
		switch v := *g.MagnitudeValue; {
		case v >= 96:
			return indicators.SeverityRed, native
		case v >= 64:
			return indicators.SeverityOrange, native
		}
	}
	return indicators.SeverityGreen, native
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}
