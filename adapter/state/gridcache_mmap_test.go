//go:build unix

package state

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators/grid"
)

// TestGridCacheLoadMapsTheFile: on platforms with mappings a stored entry
// loads mapped (the engine reads it in place), and a newer entry stored
// while the old one is mapped leaves the mapped bytes as they were (the
// rename swaps the name; the mapping keeps the old file).
func TestGridCacheLoadMapsTheFile(t *testing.T) {
	t.Parallel()
	c := NewGridCache(filepath.Join(t.TempDir(), "state"), false)
	require.NoError(t, c.Store("aa01", write("first entry")))
	r, size, found, err := c.Load("aa01")
	require.NoError(t, err)
	require.True(t, found)
	m, ok := r.(grid.MappedEntry)
	require.True(t, ok, "loaded mapped")
	require.EqualValues(t, len("first entry"), size)
	require.Equal(t, "first entry", string(m.Bytes()))

	require.NoError(t, c.Store("aa01", write("second entry, longer")))
	require.NoError(t, c.Store("bb02", write("another key")))
	require.Equal(t, "first entry", string(m.Bytes()), "the mapping keeps the file it mapped")
	require.NoError(t, m.Close())

	got, found := readAll(t, c, "bb02")
	require.True(t, found)
	require.Equal(t, "another key", got, "a mapped entry also reads as a stream")
}
