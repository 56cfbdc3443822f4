// Package layer is the "bring your own hazard layer" source: flood extents,
// landslide susceptibility, drought maps or evacuation zones published by a
// national agency as a GeoJSON file, an OGC API – Features collection or an
// ArcGIS REST feature layer, mapped to events by a few lines of config.
package layer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// Kind is the registered source type.
const Kind = "layer"

func init() {
	adapter.Register(Kind, "your own hazard layer (GeoJSON file/URL, OGC API – Features, ArcGIS feature layer) mapped to events", defaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env)
		})
}

// Source reads one configured layer.
type Source struct {
	name   string
	cfg    *Config
	client *fetch.Client
	log    *slog.Logger
	now    func() time.Time
	mapper *mapper
	getenv func(string) string
}

var _ adapter.Source = (*Source)(nil)

// New builds a layer source from a validated config.
func New(cfg *Config, env adapter.Env) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layer %s: %w", env.Name, err)
	}
	mp, err := newMapper(env.Name, cfg.Mapping)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", env.Name, err)
	}
	s := &Source{name: env.Name, cfg: cfg, client: fetch.ForSource(env), log: env.Logger,
		now: env.Now, mapper: mp, getenv: os.Getenv}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// fetched is what the service returned across all pages.
type fetched struct {
	features     []rawFeature
	pages        int
	etag         string
	lastModified string
	notModified  bool
	url          string // first page, redacted
}

// Fetch reads the whole layer (every page) and maps it to events. The batch
// is Complete: a feature that disappears ends its event.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	var (
		f   *fetched
		err error
	)
	// Conditional GET only when the previous read was one page: a 304 on
	// page one says nothing about the pages after it.
	cond := cur.Extra["pages"] == "1"
	switch s.cfg.Format {
	case FormatOGC:
		f, err = s.fetchOGC(ctx, cur, cond)
	case FormatArcGIS:
		f, err = s.fetchArcGIS(ctx, cur, cond)
	default:
		f, err = s.fetchGeoJSON(ctx, cur)
	}
	if err != nil {
		return adapter.Batch{}, err
	}
	if f.notModified {
		return adapter.Batch{NotModified: true, Cursor: cur}, nil
	}
	issued := s.now().UTC()
	if t, err := http.ParseTime(f.lastModified); err == nil && f.lastModified != "" {
		issued = t.UTC()
	}
	res := s.mapper.build(f.features, issued)
	if res.Features > 0 && res.Mapped == 0 && len(res.Problems) > 0 {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.name, f.url,
			fmt.Errorf("none of %d features could be mapped (%d problems); first: %w", res.Features, len(res.Problems), res.Problems[0]))
	}
	next := adapter.Cursor{Versions: map[string]string{}, Extra: map[string]string{"pages": strconv.Itoa(f.pages)}}
	if f.pages == 1 {
		next.ETag, next.LastModified = f.etag, f.lastModified
	}
	for _, e := range res.Events {
		next.Versions[e.ID] = e.Version
	}
	s.log.Info("layer read", "url", f.url, "pages", f.pages, "features", res.Features, "mapped", res.Mapped,
		"empty_geometries_skipped", res.Empty, "events", len(res.Events), "problems", len(res.Problems))
	for _, p := range res.Problems {
		s.log.Warn("layer feature problem", "err", p)
	}
	if cur.Extra["pages"] != "" && sameVersions(cur.Versions, next.Versions) {
		return adapter.Batch{NotModified: true, Cursor: next, Problems: res.Problems}, nil
	}
	return adapter.Batch{Events: res.Events, Complete: true, Cursor: next, Problems: res.Problems}, nil
}

func sameVersions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (s *Source) fetchGeoJSON(ctx context.Context, cur adapter.Cursor) (*fetched, error) {
	resp, err := s.client.Get(ctx, fetch.Request{URL: s.cfg.URL, ETag: cur.ETag, LastModified: cur.LastModified,
		Headers: map[string]string{"Accept": "application/geo+json, application/json"}})
	if err != nil {
		return nil, err
	}
	f := &fetched{pages: 1, etag: resp.ETag, lastModified: resp.LastModified, url: resp.URL, notModified: resp.NotModified}
	if resp.NotModified {
		return f, nil
	}
	c, err := decodeCollection(resp.Body)
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
	}
	if err := checkMemberCRS(c.CRS); err != nil {
		return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
	}
	f.features = bytesFeatures(c, false)
	return f, nil
}

// ogcItemsURL is the collection's items endpoint.
func (s *Source) ogcItemsURL() string {
	u := strings.TrimRight(s.cfg.URL, "/")
	if s.cfg.Collection != "" {
		u += "/collections/" + url.PathEscape(s.cfg.Collection) + "/items"
	}
	return u
}

func (s *Source) fetchOGC(ctx context.Context, cur adapter.Cursor, cond bool) (*fetched, error) {
	q := url.Values{"f": {"json"}, "limit": {strconv.Itoa(s.cfg.PageSize)}}
	if b := s.cfg.BBox; len(b) == 4 {
		q.Set("bbox", joinFloats(b))
	}
	if s.cfg.Datetime != "" {
		q.Set("datetime", s.cfg.Datetime)
	}
	req := fetch.Request{URL: s.ogcItemsURL(), Query: q, Headers: map[string]string{"Accept": "application/geo+json, application/json"}}
	if cond {
		req.ETag, req.LastModified = cur.ETag, cur.LastModified
	}
	f := &fetched{}
	seen := map[string]bool{}
	for {
		if f.pages >= s.cfg.MaxPages {
			return nil, adapter.Classify(adapter.Permanent, s.name, f.url,
				fmt.Errorf("more than max_pages=%d pages of %d items: raise max_pages or page_size, or narrow bbox/datetime", s.cfg.MaxPages, s.cfg.PageSize))
		}
		resp, err := s.client.Get(ctx, req)
		if err != nil {
			return nil, err
		}
		f.pages++
		if f.pages == 1 {
			f.url, f.etag, f.lastModified = resp.URL, resp.ETag, resp.LastModified
			if resp.NotModified {
				f.notModified = true
				return f, nil
			}
		}
		seen[resp.URL] = true
		c, err := decodeCollection(resp.Body)
		if err != nil {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
		}
		swap := false
		if h := resp.Header.Get("Content-Crs"); h != "" {
			switch classifyCRS(h) {
			case crsOther:
				return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL,
					fmt.Errorf("Content-Crs header says %s; %s", h, reprojectHint))
			case crsEPSG4326:
				swap = true // OGC EPSG:4326 is latitude first
			}
		}
		if err := checkMemberCRS(c.CRS); err != nil {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
		}
		f.features = append(f.features, bytesFeatures(c, swap)...)
		nextURL := ""
		for _, l := range c.Links {
			if l.Rel == "next" && (l.Type == "" || strings.Contains(l.Type, "json")) {
				nextURL = l.Href
				break
			}
		}
		if nextURL == "" || len(c.Features) == 0 {
			if c.NumberMatched != nil && *c.NumberMatched != len(f.features) && s.cfg.Datetime == "" {
				s.log.Warn("OGC numberMatched differs from items read", "number_matched", *c.NumberMatched, "read", len(f.features))
			}
			return f, nil
		}
		base, err := url.Parse(req.URL)
		if err != nil {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
		}
		ref, err := url.Parse(nextURL)
		if err != nil {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, fmt.Errorf("next link %q: %v", nextURL, err))
		}
		abs := base.ResolveReference(ref).String()
		if seen[abs] {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, fmt.Errorf("next link loops back to %s", abs))
		}
		req = fetch.Request{URL: abs, Headers: req.Headers}
	}
}

func joinFloats(b []float64) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

// arcgisQueryURL is the layer's query endpoint.
func (s *Source) arcgisQueryURL() string {
	u := strings.TrimRight(s.cfg.URL, "/")
	if !strings.HasSuffix(strings.ToLower(u), "/query") {
		u += "/query"
	}
	return u
}

func (s *Source) fetchArcGIS(ctx context.Context, cur adapter.Cursor, cond bool) (*fetched, error) {
	var secrets []string
	token := ""
	if s.cfg.TokenEnv != "" {
		token = strings.TrimSpace(s.getenv(s.cfg.TokenEnv))
		if token == "" {
			return nil, adapter.Classify(adapter.Auth, s.name, s.arcgisQueryURL(),
				fmt.Errorf("token_env: environment variable %s is empty or unset", s.cfg.TokenEnv))
		}
		secrets = []string{token}
	}
	offset := 0
	f := &fetched{}
	for {
		if f.pages >= s.cfg.MaxPages {
			return nil, adapter.Classify(adapter.Permanent, s.name, f.url,
				fmt.Errorf("more than max_pages=%d pages of %d features: raise max_pages or page_size, or narrow where/bbox", s.cfg.MaxPages, s.cfg.PageSize))
		}
		// outSR=4326 because ArcGIS serves the layer's own spatial reference
		// unless asked; f=geojson is WGS84 on current servers, but not all.
		q := url.Values{"where": {s.cfg.Where}, "outFields": {"*"}, "f": {"geojson"}, "outSR": {"4326"},
			"returnGeometry": {"true"}, "resultOffset": {strconv.Itoa(offset)}, "resultRecordCount": {strconv.Itoa(s.cfg.PageSize)}}
		if b := s.cfg.BBox; len(b) == 4 {
			q.Set("geometry", joinFloats(b))
			q.Set("geometryType", "esriGeometryEnvelope")
			q.Set("inSR", "4326")
			q.Set("spatialRel", "esriSpatialRelIntersects")
		}
		if token != "" {
			q.Set("token", token)
		}
		req := fetch.Request{URL: s.arcgisQueryURL(), Query: q, Secrets: secrets}
		if cond && f.pages == 0 {
			req.ETag, req.LastModified = cur.ETag, cur.LastModified
		}
		resp, err := s.client.Get(ctx, req)
		if err != nil {
			return nil, err
		}
		f.pages++
		if f.pages == 1 {
			f.url, f.etag, f.lastModified = resp.URL, resp.ETag, resp.LastModified
			if resp.NotModified {
				f.notModified = true
				return f, nil
			}
		}
		c, err := decodeCollection(resp.Body)
		if err != nil {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
		}
		if c.Error != nil {
			return nil, arcgisErr(s.name, resp.URL, c.Error, secrets)
		}
		if sr := c.SpatialReference; sr != nil && sr.WKID != 4326 && sr.LatestWKID != 4326 {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL,
				fmt.Errorf("spatialReference is wkid %d (latestWkid %d) although outSR=4326 was requested; %s", sr.WKID, sr.LatestWKID, reprojectHint))
		}
		if err := checkMemberCRS(c.CRS); err != nil {
			return nil, adapter.Classify(adapter.Permanent, s.name, resp.URL, err)
		}
		f.features = append(f.features, bytesFeatures(c, false)...)
		if !c.ExceededTransferLimit || len(c.Features) == 0 {
			return f, nil
		}
		// Advance by what came back: the server caps pages at its own
		// maxRecordCount, which may be below page_size.
		offset += len(c.Features)
	}
}

// arcgisErr classifies an ArcGIS error body (sent with HTTP 200).
func arcgisErr(source, shown string, e *arcgisError, secrets []string) error {
	class := adapter.Permanent
	switch {
	case e.Code == 498 || e.Code == 499 || e.Code == 401 || e.Code == 403:
		class = adapter.Auth // 498 invalid token, 499 token required
	case e.Code == 429 || e.Code >= 500:
		class = adapter.Retryable
	}
	msg := fmt.Sprintf("ArcGIS error %d: %s", e.Code, e.Message)
	if d := strings.TrimSpace(string(e.Details)); d != "" && d != "[]" && d != "null" {
		msg += " " + fetch.Snippet(e.Details)
	}
	if class == adapter.Auth {
		msg += " (check the token in the variable named by token_env)"
	}
	return adapter.Classify(class, source, shown, errors.New(fetch.Redact(msg, secrets...)))
}
