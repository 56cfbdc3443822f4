package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	"github.com/hazardsync/hazardsync/adapter/runner"
)

// TestDemoBuildsItsProject: the demo's embedded GeoSight serves a project
// showing every configured indicator in its group and the footprints, built
// through the same editor endpoints `hazardsync dashboard --apply` uses; a
// second sync leaves it as it is.
func TestDemoBuildsItsProject(t *testing.T) {
	cfg := demoConfig(t, t.TempDir(), nil)
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer d.Close()
	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)

	data, ok := d.Fake().ProjectData(daemon.ProjectSlug)
	require.True(t, ok, "the embedded GeoSight has the project")
	layers := map[string]bool{}
	for _, l := range data["indicator_layers"].([]any) {
		layers[l.(map[string]any)["name"].(string)] = true
	}
	for _, def := range cfg.Indicators {
		assert.True(t, layers[def.Name], "a layer for %s", def.Shortcode)
	}
	var groups []string
	for _, g := range data["indicator_layers_structure"].(map[string]any)["children"].([]any) {
		groups = append(groups, g.(map[string]any)["group"].(string))
	}
	assert.Equal(t, project.Groups, groups)
	assert.NotEmpty(t, data["context_layers"], "footprint layers")
	assert.NotEmpty(t, data["widgets"])
	assert.Contains(t, d.ProjectURL(), "/api/dashboard/hazardsync/data")

	saves := d.Fake().ProjectSaves()
	_, err = d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	assert.Equal(t, saves, d.Fake().ProjectSaves(), "nothing changed: the project is not saved again")
}
