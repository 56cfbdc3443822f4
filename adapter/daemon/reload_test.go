package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// TestHotReload runs the daemon and edits its config: an invalid edit is
// refused with every error kept for the status page while the old config
// keeps running; a valid edit (file watch or SIGHUP) is applied.
func TestHotReload(t *testing.T) {
	dir := testutil.Fixture(t, "demo")
	orig, err := os.ReadFile(filepath.Join(dir, "hazardsync.yaml"))
	require.NoError(t, err)
	// The copy lives beside the demo so its relative paths still resolve.
	path := filepath.Join(dir, ".test-reload-"+filepath.Base(t.TempDir())+".yaml")
	base := strings.Replace(string(orig), "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	require.NoError(t, os.WriteFile(path, []byte(base), 0o644))
	t.Cleanup(func() { os.Remove(path) })

	ov := config.Overrides{StateDir: t.TempDir()}
	cfg, err := config.Load(path, ov)
	require.NoError(t, err)
	d, err := daemon.New(context.Background(), cfg, daemon.Options{ConfigPath: path, Overrides: ov,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer d.Close()

	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, daemon.RunOptions{Hup: hup, Ready: ready, ShutdownGrace: 2 * time.Second}) }()
	var addr string
	select {
	case addr = <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not start")
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	eventually("the first sync", func() bool { return d.Runner.LastRun().Values > 0 })

	// An invalid edit: refused, every error listed, the old config runs on.
	bad := strings.Replace(base, "interval: 5m", "interval: 5s", 1)
	bad = strings.Replace(bad, "concurrency: 4", "concurrency: 0", 1)
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o644))
	eventually("the refused reload", func() bool { return !d.ReloadState().OK })
	st := d.ReloadState()
	joined := strings.Join(st.Errors, "\n")
	assert.Contains(t, joined, "sources.usgs.interval: must be >= 1m0s, got 5s")
	assert.Contains(t, joined, "geosight.concurrency: must be 1..32, got 0")
	assert.Equal(t, 5*time.Minute, d.Runner.Config().Sources["usgs"].Interval, "the last valid config keeps running")
	resp, err := http.Get(addr + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the previous config serves: still ready (the refusal is on the page and /metrics)")

	// A valid edit through SIGHUP: applied.
	good := strings.Replace(base, "interval: 5m", "interval: 7m", 1)
	require.NoError(t, os.WriteFile(path, []byte(good), 0o644))
	hup <- os.Interrupt // any signal on the channel means SIGHUP here
	eventually("the applied reload", func() bool {
		return d.ReloadState().OK && d.Runner.Config().Sources["usgs"].Interval == 7*time.Minute
	})

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not shut down")
	}
}
