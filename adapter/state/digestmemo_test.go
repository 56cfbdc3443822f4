package state

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memoAt opens the memo in dir with its clock an hour ahead: the files a
// test has just written count as settled.
func memoAt(t *testing.T, dir string, readOnly bool) *DigestMemo {
	m, err := OpenDigestMemo(dir, readOnly)
	require.NoError(t, err)
	m.now = func() time.Time { return time.Now().Add(time.Hour) }
	return m
}

// digestOf looks f up through m; computed says whether it was hashed.
func digestOf(t *testing.T, m *DigestMemo, path, method string) (digest string, computed bool) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	d, remembered, err := m.Digest(f, method, func() ([]byte, error) {
		computed = true
		b, err := os.ReadFile(path)
		return append([]byte("d:"), b...), err
	})
	require.NoError(t, err)
	require.Equal(t, !computed, remembered)
	return string(d), computed
}

func TestDigestMemo(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no status-change time: the memo remembers nothing here")
	}
	state, data := t.TempDir(), t.TempDir()
	grid := filepath.Join(data, "pop.tif")
	require.NoError(t, os.WriteFile(grid, []byte("cells v1"), 0o644))

	// lookup opens the memo afresh (a new process) and looks the grid up.
	lookup := func(method string) (string, bool) {
		m := memoAt(t, state, false)
		d, computed := digestOf(t, m, grid, method)
		require.NoError(t, m.Save())
		return d, computed
	}
	d, computed := lookup("m1")
	require.True(t, computed, "first start hashes")
	require.Equal(t, "d:cells v1", d)
	d, computed = lookup("m1")
	require.False(t, computed, "an unchanged file is not read again")
	require.Equal(t, "d:cells v1", d)

	// Every way a file's bytes can change is seen.
	old := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(grid, old, old))
	d, computed = lookup("m1")
	require.True(t, computed, "times set back: the status-change time moved")
	require.Equal(t, "d:cells v1", d)

	require.NoError(t, os.WriteFile(grid, []byte("cells v2"), 0o644)) // same size
	require.NoError(t, os.Chtimes(grid, old, old))                    // and the old times
	d, computed = lookup("m1")
	require.True(t, computed, "rewritten in place with its old times")
	require.Equal(t, "d:cells v2", d)

	next := filepath.Join(data, "pop.tif.new")
	require.NoError(t, os.WriteFile(next, []byte("cells v3"), 0o644))
	require.NoError(t, os.Rename(next, grid))
	d, computed = lookup("m1")
	require.True(t, computed, "replaced by a rename")
	require.Equal(t, "d:cells v3", d)

	d, computed = lookup("m2")
	require.True(t, computed, "another method (a newer build's digest)")
	require.Equal(t, "d:cells v3", d)
	_, computed = lookup("m2")
	require.False(t, computed)
}

func TestDigestMemoSkipsFilesChangedWhileHashed(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no status-change time")
	}
	state := t.TempDir()
	grid := filepath.Join(t.TempDir(), "pop.tif")
	require.NoError(t, os.WriteFile(grid, []byte("cells"), 0o644))

	// Hashed the moment it was written: not remembered.
	m, err := OpenDigestMemo(state, false)
	require.NoError(t, err)
	_, computed := digestOf(t, m, grid, "m")
	require.True(t, computed)
	require.NoError(t, m.Save())
	_, computed = digestOf(t, memoAt(t, state, false), grid, "m")
	require.True(t, computed, "a file changed within 2 s of its hashing is hashed again")

	// Written to while it was hashed: not remembered.
	m = memoAt(t, state, false)
	f, err := os.Open(grid)
	require.NoError(t, err)
	defer f.Close()
	_, _, err = m.Digest(f, "m", func() ([]byte, error) {
		require.NoError(t, os.WriteFile(grid, []byte("CELLS"), 0o644))
		return []byte("d:cells"), nil
	})
	require.NoError(t, err)
	require.NoError(t, m.Save())
	d, computed := digestOf(t, memoAt(t, state, false), grid, "m")
	require.True(t, computed)
	require.Equal(t, "d:CELLS", d)
}

// A dry run reads the memo and leaves the state dir as it was; a damaged
// memo is a warning and a re-hash, and the next real start replaces it.
func TestDigestMemoReadOnlyAndDamaged(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no status-change time")
	}
	state := t.TempDir()
	grid := filepath.Join(t.TempDir(), "pop.tif")
	require.NoError(t, os.WriteFile(grid, []byte("cells"), 0o644))

	ro := memoAt(t, state, true)
	_, computed := digestOf(t, ro, grid, "m")
	require.True(t, computed)
	require.NoError(t, ro.Save())
	ents, err := os.ReadDir(state)
	require.NoError(t, err)
	require.Empty(t, ents, "a dry run writes nothing")

	m := memoAt(t, state, false)
	digestOf(t, m, grid, "m")
	require.NoError(t, m.Save())
	memo := filepath.Join(state, DigestMemoFile)
	before, err := os.ReadFile(memo)
	require.NoError(t, err)
	ro = memoAt(t, state, true)
	_, computed = digestOf(t, ro, grid, "m")
	require.False(t, computed, "a dry run uses the memo")
	require.NoError(t, ro.Save())
	after, err := os.ReadFile(memo)
	require.NoError(t, err)
	require.Equal(t, before, after)

	for _, damage := range []string{"{", `{"version":1,"files":{"` + grid + `":{"method":"m","digest":"zz"}}}`, "null", `{"version":99}`} {
		require.NoError(t, os.WriteFile(memo, []byte(damage), 0o600))
		m, err := OpenDigestMemo(state, false)
		if damage == "{" {
			require.ErrorContains(t, err, DigestMemoFile)
		}
		m.now = func() time.Time { return time.Now().Add(time.Hour) }
		d, computed := digestOf(t, m, grid, "m")
		require.True(t, computed, "damage %q: hashed", damage)
		require.Equal(t, "d:cells", d)
		require.NoError(t, m.Save())
		_, computed = digestOf(t, memoAt(t, state, false), grid, "m")
		require.False(t, computed, "damage %q: replaced by a good memo", damage)
	}
}

// Save keeps only the files looked up since the memo was opened: a grid
// dropped from the config leaves no entry behind.
func TestDigestMemoForgetsFilesNoLongerUsed(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no status-change time")
	}
	state, data := t.TempDir(), t.TempDir()
	a, b := filepath.Join(data, "a.tif"), filepath.Join(data, "b.tif")
	require.NoError(t, os.WriteFile(a, []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(b, []byte("b"), 0o644))
	m := memoAt(t, state, false)
	digestOf(t, m, a, "m")
	digestOf(t, m, b, "m")
	require.NoError(t, m.Save())
	m = memoAt(t, state, false)
	_, computed := digestOf(t, m, a, "m")
	require.False(t, computed)
	require.NoError(t, m.Save())
	require.Len(t, memoAt(t, state, false).old, 1)
}
