package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/config"
)

// TestReloadAddsAndRemovesASink: a reload that adds a sinks: entry builds
// only that sink (the geosight one is kept as it was) and the new sink gets
// every current value, the other nothing again; removing it stops delivery
// to it.
func TestReloadAddsAndRemovesASink(t *testing.T) {
	const key, user, ds = "key-9a1c", "ops@example.org", "6f3a2c1e-0000-4000-8000-0000000000ad"
	demo, gs, u := demoGeoSight(t, key, user, ds)
	_, mirror, mu := demoGeoSight(t, key, user, ds)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mirror-key"), []byte(key+"\n"), 0o600))
	cfgPath := filepath.Join(dir, "hazardsync.yaml")
	base := quakeConfig(demo, fmt.Sprintf("{url: %q, user: %q, dataset: %q, max_retries: 0}", u, user, ds))
	withMirror := base + fmt.Sprintf("sinks:\n  mirror: {type: geosight, url: %q, user: %q, dataset: %q, api_key_file: mirror-key, max_retries: 0}\n", mu, user, ds)
	require.NoError(t, os.WriteFile(cfgPath, []byte(base), 0o644))
	t.Setenv(config.EnvAPIKey, key)
	ov := config.Overrides{StateDir: filepath.Join(dir, "state")}
	cfg, err := config.Load(cfgPath, ov)
	require.NoError(t, err)
	d, err := New(context.Background(), cfg, Options{ConfigPath: cfgPath, Logger: slog.New(slog.DiscardHandler), Overrides: ov})
	require.NoError(t, err)
	defer d.Close()

	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	n := len(gs.Values())
	require.Positive(t, n)
	posts := gs.RequestCount("POST", "/api/v1/data-browser/")
	primary := d.Runner.Sink(config.GeoSightSink)

	require.NoError(t, os.WriteFile(cfgPath, []byte(withMirror), 0o644))
	require.NoError(t, d.ReloadConfig(context.Background()))
	assert.Equal(t, []string{"geosight", "mirror"}, d.Runner.SinkNames())
	assert.Same(t, primary, d.Runner.Sink(config.GeoSightSink), "an unchanged section keeps its sink")
	res, err := d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, n, res.Summary.Sinks["mirror"].Sent, "the new sink gets every current value")
	assert.Zero(t, res.Summary.Sinks["geosight"].Sent)
	assert.Equal(t, posts, gs.RequestCount("POST", "/api/v1/data-browser/"), "nothing re-sent to GeoSight")
	assert.Equal(t, byKey(gs.Values()), byKey(mirror.Values()), "the mirror holds what GeoSight holds")
	names, err := d.Store.Sinks()
	require.NoError(t, err)
	assert.Equal(t, []string{"geosight", "mirror"}, names)

	require.NoError(t, os.WriteFile(cfgPath, []byte(base), 0o644))
	require.NoError(t, d.ReloadConfig(context.Background()))
	assert.Equal(t, []string{"geosight"}, d.Runner.SinkNames())
	assert.Same(t, primary, d.Runner.Sink(config.GeoSightSink))
}

// byKey is a fake's values by upsert key (ids depend on write order).
func byKey(vs []fake.StoredValue) map[string]string {
	out := map[string]string{}
	for _, v := range vs {
		k := v.Shortcode + "|" + v.Date + "|" + v.GeomID
		switch {
		case v.Text != nil:
			out[k] = *v.Text
		case v.Number != nil:
			out[k] = fmt.Sprint(*v.Number)
		default:
			out[k] = "null"
		}
	}
	return out
}
