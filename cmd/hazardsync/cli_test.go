package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func demo(t *testing.T) string { return testutil.Fixture(t, "demo", "hazardsync.yaml") }

func TestValidateDemoAndSample(t *testing.T) {
	code, out, _ := run(t, "validate", "-c", demo(t))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "valid (10 sources")

	// The printed sample validates as is (given the API key it asks for).
	code, sample, _ := run(t, "config", "sample")
	require.Equal(t, 0, code)
	p := filepath.Join(t.TempDir(), "hazardsync.yaml")
	require.NoError(t, os.WriteFile(p, []byte(sample), 0o644))
	t.Setenv(config.EnvAPIKey, "0123456789abcdef")
	code, out, errOut := run(t, "validate", "-c", p)
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "valid")
}

func TestInvalidConfigListsEveryErrorAndExits2(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`
geosight: {url: embedded, dataset: nope, concurrency: 99}
geographies: {files: [{path: missing.geojson}]}
sources:
  usgs: {interval: 5s, min_magnitud: 4}
indicators:
  - {shortcode: X, name: X, type: Float, recipe: nosuch}
`), 0o644))
	for _, cmd := range [][]string{{"validate"}, {"once"}, {"run"}} {
		code, _, errOut := run(t, append(cmd, "-c", p)...)
		assert.Equal(t, 2, code, "%v", cmd)
		for _, want := range []string{"geosight.dataset", "geosight.concurrency", "geographies.files[0].path",
			"sources.usgs.interval: must be >= 1m0s, got 5s", "sources.usgs.min_magnitud: unknown key", "indicators[0](X).recipe"} {
			assert.Contains(t, errOut, want, "%v", cmd)
		}
	}
	code, _, errOut := run(t, "nosuchcommand")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "unknown command")
	code, _, _ = run(t, "once", "--no-such-flag")
	assert.Equal(t, 2, code)
}

func TestOnceSummaryLineAndSecondRunSendsNothing(t *testing.T) {
	state := t.TempDir()
	code, out, errOut := run(t, "once", "-c", demo(t), "--state-dir", state, "--http-addr", "")
	require.Equal(t, 0, code, errOut)
	last := lastLine(out)
	for _, f := range []string{"events=45", "values=", "sent=", "unchanged=0", "rejected=0", "failed=0"} {
		assert.Contains(t, last, f)
	}
	code, out, _ = run(t, "once", "-c", demo(t), "--state-dir", state)
	require.Equal(t, 0, code)
	assert.Contains(t, lastLine(out), " sent=0 ")

	code, out, _ = run(t, "once", "-c", demo(t), "--state-dir", t.TempDir(), "--dry-run", "--out", filepath.Join(state, "preview"))
	require.Equal(t, 0, code)
	assert.Contains(t, out, "map.html")
	assert.Contains(t, lastLine(out), "dry_run=true")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// externalGeoSight starts a GeoSight fake the way a real instance would be
// reached (not embedded), and writes a config pointing at it.
func externalGeoSight(t *testing.T) (cfgPath, key string, srv *fake.Server) {
	t.Helper()
	key = "hs-test-key-7f3a9c2e5b8d1f4a6c0e9b2d"
	as, _, err := areas.LoadFiles([]config.GeoFile{{Path: testutil.Fixture(t, "demo", "areas.geojson"), Level: -1,
		CodeProperty: "ucode", NameProperty: "name", LevelProperty: "admin_level", ParentProperty: "parent"}})
	require.NoError(t, err)
	// Drop one district from GeoSight's dataset: values for it must be
	// reported as unknown, not sent, and the rest delivered.
	var known = as[:0:0]
	for _, a := range as {
		if a.Code != "DML_0001_0001_V1" {
			known = append(known, a)
		}
	}
	srv = fake.New(fake.Options{
		Users:    []fake.User{{Key: key, Email: "bot@example.org", Role: fake.Creator}},
		Datasets: []fake.Dataset{{UUID: "6f3a2c1e-0000-4000-8000-000000000001", Name: "demo", Areas: known}},
	})
	url := srv.Start()
	t.Cleanup(srv.Close)
	b, err := os.ReadFile(demo(t))
	require.NoError(t, err)
	y := strings.Replace(string(b), "url: embedded", "url: "+url+"\n  user: bot@example.org", 1)
	dir := testutil.Fixture(t, "demo")
	// Relative paths resolve against the config's directory: keep it there.
	cfgPath = filepath.Join(dir, ".test-external-"+filepath.Base(t.TempDir())+".yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(y), 0o644))
	t.Cleanup(func() { os.Remove(cfgPath) })
	return cfgPath, key, srv
}

func TestWrongAPIKeySurfaces403AndMarksNothing(t *testing.T) {
	cfg, _, srv := externalGeoSight(t)
	t.Setenv(config.EnvAPIKey, "not-the-right-key-00000000")
	state := t.TempDir()
	code, out, errOut := run(t, "once", "-c", cfg, "--state-dir", state)
	assert.Equal(t, 1, code)
	assert.Contains(t, out+errOut, "Invalid token.")
	assert.Empty(t, srv.Values(), "nothing reached GeoSight")
	assert.NotContains(t, out+errOut, "not-the-right-key")
	assert.Contains(t, lastLine(out), " sent=0 ")
	assert.NotContains(t, lastLine(out), " pending=0 ", "everything is still queued")
}

func TestAPIKeyNeverAppearsAndUnknownCodeIsReported(t *testing.T) {
	cfg, key, srv := externalGeoSight(t)
	t.Setenv(config.EnvAPIKey, key)
	state := t.TempDir()
	code, out, errOut := run(t, "once", "-c", cfg, "--state-dir", state, "--log-level", "debug")
	assert.Equal(t, 1, code, "a rejected value makes once exit non-zero")
	assert.NotContains(t, out+errOut, key, "the API key must never be printed")
	assert.Contains(t, out+errOut, "DML_0001_0001_V1", "the unknown ucode is reported")
	last := lastLine(out)
	assert.NotContains(t, last, "rejected=0")
	assert.Contains(t, last, "failed=0")
	assert.NotEmpty(t, srv.Values(), "the other values were delivered")
	for _, v := range srv.Values() {
		assert.NotEqual(t, "DML_0001_0001_V1", v.GeomID)
	}
}

func TestSourcesAndVersion(t *testing.T) {
	code, out, _ := run(t, "sources")
	require.Equal(t, 0, code)
	for _, k := range []string{"usgs", "gdacs", "nhc", "eonet", "firms", "openmeteo", "glofas", "cap", "layer"} {
		assert.Contains(t, "\n"+out, "\n"+k+"\n")
	}
	code, out, _ = run(t, "version")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "hazardsync ")
}
