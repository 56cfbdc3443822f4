package openmeteo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// This file is the part of the Open-Meteo API shared by the forecast source
// and the flood (GloFAS) source: the response model, its parser, and
// batched multi-location requests with pacing and conditional GETs.

// Location is one element of an Open-Meteo response (the whole body for a
// single-location request, one array element for several).
type Location struct {
	Latitude             float64                    `json:"latitude"`
	Longitude            float64                    `json:"longitude"`
	UTCOffsetSeconds     int                        `json:"utc_offset_seconds"`
	Timezone             string                     `json:"timezone"`
	TimezoneAbbreviation string                     `json:"timezone_abbreviation"`
	LocationID           int                        `json:"location_id"`
	DailyUnits           map[string]string          `json:"daily_units"`
	Daily                map[string]json.RawMessage `json:"daily"`
}

// Day is one daily value of a series. Value is nil when the API sent null.
type Day struct {
	Date       string
	Start, End time.Time
	Value      *float64
}

// ParseResponse reads an Open-Meteo body: one object or an array of them.
// An API error body ({"error":true,"reason":...}) is an error carrying the
// reason.
func ParseResponse(body []byte) ([]Location, error) {
	b := bytes.TrimSpace(fetch.TrimBOM(body))
	if len(b) == 0 {
		return nil, errors.New("empty body where Open-Meteo JSON was expected")
	}
	var apiErr struct {
		Error  bool   `json:"error"`
		Reason string `json:"reason"`
	}
	switch b[0] {
	case '[':
		var locs []Location
		if err := fetch.DecodeJSON(b, &locs); err != nil {
			return nil, err
		}
		if len(locs) == 0 {
			return nil, errors.New("empty array: no locations in the response")
		}
		return locs, nil
	case '{':
		if err := json.Unmarshal(b, &apiErr); err == nil && apiErr.Error {
			return nil, fmt.Errorf("Open-Meteo error: %s", apiErr.Reason)
		}
		var loc Location
		if err := fetch.DecodeJSON(b, &loc); err != nil {
			return nil, err
		}
		return []Location{loc}, nil
	}
	return nil, fmt.Errorf("not Open-Meteo JSON (want an object or array), body starts %q", fetch.Snippet(b[:min(len(b), 40)]))
}

// Zone is the location's time zone as the response states it: daily
// aggregates are computed over civil days in this zone.
func (l Location) Zone() *time.Location {
	name := l.TimezoneAbbreviation
	if name == "" {
		name = l.Timezone
	}
	if name == "" {
		name = "UTC"
	}
	return time.FixedZone(name, l.UTCOffsetSeconds)
}

// DailySeries returns the named daily variable paired with daily.time. A
// missing variable, a length mismatch or a non-number is an error; null
// values come back as Day.Value == nil.
func (l Location) DailySeries(name string) ([]Day, error) {
	rawTimes, ok := l.Daily["time"]
	if !ok {
		return nil, errors.New("no daily.time in the response")
	}
	var times []string
	if err := json.Unmarshal(rawTimes, &times); err != nil {
		return nil, fmt.Errorf("daily.time: %v", err)
	}
	raw, ok := l.Daily[name]
	if !ok {
		return nil, fmt.Errorf("daily variable %q missing from the response", name)
	}
	var vals []*float64
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, fmt.Errorf("daily.%s: %v", name, err)
	}
	if len(vals) != len(times) {
		return nil, fmt.Errorf("daily.%s has %d values for %d days", name, len(vals), len(times))
	}
	zone := l.Zone()
	out := make([]Day, 0, len(times))
	for i, d := range times {
		start, err := time.ParseInLocation("2006-01-02", d, zone)
		if err != nil {
			return nil, fmt.Errorf("daily.time[%d]: %q is not a date (want YYYY-MM-DD; the request must ask for daily data)", i, d)
		}
		v := vals[i]
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			v = nil
		}
		out = append(out, Day{Date: d, Start: start, End: start.AddDate(0, 0, 1), Value: v})
	}
	return out, nil
}

// Unit is the API's unit string for a daily variable ("°C", "m³/s"), kept
// as sent.
func (l Location) Unit(name string) string { return l.DailyUnits[name] }

// Point is one requested location.
type Point struct {
	Key      string // what the point stands for (an area ucode, a river point id)
	Lon, Lat float64
}

// Requester performs batched multi-location GETs against one Open-Meteo
// endpoint.
type Requester struct {
	Source    string
	Fetch     *fetch.Client
	URL       string
	BatchSize int
	// Limiter paces HTTP requests; each location in a batch costs one token
	// (Open-Meteo counts a multi-location request as one call per location).
	Limiter *rate.Limiter
	// MaxShift is how far (degrees) a returned location may lie from the
	// requested point before the response is taken to be out of order.
	MaxShift float64
	Secrets  []string
}

// IsFileURL reports whether u is a file:// URL (a recorded replay: one file
// holds the response for all points, and no query is added).
func IsFileURL(u string) bool { return strings.HasPrefix(u, "file://") }

// Get fetches daily data for pts (in order) with the query q. Conditional
// GET state lives in cur.Extra/next.Extra keyed per batch URL. When every
// batch answered "not modified", notModified is true and locs is nil.
func (r *Requester) Get(ctx context.Context, pts []Point, q url.Values, cur adapter.Cursor, next *adapter.Cursor) (locs []Location, notModified bool, err error) {
	if len(pts) == 0 {
		return nil, false, nil
	}
	size := r.BatchSize
	if size <= 0 || IsFileURL(r.URL) {
		size = len(pts)
	}
	type batch struct {
		pts []Point
		req fetch.Request
	}
	var batches []batch
	for i := 0; i < len(pts); i += size {
		b := pts[i:min(i+size, len(pts))]
		batches = append(batches, batch{pts: b, req: r.request(b, q)})
	}
	if next.Extra == nil {
		next.Extra = map[string]string{}
	}
	results := make([][]byte, len(batches))
	nm := 0
	for pass := 0; pass < 2; pass++ {
		for i, b := range batches {
			if results[i] != nil {
				continue
			}
			req := b.req
			key := etagKey(req.URL, req.Query)
			if pass == 0 {
				req.ETag = cur.Extra[key]
			}
			if !IsFileURL(req.URL) && r.Limiter != nil {
				if err := r.Limiter.WaitN(ctx, min(len(b.pts), r.Limiter.Burst())); err != nil {
					return nil, false, adapter.Classify(adapter.Retryable, r.Source, fetch.Redact(req.URL, r.Secrets...), fmt.Errorf("waiting for the request pacing: %w", err))
				}
			}
			resp, err := r.Fetch.Get(ctx, req)
			if err != nil {
				return nil, false, err
			}
			if resp.ETag != "" {
				next.Extra[key] = resp.ETag
			}
			if resp.NotModified {
				nm++
				continue
			}
			results[i] = resp.Body
		}
		if nm == len(batches) {
			return nil, true, nil
		}
		if nm == 0 {
			break
		}
		nm = 0 // some batches changed: fetch the unchanged ones unconditionally
	}
	for i, b := range batches {
		got, err := ParseResponse(results[i])
		shown := fetch.Redact(b.req.URL, r.Secrets...)
		if err != nil {
			return nil, false, adapter.Classify(adapter.Permanent, r.Source, shown, err)
		}
		if len(got) != len(b.pts) {
			return nil, false, adapter.Classify(adapter.Permanent, r.Source, shown,
				fmt.Errorf("response has %d locations for %d requested points", len(got), len(b.pts)))
		}
		for j, l := range got {
			p := b.pts[j]
			if r.MaxShift > 0 && (math.Abs(l.Latitude-p.Lat) > r.MaxShift || math.Abs(l.Longitude-p.Lon) > r.MaxShift) {
				return nil, false, adapter.Classify(adapter.Permanent, r.Source, shown,
					fmt.Errorf("location %d is at lat %g lon %g but point %s was requested at lat %g lon %g: the response does not follow the request order (or max_coordinate_shift is too small)",
						j, l.Latitude, l.Longitude, p.Key, p.Lat, p.Lon))
			}
		}
		locs = append(locs, got...)
	}
	return locs, false, nil
}

func (r *Requester) request(pts []Point, q url.Values) fetch.Request {
	lats := make([]string, len(pts))
	lons := make([]string, len(pts))
	for i, p := range pts {
		lats[i] = strconv.FormatFloat(p.Lat, 'f', 4, 64)
		lons[i] = strconv.FormatFloat(p.Lon, 'f', 4, 64)
	}
	req := fetch.Request{URL: r.URL, Secrets: r.Secrets}
	if IsFileURL(r.URL) {
		return req
	}
	lat, lon := strings.Join(lats, ","), strings.Join(lons, ",")
	if strings.Contains(r.URL, "{latitude}") || strings.Contains(r.URL, "{longitude}") {
		// A full URL template: the caller wrote the query; fill in points.
		req.URL = strings.NewReplacer("{latitude}", lat, "{longitude}", lon).Replace(r.URL)
		return req
	}
	qq := url.Values{}
	for k, v := range q {
		qq[k] = v
	}
	qq.Set("latitude", lat)
	qq.Set("longitude", lon)
	req.Query = qq
	return req
}

func etagKey(u string, q url.Values) string {
	h := sha256.Sum256([]byte(u + "?" + q.Encode()))
	return "etag:" + hex.EncodeToString(h[:8])
}

// HashVersion is a short stable hash of parts, for version keys of
// forecasts that carry no upstream version.
func HashVersion(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
