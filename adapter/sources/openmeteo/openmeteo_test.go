package openmeteo

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 11, 27, 7, 42, 0, 0, time.UTC)

func square(code string, level int, lon, lat float64) indicators.Area {
	return indicators.Area{Code: code, Level: level, Geometry: orb.Polygon{{{lon, lat}, {lon + 1, lat}, {lon + 1, lat + 1}, {lon, lat + 1}, {lon, lat}}}}
}

func threeAreas() []indicators.Area {
	return []indicators.Area{
		square("C1", 2, 62, 10), square("A1", 2, 60, 10), square("B1", 2, 61, 10),
		square("R1", 1, 60, 10), // shallower level: not sampled by default
	}
}

func newSource(t *testing.T, url string, areas []indicators.Area, mod func(*Config)) *Source {
	t.Helper()
	cfg := defaultConfig()
	cfg.URL = url
	if mod != nil {
		mod(cfg)
	}
	require.NoError(t, cfg.Validate())
	s, err := New(cfg, adapter.Env{Name: "om-test", Areas: areas, Now: func() time.Time { return fixedNow },
		Fetch: config.Fetch{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20}})
	require.NoError(t, err)
	return s
}

func serveFile(t *testing.T, path string, hits *atomic.Int32, queries chan<- string) *httptest.Server {
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		if queries != nil {
			select {
			case queries <- r.URL.RawQuery:
			default:
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGoldenForecast(t *testing.T) {
	t.Parallel()
	queries := make(chan string, 4)
	srv := serveFile(t, testutil.Fixture(t, "openmeteo", "forecast_3points.json"), nil, queries)
	s := newSource(t, srv.URL+"/v1/forecast", threeAreas(), nil)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.True(t, b.Complete)
	assert.Empty(t, b.Problems)
	q := <-queries
	assert.Contains(t, q, "latitude=10.5000%2C10.5000%2C10.5000")
	assert.Contains(t, q, "longitude=60.5000%2C61.5000%2C62.5000")
	assert.Contains(t, q, "timezone=auto")
	assert.Contains(t, q, "forecast_days=7")
	assert.Contains(t, q, "daily=apparent_temperature_max%2Cprecipitation_sum%2Cwind_gusts_10m_max")
	testutil.Golden(t, testutil.Fixture(t, "openmeteo", "expected_events.json"), b.Events, *update)

	byID := map[string]indicators.Event{}
	for _, e := range b.Events {
		byID[e.ID] = e
	}
	heat := byID["openmeteo:apparent_temperature_max:A1"]
	require.Len(t, heat.Footprints, 2, "31.2 is below 32 and the null day is skipped")
	assert.Equal(t, indicators.SeverityOrange, heat.Severity)
	assert.Equal(t, "°C", heat.Footprints[0].Unit)
	assert.Equal(t, time.Date(2026, 11, 28, 0, 0, 0, 0, time.FixedZone("", 4*3600)).Unix(), heat.ValidFrom.Unix())
	assert.Equal(t, fixedNow.Truncate(time.Hour), heat.Issued)
	rain := byID["openmeteo:precipitation_sum:B1"]
	assert.Equal(t, indicators.SeverityRed, rain.Severity)
	require.Len(t, rain.Footprints, 2, "64.4 mm is below IMD heavy (64.5)")
	assert.Equal(t, indicators.SeverityOrange, rain.Footprints[0].Severity)
	assert.Equal(t, indicators.Wind, byID["openmeteo:wind_gusts_10m_max:B1"].Type)
	_, c1 := byID["openmeteo:apparent_temperature_max:C1"]
	assert.False(t, c1, "all-null series gives no event")
	assert.Len(t, b.Events, 3)
}

func TestUnchangedForecastIsNotModifiedAndDropEndsEvents(t *testing.T) {
	t.Parallel()
	var body atomic.Value
	orig, err := os.ReadFile(testutil.Fixture(t, "openmeteo", "forecast_3points.json"))
	require.NoError(t, err)
	body.Store(orig)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body.Load().([]byte)) }))
	defer srv.Close()
	s := newSource(t, srv.URL, threeAreas(), nil)
	b1, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.NotEmpty(t, b1.Events)
	b2, err := s.Fetch(context.Background(), b1.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified, "same values: no recomputation")
	// The next forecast drops below every threshold: a Complete, empty batch.
	calm := strings.NewReplacer("41.5", "30.0", "38.9", "30.0", "120.0", "10.0", "210.3", "10.0", "95.2", "20.0", "64.0", "20.0").Replace(string(orig))
	body.Store([]byte(calm))
	b3, err := s.Fetch(context.Background(), b2.Cursor)
	require.NoError(t, err)
	assert.False(t, b3.NotModified)
	assert.True(t, b3.Complete)
	assert.Empty(t, b3.Events)
}

// fakeAPI answers like Open-Meteo: one object for one location, an array
// for several, echoing the requested coordinates.
func fakeAPI(t *testing.T, requests *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		lats := strings.Split(r.URL.Query().Get("latitude"), ",")
		lons := strings.Split(r.URL.Query().Get("longitude"), ",")
		var locs []string
		for i := range lats {
			locs = append(locs, fmt.Sprintf(`{"latitude":%s,"longitude":%s,"utc_offset_seconds":0,"timezone":"GMT","daily_units":{"precipitation_sum":"mm"},"daily":{"time":["2026-11-27"],"precipitation_sum":[100]}}`, lats[i], lons[i]))
		}
		if len(locs) == 1 {
			fmt.Fprint(w, locs[0])
			return
		}
		fmt.Fprint(w, "["+strings.Join(locs, ",")+"]")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBatching(t *testing.T) {
	t.Parallel()
	var areas []indicators.Area
	for i := 0; i < 5; i++ {
		areas = append(areas, square(fmt.Sprintf("D%d", i), 2, 60+float64(i)*0.5, 10))
	}
	var n atomic.Int32
	srv := fakeAPI(t, &n)
	s := newSource(t, srv.URL, areas, func(c *Config) {
		c.BatchSize = 2
		c.Variables = []string{"precipitation_sum"}
		c.CallsPerMinute = 6000
	})
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), n.Load(), "5 points in batches of 2: 3 requests, the last one a single object")
	require.Len(t, b.Events, 5)
	assert.Equal(t, "openmeteo:precipitation_sum:D4", b.Events[4].ID)
	assert.Equal(t, indicators.HeavyRain, b.Events[4].Type)
}

func TestPacing(t *testing.T) {
	t.Parallel()
	var areas []indicators.Area
	for i := 0; i < 4; i++ {
		areas = append(areas, square(fmt.Sprintf("D%d", i), 2, 60+float64(i)*0.5, 10))
	}
	var n atomic.Int32
	srv := fakeAPI(t, &n)
	// 120 calls/min = 2/s, 2 points per request: the second request waits ~1s.
	s := newSource(t, srv.URL, areas, func(c *Config) { c.BatchSize = 2; c.CallsPerMinute = 120; c.Variables = []string{"precipitation_sum"} })
	start := time.Now()
	_, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 800*time.Millisecond, "the limiter paced the second batch")
}

func TestOrderMismatchIsAnError(t *testing.T) {
	t.Parallel()
	srv := serveFile(t, testutil.Fixture(t, "openmeteo", "forecast_3points.json"), nil, nil)
	areas := threeAreas()
	areas[0] = square("C1", 2, 70, 20) // C1 now far from the third response element
	s := newSource(t, srv.URL, areas, nil)
	_, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not follow the request order")
	assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
}

func TestFileReplayAndConditional(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	orig, err := os.ReadFile(testutil.Fixture(t, "openmeteo", "forecast_3points.json"))
	require.NoError(t, err)
	p := filepath.Join(dir, "forecast.json")
	require.NoError(t, os.WriteFile(p, orig, 0o644))
	s := newSource(t, "file://"+p, threeAreas(), nil)
	b1, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Len(t, b1.Events, 3)
	b2, err := s.Fetch(context.Background(), b1.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
}

func TestPointsFileWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pf := filepath.Join(dir, "points.csv")
	require.NoError(t, os.WriteFile(pf, []byte("ucode,lon,lat,weight\nA1,60.5,10.5,1\nB1,61.5,10.5,5\nB1,61.9,10.9,2\nC1,62.5,10.5,\n"), 0o644))
	pts, err := ReadPointsFile(pf)
	require.NoError(t, err)
	assert.Equal(t, orb.Point{61.5, 10.5}, pts["B1"], "highest weight wins")
	_, err = parsePoints(strings.NewReader("ucode,lon,lat\nA1,60,10\n"), "x")
	assert.NoError(t, err, "first row with a non-number is a header")
	_, err = parsePoints(strings.NewReader("A1,60,10\nB1,600,10\n"), "x")
	assert.ErrorContains(t, err, "line 2")

	srv := serveFile(t, testutil.Fixture(t, "openmeteo", "forecast_3points.json"), nil, nil)
	s := newSource(t, srv.URL, nil, func(c *Config) { c.PointsFile = pf; c.Points = "population-weighted" })
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err, "no areas: the points file alone drives the requests")
	assert.Len(t, b.Events, 3)
}

func TestRepresentativePoint(t *testing.T) {
	t.Parallel()
	// A "C" shape: its centroid lies in the notch, outside the polygon.
	c := orb.Polygon{{{0, 0}, {3, 0}, {3, 1}, {1, 1}, {1, 2}, {3, 2}, {3, 3}, {0, 3}, {0, 0}}}
	cen, _ := planar.CentroidArea(c)
	assert.False(t, contains(c, cen), "test shape's centroid must be outside")
	p, err := RepresentativePoint(c)
	require.NoError(t, err)
	assert.True(t, contains(c, p), "point %v must be inside", p)
	sq := orb.Polygon{{{0, 0}, {2, 0}, {2, 2}, {0, 2}, {0, 0}}}
	p, err = RepresentativePoint(sq)
	require.NoError(t, err)
	assert.InDelta(t, 1, p[0], 1e-9)
	_, err = RepresentativePoint(nil)
	assert.Error(t, err)
	mp := orb.MultiPolygon{sq, {{{10, 10}, {11, 10}, {11, 11}, {10, 11}, {10, 10}}}}
	p, err = RepresentativePoint(mp)
	require.NoError(t, err)
	assert.True(t, contains(mp, p))
}

func TestAdminLevels(t *testing.T) {
	t.Parallel()
	pts, _ := selectPoints(threeAreas(), nil, nil)
	assert.Len(t, pts, 3, "deepest level only")
	pts, _ = selectPoints(threeAreas(), []int{1, 2}, nil)
	assert.Len(t, pts, 4)
	assert.Equal(t, "A1", pts[0].Key, "sorted by ucode")
}

func TestValidate(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"bad url", func(c *Config) { c.URL = "ftp://x" }, []string{"url"}},
		{"no timezone", func(c *Config) { c.Timezone = "" }, []string{"timezone"}},
		{"bad timezone", func(c *Config) { c.Timezone = "Mars/Base" }, []string{"unknown time zone"}},
		{"population without file", func(c *Config) { c.Points = "population-weighted" }, []string{"points_file"}},
		{"bad points", func(c *Config) { c.Points = "random" }, []string{"points"}},
		{"days", func(c *Config) { c.ForecastDays = 17 }, []string{"forecast_days"}},
		{"batch", func(c *Config) { c.BatchSize = 0 }, []string{"batch_size"}},
		{"unknown variable", func(c *Config) { c.Variables = []string{"cape_max"} }, []string{"thresholds.cape_max"}},
		{"custom variable", func(c *Config) {
			c.Variables = []string{"cape_max"}
			c.Thresholds = map[string]ThresholdConfig{"cape_max": {Hazard: "severe_storm", Green: f(1000), Orange: f(2000), Red: f(3000)}}
		}, nil},
		{"falling thresholds", func(c *Config) {
			c.Thresholds = map[string]ThresholdConfig{"precipitation_sum": {Orange: f(50)}}
		}, []string{"must rise"}},
		{"threshold for unlisted variable", func(c *Config) {
			c.Thresholds = map[string]ThresholdConfig{"snowfall_sum": {Green: f(1)}}
		}, []string{"not one of variables"}},
		{"min severity", func(c *Config) { c.MinSeverity = "none" }, []string{"min_severity"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			tc.mod(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, err string
		n               int
	}{
		{"object", `{"latitude":1,"longitude":2,"daily":{"time":["2026-01-01"],"x":[1]}}`, "", 1},
		{"array", `[{"latitude":1},{"latitude":2,"location_id":1}]`, "", 2},
		{"bom", "\xef\xbb\xbf{\"latitude\":1}", "", 1},
		{"api error", `{"error":true,"reason":"Cannot initialize WeatherVariable from invalid String value foo"}`, "Open-Meteo error: Cannot initialize", 0},
		{"empty", ``, "empty body", 0},
		{"empty array", `[]`, "empty array", 0},
		{"truncated", `[{"latitude":1,"daily":{"time":["2026`, "truncated", 0},
		{"malformed", `{"latitude":1,,}`, "line 1, column", 0},
		{"html", `<html>502</html>`, "not Open-Meteo JSON", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			locs, err := ParseResponse([]byte(tc.body))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, locs, tc.n)
		})
	}
	l := Location{Daily: map[string]json.RawMessage{"time": json.RawMessage(`["2026-01-01","2026-01-02"]`), "x": json.RawMessage(`[1]`), "s": json.RawMessage(`["a","b"]`)}}
	_, err := l.DailySeries("x")
	assert.ErrorContains(t, err, "1 values for 2 days")
	_, err = l.DailySeries("s")
	assert.ErrorContains(t, err, "daily.s")
	_, err = l.DailySeries("missing")
	assert.ErrorContains(t, err, "missing")
}

func TestRealSamples(t *testing.T) {
	t.Parallel()
	for _, p := range testutil.SharedSamples(t, "open-meteo", "forecast_*.json") {
		t.Run(filepath.Base(p), func(t *testing.T) {
			body, err := os.ReadFile(p)
			require.NoError(t, err)
			locs, err := ParseResponse(body)
			require.NoError(t, err)
			require.NotEmpty(t, locs)
			if _, daily := locs[0].Daily["precipitation_sum"]; !daily {
				_, err := locs[0].DailySeries("precipitation_sum")
				assert.Error(t, err, "hourly-only response")
				return
			}
			for _, l := range locs {
				days, err := l.DailySeries("precipitation_sum")
				require.NoError(t, err)
				assert.NotEmpty(t, days)
				assert.Equal(t, "mm", l.Unit("precipitation_sum"))
				assert.Equal(t, 5*3600, l.UTCOffsetSeconds)
				assert.Equal(t, 19*time.Hour, days[0].Start.UTC().Sub(days[0].Start.UTC().Truncate(24*time.Hour)), "local midnight GMT+5 is 19:00 UTC")
			}
			assert.Equal(t, 1, locs[1].LocationID)
		})
	}
}

func TestFetchErrors(t *testing.T) {
	t.Parallel()
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		w.Write([]byte("[]"))
	}
	big := strings.Repeat(" ", 2<<20) + "[]"
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
		class   adapter.Class
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`[{"latitude":1,,]`)) }, []string{"malformed JSON at line 1"}, adapter.Permanent},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`[{"latitude":10.5,"daily":{"time":["20`))
		}, []string{"truncated"}, adapter.Permanent},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, []string{"empty body"}, adapter.Permanent},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) }, []string{"response too large"}, adapter.Permanent},
		{"slow", slow, []string{"deadline exceeded"}, adapter.Retryable},
		{"rate limited", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":true,"reason":"Minutely API request limit exceeded"}`))
		}, []string{"HTTP 429", "limit exceeded"}, adapter.Retryable},
		{"bad request", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":true,"reason":"Invalid timezone"}`))
		}, []string{"HTTP 400", "Invalid timezone"}, adapter.Permanent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			cfg := defaultConfig()
			cfg.URL = srv.URL + "/v1/forecast"
			timeout := 5 * time.Second // resty retries a 429 twice, with waits
			if tc.name == "slow" {
				timeout = 500 * time.Millisecond
			}
			s, err := New(cfg, adapter.Env{Name: "om-test", Areas: threeAreas(), Now: func() time.Time { return fixedNow },
				Fetch: config.Fetch{Timeout: timeout, MaxBodyBytes: 1 << 20}})
			require.NoError(t, err)
			_, err = s.Fetch(context.Background(), adapter.Cursor{})
			testutil.AssertFetchError(t, err, "om-test", srv.URL+"/v1/forecast", tc.want...)
			assert.Equal(t, tc.class, adapter.ClassOf(err), err.Error())
		})
	}
}

func TestAPIKeyIsRedacted(t *testing.T) {
	t.Setenv(EnvAPIKey, "sekret-key-123")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "sekret-key-123", r.URL.Query().Get("apikey"))
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, threeAreas(), nil)
	_, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sekret-key-123")
	assert.Contains(t, err.Error(), "REDACTED")
}

func FuzzParseResponse(f *testing.F) {
	for _, p := range []string{"forecast_3points.json"} {
		if b, err := os.ReadFile(testutil.Fixture(f, "openmeteo", p)); err == nil {
			f.Add(b)
		}
	}
	if b, err := os.ReadFile(testutil.Fixture(f, "glofas", "flood_2points.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"latitude":1,"daily":{"time":["2026-01-01"],"x":[null]}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		locs, err := ParseResponse(b)
		if err != nil {
			return
		}
		for _, l := range locs {
			for k := range l.Daily {
				_, _ = l.DailySeries(k)
			}
		}
	})
}
