package status

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

func get(t testing.TB, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newDemoServer(t *testing.T, opts Options) (*Server, *fakeProvider, *adapter.Metrics) {
	t.Helper()
	p, _ := demoData(t)
	m := adapter.NewMetrics()
	opts.Now = func() time.Time { return demoNow }
	return NewServer(p, m.Registry, opts), p, m
}

func TestRoutes(t *testing.T) {
	s, _, _ := newDemoServer(t, Options{Extra: map[string]http.Handler{
		"/pull/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "pull feed "+r.URL.Path) }),
	}})
	cases := []struct {
		path     string
		code     int
		ctype    string
		contains []string
	}{
		{"/healthz", 200, "text/plain", []string{"ok"}},
		{"/readyz", 200, "text/plain", []string{"ready: last sync 2026-11-27T05:58:30Z"}},
		{"/metrics", 200, "text/plain", []string{"hazardsync_build_info", "go_goroutines"}},
		{"/api/status", 200, "application/json", []string{`"ready":true`, `"name":"eonet"`, `"shortcode":"HZ_ALERT"`}},
		{"/api/areas.geojson", 200, "application/geo+json", []string{`"FeatureCollection"`, `"DML_0001_0005_V1"`}},
		{"/", 200, "text/html", []string{`id="map"`, `id="legend"`, `id="health-table"`}},
		{"/static/status.js", 200, "javascript", []string{"function classify"}},
		{"/static/status.css", 200, "text/css", []string{".legend"}},
		{"/pull/x.json", 200, "", []string{"pull feed /pull/x.json"}},
		{"/nope", 404, "", nil},
		{"/static/server.go", 404, "", nil},
		{"/static/web/templates/status.html.tmpl", 404, "", nil},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			rec := get(t, s, c.path, nil)
			require.Equal(t, c.code, rec.Code, rec.Body.String())
			if c.ctype != "" {
				assert.Contains(t, rec.Header().Get("Content-Type"), c.ctype)
			}
			for _, want := range c.contains {
				assert.Contains(t, rec.Body.String(), want)
			}
		})
	}
	t.Run("POST is refused", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/api/status", nil)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	})
}

func TestToken(t *testing.T) {
	const token = "s3cret-status-token"
	s, _, _ := newDemoServer(t, Options{Token: token, Extra: map[string]http.Handler{
		"/geosight/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fake") }),
	}})
	basic := func(user, pw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw)) }
	cases := []struct {
		name, path, auth string
		code             int
	}{
		{"healthz needs no token", "/healthz", "", 200},
		{"page without token", "/", "", 401},
		{"metrics without token", "/metrics", "", 401},
		{"readyz without token", "/readyz", "", 401},
		{"api without token", "/api/status", "", 401},
		{"static without token", "/static/status.js", "", 401},
		{"right bearer", "/api/status", "Bearer " + token, 200},
		{"bearer is case-insensitive", "/metrics", "bearer " + token, 200},
		{"wrong bearer", "/api/status", "Bearer " + token + "x", 401},
		{"prefix of token", "/api/status", "Bearer " + token[:5], 401},
		{"empty bearer", "/api/status", "Bearer ", 401},
		{"token scheme is not bearer", "/api/status", "Token " + token, 401},
		{"basic auth password", "/", basic("office", token), 200},
		{"basic auth wrong password", "/", basic(token, "nope"), 401},
		{"mounted handler does its own auth", "/geosight/api", "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.auth != "" {
				hdr["Authorization"] = c.auth
			}
			rec := get(t, s, c.path, hdr)
			require.Equal(t, c.code, rec.Code, rec.Body.String())
			if c.code == 401 {
				assert.NotEmpty(t, rec.Header().Values("WWW-Authenticate"))
				assert.NotContains(t, rec.Body.String(), token)
			}
		})
	}
}

// TestReadyz: ready means "serving with a valid config". A refused edit
// (the previous config keeps running) and a failing GeoSight are status and
// metrics, never a 503 that would take /pull/ out of service.
func TestReadyz(t *testing.T) {
	refused := adapter.ReloadState{ConfigPath: "/etc/hazardsync.yaml", OK: false,
		Errors: []string{"indicators[2].recipe: unknown recipe \"chldren_exposed\""}}
	synced := adapter.RunSummary{Started: time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC), Values: 3}
	cases := []struct {
		name     string
		lastRun  adapter.RunSummary
		values   []indicators.Value
		reload   adapter.ReloadState
		delivery adapter.DeliveryHealth
		want     int
		says     []string
	}{
		{"nothing computed yet", adapter.RunSummary{}, nil, adapter.ReloadState{OK: true}, adapter.DeliveryHealth{},
			http.StatusServiceUnavailable, []string{"no values computed yet"}},
		{"values computed, first delivery still hanging", adapter.RunSummary{}, []indicators.Value{{Indicator: "A", Code: "X"}},
			adapter.ReloadState{OK: true}, adapter.DeliveryHealth{}, http.StatusOK, []string{"first delivery is still running"}},
		{"synced", synced, nil, adapter.ReloadState{OK: true}, adapter.DeliveryHealth{}, http.StatusOK, []string{"ready: last sync 2026-11-27T06:00:00Z"}},
		{"GeoSight refuses everything", synced, nil, adapter.ReloadState{OK: true},
			adapter.DeliveryHealth{Retrying: 335, Pending: 335, LastError: "403 Forbidden"}, http.StatusOK, []string{"ready"}},
		{"edit refused, previous config running", synced, nil, refused, adapter.DeliveryHealth{},
			http.StatusOK, []string{"ready", "/etc/hazardsync.yaml", "refused", "previous config keeps running"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &fakeProvider{reload: c.reload, lastRun: c.lastRun, values: c.values, delivery: c.delivery}
			rec := get(t, NewServer(p, nil, Options{}), "/readyz", nil)
			require.Equal(t, c.want, rec.Code, rec.Body.String())
			for _, s := range c.says {
				assert.Contains(t, rec.Body.String(), s)
			}
		})
	}

	// The page and /api/status still show the refused edit.
	p := &fakeProvider{reload: refused, lastRun: synced}
	s := NewServer(p, nil, Options{})
	page := get(t, s, "/", nil).Body.String()
	assert.Contains(t, page, "was refused")
	assert.Contains(t, page, "chldren_exposed")
	assert.Contains(t, get(t, s, "/api/status", nil).Body.String(), "chldren_exposed")
}

func TestAreasGeoJSON(t *testing.T) {
	s, p, _ := newDemoServer(t, Options{})
	for _, q := range []string{"", "?simplify=0"} {
		rec := get(t, s, "/api/areas.geojson"+q, nil)
		require.Equal(t, 200, rec.Code)
		fc, err := geojson.UnmarshalFeatureCollection(rec.Body.Bytes())
		require.NoError(t, err)
		require.Len(t, fc.Features, len(p.areas))
		byCode := map[string]*geojson.Feature{}
		for _, f := range fc.Features {
			byCode[f.Properties.MustString("ucode")] = f
			switch f.Geometry.(type) {
			case orb.Polygon, orb.MultiPolygon:
			default:
				t.Fatalf("feature %v: geometry %T", f.ID, f.Geometry)
			}
		}
		// Every current value is a property of its area, with attributes and date.
		for _, v := range p.values {
			f := byCode[v.Code]
			require.NotNil(t, f, v.Code)
			assert.EqualValues(t, v.Payload(), f.Properties[v.Indicator], v.String())
			assert.Equal(t, string(v.Date), f.Properties["dates"].(map[string]any)[v.Indicator])
		}
		f := byCode["DML_0001_0005_V1"]
		assert.Equal(t, float64(2), f.Properties["admin_level"])
		assert.Equal(t, "DML_0001_V1", f.Properties["parent"])
		assert.NotNil(t, f.Properties["under18"])
		assert.Contains(t, f.Properties["attributes"].(map[string]any), "HZ_ALERT")
		assert.NotContains(t, byCode["DML_0003_0003_V1"].Properties, "HZ_ALERT", "untouched area has no value")

		var extra struct {
			Indicators []IndicatorInfo `json:"indicators"`
			Levels     []int           `json:"levels"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &extra))
		assert.Equal(t, []int{0, 1, 2}, extra.Levels)
		require.Len(t, extra.Indicators, len(p.defs))
		assert.Equal(t, "HZ_ALERT", extra.Indicators[0].Property)
		assert.Equal(t, []string{"none", "green", "orange", "red"}, extra.Indicators[0].Codes)
	}
	// The simplified map is smaller and no area loses its shape.
	small := get(t, s, "/api/areas.geojson", nil).Body.Len()
	full := get(t, s, "/api/areas.geojson?simplify=0", nil).Body.Len()
	assert.Less(t, small, full)
	t.Logf("areas.geojson: %d bytes simplified, %d full (%d areas)", small, full, len(p.areas))
}

func TestReservedShortcodeIsRenamed(t *testing.T) {
	as := []indicators.Area{{Code: "A", Name: "Area A", Level: 0, Geometry: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}}
	defs := []indicators.Definition{{Shortcode: "name", Name: "Clashing", Type: indicators.Float}}
	vals := []indicators.Value{{Indicator: "name", Code: "A", Type: indicators.Float, Number: 7},
		{Indicator: "GONE", Code: "A", Type: indicators.Integer, Number: 2}}
	fc := areasCollection(as, defs, vals, true)
	p := fc.Features[0].Properties
	assert.Equal(t, "Area A", p["name"])
	assert.Equal(t, 7.0, p["indicator:name"])
	infos := fc.ExtraMembers["indicators"].([]IndicatorInfo)
	require.Len(t, infos, 2)
	assert.Equal(t, "indicator:name", infos[0].Property)
	assert.Equal(t, "GONE", infos[1].Shortcode, "values of an unconfigured indicator are still explained")
	// The area's own geometry was not modified by simplification/rounding.
	assert.Equal(t, orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}, as[0].Geometry)
}

func TestPage(t *testing.T) {
	s, p, _ := newDemoServer(t, Options{})
	rec := get(t, s, "/", nil)
	require.Equal(t, 200, rec.Code)
	body := rec.Body.String()
	for _, want := range []string{
		`id="map"`, `id="legend"`, `id="ind-select"`, `id="level-select"`, `id="health-table"`,
		`data-source="eonet"`, `data-source="usgs"`, `data-source="gdacs"`,
		"context deadline exceeded (timeout 30s)", // verbatim error
		"failing", "disabled", "healthy",
		`id="rejections-table"`, "Value is not in the code list of indicator HZ_ALERT",
		`id="warnings-table"`, "alert",
		"fixtures/demo/hazardsync.yaml", "v0.1.0-test", "EMBEDDED GEOSIGHT",
		`src="static/status.js"`, `href="static/status.css"`,
	} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "DRY RUN")
	assert.NotContains(t, body, "cdn", "self-contained")
	assert.NotContains(t, body, `src="http`)
	assert.NotContains(t, body, `href="http://127.0.0.1:8080/static`)
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'")

	p.info.DryRun = true
	assert.Contains(t, get(t, s, "/", nil).Body.String(), "DRY RUN")

	// Markup from feeds is escaped, never rendered.
	p.sources[1].LastError = `<script>alert(1)</script>`
	body = get(t, s, "/", nil).Body.String()
	assert.NotContains(t, body, `<script>alert(1)</script>`)
	assert.Contains(t, body, `&lt;script&gt;alert(1)&lt;/script&gt;`)
}

func TestEmptyProvider(t *testing.T) {
	s := NewServer(&fakeProvider{}, nil, Options{})
	for _, path := range []string{"/", "/api/status", "/api/areas.geojson"} {
		rec := get(t, s, path, nil)
		require.Equal(t, 200, rec.Code, path)
	}
	var snap Snapshot
	require.NoError(t, json.Unmarshal(get(t, s, "/api/status", nil).Body.Bytes(), &snap))
	assert.False(t, snap.Ready)
	assert.NotNil(t, snap.Sources)
	assert.Contains(t, get(t, s, "/", nil).Body.String(), "No sources configured")
}

// TestSecretsNeverLeak: the provider's data holds an error produced by code
// that had the API key in a URL; no route may return it in any spelling.
func TestSecretsNeverLeak(t *testing.T) {
	const key = `gs-KEY-9f8e7d&<x>'q`
	// A real error from net/http for a request whose URL carried the key.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, herr := http.Get(deadURL + "/api/v1/indicators/?api_key=" + key)
	require.Error(t, herr)
	leaked := herr.Error()
	require.Contains(t, leaked, key, "the error really carries the key")

	s, p, m := newDemoServer(t, Options{Redact: []string{key, "ab"}})
	p.sources[1].LastError = leaked
	p.delivery.LastError = "delivering: " + leaked
	p.delivery.Recent[0].Reason = "403 for key " + key
	p.reload = adapter.ReloadState{ConfigPath: "x.yaml", Errors: []string{"geosight.api_key: " + key + " rejected"}}
	p.warnings[0].Name = key
	// A metric label the daemon should never have set, but might.
	m.FetchErrors.WithLabelValues("source "+key, "auth").Inc()

	for _, path := range []string{"/", "/api/status", "/metrics", "/readyz", "/api/areas.geojson"} {
		body := get(t, s, path, nil).Body.String()
		for _, spelling := range []string{key, `gs-KEY-9f8e7d&amp;&lt;x&gt;&#39;q`, `gs-KEY-9f8e7d\u0026\u003cx\u003e'q`, "gs-KEY-9f8e7d"} {
			assert.NotContains(t, body, spelling, "%s leaks the key", path)
		}
	}
	assert.Contains(t, get(t, s, "/", nil).Body.String(), "[REDACTED]")
	// Short redaction strings are ignored instead of mangling the output.
	assert.Contains(t, get(t, s, "/api/status", nil).Body.String(), `"enabled"`)
}

// TestMetricsCoverIssue75 checks /metrics exposes every figure issue 7.5
// names: per source last success, duration, events, errors; per sink
// values sent/rejected/retried and outbox depth; config reloads.
func TestMetricsCoverIssue75(t *testing.T) {
	s, _, m := newDemoServer(t, Options{})
	m.FetchDuration.WithLabelValues("eonet").Observe(0.2)
	m.FetchSuccess.WithLabelValues("eonet").Set(1)
	m.LastSuccess.WithLabelValues("eonet").Set(float64(demoNow.Unix()))
	m.SourceEvents.WithLabelValues("eonet").Set(2)
	m.FetchErrors.WithLabelValues("usgs", "retryable").Inc()
	for _, o := range []string{"sent", "unchanged", "rejected", "retried"} {
		m.Values.WithLabelValues("geosight", o).Inc()
	}
	m.OutboxDepth.WithLabelValues("geosight").Set(4)
	m.Reloads.WithLabelValues("ok").Inc()
	m.Reloads.WithLabelValues("failed").Inc()
	m.SyncDuration.Observe(1.5)

	body := get(t, s, "/metrics", nil).Body.String()
	for _, want := range []string{
		`hazardsync_source_fetch_duration_seconds_count{source="eonet"} 1`,
		`hazardsync_source_up{source="eonet"} 1`,
		`hazardsync_source_last_success_timestamp_seconds{source="eonet"} 1.79`,
		`hazardsync_source_events{source="eonet"} 2`,
		`hazardsync_source_fetch_errors_total{class="retryable",source="usgs"} 1`,
		`hazardsync_sink_values_total{outcome="sent",sink="geosight"} 1`,
		`hazardsync_sink_values_total{outcome="unchanged",sink="geosight"} 1`,
		`hazardsync_sink_values_total{outcome="rejected",sink="geosight"} 1`,
		`hazardsync_sink_values_total{outcome="retried",sink="geosight"} 1`,
		`hazardsync_outbox_depth{sink="geosight"} 4`,
		`hazardsync_config_reloads_total{result="ok"} 1`,
		`hazardsync_config_reloads_total{result="failed"} 1`,
		`hazardsync_sync_duration_seconds_count 1`,
		`hazardsync_build_info{goversion="go`,
	} {
		assert.Contains(t, body, want)
	}
}

func TestWriteDryRun(t *testing.T) {
	p, _ := demoData(t)
	dir := filepath.Join(t.TempDir(), "preview")
	changed := p.values[:len(p.values)-3]
	files, err := WriteDryRun(dir, p.areas, p.defs, p.values, changed)
	require.NoError(t, err)
	require.Len(t, files, 3)

	// values.geojson: every area, the values that would be sent as properties.
	b, err := os.ReadFile(filepath.Join(dir, "values.geojson"))
	require.NoError(t, err)
	fc, err := geojson.UnmarshalFeatureCollection(b)
	require.NoError(t, err)
	require.Len(t, fc.Features, len(p.areas))
	props := map[string]geojson.Properties{}
	for _, f := range fc.Features {
		props[f.Properties.MustString("ucode")] = f.Properties
	}
	for _, v := range changed {
		assert.EqualValues(t, v.Payload(), props[v.Code][v.Indicator], v.String())
	}
	for _, v := range p.values[len(p.values)-3:] {
		if !containsKey(changed, v.Key()) {
			assert.NotContains(t, props[v.Code], v.Indicator, "unchanged value %s is not in values.geojson", v)
		}
	}

	// values.csv: header plus one row per value that would be sent.
	f, err := os.Open(filepath.Join(dir, "values.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"indicator", "ucode", "admin_level", "date", "value", "attributes"}, rows[0])
	require.Len(t, rows, len(changed)+1)
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		seen[r[0]+"|"+r[3]+"|"+r[1]] = true
		if r[5] != "" {
			var attrs map[string]any
			require.NoError(t, json.Unmarshal([]byte(r[5]), &attrs), r[5])
		}
	}
	for _, v := range changed {
		assert.True(t, seen[v.Key().String()], v.Key().String())
	}

	// map.html: standalone, with inlined data, script and style.
	html, err := os.ReadFile(filepath.Join(dir, "map.html"))
	require.NoError(t, err)
	page := string(html)
	for _, want := range []string{`id="hs-map-data"`, `id="map"`, `id="legend"`, "function classify", ".legend", "DML_0001_0005_V1", "DRY RUN"} {
		assert.Contains(t, page, want)
	}
	for _, bad := range []string{`src="http`, `href="http`, `<link`, `src="static/`} {
		assert.NotContains(t, page, bad, "map.html must open offline")
	}
	// The inlined data is the GeoJSON the page draws.
	start := strings.Index(page, `<script type="application/json" id="hs-map-data">`)
	require.GreaterOrEqual(t, start, 0)
	rest := page[start+len(`<script type="application/json" id="hs-map-data">`):]
	data := rest[:strings.Index(rest, "</script>")]
	inl, err := geojson.UnmarshalFeatureCollection([]byte(data))
	require.NoError(t, err, data[:min(200, len(data))])
	assert.Len(t, inl.Features, len(p.areas))

	// Writing again replaces the files (no temp files left behind).
	_, err = WriteDryRun(dir, p.areas, p.defs, p.values, nil)
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3)
	rows2, err := csv.NewReader(strings.NewReader(mustRead(t, filepath.Join(dir, "values.csv")))).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows2, 1, "nothing would be sent: header only")
}

func containsKey(vs []indicators.Value, k indicators.Key) bool {
	for _, v := range vs {
		if v.Key() == k {
			return true
		}
	}
	return false
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func TestWriteDryRunUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	_, err := WriteDryRun(filepath.Join(file, "sub"), nil, nil, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dry-run output")
}

func TestServeShutsDownOnCancel(t *testing.T) {
	s := NewServer(&fakeProvider{}, nil, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "ok\n", string(b))
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not shut down")
	}
	_, err = http.Get("http://" + ln.Addr().String() + "/healthz")
	require.Error(t, err)

	// Serve reports a listen failure.
	err = s.Serve(context.Background(), "256.0.0.1:1")
	require.Error(t, err)
	var opErr *net.OpError
	assert.True(t, errors.As(err, &opErr) || strings.Contains(err.Error(), "status server"))
}

// FuzzAuthorization: whatever the header, only the right token passes and
// nothing panics.
func FuzzAuthorization(f *testing.F) {
	const token = "tok-123456"
	for _, seed := range []string{"", "Bearer " + token, "Bearer", "Bearer  " + token, "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+token)),
		"Basic !!!", "bearer " + token + " extra", "Token " + token} {
		f.Add(seed)
	}
	s := NewServer(&fakeProvider{}, nil, Options{Token: token})
	f.Fuzz(func(t *testing.T, h string) {
		req := httptest.NewRequest(http.MethodGet, "/api/status", nil)
		req.Header.Set("Authorization", h)
		ok := s.authorized(req)
		if ok {
			scheme, rest, _ := strings.Cut(h, " ")
			_, pw, basicOK := req.BasicAuth()
			if !(strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == token) && !(basicOK && pw == token) {
				t.Fatalf("header %q was accepted", h)
			}
		}
	})
}

// TestPageSummaryFirst: the first thing on the page is where to act
// (warnings by level with area names, children at risk) and the machine's
// health (sources up, last sync, delivery); the long tables come after the
// map, and indicators and areas are shown by name, not shortcode.
func TestPageSummaryFirst(t *testing.T) {
	s, p, _ := newDemoServer(t, Options{})
	body := get(t, s, "/", nil).Body.String()
	order := []string{`id="summary"`, `id="act"`, `id="children-at-risk"`, `id="warn-levels"`, `id="card-sources"`,
		`id="card-sync"`, `id="card-delivery"`, `id="map-panel"`, `id="warnings-table"`, `id="health-table"`, `id="delivery"`}
	last := -1
	for _, id := range order {
		i := strings.Index(body, id)
		require.GreaterOrEqual(t, i, 0, "%s missing", id)
		assert.Greater(t, i, last, "%s out of order", id)
		last = i
	}
	summary := section(t, body, `id="summary"`)
	// The failing source is named, the delivery counts are there.
	assert.Contains(t, summary, "failing: usgs")
	assert.Contains(t, summary, "1 queued · 1 rejected")
	// Each level with its areas by name, the most urgent first.
	levels := p.warnings
	require.NotEmpty(t, levels)
	for _, lvl := range []string{"alert", "warning", "watch"} {
		assert.Contains(t, summary, `class="level-block lvlb-`+lvl+`"`)
	}
	assert.Contains(t, summary, ">"+levels[0].Name+"</a>", "the area with the most children at risk is named")
	assert.NotContains(t, summary, ">"+levels[0].Code+"</a>")
	// Children at risk: the sum over the deepest level, each area once.
	var want float64
	deepest := 0
	for _, w := range levels {
		deepest = max(deepest, p.levelOf(w.Code))
	}
	for _, w := range levels {
		if p.levelOf(w.Code) == deepest {
			want += w.ChildrenAtRisk
		}
	}
	assert.Contains(t, summary, formatFloat(want)+"</span>")

	// The warnings table: indicator names, lead-time chips, times on the
	// as-of clock.
	table := section(t, body, `id="warnings-table"`)
	assert.Contains(t, table, "Early-warning level")
	assert.NotContains(t, table, ">EW_LEVEL<")
	assert.Contains(t, table, `<span class="lead-chip lead-now">now</span>`)
	assert.Contains(t, table, `<span class="lead-chip lead-24">18 h</span>`)
	assert.Contains(t, table, ">3.0 h</time>", "since = as-of − 3 h")
	assert.Contains(t, table, `data-level="warning"`, "rows carry their level for the filter")
	filters := section(t, body, `class="filters"`)
	assert.Contains(t, filters, `data-level-filter="" aria-pressed="true">all 4</button>`)
	assert.Contains(t, filters, `data-level-filter="warning" aria-pressed="false"><span class="pill lvl-warning">warning</span> 2</button>`)
	// Rejections name the indicator too.
	assert.Contains(t, section(t, body, `id="rejections-table"`), "<td>"+p.defs[0].Name+"</td>")
}

// section is body from marker to the end of its enclosing <section> or
// </table>, whichever comes first after it.
func section(t *testing.T, body, marker string) string {
	t.Helper()
	i := strings.Index(body, marker)
	require.GreaterOrEqual(t, i, 0, marker)
	rest := body[i:]
	end := len(rest)
	for _, closer := range []string{"</section>", "</table>"} {
		if j := strings.Index(rest, closer); j >= 0 && j < end {
			end = j
		}
	}
	return rest[:end]
}

func (f *fakeProvider) levelOf(code string) int {
	for _, a := range f.areas {
		if a.Code == code {
			return a.Level
		}
	}
	return -1
}

// TestHazardTimesUseTheAsOfClock: a replayed sync (as-of 2026-11-27, run
// on 2026-12-02) shows how long a warning has held on the as-of clock
// ("2.0 h"), never the wall-clock distance ("5 days"), and says it is a
// replay. Before, "Since 4 days ago" sat beside a 57 h lead time.
func TestHazardTimesUseTheAsOfClock(t *testing.T) {
	asOf := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	wall := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	p := &fakeProvider{
		lastRun:  adapter.RunSummary{Started: wall, AsOf: asOf},
		warnings: []adapter.Warning{{Indicator: "X", Code: "A1", Name: "Amber North", Level: "alert", LeadTimeHours: 29, Since: asOf.Add(-2 * time.Hour)}},
	}
	s := NewServer(p, nil, Options{Now: func() time.Time { return wall.Add(time.Minute) }})
	body := get(t, s, "/", nil).Body.String()
	table := section(t, body, `id="warnings-table"`)
	assert.Contains(t, table, ">2.0 h</time>")
	assert.NotContains(t, table, "days")
	assert.Contains(t, body, "Data as of <time datetime=\"2026-11-27T13:00:00Z\">")
	assert.Contains(t, body, "replay clock")

	// No children figure: a dash and why, never a misleading 0.
	kpi := section(t, body, `id="children-at-risk"`)
	assert.Contains(t, kpi, `<span class="kpi-value">—</span>`)
	assert.Contains(t, kpi, "children_at_risk")

	// In service the two clocks agree and no replay badge is shown.
	p.lastRun = adapter.RunSummary{Started: wall, AsOf: wall}
	p.warnings[0].Since = wall.Add(-30 * time.Minute)
	body = get(t, s, "/", nil).Body.String()
	assert.NotContains(t, body, "replay clock")
	assert.Contains(t, section(t, body, `id="warnings-table"`), ">30 min</time>")
}

// TestLeadTimeUrgency: a shorter lead time never gets a weaker colour
// class than a longer one (the page's chips), and lead-time indicators are
// marked for the map to reverse its ramp.
func TestLeadTimeUrgency(t *testing.T) {
	rank := map[string]int{"lead-now": 6, "lead-12": 5, "lead-24": 4, "lead-48": 3, "lead-72": 2, "lead-long": 1}
	prev := rank[leadClass(-1)]
	for h := 0.0; h <= 200; h += 0.5 {
		r, ok := rank[leadClass(h)]
		require.True(t, ok, leadClass(h))
		assert.LessOrEqual(t, r, prev, "%g h is coloured stronger than a shorter lead time", h)
		prev = r
	}
	assert.Equal(t, "now", leadText(0))
	assert.Equal(t, "57 h", leadText(56.6))

	infos := indicatorInfos(demoDefs(), nil)
	for _, i := range infos {
		assert.Equal(t, i.Shortcode == "EW_LEAD", i.LowerIsUrgent, i.Shortcode)
	}
}

// TestWarnLevels: one entry per area and level however many hazards put
// it there, with its soonest lead time and largest children figure;
// levels alert → watch; areas most urgent first.
func TestWarnLevels(t *testing.T) {
	d := pageData{Snapshot: Snapshot{Warnings: []adapter.Warning{
		{Indicator: "W_HEAT", Code: "B", Name: "Basalt", Level: "watch", LeadTimeHours: 40, Hazard: "heat", ChildrenAtRisk: 10, AdminLevel: 2},
		{Indicator: "W_TC", Code: "A", Name: "Amber", Level: "alert", LeadTimeHours: 30, Hazard: "cyclone", ChildrenAtRisk: 100, AdminLevel: 2},
		{Indicator: "W_RAIN", Code: "A", Name: "Amber", Level: "alert", LeadTimeHours: 6, Hazard: "heavy_rain", ChildrenAtRisk: 70, AdminLevel: 2},
		{Indicator: "W_TC", Code: "C", Name: "Cedar", Level: "alert", LeadTimeHours: 0, Hazard: "cyclone", ChildrenAtRisk: 5, AdminLevel: 2},
		{Indicator: "W_TC", Code: "P", Name: "North", Level: "alert", LeadTimeHours: 0, Hazard: "cyclone", ChildrenAtRisk: 105, AdminLevel: 1},
	}}}
	lv := d.WarnLevels()
	require.Len(t, lv, 2)
	assert.Equal(t, "alert", lv[0].Level)
	assert.Equal(t, "watch", lv[1].Level)
	var names []string
	for _, a := range lv[0].Areas {
		names = append(names, a.Name)
	}
	assert.Equal(t, []string{"Cedar", "North", "Amber"}, names, "now before 6 h; the district before its province")
	amber := lv[0].Areas[2]
	assert.Equal(t, []string{"cyclone", "heavy_rain"}, amber.Hazards)
	assert.Equal(t, 6.0, amber.LeadTimeHours)
	assert.Equal(t, 100.0, amber.ChildrenAtRisk)
	c := d.ChildrenAtRisk()
	assert.Equal(t, childrenAtRisk{Total: 115, Areas: 3, AdminLevel: 2}, c, "admin 2 only, each area once")
}

// TestFootprintsGeoJSON: the map's hazard overlay, one feature per
// footprint with what tells them apart; an empty collection when the
// provider has no events.
func TestFootprintsGeoJSON(t *testing.T) {
	s, p, _ := newDemoServer(t, Options{})
	rec := get(t, s, "/api/footprints.geojson", nil)
	require.Equal(t, 200, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Type"), "application/geo+json")
	fc, err := geojson.UnmarshalFeatureCollection(rec.Body.Bytes())
	require.NoError(t, err)
	want := 0
	for _, e := range p.events {
		want += len(e.Footprints)
	}
	require.NotZero(t, want)
	assert.Len(t, fc.Features, want)
	for _, f := range fc.Features {
		assert.NotEmpty(t, f.Properties["event"])
		assert.Contains(t, []any{"observed", "forecast"}, f.Properties["phase"])
		assert.NotEmpty(t, f.Properties["hazard"])
	}

	// Bounded: a global FIRMS day does not reach the browser whole.
	many := indicators.Event{ID: "firms:x", Phase: indicators.Observed, Type: indicators.Wildfire}
	for i := 0; i < maxFootprints+7; i++ {
		many.Footprints = append(many.Footprints, indicators.Footprint{Geometry: orb.Point{60, 10}})
	}
	big := footprintsCollection([]indicators.Event{many}, nil)
	assert.Len(t, big.Features, maxFootprints)
	assert.Equal(t, 7, big.ExtraMembers["truncated"])

	// Behind the token and the redaction like every status route.
	const key = "gs-KEY-footprint-9f8e"
	p.events[0].Title = "feed echoed " + key
	guarded := NewServer(p, nil, Options{Token: "tok-123456", Redact: []string{key}})
	assert.Equal(t, http.StatusUnauthorized, get(t, guarded, "/api/footprints.geojson", nil).Code)
	rec = get(t, guarded, "/api/footprints.geojson", map[string]string{"Authorization": "Bearer tok-123456"})
	require.Equal(t, 200, rec.Code)
	assert.NotContains(t, rec.Body.String(), key)
	assert.Contains(t, rec.Body.String(), "[REDACTED]")

	plain := NewServer(&struct{ Provider }{&fakeProvider{}}, nil, Options{})
	fc, err = geojson.UnmarshalFeatureCollection(get(t, plain, "/api/footprints.geojson", nil).Body.Bytes())
	require.NoError(t, err)
	assert.Empty(t, fc.Features)
}

// TestHTTPServerTimeouts: every connection is bounded; without an idle
// timeout, keep-alive connections from scrapers and browsers stay open
// forever.
func TestHTTPServerTimeouts(t *testing.T) {
	srv := HTTPServer(http.NotFoundHandler(), Timeouts{}, nil)
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout,
		"ReadTimeout": srv.ReadTimeout, "WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout} {
		assert.Positive(t, d, name)
	}
	assert.Equal(t, 5*time.Second, HTTPServer(http.NotFoundHandler(), Timeouts{Idle: 5 * time.Second}, nil).IdleTimeout)
}

// TestPageShowsEachSink: with several sinks the delivery panel lists each
// one's counts and error; with one it shows no per-sink table.
func TestPageShowsEachSink(t *testing.T) {
	s, p, _ := newDemoServer(t, Options{})
	assert.NotContains(t, get(t, s, "/", nil).Body.String(), `id="sinks-table"`)
	p.delivery = adapter.SumDeliveries([]adapter.DeliveryHealth{
		{Sink: "db", Pending: 40, LastError: "dial tcp 10.0.0.5:5432: connection refused"},
		{Sink: "geosight", Sent: 12, Unchanged: 30},
	})
	body := get(t, s, "/", nil).Body.String()
	assert.Contains(t, body, `id="sinks-table"`)
	assert.Contains(t, body, "db, geosight")
	assert.Contains(t, body, "connection refused")
	var snap Snapshot
	require.NoError(t, json.Unmarshal(get(t, s, "/api/status", nil).Body.Bytes(), &snap))
	require.Len(t, snap.Delivery.Sinks, 2)
	assert.Equal(t, 40, snap.Delivery.Pending, "totals")
	assert.Equal(t, "db: dial tcp 10.0.0.5:5432: connection refused", snap.Delivery.LastError)
}

// /api/areas.geojson is json.Marshal's bytes of areasCollection, simplified
// or not, though written by the preview's encoder.
func TestAPIAreasIsTheCollectionsJSON(t *testing.T) {
	p, _ := demoData(t)
	s := NewServer(p, nil, Options{})
	for _, q := range []string{"", "?simplify=0"} {
		want, err := json.Marshal(areasCollection(p.Areas(), p.Indicators(), p.CurrentValues(), q == ""))
		require.NoError(t, err)
		rec := get(t, s, "/api/areas.geojson"+q, nil)
		require.Equal(t, 200, rec.Code)
		require.Equal(t, "application/geo+json", rec.Header().Get("Content-Type"))
		require.Equal(t, string(want), rec.Body.String(), "query %q", q)
	}
}
