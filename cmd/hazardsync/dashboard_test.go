package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	"github.com/hazardsync/hazardsync/config"
)

// TestDashboardCommand: before a sync it says to run one; after, --write
// writes the project and the steps, --apply creates it, and applies again
// change nothing; the password never shows.
func TestDashboardCommand(t *testing.T) {
	cfg, key, srv := externalGeoSight(t)
	t.Setenv(config.EnvAPIKey, key)
	srv.AddEditorLogin("office-admin", "s3cret-editor-pass", "bot@example.org")

	code, _, errOut := run(t, "dashboard", "-c", cfg, "--write", filepath.Join(t.TempDir(), "p.json"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "run one sync (hazardsync once) first")

	code, _, _ = run(t, "dashboard", "-c", cfg)
	assert.Equal(t, 2, code, "neither --write nor --apply")

	state := t.TempDir()
	run(t, "once", "-c", cfg, "--state-dir", state) // one unknown ucode: exit 1, the rest delivered

	out := filepath.Join(t.TempDir(), "project.json")
	code, stdout, errOut := run(t, "dashboard", "-c", cfg, "--write", out)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, stdout, "Early warning:")
	assert.Contains(t, stdout, "/admin/project/create")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var written map[string]any
	require.NoError(t, json.Unmarshal(b, &written))
	assert.Contains(t, written, "fields")
	assert.Contains(t, written["data"], "indicator_layers")

	code, _, errOut = run(t, "dashboard", "-c", cfg, "--apply")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, project.EnvUsername, "no login: says which variables to set")

	t.Setenv(project.EnvUsername, "office-admin")
	t.Setenv(project.EnvPassword, "s3cret-editor-pass")
	code, stdout, errOut = run(t, "dashboard", "-c", cfg, "--apply", "--log-level", "debug")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, stdout, "project hazardsync created")
	assert.NotContains(t, stdout+errOut, "s3cret-editor-pass")
	code, stdout, _ = run(t, "dashboard", "-c", cfg, "--apply")
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "project hazardsync unchanged")
	assert.Equal(t, 1, srv.ProjectSaves())

	t.Setenv(project.EnvPassword, "wrong")
	code, _, errOut = run(t, "dashboard", "-c", cfg, "--apply")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "refused the login")
}

func TestDashboardRefusesTheEmbeddedTarget(t *testing.T) {
	code, _, errOut := run(t, "dashboard", "-c", demo(t), "--apply")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "embedded")
}
