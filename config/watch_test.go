package config_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
)

// watchCounter starts Watch on path and counts onChange calls.
func watchCounter(t *testing.T, path string) *atomic.Int32 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var n atomic.Int32
	require.NoError(t, config.Watch(ctx, path, 50*time.Millisecond, func() { n.Add(1) }))
	return &n
}

// settle waits long enough for the debounce and the filesystem events.
func settle() { time.Sleep(400 * time.Millisecond) }

func waitFor(t *testing.T, n *atomic.Int32, want int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, want, n.Load())
}

// kubeletWrite does what kubelet's AtomicWriter does to a ConfigMap volume:
// a new timestamped directory, a `..data_tmp` symlink to it renamed over
// `..data`, then the old directory removed. The user-visible file is a
// symlink through `..data` and never itself changes.
func kubeletWrite(t *testing.T, dir, stamp, content string) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_12_02_"+stamp)
	require.NoError(t, os.Mkdir(ts, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ts, "hazardsync.yaml"), []byte(content), 0o644))
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	require.NoError(t, os.Symlink(filepath.Base(ts), tmp))
	require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	if old != "" {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, old)))
	}
}

func TestWatchNoticesKubernetesConfigMapSwaps(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite(t, dir, "a", "a: 1\n")
	path := filepath.Join(dir, "hazardsync.yaml")
	require.NoError(t, os.Symlink(filepath.Join("..data", "hazardsync.yaml"), path))
	n := watchCounter(t, path)

	for i, stamp := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		kubeletWrite(t, dir, stamp, "a: "+stamp+"\n")
		waitFor(t, n, int32(i+1))
	}
	// A swap to identical content is not a change.
	kubeletWrite(t, dir, "j", "a: i\n")
	settle()
	assert.Equal(t, int32(8), n.Load(), "same content after the swap: no reload")
}

func TestWatchComparesContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hazardsync.yaml")
	require.NoError(t, os.WriteFile(path, []byte("a: 1\n"), 0o644))
	n := watchCounter(t, path)

	cases := []struct {
		name   string
		edit   func()
		change bool
	}{
		{"write in place", func() { require.NoError(t, os.WriteFile(path, []byte("a: 2\n"), 0o644)) }, true},
		{"same bytes rewritten", func() { require.NoError(t, os.WriteFile(path, []byte("a: 2\n"), 0o644)) }, false},
		{"touch", func() { now := time.Now(); require.NoError(t, os.Chtimes(path, now, now)) }, false},
		{"editor save: new file renamed over", func() {
			tmp := filepath.Join(dir, ".hazardsync.yaml.swp")
			require.NoError(t, os.WriteFile(tmp, []byte("a: 3\n"), 0o644))
			require.NoError(t, os.Rename(tmp, path))
		}, true},
		{"another file in the directory", func() {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("x"), 0o644))
		}, false},
	}
	want := int32(0)
	for _, c := range cases {
		c.edit()
		if c.change {
			want++
			waitFor(t, n, want)
		} else {
			settle()
			assert.Equal(t, want, n.Load(), c.name)
		}
	}
}

// A config symlinked from another directory changes there.
func TestWatchFollowsASymlinkedConfig(t *testing.T) {
	real := t.TempDir()
	target := filepath.Join(real, "site.yaml")
	require.NoError(t, os.WriteFile(target, []byte("a: 1\n"), 0o644))
	path := filepath.Join(t.TempDir(), "hazardsync.yaml")
	require.NoError(t, os.Symlink(target, path))
	n := watchCounter(t, path)
	require.NoError(t, os.WriteFile(target, []byte("a: 2\n"), 0o644))
	waitFor(t, n, 1)
}
