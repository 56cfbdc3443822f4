package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
)

// TestReloadRotatesAPIKey: GeoSight accepts only the new key; after the key
// file is rewritten, a reload must make deliveries use it.
func TestReloadRotatesAPIKey(t *testing.T) {
	demo, err := filepath.Abs("../../fixtures/demo")
	require.NoError(t, err)
	as, _, err := areas.LoadFiles([]config.GeoFile{{Path: filepath.Join(demo, "areas.geojson"), Level: -1,
		CodeProperty: "ucode", NameProperty: "name", LevelProperty: "admin_level", ParentProperty: "parent"}})
	require.NoError(t, err)
	const newKey, user, ds = "new-key-7c1d", "ops@example.org", "6f3a2c1e-0000-4000-8000-0000000000ab"
	gs := fake.New(fake.Options{Users: []fake.User{{Key: newKey, Email: user, Role: fake.Creator}},
		Datasets: []fake.Dataset{{UUID: ds, Areas: as}}})
	u := gs.Start()
	defer gs.Close()

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api-key")
	require.NoError(t, os.WriteFile(keyFile, []byte("old-key-revoked\n"), 0o600))
	cfgPath := filepath.Join(dir, "hazardsync.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
geosight: {url: %q, user: %q, dataset: %q, api_key_file: api-key, max_retries: 0}
geographies:
  files: [{path: %q, code_property: ucode, level_property: admin_level, parent_property: parent}]
baseline: {file: %q}
sources:
  usgs: {url: "file://%s/feeds/usgs/summary.geojson"}
indicators:
  - {shortcode: HS_EQ_ALERT, name: Earthquake alert level, type: String, codes: [none, green, orange, red],
     recipe: alert_level, params: {hazard_types: [earthquake], phase: observed}}
state_dir: state
http: {listen: ""}
`, u, user, ds, filepath.Join(demo, "areas.geojson"), filepath.Join(demo, "baseline.csv"), demo)), 0o644))
	t.Setenv(config.EnvAPIKey, "")
	cfg, err := config.Load(cfgPath, config.Overrides{StateDir: filepath.Join(dir, "state")})
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	d, err := New(context.Background(), cfg, Options{ConfigPath: cfgPath, Logger: log,
		Overrides: config.Overrides{StateDir: filepath.Join(dir, "state")}})
	require.NoError(t, err)
	defer d.Close()
	d.swappableSink()

	_, err = d.Once(context.Background(), adapter.SyncOptions{})
	require.Error(t, err, "the revoked key must be refused")
	require.Empty(t, gs.Values())

	require.NoError(t, os.WriteFile(keyFile, []byte(newKey+"\n"), 0o600))
	require.NoError(t, d.ReloadConfig(context.Background()))
	d.refreshCredentials()
	res, err := d.Once(context.Background(), adapter.SyncOptions{})
	require.NoError(t, err)
	require.Zero(t, res.Summary.Pending)
	require.NotEmpty(t, gs.Values(), "values delivered with the rotated key")
}
