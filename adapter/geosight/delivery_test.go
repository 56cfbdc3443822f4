package geosight_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// manyValues is n values over the demo admin1 codes and successive days.
func manyValues(sc string, n int) []indicators.Value {
	codes := []string{"DML_0001_V1", "DML_0002_V1", "DML_0003_V1", "DML_0004_V1"}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	out := make([]indicators.Value, n)
	for i := range out {
		out[i] = indicators.Value{Indicator: sc, Code: codes[i%4], AdminLevel: 1,
			Date: indicators.DateOf(start.AddDate(0, 0, i/4), nil), Type: indicators.Float, Number: float64(i),
			Attributes: map[string]any{"i": float64(i)}}
	}
	return out
}

// fakeClient serves f, builds a client for it with cfg changed by mut, and
// ensures one Float indicator with shortcode sc.
func fakeClient(t *testing.T, f *fake.Server, sc string, mut func(*config.GeoSight)) (*geosight.Client, indicators.Definition) {
	t.Helper()
	url := f.Start()
	t.Cleanup(f.Close)
	cfg := baseConfig(url)
	mut(&cfg)
	tg := &target{fake: f, cfg: cfg, logs: &syncBuffer{}}
	c := tg.newClient(t, cfg)
	d := indicators.Definition{Shortcode: sc, Name: sc, Type: indicators.Float}
	require.NoError(t, c.Ensure(context.Background(), []indicators.Definition{d}))
	return c, d
}

func TestDeliveryUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault run takes a few seconds")
	}
	f := newFake()
	c, d := fakeClient(t, f, "FAULTS", func(cfg *config.GeoSight) {
		cfg.Timeout = 500 * time.Millisecond // a 2 s stall is a timeout
		cfg.MaxRetries = 30
	})
	ctx := context.Background()
	_, err := c.Entities(ctx, 1) // warm nothing in particular; entities load inside Write
	require.NoError(t, err)

	f.SetFaults(fake.Faults{ErrorRate: 0.3, ResetRate: 0.1, StallRate: 0.03, Stall: 2 * time.Second})
	vals := manyValues(d.Shortcode, 200)
	col := newCollect()
	require.NoError(t, c.Write(ctx, vals, col.ack))
	f.SetFaults(fake.Faults{})

	stored := map[string]fake.StoredValue{}
	for _, sv := range f.Values() {
		k := sv.Shortcode + "|" + sv.Date + "|" + sv.GeomID
		_, dup := stored[k]
		require.False(t, dup, "one row per upsert key")
		stored[k] = sv
	}
	retried := 0
	for _, v := range vals {
		os := col.out[v.Key()]
		require.Len(t, os, 1, "acked exactly once: %s", v.Key())
		require.NoError(t, os[0].Err, "delivered despite faults: %s", v.Key())
		retried += os[0].Retries
		sv, ok := stored[v.Key().String()]
		require.True(t, ok, "acked value %s is stored", v.Key())
		assert.Equal(t, v.Number, *sv.Number)
	}
	assert.Len(t, stored, len(vals))
	assert.Greater(t, retried, 0, "faults were actually injected")
	t.Logf("200 values under 30%% 5xx, 10%% resets, 3%% 2s stalls: %d retries, %d POSTs", retried,
		f.RequestCount("POST", "/api/v1/data-browser/"))
}

func TestWriteNotAckedWhenRetriesExhausted(t *testing.T) {
	f := newFake()
	url := f.Start()
	defer f.Close()
	cfg := baseConfig(url)
	cfg.MaxRetries = 2
	tg := &target{fake: f, cfg: cfg, logs: &syncBuffer{}}
	c := tg.newClient(t, cfg)
	ctx := context.Background()
	d := indicators.Definition{Shortcode: "DOWN", Name: "Down", Type: indicators.Float}
	require.NoError(t, c.Ensure(ctx, []indicators.Definition{d}))
	require.NoError(t, c.Write(ctx, manyValues("DOWN", 1), func(adapter.Outcome) {})) // loads entities
	f.SetFaults(fake.Faults{ErrorRate: 1})
	col := newCollect()
	require.NoError(t, c.Write(ctx, manyValues("DOWN", 4), col.ack))
	for _, o := range col.all() {
		require.Error(t, o.Err)
		assert.Equal(t, adapter.Retryable, adapter.ClassOf(o.Err))
		assert.Equal(t, 2, o.Retries)
		assert.Contains(t, o.Err.Error(), "HTTP 502")
		assert.Contains(t, o.Err.Error(), "key="+o.Value.Key().String())
	}
	assert.Len(t, col.all(), 4)
}

func TestRolesAndOwnership(t *testing.T) {
	f := newFake()
	url := f.Start()
	defer f.Close()
	ctx := context.Background()
	tg := &target{fake: f, logs: &syncBuffer{}}
	as := func(key, email string) *target {
		cfg := baseConfig(url)
		cfg.APIKey, cfg.User = config.Secret(key), email
		return &target{fake: f, cfg: cfg, logs: tg.logs, client: tg.newClient(t, cfg)}
	}
	creator := as(testKey, testUser)
	d := indicators.Definition{Shortcode: "ROLE", Name: "Role", Type: indicators.Float}
	require.NoError(t, creator.client.Ensure(ctx, []indicators.Definition{d}))
	id, _ := creator.client.IndicatorID("ROLE")

	cases := []struct {
		who, key, email string
		method, path    string
		body            any
		status          int
		detail          string
	}{
		{"viewer creates", "viewer-key", "viewer@example.org", "POST", "indicators/", map[string]any{"name": "v"}, 403, "You do not have permission to perform this action."},
		{"contributor creates", "contrib-key", "contrib@example.org", "POST", "context-layers/", map[string]any{"name": "v"}, 403, "You do not have permission to perform this action."},
		{"contributor patches another's", "contrib-key", "contrib@example.org", "PATCH", fmt.Sprintf("indicators/%d/", id), map[string]any{"name": "x"}, 403, "You don't have permission to access this resource"},
		{"creator deletes another's", "other-creator-key", "other@example.org", "DELETE", fmt.Sprintf("indicators/%d/", id), nil, 403, "You don't have permission to access this resource"},
		{"admin patches", "admin-key", "admin@example.org", "PATCH", fmt.Sprintf("indicators/%d/", id), map[string]any{"description": "by admin"}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.who, func(t *testing.T) {
			u := as(tc.key, tc.email)
			_, err := u.client.Do(ctx, tc.method, tc.path, nil, tc.body, "")
			if tc.status == 200 {
				require.NoError(t, err)
				return
			}
			he := httpErr(t, err, tc.status)
			assert.Equal(t, tc.detail, he.Detail)
			assert.Equal(t, adapter.Auth, adapter.ClassOf(err))
		})
	}
	// Any authenticated user may write values (no object check upstream).
	viewer := as("viewer-key", "viewer@example.org")
	col := newCollect()
	require.NoError(t, viewer.client.Write(ctx, manyValues("ROLE", 1), col.ack))
	assert.NoError(t, col.all()[0].Err)
}

func TestRedirectOnPostNotFollowed(t *testing.T) {
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
			_, _ = w.Write([]byte(`{"results":[]}`))
			return
		}
		http.Redirect(w, r, "/elsewhere/", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	tg := &target{cfg: baseConfig(srv.URL), logs: &syncBuffer{}}
	c := tg.newClient(t, tg.cfg)
	_, err := c.Do(context.Background(), http.MethodPost, "data-browser/", nil, map[string]any{}, "k")
	he := httpErr(t, err, http.StatusMovedPermanently)
	assert.Contains(t, he.Body, "refused")
	assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	assert.Zero(t, gets.Load(), "a redirected POST must not become a GET")
}

func TestRetryAfterAndRetryable(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("201"))
		}
	}))
	defer srv.Close()
	tg := &target{cfg: baseConfig(srv.URL), logs: &syncBuffer{}}
	c := tg.newClient(t, tg.cfg)
	start := time.Now()
	resp, err := c.Do(context.Background(), http.MethodPost, "data-browser/", nil, map[string]any{}, "")
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After honoured")
}

func TestSecretNeverLeaks(t *testing.T) {
	f := newFake()
	url := f.Start()
	tg := &target{fake: f, cfg: baseConfig(url), logs: &syncBuffer{}}
	c := tg.newClient(t, tg.cfg)
	ctx := context.Background()
	var errs []string
	record := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}
	d := indicators.Definition{Shortcode: "SECRET", Name: "Secret", Type: indicators.Float}
	record(c.Ensure(ctx, []indicators.Definition{d}))
	f.SetFaults(fake.Faults{ErrorRate: 0.5, ResetRate: 0.2})
	col := newCollect()
	record(c.Write(ctx, manyValues("SECRET", 20), col.ack))
	f.SetFaults(fake.Faults{})
	bad := tg.cfg
	bad.APIKey = config.Secret(testKey + "x")
	record(tg.newClient(t, bad).Write(ctx, manyValues("SECRET", 2), col.ack))
	f.Close() // transport errors
	record(c.Write(ctx, manyValues("SECRET", 2), col.ack))
	_, err := c.Values(ctx, geosight.ValueFilter{})
	record(err)
	for _, o := range col.all() {
		record(o.Err)
		errs = append(errs, fmt.Sprint(o))
	}
	errs = append(errs, fmt.Sprintf("%+v %#v", tg.cfg, tg.cfg))
	require.NotEmpty(t, errs)
	for _, s := range append(errs, tg.logs.String()) {
		assert.NotContains(t, s, testKey)
	}
	assert.True(t, strings.Contains(tg.logs.String(), "retrying"), "debug logs were captured")
}

// Against a server with the real one's speed curve (4 workers on 2 cores,
// a short listen queue) and a ceiling of 16, the client does not keep 16 in
// flight: it settles near what the server can use, and everything arrives.
func TestAdaptiveConcurrencyAgainstRealSpeedCurve(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of modelled server time")
	}
	f := newFake()
	m := fake.RealGeoSight.Scaled(0.1)
	m.Queue = 4
	f.SetFaults(fake.Faults{Model: &m})
	c, d := fakeClient(t, f, "CURVE", func(cfg *config.GeoSight) {
		cfg.Concurrency = 16
		cfg.MaxRetries = 10
	})
	ctx := context.Background()
	col := newCollect()
	require.NoError(t, c.Write(ctx, manyValues(d.Shortcode, 240), col.ack))
	for _, o := range col.all() {
		assert.NoError(t, o.Err)
	}
	assert.Len(t, col.all(), 240)
	// Near the server's 4 workers (±2 for probing and a loaded test
	// machine's noise), far below the ceiling.
	assert.LessOrEqual(t, c.Concurrency(), 6, "not the ceiling of 16")
	assert.Len(t, f.Values(), 240)
}
