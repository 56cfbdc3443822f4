package geosight

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

func testClient(t testing.TB, url string) *Client {
	cfg := config.Defaults().GeoSight
	cfg.URL, cfg.User, cfg.Dataset, cfg.APIKey = url, "u@example.org", "ds", config.Secret("secret-key-123")
	cfg.MaxRetries = 2
	c, err := NewClient(cfg, nil)
	require.NoError(t, err)
	c.SetBackoff(time.Millisecond, 2*time.Millisecond)
	return c
}

func TestNewClientValidates(t *testing.T) {
	cfg := config.Defaults().GeoSight
	cases := []struct {
		name string
		mut  func(*config.GeoSight)
		want string
	}{
		{"bad url", func(g *config.GeoSight) { g.URL = "ftp://x" }, "url must be"},
		{"no key", func(g *config.GeoSight) { g.APIKey = "" }, "no API key"},
		{"no user", func(g *config.GeoSight) { g.User = "" }, "user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := cfg
			g.URL, g.User, g.APIKey = "https://geosight.example.org", "u@example.org", "k"
			tc.mut(&g)
			_, err := NewClient(g, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestChunkFeatures(t *testing.T) {
	var feats []*geojson.Feature
	for i := 0; i < 100; i++ {
		f := geojson.NewFeature(orb.Point{60 + float64(i)/100, 10})
		f.Properties = geojson.Properties{"event_id": "e" + strconv.Itoa(i)}
		feats = append(feats, f)
	}
	huge := geojson.NewFeature(orb.LineString(make([]orb.Point, 500)))
	huge.Properties = geojson.Properties{"event_id": "huge"}
	feats = append(feats, huge)
	chunks, skipped, err := chunkFeatures(feats, 1000)
	require.NoError(t, err)
	assert.Equal(t, []string{"huge"}, skipped)
	n := 0
	for _, c := range chunks {
		assert.LessOrEqual(t, len(c), 1000)
		fc, err := geojson.UnmarshalFeatureCollection(c)
		require.NoError(t, err)
		n += len(fc.Features)
	}
	assert.Equal(t, 100, n)
	chunks, _, err = chunkFeatures(nil, 1000)
	require.NoError(t, err)
	require.Len(t, chunks, 1, "an empty replace still happens")
	assert.JSONEq(t, `{"type":"FeatureCollection","features":[]}`, string(chunks[0]))
}

func TestClassification(t *testing.T) {
	cases := []struct {
		status int
		body   string
		class  adapter.Class
		text   string
	}{
		{400, "Value is not float", adapter.Permanent, "Value is not float"},
		{403, `{"detail":"Invalid email!."}`, adapter.Auth, "HTTP 403: Invalid email!."},
		{404, `{"detail":"Not found."}`, adapter.Permanent, "HTTP 404: Not found."},
		{429, "slow down", adapter.Retryable, "HTTP 429: slow down"},
		{502, "<html>bad gateway</html>", adapter.Retryable, "HTTP 502"},
		{413, "<html>413</html>", adapter.Permanent, "HTTP 413"},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := testClient(t, srv.URL)
			_, err := c.Do(context.Background(), http.MethodPost, "data-browser", nil, map[string]any{}, "IND|2026-11-20|X")
			require.Error(t, err)
			assert.Equal(t, tc.class, adapter.ClassOf(err))
			assert.Contains(t, err.Error(), tc.text)
			var ae *adapter.Error
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, "IND|2026-11-20|X", ae.Key)
			assert.Equal(t, "/api/v1/data-browser/", ae.URL, "trailing slash always added")
			assert.NotContains(t, err.Error(), "secret-key-123")
		})
	}
}

func TestLevelMismatchRejectedBeforeSending(t *testing.T) {
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			posts++
			_, _ = w.Write([]byte("201"))
		case r.URL.Path == "/api/v1/reference-datasets/ds/":
			_, _ = w.Write([]byte(`{"uuid":"ds","dataset_levels":[{"level":1}]}`))
		default:
			_, _ = w.Write([]byte(`{"next":null,"total_page":1,"page":1,"results":[{"ucode":"A_1","admin_level":1}]}`))
		}
	}))
	defer srv.Close()
	c := testClient(t, srv.URL)
	var outs []adapter.Outcome
	err := c.Write(context.Background(), []indicators.Value{
		{Indicator: "I", Code: "A_1", AdminLevel: 2, Date: "2026-11-20", Type: indicators.Float},
		{Indicator: "I", Code: "A_1", AdminLevel: 1, Date: "2026-11-20", Type: indicators.Float},
	}, func(o adapter.Outcome) { outs = append(outs, o) })
	require.NoError(t, err)
	require.Len(t, outs, 2)
	assert.Equal(t, 1, posts)
	for _, o := range outs {
		if o.Value.AdminLevel == 2 {
			assert.Contains(t, o.Err.Error(), "admin level 1")
		} else {
			assert.NoError(t, o.Err)
		}
	}
}

func TestGeoRepoBackedServerSkipsCodeCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, _ = w.Write([]byte("201"))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"detail":"Not found."}`))
	}))
	defer srv.Close()
	c := testClient(t, srv.URL)
	var outs []adapter.Outcome
	require.NoError(t, c.Write(context.Background(), []indicators.Value{{Indicator: "I", Code: "ANY", Date: "2026-11-20"}},
		func(o adapter.Outcome) { outs = append(outs, o) }))
	require.Len(t, outs, 1)
	assert.NoError(t, outs[0].Err)
}

// FuzzResponses: any status and body from the server yields a classified
// error or a decoded page, never a panic or a leaked key.
func FuzzResponses(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"next":null,"count":1,"page":1,"total_page":1,"page_size":100,"results":[{"id":1,"shortcode":"A"}]}`},
		{200, `{"next":"http://x/?page=2","total_page":2,"results":[{}]}`},
		{404, `{"detail":"Invalid page."}`},
		{400, "Can not query param x"},
		{403, `{"detail":{"nested":true}}`},
		{200, `[1,2`},
		{500, ""},
	}
	for _, s := range seeds {
		f.Add(s.status, s.body)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 || (status >= 300 && status < 400) {
			return
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("page") != "1" && r.Method == http.MethodGet {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"detail":"Invalid page."}`))
				return
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		defer srv.Close()
		c := testClient(t, srv.URL)
		c.rc.SetRetryCount(0)
		found, err := c.FindIndicators(context.Background(), IndicatorFilter{})
		if err != nil {
			require.NotZero(t, adapter.ClassOf(err))
			require.NotContains(t, err.Error(), "secret-key-123")
			return
		}
		b, _ := json.Marshal(found)
		require.NotContains(t, string(b), "secret-key-123")
	})
}

func TestRequestsPerSecondCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("201")) }))
	defer srv.Close()
	c := testClient(t, srv.URL)
	c.cfg.RequestsPerSecond = 20
	c2, err := NewClient(c.cfg, nil)
	require.NoError(t, err)
	start := time.Now()
	for i := 0; i < 6; i++ {
		_, err := c2.Do(context.Background(), http.MethodPost, "data-browser/", nil, map[string]any{}, "")
		require.NoError(t, err)
	}
	// 6 requests at 20/s need at least 5 intervals of 50 ms.
	assert.GreaterOrEqual(t, time.Since(start), 240*time.Millisecond)
}

// The placeholder that empties a layer carries the footprint columns, so the
// layer's attributes survive being emptied.
func TestFootprintColumnsMatchFeatures(t *testing.T) {
	ev := indicators.Event{ID: "x:1", Type: indicators.Earthquake,
		Footprints: []indicators.Footprint{{Geometry: orb.Point{1, 2}}}}
	fs := footprintFeatures([]indicators.Event{ev})
	require.Len(t, fs, 1)
	var keys []string
	for k := range fs[0].Properties {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, footprintColumns, keys)
}
