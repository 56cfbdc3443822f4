package eonet

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testEnv() adapter.Env {
	return adapter.Env{Name: "eonet-test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:   func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) },
		Fetch: config.Fetch{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20}}
}

func serve(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// goldenBatch is the stable, comparable form of a batch.
type goldenBatch struct {
	Complete bool               `json:"complete"`
	Events   []indicators.Event `json:"events"`
	Problems []string           `json:"problems,omitempty"`
	Versions map[string]string  `json:"versions"`
}

func checkGolden(t *testing.T, b adapter.Batch, path string) {
	t.Helper()
	g := goldenBatch{Complete: b.Complete, Events: b.Events, Versions: b.Cursor.Versions}
	for _, p := range b.Problems {
		g.Problems = append(g.Problems, p.Error())
	}
	raw, err := json.Marshal(g)
	require.NoError(t, err)
	// Circles come from indicators.Circle: round to ~100 m so the golden
	// checks this source, not the circle algorithm's last digits.
	var tree any
	require.NoError(t, json.Unmarshal(raw, &tree))
	got, err := json.MarshalIndent(roundCoords(tree, false), "", " ")
	require.NoError(t, err)
	testutil.Golden(t, path, got, *update)
}

func TestGolden(t *testing.T) {
	body, err := os.ReadFile(testutil.Fixture(t, "eonet", "events_open.json"))
	require.NoError(t, err)
	srv := serve(t, body)
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/api/v3/events"
	require.NoError(t, cfg.Validate())
	src := New(cfg, testEnv())
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	checkGolden(t, b, testutil.Fixture(t, "eonet", "events_open.golden.json"))

	byID := map[string]indicators.Event{}
	for _, e := range b.Events {
		byID[e.ID] = e
	}
	ana := byID["eonet:EONET_90001"]
	assert.Equal(t, indicators.TropicalCyclone, ana.Type, "a severe storm titled Tropical Cyclone is a cyclone")
	assert.Equal(t, indicators.SeverityRed, ana.Severity, "100 kts is Saffir-Simpson cat 3")
	assert.Equal(t, "EONET_90001@2026-11-25T00:00:00Z", ana.Version, "version is the last geometry date")
	assert.Equal(t, orbPointType, fmt.Sprintf("%T", ana.Footprints[0].Geometry), "storm points stay points")
	fire := byID["eonet:EONET_90002"]
	assert.Equal(t, indicators.Wildfire, fire.Type)
	assert.Equal(t, "acres", fire.Footprints[0].Unit)
	assert.True(t, byID["eonet:EONET_90004"].Closed, "closed non-null ends the event")
	vol := byID["eonet:EONET_90003"]
	assert.InDelta(t, 314, indicators.GeodesicAreaKm2(vol.Footprints[0].Geometry), 10, "volcano point becomes a 10 km circle")
	require.Len(t, b.Problems, 1, "the broken event is a problem, not a failure")
	assert.Contains(t, b.Problems[0].Error(), "EONET_90006")
	assert.False(t, b.Complete, "a problem event must not look ended")

	// Same ETag → 304 → NotModified.
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
}

const orbPointType = "orb.Point"

func roundCoords(v any, inCoords bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = roundCoords(x, inCoords || k == "coordinates")
		}
	case []any:
		for i, x := range t {
			t[i] = roundCoords(x, inCoords)
		}
	case float64:
		if inCoords {
			return math.Round(t*1000) / 1000
		}
	}
	return v
}

func TestUnchangedVersionsAreNotModified(t *testing.T) {
	body := []byte(`{"events":[{"id":"EONET_1","title":"Fire","closed":null,"categories":[{"id":"wildfires","title":"Wildfires"}],
	 "geometry":[{"magnitudeValue":10,"magnitudeUnit":"acres","date":"2026-11-25T00:00:00Z","type":"Point","coordinates":[61,11]}]}]}`)
	// The handler reads body at request time: the test swaps it below.
	srv := testutil.FeedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })) // no ETag
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	src := New(cfg, testEnv())
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	assert.True(t, b.Complete)
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified, "same versions, no recomputation")

	// The event leaves the open set: a Complete batch without it ends it.
	body = []byte(`{"events":[]}`)
	b3, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.False(t, b3.NotModified)
	assert.True(t, b3.Complete)
	assert.Empty(t, b3.Events)
}

func TestQuery(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.RawQuery
		_, _ = w.Write([]byte(`{"events":[]}`))
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	cfg.Days = 7
	cfg.Categories = []string{"wildfires", "severestorms"}
	src := New(cfg, testEnv())
	_, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Equal(t, "category=wildfires%2CsevereStorms&days=7&status=open", got)
}

func TestRealSample(t *testing.T) {
	body, err := os.ReadFile(testutil.SharedSample(t, "eonet", "events_v3_open_subset.json"))
	require.NoError(t, err)
	srv := serve(t, body)
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	b, err := New(cfg, testEnv()).Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Empty(t, b.Problems)
	assert.True(t, b.Complete)
	require.Len(t, b.Events, 104)
	types := map[indicators.HazardType]int{}
	for _, e := range b.Events {
		types[e.Type]++
		assert.Equal(t, indicators.Observed, e.Phase)
		assert.False(t, e.Closed)
		require.NotEmpty(t, e.Footprints)
		assert.NotNil(t, e.Footprints[0].Geometry)
		if e.Title == "Typhoon Fung-wong" {
			assert.Equal(t, indicators.TropicalCyclone, e.Type)
		}
	}
	assert.Equal(t, 61, types[indicators.Wildfire])
	assert.Equal(t, 33, types[indicators.Volcano])
	assert.Equal(t, 7, types[indicators.OtherHazard], "seaLakeIce")
	assert.Equal(t, 3, types[indicators.TropicalCyclone]+types[indicators.SevereStorm])
}

func TestFailuresNameSourceURLAndProblem(t *testing.T) {
	big := `{"events":[` + strings.Repeat(`{"id":"x"},`, 200000) + `{"id":"y"}]}`
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{\n\"events\": [ }")) }, "malformed JSON at line 2"},
		{"truncated", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"events":[{"id":"EONET_1"`)) }, "truncated"},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "empty body"},
		{"not eonet", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"type":"FeatureCollection"}`)) }, `no "events" array`},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(big)) }, "response too large"},
		{"slow", testutil.SlowBody([]byte(`{"events":[`)), "timed out"},
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "upstream down", http.StatusBadGateway) }, "HTTP 502"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			cfg := DefaultConfig()
			cfg.URL = srv.URL + "/api/v3/events"
			env := testEnv()
			if tc.name == "slow" {
				env.Fetch.Timeout = 300 * time.Millisecond
			}
			_, err := New(cfg, env).Fetch(context.Background(), adapter.Cursor{})
			testutil.AssertFetchError(t, err, "eonet-test", srv.URL+"/api/v3/events", tc.want)
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(c *Config)
		want []string
	}{
		{"defaults", func(c *Config) {}, nil},
		{"bad url", func(c *Config) { c.URL = "ftp://x" }, []string{"url"}},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url: is required"}},
		{"bad status", func(c *Config) { c.Status = "closed" }, []string{"status"}},
		{"bad days", func(c *Config) { c.Days = -1 }, []string{"days"}},
		{"bad category", func(c *Config) { c.Categories = []string{"wildfire"} }, []string{"unknown EONET category"}},
		{"lower-cased radius key ok", func(c *Config) { c.PointRadiusKm = map[string]float64{"severestorms": 50} }, nil},
		{"every problem", func(c *Config) {
			c.PointRadiusKm = map[string]float64{"fires": -1}
			c.Days = 99999
		}, []string{"point_radius_km.fires", "must be 0..500", "days"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{testutil.Fixture(f, "eonet", "events_open.json"), testutil.Fixture(f, "demo", "feeds", "eonet", "events.json")} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"id":"a","geometry":[{"type":"Polygon","date":"2026-01-01T00:00:00Z","coordinates":[[[1,1],[2,2]]]}]}]}`))
	src := New(DefaultConfig(), testEnv())
	f.Fuzz(func(t *testing.T, body []byte) {
		feed, err := Parse(body)
		if err != nil {
			return
		}
		for _, fe := range feed.Events {
			ev, err := src.toEvent(fe)
			if err == nil && ev.ID == "" {
				t.Fatal("event without id")
			}
		}
	})
}
