package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/status"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// running is a daemon under test, serving on 127.0.0.1:0.
type running struct {
	d    *daemon.Daemon
	addr string
	path string
	hup  chan os.Signal
	logs *testutil.SyncBuffer
	stop func()
}

// startDemo runs the demo config (edited) as `hazardsync run` does. The
// config file lives beside the demo so its relative paths resolve.
func startDemo(t *testing.T, edit func(string) string, ro daemon.RunOptions) *running {
	t.Helper()
	dir := testutil.Fixture(t, "demo")
	orig, err := os.ReadFile(filepath.Join(dir, "hazardsync.yaml"))
	require.NoError(t, err)
	y := strings.Replace(string(orig), "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	if edit != nil {
		y = edit(y)
	}
	path := filepath.Join(dir, ".test-ops-"+filepath.Base(t.TempDir())+".yaml")
	require.NoError(t, os.WriteFile(path, []byte(y), 0o644))
	t.Cleanup(func() { os.Remove(path) })

	ov := config.Overrides{StateDir: t.TempDir()}
	cfg, err := config.Load(path, ov)
	require.NoError(t, err)
	logs := &testutil.SyncBuffer{}
	d, err := daemon.New(context.Background(), cfg, daemon.Options{ConfigPath: path, Overrides: ov,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, path: path, hup: make(chan os.Signal, 1), logs: logs}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	ro.Hup, ro.Ready = r.hup, ready
	if ro.ShutdownGrace == 0 {
		ro.ShutdownGrace = 2 * time.Second
	}
	go func() { done <- d.Run(ctx, ro) }()
	select {
	case r.addr = <-ready:
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not start")
	}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Error("daemon did not shut down")
			}
			d.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// remoteGeoSight points the demo at srv instead of the embedded fake, with
// the key read from keyFile.
func remoteGeoSight(srvURL, keyFile string) func(string) string {
	return func(y string) string {
		return strings.Replace(y, "  url: embedded", fmt.Sprintf(
			"  url: %s\n  api_key_file: %s\n  user: bot@example.org\n  timeout: 5m\n  max_retries: 0\n  #", srvURL, keyFile), 1)
	}
}

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
	return path
}

// TestForbiddenGeoSightShowsOnMetrics: GeoSight answers 403 to everything
// (a revoked key). /readyz stays 200 (the daemon serves with a valid
// config; /pull/ must stay in service), and /metrics says what is wrong:
// the sink is down, values failed and wait in the outbox. Every series the
// operating guide says to alert on exists from start-up.
func TestForbiddenGeoSightShowsOnMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"detail":"Invalid token."}`)
	}))
	defer srv.Close()
	key := writeFile(t, filepath.Join(t.TempDir(), "key"), "revoked-key-0123456789")
	r := startDemo(t, remoteGeoSight(srv.URL, key), daemon.RunOptions{})

	// From start-up, before any sync finished.
	_, m := httpGet(t, r.addr+"/metrics")
	for _, series := range []string{
		`hazardsync_config_reloads_total{result="failed"} 0`,
		`hazardsync_config_reloads_total{result="ok"} 0`,
		`hazardsync_source_fetch_errors_total{class="auth",source="usgs"} 0`,
		`hazardsync_source_fetch_errors_total{class="permanent",source="gdacs"} 0`,
		`hazardsync_sink_values_total{outcome="rejected",sink="geosight"} 0`,
		`hazardsync_sink_values_total{outcome="failed",sink="geosight"}`,
		`hazardsync_outbox_depth{sink="geosight"}`,
		`hazardsync_sink_up{sink="geosight"} 0`,
		`hazardsync_sink_last_success_timestamp_seconds{sink="geosight"} 0`,
		`hazardsync_source_up{source="cap"}`,
	} {
		assert.Contains(t, m, series, "exists from start-up")
	}

	eventually(t, "a sync that failed to deliver", 60*time.Second, func() bool {
		return r.d.Runner.LastRun().Failed > 0
	})
	pending := r.d.Runner.LastRun().Pending
	require.Positive(t, pending)
	_, m = httpGet(t, r.addr+"/metrics")
	assert.Contains(t, m, fmt.Sprintf(`hazardsync_outbox_depth{sink="geosight"} %d`, pending))
	assert.Contains(t, m, `hazardsync_sink_up{sink="geosight"} 0`)
	assert.NotContains(t, m, `hazardsync_sink_values_total{outcome="failed",sink="geosight"} 0`)
	code, body := httpGet(t, r.addr+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)

	// One INFO line per sync with the counts and seconds.
	logs := r.logs.String()
	assert.Regexp(t, `level=INFO msg="sync done" events=\d+ values=\d+ sent=0 unchanged=\d+ rejected=0 failed=\d+ pending=\d+ duration_seconds=\d`, logs)
	assert.NotContains(t, logs, "revoked-key-0123456789")
}

// hungGeoSight accepts requests and answers none until release (then 503,
// as an overloaded instance would). seen, when set, sees each request;
// arrived gets a signal when one comes in.
func hungGeoSight(t *testing.T, seen func(*http.Request)) (srv *httptest.Server, arrived <-chan struct{}, release func()) {
	t.Helper()
	in := make(chan struct{}, 1)
	gate := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if seen != nil {
			seen(req)
		}
		select {
		case in <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	// Release before Close: Close waits for handlers to return.
	t.Cleanup(srv.Close)
	t.Cleanup(release)
	return srv, in, release
}

// TestReloadBesideHungSync: GeoSight accepts connections and never
// answers. SIGHUP still reloads at once (the sync runs beside the loop),
// the rotated key is used from the next delivery on, and a routine reload
// warns about nothing.
func TestReloadBesideHungSync(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv, arrived, release := hungGeoSight(t, func(req *http.Request) {
		mu.Lock()
		keys = append(keys, req.Header.Get("Authorization"))
		mu.Unlock()
	})
	key := writeFile(t, filepath.Join(t.TempDir(), "key"), "first-key-0123456789")
	r := startDemo(t, remoteGeoSight(srv.URL, key), daemon.RunOptions{})

	select {
	case <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("no delivery started")
	}
	before := r.d.ReloadState().LastSuccess
	// Rotate the key (the file is outside the config's directory: only
	// SIGHUP can pick this up) and reload while the delivery hangs.
	writeFile(t, key, "second-key-0123456789")
	hup := time.Now()
	r.hup <- os.Interrupt
	eventually(t, "the reload while GeoSight hangs", 10*time.Second, func() bool {
		return r.d.ReloadState().LastSuccess.After(before)
	})
	t.Logf("SIGHUP applied %s after the signal, GeoSight still hanging", time.Since(hup).Round(time.Millisecond))

	release()
	eventually(t, "a delivery with the rotated key", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			if strings.Contains(k, "second-key-0123456789") {
				return true
			}
		}
		return false
	})
	r.stop()
	logs := r.logs.String()
	assert.Contains(t, logs, "level=INFO msg=\"config reloaded\"")
	assert.NotContains(t, logs, "still going", "a routine reload warns about nothing")
	assert.NotContains(t, logs, "0123456789", "keys never in logs")
}

// TestValidReloadIsQuiet: an edit that changes a source's schedule
// restarts that job and triggers the others; no line above INFO.
func TestValidReloadIsQuiet(t *testing.T) {
	r := startDemo(t, nil, daemon.RunOptions{})
	eventually(t, "the first sync", 60*time.Second, func() bool { return r.d.Runner.LastRun().Values > 0 })
	b, err := os.ReadFile(r.path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(r.path, []byte(strings.Replace(string(b), "interval: 5m", "interval: 7m", 1)), 0o644))
	eventually(t, "the applied reload", 20*time.Second, func() bool {
		return r.d.Runner.Config().Sources["usgs"].Interval == 7*time.Minute
	})
	time.Sleep(time.Second) // the restarted and triggered fetches run
	r.stop()
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			assert.NotContains(t, line, "still going", "routine reload logged: %s", line)
		}
	}
	assert.Contains(t, r.logs.String(), `msg="config reloaded"`)
}

// TestStatusServerClosesIdleConnections: a keep-alive connection left idle
// is closed by the server (it never was: 50 of 50 stayed open for 200 s).
func TestStatusServerClosesIdleConnections(t *testing.T) {
	r := startDemo(t, nil, daemon.RunOptions{HTTPTimeouts: statusTimeouts(300 * time.Millisecond)})
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.addr, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = conn.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the server closes the idle connection")
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestPullFeedToken: with http.token_file set, /pull/ is no longer open;
// GeoSight's importer uses the separate pull token in its URL, which never
// reaches the logs.
func TestPullFeedToken(t *testing.T) {
	dir := t.TempDir()
	statusTok := writeFile(t, filepath.Join(dir, "status-token"), "status-token-5f1c2a\n")
	pullTok := writeFile(t, filepath.Join(dir, "pull-token"), "pull-token-8e3b7d\n")
	r := startDemo(t, func(y string) string {
		return strings.Replace(y, "  listen: 127.0.0.1:0", fmt.Sprintf("  listen: 127.0.0.1:0\n  token_file: %s\n  pull_token_file: %s", statusTok, pullTok), 1)
	}, daemon.RunOptions{})
	eventually(t, "the first sync", 60*time.Second, func() bool { return r.d.Runner.LastRun().Values > 0 })

	cases := []struct {
		name string
		path string
		hdr  []string
		want int
	}{
		{"page without token", "/", nil, http.StatusUnauthorized},
		{"pull without token", "/pull/", nil, http.StatusUnauthorized},
		{"pull with a wrong token", "/pull/?token=pull-token-8e3b7X", nil, http.StatusUnauthorized},
		{"the status token is not for URLs", "/pull/?token=status-token-5f1c2a", nil, http.StatusUnauthorized},
		{"pull with the pull token", "/pull/?indicator=HS_EQ_ALERT&token=pull-token-8e3b7d", nil, http.StatusOK},
		{"pull with the status bearer", "/pull/", []string{"Authorization", "Bearer status-token-5f1c2a"}, http.StatusOK},
		{"page with the pull token", "/", []string{"Authorization", "Bearer pull-token-8e3b7d"}, http.StatusUnauthorized},
		{"healthz stays open", "/healthz", nil, http.StatusOK},
	}
	for _, c := range cases {
		code, body := httpGet(t, r.addr+c.path, c.hdr...)
		assert.Equal(t, c.want, code, "%s: %s", c.name, body)
		assert.NotContains(t, body, "pull-token-8e3b7d", c.name)
	}
	r.stop()
	assert.NotContains(t, r.logs.String(), "pull-token-8e3b7", "the pull token never reaches the logs")
	assert.NotContains(t, r.logs.String(), "status-token-5f1c2a")
}

func statusTimeouts(idle time.Duration) status.Timeouts { return status.Timeouts{Idle: idle} }

// TestShutdownWithHungGeoSight: SIGTERM while a delivery hangs ends within
// the grace period (plus the HTTP server's own shutdown), values stay queued.
func TestShutdownWithHungGeoSight(t *testing.T) {
	srv, arrived, _ := hungGeoSight(t, nil)
	key := writeFile(t, filepath.Join(t.TempDir(), "key"), "hung-key-0123456789")
	r := startDemo(t, remoteGeoSight(srv.URL, key), daemon.RunOptions{ShutdownGrace: time.Second})
	select {
	case <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatal("no delivery started")
	}
	start := time.Now()
	r.stop()
	// A hang would never end; 30 s leaves a loaded test machine room.
	assert.Less(t, time.Since(start), 30*time.Second, "shutdown is bounded by the grace period")
}
