// Package firms is the NASA FIRMS active-fire source: MODIS and VIIRS
// hotspots from the area API (MAP_KEY) or a keyless CSV URL, grouped into
// one event per product and acquisition day.
package firms

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/url"
	"os"
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
const Kind = "firms"

// DefaultAPIURL is the FIRMS area API template.
const DefaultAPIURL = "https://firms.modaps.eosdis.nasa.gov/api/area/csv/{MAP_KEY}/{product}/{bbox}/{days}"

// KnownProducts are the FIRMS area API sources.
var KnownProducts = []string{"VIIRS_SNPP_NRT", "VIIRS_NOAA20_NRT", "VIIRS_NOAA21_NRT", "MODIS_NRT",
	"VIIRS_SNPP_SP", "VIIRS_NOAA20_SP", "MODIS_SP", "LANDSAT_NRT"}

// Config is the firms source's section.
type Config struct {
	// URL is the keyless alternative (a *_Global_24h.csv file or file://);
	// when set the API, MAP_KEY and products are not used.
	URL string `mapstructure:"url"`
	// Product labels events from URL (default: VIIRS or MODIS, from the
	// columns).
	Product string `mapstructure:"product"`
	// APIURL is the area API template: {MAP_KEY}, {product}, {bbox}, {days}.
	APIURL string `mapstructure:"api_url"`
	// MapKeyEnv names the environment variable holding the MAP_KEY.
	MapKeyEnv string   `mapstructure:"map_key_env"`
	Products  []string `mapstructure:"products"` // Area API products fetched (VIIRS_SNPP_NRT, MODIS_NRT, ...).
	// BBox is west,south,east,north; empty = the bbox of the configured
	// areas (or world when there are none).
	BBox []float64 `mapstructure:"bbox"`
	// Days is the API day range (1..10).
	Days int `mapstructure:"days"`
	// MinConfidence drops detections below this class (low, nominal, high).
	MinConfidence string `mapstructure:"min_confidence"`
	// Persistence keeps a day's fires active this long after the last
	// detection of that day, so they expire without a close message.
	Persistence  time.Duration `mapstructure:"persistence"`
	MaxBodyBytes int64         `mapstructure:"max_body_bytes"` // Overrides fetch.max_body_bytes for the CSV (0 = default).
}

// DefaultConfig is the config with its defaults.
func DefaultConfig() *Config {
	return &Config{APIURL: DefaultAPIURL, MapKeyEnv: "FIRMS_MAP_KEY",
		Products: []string{"VIIRS_SNPP_NRT", "VIIRS_NOAA20_NRT"}, Days: 1, MinConfidence: "low",
		Persistence: 24 * time.Hour}
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
			bad("url", "must be an http(s) or file:// URL, got %q", c.URL)
		}
	} else {
		if !strings.Contains(c.APIURL, "{MAP_KEY}") || !strings.Contains(c.APIURL, "{product}") {
			bad("api_url", "must contain {MAP_KEY} and {product}, got %q", c.APIURL)
		}
		if c.MapKeyEnv == "" {
			bad("map_key_env", "is required when url is not set")
		} else if os.Getenv(c.MapKeyEnv) == "" {
			bad("map_key_env", "environment variable %s is not set (get a free MAP_KEY at https://firms.modaps.eosdis.nasa.gov/api/map_key/, or set url for a keyless file)", c.MapKeyEnv)
		}
		if len(c.Products) == 0 {
			bad("products", "list at least one of %s", strings.Join(KnownProducts, ", "))
		}
		for i, p := range c.Products {
			if !knownProduct(p) {
				bad(fmt.Sprintf("products[%d]", i), "unknown product %q (known: %s)", p, strings.Join(KnownProducts, ", "))
			}
		}
	}
	if len(c.BBox) != 0 {
		if len(c.BBox) != 4 {
			bad("bbox", "must be [west, south, east, north], got %d numbers", len(c.BBox))
		} else if w, s, e, n := c.BBox[0], c.BBox[1], c.BBox[2], c.BBox[3]; w < -180 || e > 180 || s < -90 || n > 90 || w >= e || s >= n {
			bad("bbox", "must be west < east within -180..180 and south < north within -90..90, got %v", c.BBox)
		}
	}
	if c.Days < 1 || c.Days > 10 {
		bad("days", "must be 1..10, got %d", c.Days)
	}
	if _, err := minConf(c.MinConfidence); err != nil {
		bad("min_confidence", "%v", err)
	}
	if c.Persistence < 0 || c.Persistence > 30*24*time.Hour {
		bad("persistence", "must be 0..720h, got %s", c.Persistence)
	}
	if c.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must be >= 0")
	}
	return errors.Join(errs...)
}

func knownProduct(p string) bool {
	for _, k := range KnownProducts {
		if strings.EqualFold(k, p) {
			return true
		}
	}
	return false
}

func minConf(s string) (Confidence, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "low":
		return ConfLow, nil
	case "nominal":
		return ConfNominal, nil
	case "high":
		return ConfHigh, nil
	}
	return 0, fmt.Errorf("must be low, nominal or high, got %q", s)
}

func init() {
	adapter.Register(Kind, "NASA FIRMS active-fire hotspots (VIIRS/MODIS CSV), one event per product and day", DefaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env), nil
		})
}

// Source polls FIRMS.
type Source struct {
	cfg    Config
	env    adapter.Env
	client *fetch.Client
	min    Confidence
}

var _ adapter.Source = (*Source)(nil)

// New builds the source.
func New(cfg *Config, env adapter.Env) *Source {
	if env.Now == nil {
		env.Now = time.Now
	}
	m, _ := minConf(cfg.MinConfidence)
	return &Source{cfg: *cfg, env: env, client: fetch.ForSource(env), min: m}
}

type target struct {
	product string // "" = infer from the columns
	url     string
	secret  string
}

func (s *Source) targets() ([]target, error) {
	if s.cfg.URL != "" {
		return []target{{product: s.cfg.Product, url: s.cfg.URL}}, nil
	}
	key := os.Getenv(s.cfg.MapKeyEnv)
	if key == "" {
		return nil, adapter.Classify(adapter.Auth, s.env.Name, s.cfg.APIURL,
			fmt.Errorf("environment variable %s (the FIRMS MAP_KEY) is not set", s.cfg.MapKeyEnv))
	}
	bbox := s.bbox()
	var out []target
	for _, p := range s.cfg.Products {
		p = strings.ToUpper(p)
		u := strings.NewReplacer("{MAP_KEY}", url.PathEscape(key), "{product}", p, "{bbox}", bbox,
			"{days}", strconv.Itoa(s.cfg.Days)).Replace(s.cfg.APIURL)
		out = append(out, target{product: p, url: u, secret: key})
	}
	return out, nil
}

// bbox is the configured box, else the areas' box rounded outwards to
// 0.01°, else world.
func (s *Source) bbox() string {
	b, ok := s.bound()
	if !ok {
		return "world"
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return f(b.Min[0]) + "," + f(b.Min[1]) + "," + f(b.Max[0]) + "," + f(b.Max[1])
}

// bound is the area of interest: the configured box, else the areas' box
// rounded outwards to 0.01°; false means the whole world.
func (s *Source) bound() (orb.Bound, bool) {
	if len(s.cfg.BBox) == 4 {
		return orb.Bound{Min: orb.Point{s.cfg.BBox[0], s.cfg.BBox[1]}, Max: orb.Point{s.cfg.BBox[2], s.cfg.BBox[3]}}, true
	}
	var b orb.Bound
	have := false
	for _, a := range s.env.Areas {
		if a.Geometry == nil {
			continue
		}
		if !have {
			b, have = a.Geometry.Bound(), true
		} else {
			b = b.Union(a.Geometry.Bound())
		}
	}
	if !have {
		return orb.Bound{}, false
	}
	down := func(v float64) float64 { return math.Floor(v*100) / 100 }
	up := func(v float64) float64 { return math.Ceil(v*100) / 100 }
	return orb.Bound{Min: orb.Point{math.Max(-180, down(b.Min[0])), math.Max(-90, down(b.Min[1]))},
		Max: orb.Point{math.Min(180, up(b.Max[0])), math.Min(90, up(b.Max[1]))}}, true
}

// Fetch polls every product. One product failing is a problem, not a
// failure, unless all fail.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	ts, err := s.targets()
	if err != nil {
		return adapter.Batch{}, err
	}
	next := adapter.Cursor{Versions: map[string]string{}, Extra: map[string]string{}}
	for k, v := range cur.Extra {
		next.Extra[k] = v
	}
	now := s.env.Now()
	// Versions outlive their day by the API window plus persistence, so a
	// day sliding out of the window is not seen as new when it reappears.
	keepAfter := now.Add(-time.Duration(s.cfg.Days+2)*24*time.Hour - s.cfg.Persistence)
	for id, v := range cur.Versions {
		if d, ok := dayOf(id); ok && d.Before(keepAfter) {
			continue
		}
		next.Versions[id] = v
	}
	var b adapter.Batch
	var errs []error
	for _, t := range ts {
		evs, problems, err := s.fetchTarget(ctx, t, cur, &next)
		if err != nil {
			errs = append(errs, err)
			b.Problems = append(b.Problems, err)
			continue
		}
		b.Problems = append(b.Problems, problems...)
		b.Events = append(b.Events, evs...)
	}
	if len(errs) == len(ts) {
		return adapter.Batch{}, errors.Join(errs...)
	}
	b.Cursor = next
	if len(b.Events) == 0 && len(b.Problems) == 0 {
		b.NotModified = true
	}
	return b, nil
}

func dayOf(id string) (time.Time, bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", id[i+1:])
	return t, err == nil
}

func (s *Source) fetchTarget(ctx context.Context, t target, cur adapter.Cursor, next *adapter.Cursor) ([]indicators.Event, []error, error) {
	etagKey, lmKey := "etag:"+t.url, "last_modified:"+t.url
	if t.secret != "" {
		etagKey, lmKey = "etag:"+t.product, "last_modified:"+t.product
	}
	req := fetch.Request{URL: t.url, ETag: cur.Extra[etagKey], LastModified: cur.Extra[lmKey], MaxBytes: s.cfg.MaxBodyBytes}
	if t.secret != "" {
		req.Secrets = []string{t.secret, url.PathEscape(t.secret)}
	}
	g := s.newGrouper()
	if t.secret == "" {
		// A keyless file is global (a 7-day VIIRS file holds millions of
		// rows); the area API already cut to the box.
		g.bound, g.bounded = s.bound()
	}
	var f *File
	resp, err := s.client.Stream(ctx, req, func(body io.Reader) error {
		var err error
		f, err = Scan(body, g.add)
		return err
	})
	if err != nil {
		if f == nil && resp != nil && !isClassified(err) {
			// The header was not a FIRMS CSV; the error quotes the body.
			class := adapter.Permanent
			if strings.Contains(strings.ToLower(err.Error()), "invalid map_key") {
				class = adapter.Auth
			}
			return nil, nil, adapter.Classify(class, s.env.Name, resp.URL, err)
		}
		return nil, nil, err
	}
	if resp.NotModified {
		return nil, nil, nil
	}
	var problems []error
	for _, p := range f.Problems {
		problems = append(problems, adapter.Classify(adapter.Partial, s.env.Name, resp.URL, p))
	}
	product := t.product
	if product == "" {
		product = f.Sensor
	}
	evs, watermark := g.events(product)
	next.Extra[etagKey], next.Extra[lmKey] = resp.ETag, resp.LastModified
	wmKey := "watermark:" + product
	if watermark.After(parseWM(cur.Extra[wmKey])) {
		next.Extra[wmKey] = watermark.Format(time.RFC3339)
	}
	var out []indicators.Event
	for _, ev := range evs {
		old, had := cur.Versions[ev.ID]
		if had && old == ev.Version {
			continue
		}
		// The API window slides: the oldest day comes back with fewer rows.
		// A day's set only grows, so a smaller set keeps the stored one.
		if had && countOf(old) > countOf(ev.Version) {
			continue
		}
		next.Versions[ev.ID] = ev.Version
		out = append(out, ev)
	}
	return out, problems, nil
}

// isClassified tells an error fetch already classified (transport, size
// limit) from the parser's own.
func isClassified(err error) bool {
	var c *adapter.Error
	return errors.As(err, &c)
}

func parseWM(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func countOf(version string) int {
	n := -1
	_, _ = fmt.Sscanf(version, "n=%d;", &n)
	return n
}

// group makes one event per acquisition day, deduplicated and filtered
// (tests and fuzzing; Fetch feeds a grouper row by row).
func (s *Source) group(product string, hs []Hotspot) ([]indicators.Event, time.Time) {
	g := s.newGrouper()
	for i := range hs {
		g.add(&hs[i])
	}
	return g.events(product)
}

// grouper collects hotspots per acquisition day as they are read, in a
// compact form: about 60 bytes per kept hotspot plus its dedupe entry.
type grouper struct {
	s       *Source
	bound   orb.Bound
	bounded bool
	days    map[string]*day
	strs    interner
	// watermark is the latest acquisition time kept.
	watermark time.Time
}

type day struct {
	seen  map[spotKey]struct{}
	spots []spot
}

// spotKey is Hotspot.Key without the formatting: 5 decimals of lat/lon
// (FIRMS gives at most 5), time and satellite.
type spotKey struct {
	lat, lon int64
	at       int64
	sat      string
}

type spot struct {
	lat, lon float64
	at       int64 // unix seconds
	frp      float64
	sat      string
	conf     Confidence
	hasFRP   bool
}

func (s *Source) newGrouper() *grouper { return &grouper{s: s, days: map[string]*day{}} }

func (g *grouper) add(h *Hotspot) {
	if h.Confidence != ConfUnknown && h.Confidence < g.s.min {
		return
	}
	if g.s.min > ConfLow && h.Confidence == ConfUnknown {
		return
	}
	if g.bounded && !g.bound.Contains(orb.Point{h.Lon, h.Lat}) {
		return
	}
	d := g.days[h.AcqDate]
	if d == nil {
		d = &day{seen: map[spotKey]struct{}{}}
		g.days[g.strs.get(h.AcqDate)] = d
	}
	sat := g.strs.get(h.Satellite)
	k := spotKey{lat: int64(math.Round(h.Lat * 1e5)), lon: int64(math.Round(h.Lon * 1e5)), at: h.At.Unix(), sat: sat}
	if _, dup := d.seen[k]; dup {
		return
	}
	d.seen[k] = struct{}{}
	sp := spot{lat: h.Lat, lon: h.Lon, at: h.At.Unix(), sat: sat, conf: h.Confidence}
	if h.FRP != nil {
		sp.frp, sp.hasFRP = *h.FRP, true
	}
	d.spots = append(d.spots, sp)
	if h.At.After(g.watermark) {
		g.watermark = h.At
	}
}

// events makes one event per day, oldest first, and the watermark.
func (g *grouper) events(product string) ([]indicators.Event, time.Time) {
	days := make([]string, 0, len(g.days))
	for d := range g.days {
		days = append(days, d)
	}
	sort.Strings(days)
	var out []indicators.Event
	for _, d := range days {
		spots := g.days[d].spots
		g.days[d] = nil // the dedupe set is not needed any more
		out = append(out, g.s.dayEvent(product, d, spots))
	}
	return out, g.watermark
}

func (s *Source) dayEvent(product, day string, hs []spot) indicators.Event {
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].at != hs[j].at {
			return hs[i].at < hs[j].at
		}
		if hs[i].lat != hs[j].lat {
			return hs[i].lat < hs[j].lat
		}
		if hs[i].lon != hs[j].lon {
			return hs[i].lon < hs[j].lon
		}
		return hs[i].sat < hs[j].sat
	})
	h := fnv.New64a()
	var frp float64
	sats := map[string]bool{}
	classes := map[string]int{}
	fps := make([]indicators.Footprint, 0, len(hs))
	var buf []byte
	for _, x := range hs {
		at := time.Unix(x.at, 0).UTC()
		// The version hash reads like Hotspot.Key, so versions stored
		// before streaming stay valid.
		buf = fmt.Appendf(buf[:0], "%.5f,%.5f,%s,%s,%s|", x.lat, x.lon, at.Format("2006-01-02"), at.Format("1504"), x.sat)
		_, _ = h.Write(buf)
		fp := indicators.Footprint{Geometry: orb.Point{x.lon, x.lat}, Band: x.conf.String(), Unit: "MW",
			ValidFrom: at, ValidTo: at.Add(s.cfg.Persistence)}
		if x.hasFRP {
			v := x.frp
			fp.Value = &v
			fp.Intensity = v
			frp += v
		}
		fps = append(fps, fp)
		if x.sat != "" {
			sats[x.sat] = true
		}
		classes[x.conf.String()]++
	}
	first, last := time.Unix(hs[0].at, 0).UTC(), time.Unix(hs[len(hs)-1].at, 0).UTC()
	var satList []string
	for k := range sats {
		satList = append(satList, k)
	}
	sort.Strings(satList)
	return indicators.Event{
		ID:      "firms:" + product + ":" + day,
		Source:  s.env.Name,
		Version: fmt.Sprintf("n=%d;last=%s;h=%016x", len(hs), last.Format("2006-01-02T1504Z"), h.Sum64()),
		Type:    indicators.Wildfire, Phase: indicators.Observed,
		Severity: indicators.SeverityGreen, NativeSeverity: fmt.Sprintf("%d hotspots", len(hs)),
		Title:  fmt.Sprintf("FIRMS %s active fires %s", product, day),
		Issued: last, ValidFrom: first, ValidTo: last.Add(s.cfg.Persistence),
		Footprints: fps,
		Properties: map[string]any{"product": product, "acq_date": day, "hotspots": len(hs),
			"frp_total_mw": math.Round(frp*100) / 100, "satellites": strings.Join(satList, ","),
			"confidence_low": classes["low"], "confidence_nominal": classes["nominal"], "confidence_high": classes["high"]},
	}
}
