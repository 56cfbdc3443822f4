package daemon_test

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/runner"
)

// hashTree is the sha256 of every file under dir, by relative path.
func hashTree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = sha256.Sum256(b)
		return nil
	}))
	return out
}

// TestOnceDryRunLeavesStateDirByteIdentical: `once --dry-run` after a real
// run leaves every file in the state dir byte-identical (the database, the
// grid precompute cache, the embedded GeoSight's file), and creates no state
// dir when there is none.
func TestOnceDryRunLeavesStateDirByteIdentical(t *testing.T) {
	stateDir := t.TempDir()
	cfg := demoConfig(t, stateDir, nil)
	once(t, cfg, nil) // a real run fills the state
	before := hashTree(t, stateDir)
	require.NotEmpty(t, before)

	dry := func() runner.SyncResult {
		d, err := daemon.New(context.Background(), cfg, daemon.Options{DryRun: true, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer d.Close()
		res, err := d.Once(context.Background(), runner.SyncOptions{DryRun: true})
		require.NoError(t, err)
		return res
	}
	res := dry()
	require.NotEmpty(t, res.Current, "the dry run computed values")
	dry()
	assert.Equal(t, before, hashTree(t, stateDir), "a dry run changed the state dir")

	missing := filepath.Join(t.TempDir(), "never-created")
	cfg = demoConfig(t, missing, nil)
	res = dry()
	require.NotEmpty(t, res.Changed, "with no state everything would be sent")
	_, err := os.Stat(missing)
	assert.ErrorIs(t, err, os.ErrNotExist, "a dry run creates no state dir")
}
