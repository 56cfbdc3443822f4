// Package usgs is the USGS earthquake source: a summary GeoJSON feed, and
// for events with a ShakeMap the MMI contours from the event's detail feed
// as banded footprints. See README.md.
package usgs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "usgs"

// DefaultURL is the M4.5+ past-day summary feed.
const DefaultURL = "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/4.5_day.geojson"

// Config is the `usgs` source section.
type Config struct {
	URL          string  `mapstructure:"url"`           // GeoJSON summary feed (or a file:// recording).
	MinMagnitude float64 `mapstructure:"min_magnitude"` // Smallest magnitude kept.
	// BBox keeps only epicentres inside [west, south, east, north].
	BBox         []float64 `mapstructure:"bbox"`
	FetchDetails bool      `mapstructure:"fetch_details"` // Read ShakeMap/PAGER details for MMI footprints.
	// DetailURLTemplate overrides the feature's properties.detail; {id} is
	// replaced by the event id.
	DetailURLTemplate string `mapstructure:"detail_url_template"`
	// MaxDetailsPerRun bounds detail fetches per poll (0 = no bound).
	MaxDetailsPerRun int `mapstructure:"max_details_per_run"`
}

// DefaultConfig is the config with every default filled in.
func DefaultConfig() *Config {
	return &Config{URL: DefaultURL, MinMagnitude: 4.5, FetchDetails: true, MaxDetailsPerRun: 20}
}

// Validate returns every problem.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, indicators.FieldError{Field: "url", Message: "is required"})
	} else if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") && !strings.HasPrefix(c.URL, "file://") {
		errs = append(errs, indicators.FieldError{Field: "url", Message: fmt.Sprintf("must be an http(s):// or file:// URL, got %q", c.URL)})
	}
	if c.MinMagnitude < -2 || c.MinMagnitude > 10 {
		errs = append(errs, indicators.FieldError{Field: "min_magnitude", Message: fmt.Sprintf("must be between -2 and 10, got %g", c.MinMagnitude)})
	}
	if len(c.BBox) != 0 {
		if len(c.BBox) != 4 {
			errs = append(errs, indicators.FieldError{Field: "bbox", Message: fmt.Sprintf("must be [west, south, east, north], got %d numbers", len(c.BBox))})
		} else {
			w, s, e, n := c.BBox[0], c.BBox[1], c.BBox[2], c.BBox[3]
			if w < -180 || w > 180 || e < -180 || e > 180 || s < -90 || n > 90 || s >= n {
				errs = append(errs, indicators.FieldError{Field: "bbox", Message: fmt.Sprintf("must be [west, south, east, north] in degrees with south < north, got %v", c.BBox)})
			}
		}
	}
	if c.DetailURLTemplate != "" && !strings.Contains(c.DetailURLTemplate, "{id}") {
		errs = append(errs, indicators.FieldError{Field: "detail_url_template", Message: "must contain {id}"})
	}
	if c.MaxDetailsPerRun < 0 {
		errs = append(errs, indicators.FieldError{Field: "max_details_per_run", Message: "must be >= 0 (0 = no bound)"})
	}
	return errors.Join(errs...)
}

// inBBox handles boxes that cross the antimeridian (west > east).
func (c *Config) inBBox(lon, lat float64) bool {
	if len(c.BBox) != 4 {
		return true
	}
	w, s, e, n := c.BBox[0], c.BBox[1], c.BBox[2], c.BBox[3]
	if lat < s || lat > n {
		return false
	}
	if w <= e {
		return lon >= w && lon <= e
	}
	return lon >= w || lon <= e
}

func init() {
	adapter.Register(Kind, "USGS earthquakes (summary GeoJSON feed) with ShakeMap MMI contour footprints and PAGER alerts", DefaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env), nil
		})
}

// Source polls one USGS summary feed.
type Source struct {
	cfg    Config
	name   string
	log    *slog.Logger
	client *fetch.Client
}

// New builds the source.
func New(cfg *Config, env adapter.Env) *Source {
	log := env.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Source{cfg: *cfg, name: env.Name, log: log, client: fetch.ForSource(env)}
}

var _ adapter.Source = (*Source)(nil)

// Cursor.Extra keys: aliases map every network id an event was seen under
// to the id it was first seen under; stored details keep the footprints
// derived from an event's detail feed so unchanged events are re-emitted
// without fetching again.
const (
	aliasPrefix  = "alias:"
	detailPrefix = "detail:"
)

// pendingSuffix marks a version whose details were wanted but not fetched
// (per-run bound or a failed fetch), so the event changes version again
// once its ShakeMap footprints arrive.
const pendingSuffix = "+pending-detail"

type storedDetail struct {
	Updated    int64                  `json:"updated"`
	Footprints []indicators.Footprint `json:"footprints"`
	Props      map[string]any         `json:"props,omitempty"`
}

// Fetch polls the summary feed and returns every current event (a
// Complete batch): events that left the feed's window have ended.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	resp, err := s.client.Get(ctx, fetch.Request{URL: s.cfg.URL, ETag: cur.ETag, LastModified: cur.LastModified})
	if err != nil {
		return adapter.Batch{}, err
	}
	if resp.NotModified {
		return adapter.Batch{NotModified: true, Cursor: cur}, nil
	}
	features, problems, err := ParseSummary(resp.Body)
	if err != nil {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.name, resp.URL, fmt.Errorf("summary feed: %w", err))
	}
	next := adapter.Cursor{ETag: resp.ETag, LastModified: resp.LastModified, Versions: map[string]string{}, Extra: map[string]string{}}
	budget := s.cfg.MaxDetailsPerRun
	if budget == 0 {
		budget = -1
	}
	var events []indicators.Event
	seen := map[string]bool{}
	for i := range features {
		f := &features[i]
		p := f.Properties
		if p.Type != "" && p.Type != "earthquake" {
			continue // quarry blasts, explosions, ice quakes are not hazards
		}
		if p.Mag == nil && s.cfg.MinMagnitude > -2 || p.Mag != nil && *p.Mag < s.cfg.MinMagnitude {
			continue
		}
		if pt := f.Point(); !s.cfg.inBBox(pt[0], pt[1]) {
			continue
		}
		canonical := canonicalID(cur.Extra, f)
		if seen[canonical] {
			problems = append(problems, fmt.Errorf("feature %s: duplicate of event usgs:%s in the same feed; skipped", f.ID, canonical))
			continue
		}
		seen[canonical] = true
		ev := BaseEvent(s.name, canonical, f)
		next.Extra[aliasPrefix+canonical] = canonical
		for _, a := range f.Aliases() {
			next.Extra[aliasPrefix+a] = canonical
		}
		stored := loadDetail(cur.Extra, canonical)
		wantDetail := s.cfg.FetchDetails && (f.HasType("shakemap") || f.HasType("losspager")) && s.detailURL(f) != ""
		switch {
		case stored != nil && stored.Updated == *p.Updated:
			applyDetail(&ev, stored)
			keepDetail(next.Extra, canonical, stored)
		case wantDetail && budget != 0:
			if budget > 0 {
				budget--
			}
			d, probs, err := s.fetchDetail(ctx, f)
			problems = append(problems, probs...)
			if err != nil {
				problems = append(problems, err)
				s.fallback(&ev, f, stored, next.Extra, canonical)
				break
			}
			d.Updated = *p.Updated
			applyDetail(&ev, d)
			keepDetail(next.Extra, canonical, d)
		case wantDetail:
			s.fallback(&ev, f, stored, next.Extra, canonical)
		default:
			if fp, ok := RadiusFootprint(f); ok {
				ev.Footprints = []indicators.Footprint{fp}
				ev.Properties["footprint_method"] = "magnitude-radius"
			}
		}
		next.Versions[ev.ID] = ev.Version
		events = append(events, ev)
	}
	sort.Slice(events, func(i, j int) bool { return events[i].ID < events[j].ID })
	return adapter.Batch{Events: events, Complete: true, Cursor: next, Problems: problems}, nil
}

// fallback is used when a detail was wanted but not had: the previous
// footprints when there are some, else the magnitude radius; the version is
// marked pending either way.
func (s *Source) fallback(ev *indicators.Event, f *Feature, stored *storedDetail, extra map[string]string, canonical string) {
	ev.Version += pendingSuffix
	if stored != nil {
		applyDetail(ev, stored)
		ev.Properties["footprint_of_version"] = strconv.FormatInt(stored.Updated, 10)
		keepDetail(extra, canonical, stored)
		return
	}
	if fp, ok := RadiusFootprint(f); ok {
		ev.Footprints = []indicators.Footprint{fp}
		ev.Properties["footprint_method"] = "magnitude-radius"
	}
}

func (s *Source) detailURL(f *Feature) string {
	if s.cfg.DetailURLTemplate != "" {
		return strings.ReplaceAll(s.cfg.DetailURLTemplate, "{id}", f.ID)
	}
	return f.Properties.Detail
}

// fetchDetail reads the detail feed, then the ShakeMap contours and PAGER
// exposures it lists. Only a failed detail feed is an error; a missing or
// broken contour file falls back to the magnitude radius with a problem.
func (s *Source) fetchDetail(ctx context.Context, f *Feature) (*storedDetail, []error, error) {
	u := s.detailURL(f)
	resp, err := s.client.Get(ctx, fetch.Request{URL: u})
	if err != nil {
		return nil, nil, fmt.Errorf("event %s: detail: %w", f.ID, err)
	}
	d, err := ParseDetail(resp.Body)
	if err != nil {
		return nil, nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, fmt.Errorf("event %s: detail feed: %w", f.ID, err))
	}
	out := &storedDetail{Props: map[string]any{}}
	var problems []error
	if cu := d.ContourURL(); cu != "" {
		fps, probs, err := s.contours(ctx, cu)
		for _, p := range probs {
			problems = append(problems, fmt.Errorf("event %s: ShakeMap contours: %w", f.ID, p))
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("event %s: ShakeMap contours: %w", f.ID, err))
		} else {
			out.Footprints = fps
			out.Props["footprint_method"] = "shakemap"
			if v := d.ShakeMapVersion(); v != "" {
				out.Props["shakemap_version"] = v
			}
		}
	}
	if out.Footprints == nil {
		if fp, ok := RadiusFootprint(f); ok {
			out.Footprints = []indicators.Footprint{fp}
			out.Props["footprint_method"] = "magnitude-radius"
		}
	}
	if eu := d.ExposureURL(); eu != "" {
		r, err := s.client.Get(ctx, fetch.Request{URL: eu})
		if err == nil {
			var props map[string]any
			props, err = ParseExposure(r.Body)
			if err != nil {
				err = adapter.Classify(adapter.Permanent, s.name, r.URL, err)
			}
			for k, v := range props {
				out.Props[k] = v
			}
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("event %s: PAGER exposures: %w", f.ID, err))
		}
	}
	return out, problems, nil
}

func (s *Source) contours(ctx context.Context, u string) ([]indicators.Footprint, []error, error) {
	r, err := s.client.Get(ctx, fetch.Request{URL: u})
	if err != nil {
		return nil, nil, err
	}
	fps, probs, err := ParseContours(r.Body)
	if err != nil {
		return nil, probs, adapter.Classify(adapter.Permanent, s.name, r.URL, err)
	}
	return fps, probs, nil
}

// canonicalID is the id the event was first seen under: any of its aliases
// already mapped in the cursor wins, else its current preferred id.
func canonicalID(extra map[string]string, f *Feature) string {
	for _, a := range f.Aliases() {
		if c, ok := extra[aliasPrefix+a]; ok {
			return c
		}
	}
	return f.ID
}

func loadDetail(extra map[string]string, canonical string) *storedDetail {
	raw, ok := extra[detailPrefix+canonical]
	if !ok {
		return nil
	}
	var d storedDetail
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil // a damaged entry only costs a re-fetch
	}
	return &d
}

func keepDetail(extra map[string]string, canonical string, d *storedDetail) {
	b, err := json.Marshal(d)
	if err != nil {
		return
	}
	extra[detailPrefix+canonical] = string(b)
}

func applyDetail(ev *indicators.Event, d *storedDetail) {
	ev.Footprints = d.Footprints
	for k, v := range d.Props {
		ev.Properties[k] = v
	}
}
