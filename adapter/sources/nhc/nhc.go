// Package nhc is the NOAA National Hurricane Center source: active storms
// from CurrentStorms.json and, per storm, the forecast cone, forecast track
// and wind radii read from NHC's KMZ products with a small in-house reader.
package nhc

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
const Kind = "nhc"

// DefaultURL is NHC's active storm list.
const DefaultURL = "https://www.nhc.noaa.gov/CurrentStorms.json"

// Config is the nhc source's section.
type Config struct {
	URL string `mapstructure:"url"` // CurrentStorms.json (or a file:// recording).
	// Basins keeps storms whose id starts with these basin codes (al, ep,
	// cp); empty = all.
	Basins []string `mapstructure:"basins"`
	// WindRadii adds the forecast 34/50/64 kt radii to the forecast event.
	WindRadii bool `mapstructure:"wind_radii"`
	// Track reads the forecast track points (valid times, winds).
	Track bool `mapstructure:"track"`
	// Observed emits nhc:<id>:observed with the current centre and the
	// initial wind extent.
	Observed bool `mapstructure:"observed"`
	// ConeHours is how long after the advisory the cone applies.
	ConeHours int `mapstructure:"cone_hours"`
	// MaxBodyBytes limits CurrentStorms.json; MaxKMZBytes each KMZ download;
	// MaxKMLBytes the inflated KML; MaxZipEntries the files in a KMZ.
	MaxBodyBytes  int64 `mapstructure:"max_body_bytes"`
	MaxKMZBytes   int64 `mapstructure:"max_kmz_bytes"`
	MaxKMLBytes   int64 `mapstructure:"max_kml_bytes"`
	MaxZipEntries int   `mapstructure:"max_zip_entries"`
}

// DefaultConfig is the config with its defaults.
func DefaultConfig() *Config {
	return &Config{URL: DefaultURL, WindRadii: true, Track: true, Observed: true, ConeHours: 120,
		MaxBodyBytes: 4 << 20, MaxKMZBytes: 16 << 20, MaxKMLBytes: DefaultLimits.MaxKMLBytes, MaxZipEntries: DefaultLimits.MaxEntries}
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		bad("url", "must be an http(s) or file:// URL, got %q", c.URL)
	}
	for i, b := range c.Basins {
		switch strings.ToLower(b) {
		case "al", "ep", "cp":
		default:
			bad(fmt.Sprintf("basins[%d]", i), "must be al, ep or cp, got %q", b)
		}
	}
	if c.ConeHours < 12 || c.ConeHours > 240 {
		bad("cone_hours", "must be 12..240, got %d", c.ConeHours)
	}
	if c.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must be >= 0")
	}
	if c.MaxKMZBytes < 1024 || c.MaxKMZBytes > 1<<30 {
		bad("max_kmz_bytes", "must be 1 KiB..1 GiB, got %d", c.MaxKMZBytes)
	}
	if c.MaxKMLBytes < 1024 || c.MaxKMLBytes > 1<<30 {
		bad("max_kml_bytes", "must be 1 KiB..1 GiB, got %d", c.MaxKMLBytes)
	}
	if c.MaxZipEntries < 1 || c.MaxZipEntries > 1000 {
		bad("max_zip_entries", "must be 1..1000, got %d", c.MaxZipEntries)
	}
	return errors.Join(errs...)
}

func init() {
	adapter.Register(Kind, "NOAA NHC active tropical cyclones: forecast cone, track and 34/50/64 kt wind radii (KMZ)", DefaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env), nil
		})
}

// Source polls NHC.
type Source struct {
	cfg    Config
	env    adapter.Env
	client *fetch.Client
	lim    Limits
}

var _ adapter.Source = (*Source)(nil)

// New builds the source.
func New(cfg *Config, env adapter.Env) *Source {
	if env.Now == nil {
		env.Now = time.Now
	}
	return &Source{cfg: *cfg, env: env, client: fetch.ForSource(env),
		lim: Limits{MaxEntries: cfg.MaxZipEntries, MaxKMLBytes: cfg.MaxKMLBytes}}
}

const observedSuffix = ":observed"

// Fetch polls CurrentStorms.json and, for storms with a new advisory, their
// KMZ products. Unchanged storms are not downloaded again; storms gone from
// the list come back Closed.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	resp, err := s.client.Get(ctx, fetch.Request{URL: s.cfg.URL, ETag: cur.ETag, LastModified: cur.LastModified, MaxBytes: s.cfg.MaxBodyBytes})
	if err != nil {
		return adapter.Batch{}, err
	}
	if resp.NotModified {
		return adapter.Batch{NotModified: true, Cursor: cur}, nil
	}
	cs, err := ParseCurrentStorms(resp.Body)
	if err != nil {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
	}
	b := adapter.Batch{Cursor: adapter.Cursor{ETag: resp.ETag, LastModified: resp.LastModified, Versions: map[string]string{}}}
	active := map[string]bool{}
	for _, st := range cs.ActiveStorms {
		if st.ID == "" || !s.wantBasin(st.ID) {
			continue
		}
		id := "nhc:" + strings.ToLower(st.ID)
		active[id], active[id+observedSuffix] = true, true
		version := st.Advisory()
		if cur.Versions[id] == version && (!s.cfg.Observed || cur.Versions[id+observedSuffix] == version) {
			b.Cursor.Versions[id] = version
			if s.cfg.Observed {
				b.Cursor.Versions[id+observedSuffix] = version
			}
			continue
		}
		evs, problems := s.stormEvents(ctx, resp.URL, st)
		b.Problems = append(b.Problems, problems...)
		if len(evs) == 0 {
			// Retry next poll; the stored events stay as they were.
			for _, k := range []string{id, id + observedSuffix} {
				if v, ok := cur.Versions[k]; ok {
					b.Cursor.Versions[k] = v
				}
			}
			continue
		}
		for _, ev := range evs {
			if len(problems) > 0 {
				// Not the advisory's full set: the version differs from the
				// plain advisory, so the next poll fetches the storm again.
				ev.Version += "+partial"
			}
			b.Events = append(b.Events, ev)
			b.Cursor.Versions[ev.ID] = ev.Version
		}
	}
	var gone []string
	for id := range cur.Versions {
		if !active[id] {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		phase := indicators.Forecast
		if strings.HasSuffix(id, observedSuffix) {
			phase = indicators.Observed
		}
		b.Events = append(b.Events, indicators.Event{ID: id, Source: s.env.Name, Version: cur.Versions[id],
			Type: indicators.TropicalCyclone, Phase: phase, Closed: true,
			Properties: map[string]any{"reason": "no longer in activeStorms"}})
	}
	if len(b.Events) == 0 && len(b.Problems) == 0 {
		b.NotModified = true
	}
	return b, nil
}

func (s *Source) wantBasin(id string) bool {
	if len(s.cfg.Basins) == 0 {
		return true
	}
	for _, b := range s.cfg.Basins {
		if strings.HasPrefix(strings.ToLower(id), strings.ToLower(b)) {
			return true
		}
	}
	return false
}

// resolve makes a product URL absolute against the list's URL (NHC gives
// absolute URLs; recorded feeds may give relative ones).
func resolve(base, ref string) string {
	if ref == "" || strings.Contains(ref, "://") {
		return ref
	}
	bu, err := url.Parse(base)
	if err != nil {
		return ref
	}
	ru, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return bu.ResolveReference(ru).String()
}

func (s *Source) kmz(ctx context.Context, base string, p *Product) ([]Placemark, string, error) {
	if p == nil || p.KmzFile == "" {
		return nil, "", nil
	}
	u := resolve(base, p.KmzFile)
	resp, err := s.client.Get(ctx, fetch.Request{URL: u, MaxBytes: s.cfg.MaxKMZBytes})
	if err != nil {
		return nil, u, err
	}
	pms, err := ReadKMZ(resp.Body, s.lim)
	if err != nil {
		return nil, resp.URL, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
	}
	return pms, resp.URL, nil
}

// ForecastPoint is one forecast track position.
type ForecastPoint struct {
	Tau     int       `json:"tau_h"`
	Valid   time.Time `json:"valid,omitzero"`
	Lon     float64   `json:"lon"`
	Lat     float64   `json:"lat"`
	MaxWind float64   `json:"max_wind_kt,omitempty"`
	Type    string    `json:"type,omitempty"`
}

func (s *Source) stormEvents(ctx context.Context, listURL string, st Storm) ([]indicators.Event, []error) {
	var problems []error
	id := "nhc:" + strings.ToLower(st.ID)
	issued := st.Issued()
	if issued.IsZero() {
		return nil, []error{adapter.Classify(adapter.Partial, s.env.Name, listURL, fmt.Errorf("storm %s: no issuance or lastUpdate time", st.ID))}
	}
	version := st.Advisory()
	intensity, _ := st.Intensity.float()
	title := fmt.Sprintf("%s %s (%s) advisory %s", className(st.Classification), st.Name, strings.ToUpper(st.ID), version)
	props := map[string]any{"storm_id": strings.ToLower(st.ID), "name": st.Name, "classification": st.Classification,
		"advisory": version}
	if intensity > 0 {
		props["intensity_kt"] = intensity
	}
	if p, ok := st.Pressure.float(); ok {
		props["pressure_mb"] = p
	}
	var out []indicators.Event

	// Forecast: cone + wind radii, valid from the advisory to +cone_hours.
	cone, coneURL, err := s.kmz(ctx, listURL, st.TrackCone)
	if err != nil {
		problems = append(problems, err)
	}
	if st.TrackCone == nil || st.TrackCone.KmzFile == "" {
		problems = append(problems, adapter.Classify(adapter.Partial, s.env.Name, listURL, fmt.Errorf("storm %s: no trackCone.kmzFile; no forecast event", st.ID)))
	}
	if err == nil && cone != nil {
		fc := indicators.Event{ID: id, Source: s.env.Name, Version: version, Type: indicators.TropicalCyclone,
			Phase: indicators.Forecast, Title: title, Issued: issued, ValidFrom: issued, Properties: copyProps(props)}
		hours := s.cfg.ConeHours
		for _, pm := range cone {
			if h, err := strconv.Atoi(pm.Field("FCSTPRD", "fcstprd")); err == nil && h > 0 && h <= 240 {
				hours = h
			}
		}
		fc.ValidTo = issued.Add(time.Duration(hours) * time.Hour)
		for _, pm := range cone {
			if !indicators.IsPolygonal(pm.Geometry) {
				continue
			}
			g, err := indicators.NormalizeGeometry(pm.Geometry)
			if err != nil {
				problems = append(problems, adapter.Classify(adapter.Partial, s.env.Name, coneURL, fmt.Errorf("cone placemark %q: %w", pm.Name, err)))
				continue
			}
			fc.Footprints = append(fc.Footprints, indicators.Footprint{Geometry: g, Band: "cone", ValidFrom: fc.ValidFrom, ValidTo: fc.ValidTo})
		}
		if len(fc.Footprints) == 0 {
			problems = append(problems, adapter.Classify(adapter.Permanent, s.env.Name, coneURL, fmt.Errorf("storm %s: cone KMZ has no polygon", st.ID)))
		} else {
			peak := intensity
			if s.cfg.Track {
				pts, turl, err := s.track(ctx, listURL, st, issued)
				if err != nil {
					problems = append(problems, err)
				} else if len(pts) > 0 {
					fc.Properties["forecast_points"] = pts
					fc.Properties["track_url"] = turl
					for _, p := range pts {
						peak = math.Max(peak, p.MaxWind)
						if p.Valid.After(fc.ValidTo) {
							fc.ValidTo = p.Valid
						}
					}
				}
			}
			if s.cfg.WindRadii {
				fps, rurl, errs := s.radii(ctx, listURL, st.ForecastWindRadiiGIS, issued)
				problems = append(problems, errs...)
				fc.Footprints = append(fc.Footprints, fps...)
				if rurl != "" {
					fc.Properties["wind_radii_url"] = rurl
				}
			}
			fc.Severity = windSeverity(peak, st.Classification)
			fc.NativeSeverity = native(st.Classification, intensity, peak)
			fc.Properties["peak_forecast_kt"] = peak
			fc.Properties["cone_url"] = coneURL
			out = append(out, fc)
		}
	}

	// Observed: the current centre and the initial wind extent.
	if s.cfg.Observed {
		ob := indicators.Event{ID: id + observedSuffix, Source: s.env.Name, Version: version, Type: indicators.TropicalCyclone,
			Phase: indicators.Observed, Title: title, Issued: issued, ValidFrom: issued,
			Severity: windSeverity(intensity, st.Classification), NativeSeverity: native(st.Classification, intensity, intensity),
			Properties: copyProps(props)}
		if lon, lat, ok := st.Position(); ok {
			if g, err := indicators.NormalizeGeometry(orb.Point{lon, lat}); err == nil {
				fp := indicators.Footprint{Geometry: g, Band: "centre", ValidFrom: issued, ValidTo: issued}
				if intensity > 0 {
					v := intensity
					fp.Value, fp.Unit = &v, "kt"
				}
				ob.Footprints = append(ob.Footprints, fp)
			}
		}
		fps, rurl, errs := s.radii(ctx, listURL, st.InitialWindExtent, issued)
		problems = append(problems, errs...)
		ob.Footprints = append(ob.Footprints, fps...)
		if rurl != "" {
			ob.Properties["wind_extent_url"] = rurl
		}
		if len(ob.Footprints) > 0 {
			out = append(out, ob)
		}
	}
	return out, problems
}

func copyProps(p map[string]any) map[string]any {
	out := make(map[string]any, len(p)+4)
	for k, v := range p {
		out[k] = v
	}
	return out
}

// track reads forecast points from forecastTrack.kmzFile.
func (s *Source) track(ctx context.Context, listURL string, st Storm, issued time.Time) ([]ForecastPoint, string, error) {
	pms, u, err := s.kmz(ctx, listURL, st.ForecastTrack)
	if err != nil || pms == nil {
		return nil, u, err
	}
	var pts []ForecastPoint
	for _, pm := range pms {
		p, ok := pm.Geometry.(orb.Point)
		if !ok {
			continue
		}
		fp := ForecastPoint{Lon: p[0], Lat: p[1], Tau: -1, Type: pm.Field("DVLBL", "STORMTYPE", "TCDVLP")}
		if t, err := strconv.Atoi(pm.Field("TAU", "FHOUR", "FCSTHR")); err == nil {
			fp.Tau = t
		}
		if w, err := strconv.ParseFloat(pm.Field("MAXWIND", "INTENSITY"), 64); err == nil {
			fp.MaxWind = w
		}
		fp.Valid = validTime(pm.Field("VALIDTIME", "VALIDTIME_UTC"), fp.Tau, issued)
		pts = append(pts, fp)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].Tau < pts[j].Tau })
	return pts, u, nil
}

// radii reads 34/50/64 kt wind radii polygons (forecast or initial). Each
// polygon is one cumulative-band footprint at its valid time.
func (s *Source) radii(ctx context.Context, listURL string, p *Product, issued time.Time) ([]indicators.Footprint, string, []error) {
	pms, u, err := s.kmz(ctx, listURL, p)
	if err != nil {
		return nil, u, []error{err}
	}
	var out []indicators.Footprint
	var problems []error
	for _, pm := range pms {
		if !indicators.IsPolygonal(pm.Geometry) {
			continue
		}
		kt := radiiBand(pm)
		if kt == 0 {
			problems = append(problems, adapter.Classify(adapter.Partial, s.env.Name, u, fmt.Errorf("wind radii placemark %q: no RADII 34/50/64", pm.Name)))
			continue
		}
		g, err := indicators.NormalizeGeometry(pm.Geometry)
		if err != nil {
			problems = append(problems, adapter.Classify(adapter.Partial, s.env.Name, u, fmt.Errorf("wind radii placemark %q: %w", pm.Name, err)))
			continue
		}
		tau := -1
		if t, err := strconv.Atoi(pm.Field("TAU", "FCSTHR", "FHOUR")); err == nil {
			tau = t
		}
		valid := validTime(pm.Field("VALIDTIME", "SYNOPTIME"), tau, issued)
		sev := indicators.SeverityGreen
		switch kt {
		case 50:
			sev = indicators.SeverityOrange
		case 64:
			sev = indicators.SeverityRed
		}
		out = append(out, indicators.Footprint{Geometry: g, Band: fmt.Sprintf("%d kt", kt), Intensity: float64(kt), Unit: "kt",
			Severity: sev, ValidFrom: valid, ValidTo: valid})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ValidFrom.Equal(out[j].ValidFrom) {
			return out[i].ValidFrom.Before(out[j].ValidFrom)
		}
		return out[i].Intensity < out[j].Intensity
	})
	return out, u, problems
}

func radiiBand(pm Placemark) int {
	if v, err := strconv.ParseFloat(pm.Field("RADII", "radii"), 64); err == nil {
		switch int(v) {
		case 34, 50, 64:
			return int(v)
		}
	}
	n := strings.ToLower(pm.Name)
	for _, kt := range []int{64, 50, 34} {
		k := strconv.Itoa(kt)
		if strings.Contains(n, k+" kt") || strings.Contains(n, k+" knot") || strings.Contains(n, k+"kt") {
			return kt
		}
	}
	return 0
}

// validTime reads NHC valid times: RFC 3339, "YYYYMMDDHH", or the
// shapefile/KML "DD/HHMM" (day of month, resolved against the advisory's
// month). Without one, tau hours after the advisory's synoptic time (the
// 6-hourly time before issuance) is used.
func validTime(s string, tau int, issued time.Time) time.Time {
	s = strings.TrimSpace(s)
	if t, err := parseTime(s); err == nil {
		return t
	}
	if t, err := time.Parse("2006010215", s); err == nil {
		return t.UTC()
	}
	var dd, hhmm int
	if n, _ := fmt.Sscanf(s, "%d/%d", &dd, &hhmm); n == 2 && dd >= 1 && dd <= 31 && hhmm >= 0 && hhmm < 2400 {
		t := time.Date(issued.Year(), issued.Month(), dd, hhmm/100, hhmm%100, 0, 0, time.UTC)
		if t.Before(issued.AddDate(0, 0, -15)) { // crossed into next month
			t = time.Date(issued.Year(), issued.Month()+1, dd, hhmm/100, hhmm%100, 0, 0, time.UTC)
		}
		return t
	}
	if tau >= 0 {
		return issued.Truncate(6 * time.Hour).Add(time.Duration(tau) * time.Hour)
	}
	return time.Time{}
}

var classNames = map[string]string{
	"TD": "Tropical Depression", "TS": "Tropical Storm", "HU": "Hurricane", "MH": "Major Hurricane",
	"STD": "Subtropical Depression", "STS": "Subtropical Storm", "PTC": "Potential Tropical Cyclone",
	"PC": "Post-tropical Cyclone", "TY": "Typhoon", "STY": "Super Typhoon", "EX": "Extratropical", "LO": "Low", "DB": "Disturbance",
}

func className(c string) string {
	if n, ok := classNames[strings.ToUpper(c)]; ok {
		return n
	}
	if c == "" {
		return "Storm"
	}
	return c
}

// windSeverity follows Saffir-Simpson on the max of current and forecast
// winds: below hurricane (TD, TS, PTC...) green, cat 1-2 (64-95 kt) orange,
// cat 3+ (>= 96 kt, or classification MH) red.
func windSeverity(kt float64, class string) indicators.Severity {
	switch {
	case kt >= 96 || strings.EqualFold(class, "MH"):
		return indicators.SeverityRed
	case kt >= 64 || strings.EqualFold(class, "HU"):
		return indicators.SeverityOrange
	}
	return indicators.SeverityGreen
}

func native(class string, now, peak float64) string {
	s := fmt.Sprintf("%s %g kt (%s)", strings.ToUpper(class), now, saffir(now))
	if peak > now {
		s += fmt.Sprintf(", forecast peak %g kt (%s)", peak, saffir(peak))
	}
	return s
}

func saffir(kt float64) string {
	switch {
	case kt >= 137:
		return "cat 5"
	case kt >= 113:
		return "cat 4"
	case kt >= 96:
		return "cat 3"
	case kt >= 83:
		return "cat 2"
	case kt >= 64:
		return "cat 1"
	case kt >= 34:
		return "tropical storm"
	}
	return "tropical depression"
}
