package glofas

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/sources/openmeteo"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

func f(v float64) *float64 { return &v }

func demoPoints() []RiverPoint {
	return []RiverPoint{
		{ID: "amber-bridge", Name: "Amber river at Bridge", Lon: 61.475, Lat: 11.025, Areas: []string{"DML_0003_0002_V1", "DML_0003_0005_V1"}, RP2: f(1100), RP5: f(1500), RP20: f(2400)},
		{ID: "cedar-mouth", Name: "Cedar river mouth", Lon: 62.975, Lat: 12.525, Areas: []string{"DML_0002_0007_V1"}, RP2: f(900), RP5: f(1300), RP20: f(2000)},
	}
}

func newSource(t *testing.T, url string, mod func(*Config)) *Source {
	t.Helper()
	cfg := defaultConfig()
	cfg.URL = url
	cfg.Points = demoPoints()
	if mod != nil {
		mod(cfg)
	}
	require.NoError(t, cfg.Validate())
	s, err := New(cfg, adapter.Env{Name: "glofas-test", Now: func() time.Time { return fixedNow },
		Fetch: config.Fetch{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20}})
	require.NoError(t, err)
	return s
}

func TestGoldenFlood(t *testing.T) {
	body, err := os.ReadFile(testutil.Fixture(t, "glofas", "flood_2points.json"))
	require.NoError(t, err)
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { query = r.URL.RawQuery; w.Write(body) }))
	defer srv.Close()
	s := newSource(t, srv.URL+"/v1/flood", nil)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Contains(t, query, "forecast_days=30")
	assert.Contains(t, query, "timezone=GMT")
	assert.Contains(t, query, "daily=river_discharge")
	testutil.Golden(t, testutil.Fixture(t, "glofas", "expected_events.json"), b.Events, *update)

	require.Len(t, b.Events, 1, "cedar stays below rp2")
	e := b.Events[0]
	assert.Equal(t, "glofas:amber-bridge", e.ID)
	assert.Equal(t, indicators.Flood, e.Type)
	assert.Equal(t, indicators.Forecast, e.Phase)
	assert.Equal(t, indicators.SeverityRed, e.Severity)
	assert.Equal(t, []string{"DML_0003_0002_V1", "DML_0003_0005_V1"}, e.Areas)
	require.Len(t, e.Footprints, 3, "820.5 is below rp2; the null day is skipped")
	assert.Equal(t, "≥RP2", e.Footprints[0].Band)
	assert.Equal(t, "≥RP5", e.Footprints[1].Band)
	assert.Equal(t, "≥RP20", e.Footprints[2].Band)
	assert.Equal(t, "m³/s", e.Footprints[0].Unit)
	assert.Equal(t, 3*24*time.Hour+18*time.Hour, e.ValidTo.Sub(fixedNow))

	b2, err := s.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified, "same discharges: no recomputation")
}

func TestRealSample(t *testing.T) {
	p := testutil.SharedSample(t, "open-meteo", "flood_glofas_two_locations_indus_chenab.json")
	body, err := os.ReadFile(p)
	require.NoError(t, err)
	srv := testutil.FeedServer(t, testutil.ServeBody(body))
	s := newSource(t, srv.URL, func(c *Config) {
		// Indus at Sukkur and Chenab at Trimmu, with made-up thresholds the
		// captured discharge crosses at Sukkur only.
		c.Points = []RiverPoint{
			{ID: "indus-sukkur", Lon: 68.875, Lat: 27.675, Areas: []string{"PAK_SINDH"}, RP2: f(3200), RP5: f(3400), RP20: f(9000)},
			{ID: "chenab-trimmu", Lon: 72.075, Lat: 31.175, Areas: []string{"PAK_PUNJAB"}, RP2: f(5000), RP5: f(8000), RP20: f(12000)},
		}
	})
	s.env.Now = func() time.Time { return time.Date(2026, 10, 8, 1, 0, 0, 0, time.UTC) }
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	e := b.Events[0]
	assert.Equal(t, "glofas:indus-sukkur", e.ID)
	assert.Equal(t, indicators.SeverityOrange, e.Severity, "3482.37 and 3410.93 exceed rp5 3400")
	assert.Len(t, e.Footprints, 5, "the last two days (3175.87) are below rp2 3200")
	assert.Equal(t, "m³/s", e.Footprints[0].Unit)
}

func TestPercentileThresholds(t *testing.T) {
	// 40 past days at 100..139 m³/s, then 3 forecast days.
	var days, vals []string
	start := fixedNow.Truncate(24*time.Hour).AddDate(0, 0, -40)
	for i := 0; i < 43; i++ {
		days = append(days, `"`+start.AddDate(0, 0, i).Format("2006-01-02")+`"`)
		v := 100 + i
		if i >= 40 {
			v = []int{120, 138, 200}[i-40]
		}
		vals = append(vals, fmt.Sprint(v))
	}
	body := fmt.Sprintf(`{"latitude":11.025,"longitude":61.475,"utc_offset_seconds":0,"timezone":"GMT","daily_units":{"river_discharge":"m³/s"},"daily":{"time":[%s],"river_discharge":[%s]}}`,
		strings.Join(days, ","), strings.Join(vals, ","))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "60", r.URL.Query().Get("past_days"))
		w.Write([]byte(body))
	}))
	defer srv.Close()
	s := newSource(t, srv.URL, func(c *Config) {
		c.PastDays = 60
		c.Points = []RiverPoint{{ID: "p", Lon: 61.475, Lat: 11.025, Percentiles: []float64{50, 90, 99}}}
	})
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	fp := b.Events[0].Footprints
	require.Len(t, fp, 3)
	assert.Equal(t, indicators.SeverityGreen, fp[0].Severity, "120 >= P50 (119.5)")
	assert.Equal(t, indicators.SeverityOrange, fp[1].Severity, "138 >= P90 (135.1)")
	assert.Equal(t, indicators.SeverityRed, fp[2].Severity)
	assert.Equal(t, "≥P99", fp[2].Band)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"ok", func(*Config) {}, nil},
		{"no points", func(c *Config) { c.Points = nil }, []string{"points"}},
		{"dup id", func(c *Config) { c.Points[1].ID = c.Points[0].ID }, []string{"used twice"}},
		{"missing rp", func(c *Config) { c.Points[0].RP20 = nil }, []string{"needs rp2, rp5 and rp20"}},
		{"falling rp", func(c *Config) { c.Points[0].RP5 = f(50) }, []string{"must be positive and rise"}},
		{"percentiles without history", func(c *Config) {
			c.Points[0] = RiverPoint{ID: "x", Percentiles: []float64{50, 90, 99}}
		}, []string{"past_days >= 30"}},
		{"bad lon", func(c *Config) { c.Points[0].Lon = 200 }, []string{"not WGS84"}},
		{"days", func(c *Config) { c.ForecastDays = 0 }, []string{"forecast_days"}},
		{"variable", func(c *Config) { c.Variable = "precipitation_sum" }, []string{"variable"}},
		{"timezone", func(c *Config) { c.Timezone = "" }, []string{"timezone"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			c.Points = demoPoints()
			tc.mod(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func TestFetchErrors(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		class   adapter.Class
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`[{"latitude":1,}]`)) }, "malformed JSON at line 1", adapter.Permanent},
		{"truncated", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`[{"latitude":11.025,"daily":{`)) }, "truncated", adapter.Permanent},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "empty body", adapter.Permanent},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("[", 2<<20))) }, "response too large", adapter.Permanent},
		{"slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) }, "deadline exceeded", adapter.Retryable},
		{"one location for two points", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"latitude":11.025,"longitude":61.475,"daily":{"time":[]}}`))
		}, "1 locations for 2 requested points", adapter.Permanent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			cfg := defaultConfig()
			cfg.URL = srv.URL + "/v1/flood"
			cfg.Points = demoPoints()
			s, err := New(cfg, adapter.Env{Name: "glofas-test", Now: func() time.Time { return fixedNow },
				Fetch: config.Fetch{Timeout: 500 * time.Millisecond, MaxBodyBytes: 1 << 20}})
			require.NoError(t, err)
			_, err = s.Fetch(context.Background(), adapter.Cursor{})
			testutil.AssertFetchError(t, err, "glofas-test", srv.URL+"/v1/flood", tc.want)
			assert.Equal(t, tc.class, adapter.ClassOf(err))
		})
	}
}

func FuzzFloodEvents(f *testing.F) {
	if b, err := os.ReadFile(testutil.Fixture(f, "glofas", "flood_2points.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"latitude":1,"daily":{"time":["2026-11-28"],"river_discharge":[null]}}`))
	cfg := defaultConfig()
	cfg.Points = demoPoints()
	s, err := New(cfg, adapter.Env{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		locs, err := openmeteo.ParseResponse(b)
		if err != nil {
			return
		}
		_, _ = s.Events(locs, fixedNow, fixedNow)
	})
}
