package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
)

// synced runs the demo once into a fresh state dir.
func synced(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	code, _, errOut := run(t, "once", "-c", demo(t), "--state-dir", dir, "--http-addr", "")
	require.Equal(t, 0, code, errOut)
	return dir
}

func TestStateListResendPurge(t *testing.T) {
	dir := synced(t)
	st := func(args ...string) (int, string, string) {
		return run(t, append(append([]string{"state"}, args...), "-c", demo(t), "--state-dir", dir, "--http-addr", "")...)
	}
	code, out, errOut := st("list", "--status", "delivered")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Greater(t, len(lines), 3)
	assert.Equal(t, []string{"SINK", "STATUS", "INDICATOR", "AREA", "DATE", "VALUE", "WHEN", "ANSWER"}, strings.Fields(lines[0]))
	row := strings.Fields(lines[1])
	assert.Equal(t, "geosight", row[0], "the demo's geosight section is the sink named geosight")
	assert.Equal(t, "delivered", row[1])
	_, err := time.Parse(time.RFC3339, row[6])
	assert.NoError(t, err, "delivered rows say when: %q", lines[1])
	assert.Equal(t, "accepted", row[7])
	assert.Regexp(t, `^\d+ delivered, 0 pending, 0 rejected$`, lines[len(lines)-1])
	indicator, area := row[2], row[3]
	code, out, _ = st("list", "--status", "delivered", "--sink", "nosuch")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "0 delivered, 0 pending, 0 rejected", "another sink's records are its own")

	code, out, _ = st("list", "--indicator", indicator, "--area", area, "--json")
	require.Equal(t, 0, code)
	var rec state.Record
	require.NoError(t, json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &rec))
	assert.Equal(t, indicator, rec.Value.Indicator)
	assert.Equal(t, area, rec.Value.Code)

	code, _, errOut = st("resend")
	assert.Equal(t, 2, code, "resend needs to be told what")
	assert.Contains(t, errOut, "--all")
	code, _, _ = st("resend", "--sink", "geosight")
	assert.Equal(t, 2, code, "a sink alone is not a selection of values")
	code, out, _ = st("resend", "--area", area)
	require.Equal(t, 0, code)
	assert.Regexp(t, `^queued [1-9]\d* values`, out)
	code, out, _ = st("list", "--status", "pending")
	require.Equal(t, 0, code)
	assert.Contains(t, out, area)

	code, out, _ = st("purge", "--indicator", indicator)
	require.Equal(t, 0, code)
	assert.Regexp(t, `^purged [1-9]\d* delivered, \d+ pending, 0 rejected`, out)
	code, out, _ = st("list", "--indicator", indicator)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "0 delivered, 0 pending, 0 rejected")
	code, out, _ = st("purge", "--rejected")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "purged 0 delivered, 0 pending, 0 rejected")

	code, out, _ = st("check")
	require.Equal(t, 0, code)
	assert.Contains(t, out, ": ok")
}

// A damaged state: every command says so with the way out, none panics,
// and backup salvages what it can.
func TestDamagedStateCommands(t *testing.T) {
	dir := synced(t)
	path := filepath.Join(dir, state.FileName)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b[8192+r.IntN(len(b)-8192)] = byte(r.UintN(256))
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))

	code, out, errOut := run(t, "once", "-c", demo(t), "--state-dir", dir, "--http-addr", "")
	assert.Equal(t, 1, code)
	assert.NotContains(t, out+errOut, "goroutine", "no stack trace")
	assert.Contains(t, errOut, path+" is damaged")
	assert.Contains(t, errOut, "hazardsync state check")

	code, out, _ = run(t, "state", "check", "-c", demo(t), "--state-dir", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, path+" is damaged:")
	assert.Contains(t, out, "hazardsync state backup")

	bak := filepath.Join(t.TempDir(), "salvaged.db")
	code, out, errOut = run(t, "state", "backup", "-c", demo(t), "--state-dir", dir, "-o", bak)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "SALVAGED")
	// The salvaged copy is a healthy state a daemon can start from.
	fresh := t.TempDir()
	require.NoError(t, copyFile(bak, filepath.Join(fresh, state.FileName)))
	// (Damage can also leave a record that still decodes with a wrong
	// number in it; GeoSight may reject such a value, so the exit code is
	// not asserted: the sync runs and reports.)
	_, out, errOut = run(t, "once", "-c", demo(t), "--state-dir", fresh, "--http-addr", "")
	assert.NotContains(t, errOut, "damaged")
	assert.Contains(t, lastLine(out), "events=")
}

// While the daemon runs it holds the lock: backup, list and check go
// through its status server; resend refuses with the reason.
func TestStateWhileDaemonRuns(t *testing.T) {
	dir := synced(t)
	cfg, err := config.Load(demo(t), config.Overrides{StateDir: dir, HTTPAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, cfg, daemon.Options{ConfigPath: demo(t), Overrides: config.Overrides{StateDir: dir, HTTPAddr: "127.0.0.1:0"}})
	require.NoError(t, err)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, daemon.RunOptions{Ready: ready, ShutdownGrace: time.Second}) }()
	t.Cleanup(func() { cancel(); <-done; d.Close() })
	addr := strings.TrimPrefix(<-ready, "http://")
	args := []string{"-c", demo(t), "--state-dir", dir, "--http-addr", addr, "--wait", "100ms"}

	bak := filepath.Join(t.TempDir(), "live.db")
	code, out, errOut := run(t, append([]string{"state", "backup", "-o", bak}, args...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "copied by the running daemon at "+addr)
	n, err := checkCopy(bak)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 0)

	code, out, errOut = run(t, append([]string{"state", "list", "--status", "delivered"}, args...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "# read from a copy from the running daemon")
	assert.Contains(t, out, "delivered")

	code, out, _ = run(t, append([]string{"state", "check"}, args...)...)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "ok (checked a copy from the running daemon")

	code, _, errOut = run(t, append([]string{"state", "resend", "--all"}, args...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "stop the daemon first")
}

func TestConfigShow(t *testing.T) {
	t.Setenv(config.EnvAPIKey, "sekrit-key-0123456789")
	t.Setenv("HAZARDSYNC_GEOSIGHT_TIMEOUT", "45s")
	code, out, errOut := run(t, "config", "show", "-c", demo(t), "--state-dir", "/tmp/x")
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, out, "sekrit")
	assert.Contains(t, out, "# GeoSight API key: [redacted]")
	assert.Contains(t, out, "# from the environment: HAZARDSYNC_GEOSIGHT_TIMEOUT, HAZARDSYNC_GEOSIGHT_API_KEY")
	assert.Contains(t, out, "timeout: 45s")
	assert.Contains(t, out, "state_dir: /tmp/x")
	// Defaults the file leaves out are shown, triggers merged with them.
	assert.Contains(t, out, "heavy_rain:")
	assert.Contains(t, out, "clear_after: 12h")
	assert.Contains(t, out, "readiness: 120h")
	assert.Contains(t, out, "max_retries: 5")
	// It is YAML that reads back into the same config.
	p := filepath.Join(testDemoDir(t), ".test-show-"+filepath.Base(t.TempDir())+".yaml")
	require.NoError(t, os.WriteFile(p, []byte(out), 0o644))
	t.Cleanup(func() { os.Remove(p) })
	code, _, errOut = run(t, "validate", "-c", p)
	assert.Equal(t, 0, code, errOut)
}

func testDemoDir(t *testing.T) string { return filepath.Dir(demo(t)) }

// Source keys come from the environment too (the source kinds are
// registered here, not in the config package's tests).
func TestSourceKeysFromTheEnvironment(t *testing.T) {
	t.Setenv("HAZARDSYNC_SOURCES_USGS_MIN_MAGNITUDE", "bogus")
	t.Setenv("HAZARDSYNC_SOURCES_GDACS_ENABLED", "false")
	code, _, errOut := run(t, "validate", "-c", demo(t))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `sources.usgs.min_magnitude: "bogus" is not a number (set by HAZARDSYNC_SOURCES_USGS_MIN_MAGNITUDE)`)
	t.Setenv("HAZARDSYNC_SOURCES_USGS_MIN_MAGNITUDE", "6.1")
	code, out, errOut := run(t, "config", "show", "-c", demo(t))
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "min_magnitude: 6.1")
	assert.Regexp(t, `(?s)gdacs:\n(\s+\S.*\n)*?\s+enabled: false`, out)
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://feeds.example.org/x.geojson":                "https://feeds.example.org/x.geojson",
		"https://a.example.org/q?map_key=abc123&days=1":      "https://a.example.org/q?days=1&map_key=%5Bredacted%5D",
		"https://user:pw@geosight.example.org/":              "https://%5Bredacted%5D@geosight.example.org/",
		"https://a.example.org/arcgis?token=t0k3n&f=geojson": "https://a.example.org/arcgis?f=geojson&token=%5Bredacted%5D",
		"not a url with a ?key=value":                        "not a url with a ?key=value",
	} {
		assert.Equal(t, want, maskURL(in), in)
	}
}
