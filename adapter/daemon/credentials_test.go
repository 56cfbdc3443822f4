package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/config"
)

// demoGeoSight starts a GeoSight fake serving the demo areas to one user;
// it returns the demo dir, the fake and its URL.
func demoGeoSight(t *testing.T, key, user, dataset string) (string, *fake.Server, string) {
	t.Helper()
	demo, err := filepath.Abs("../../fixtures/demo")
	require.NoError(t, err)
	as, _, err := areas.LoadFiles([]config.GeoFile{{Path: filepath.Join(demo, "areas.geojson"), Level: -1,
		CodeProperty: "ucode", NameProperty: "name", LevelProperty: "admin_level", ParentProperty: "parent"}})
	require.NoError(t, err)
	gs := fake.New(fake.Options{Users: []fake.User{{Key: key, Email: user, Role: fake.Creator}},
		Datasets: []fake.Dataset{{UUID: dataset, Areas: as}}})
	u := gs.Start()
	t.Cleanup(gs.Close)
	return demo, gs, u
}

// TestReloadRotatesAPIKey: GeoSight accepts only the new key; after the key
// file is rewritten, a reload must make deliveries use it.
func TestReloadRotatesAPIKey(t *testing.T) {
	const newKey, user, ds = "new-key-7c1d", "ops@example.org", "6f3a2c1e-0000-4000-8000-0000000000ab"
	demo, gs, u := demoGeoSight(t, newKey, user, ds)

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "api-key")
	require.NoError(t, os.WriteFile(keyFile, []byte("old-key-revoked\n"), 0o600))
	cfgPath := filepath.Join(dir, "hazardsync.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(quakeConfig(demo,
		fmt.Sprintf("{url: %q, user: %q, dataset: %q, api_key_file: api-key, max_retries: 0}", u, user, ds))), 0o644))
	t.Setenv(config.EnvAPIKey, "")
	cfg, err := config.Load(cfgPath, config.Overrides{StateDir: filepath.Join(dir, "state")})
	require.NoError(t, err)
	log := slog.New(slog.DiscardHandler)
	d, err := New(context.Background(), cfg, Options{ConfigPath: cfgPath, Logger: log,
		Overrides: config.Overrides{StateDir: filepath.Join(dir, "state")}})
	require.NoError(t, err)
	defer d.Close()

	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.Error(t, err, "the revoked key must be refused")
	require.Empty(t, gs.Values())

	require.NoError(t, os.WriteFile(keyFile, []byte(newKey+"\n"), 0o600))
	require.NoError(t, d.ReloadConfig(context.Background()))
	res, err := d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	require.Zero(t, res.Summary.Pending)
	require.NotEmpty(t, gs.Values(), "values delivered with the rotated key")
}

// TestReloadContextLayerHazardTypes: a hot edit of
// geosight.context_layers.hazard_types must reach the client that publishes
// the layers (it used to be ignored until restart: the reload compared
// hand-picked GeoSight fields).
func TestReloadContextLayerHazardTypes(t *testing.T) {
	const key, user, ds = "key-4b2e", "ops@example.org", "6f3a2c1e-0000-4000-8000-0000000000ac"
	demo, gs, u := demoGeoSight(t, key, user, ds)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hazardsync.yaml")
	write := func(types string) {
		require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
geosight: {url: %q, user: %q, dataset: %q, max_retries: 0,
           context_layers: {enabled: true, name_prefix: "HS ", hazard_types: [%s]}}
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
`, u, user, ds, types, filepath.Join(demo, "areas.geojson"), filepath.Join(demo, "baseline.csv"), demo)), 0o644))
	}
	layerNames := func() []string {
		var out []string
		for _, l := range gs.ContextLayers() {
			out = append(out, l.Name)
		}
		return out
	}
	write("earthquake")
	t.Setenv(config.EnvAPIKey, key)
	ov := config.Overrides{StateDir: filepath.Join(dir, "state")}
	cfg, err := config.Load(cfgPath, ov)
	require.NoError(t, err)
	d, err := New(context.Background(), cfg, Options{ConfigPath: cfgPath, Logger: slog.New(slog.DiscardHandler), Overrides: ov})
	require.NoError(t, err)
	defer d.Close()

	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{"HS earthquake"}, layerNames())

	write("earthquake, flood")
	require.NoError(t, d.ReloadConfig(context.Background()))
	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"HS earthquake", "HS flood"}, layerNames(), "the edited hazard types are published without a restart")
}

// TestSameClientConfigSeesEveryField: changing any single field of the
// geosight section, however deep, makes the settings differ. It walks the
// struct by reflection, so a field added later is covered too.
func TestSameClientConfigSeesEveryField(t *testing.T) {
	base := config.GeoSight{URL: "https://gs.example.org", User: "a@b", Dataset: "d", Concurrency: 4,
		ContextLayers: config.ContextLayers{Enabled: true, HazardTypes: []string{"flood"}}}
	sameClientConfig := func(a, b config.GeoSight) bool {
		return sameSink(config.SinkSpec{Kind: config.GeoSightKind, Plugin: &a}, config.SinkSpec{Kind: config.GeoSightKind, Plugin: &b})
	}
	require.True(t, sameClientConfig(base, base))
	edited := base
	edited.ContextLayers.HazardTypes = append([]string(nil), base.ContextLayers.HazardTypes...)
	n := 0
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if f.Kind() == reflect.Struct {
				walk(name+".", f)
				continue
			}
			saved := reflect.New(f.Type()).Elem()
			saved.Set(f)
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Int, reflect.Int64:
				f.SetInt(f.Int() + 1)
			case reflect.Float64:
				f.SetFloat(f.Float() + 1)
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Slice:
				f.Set(reflect.Append(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()+1), f), reflect.New(f.Type().Elem()).Elem()))
			default:
				t.Fatalf("%s: kind %s not covered by this test", name, f.Kind())
			}
			n++
			assert.False(t, sameClientConfig(base, edited), "changing %s must rebuild the client", name)
			f.Set(saved)
			require.True(t, sameClientConfig(base, edited), "restoring %s", name)
		}
	}
	walk("", reflect.ValueOf(&edited).Elem())
	require.Greater(t, n, 15)
}

// quakeConfig is a small config on the demo's areas and USGS feed with one
// indicator, delivering to the given geosight: section.
func quakeConfig(demo, geosight string) string {
	return fmt.Sprintf(`
geosight: %s
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
`, geosight, filepath.Join(demo, "areas.geojson"), filepath.Join(demo, "baseline.csv"), demo)
}
