package state

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

var _ grid.Cache = FileCache{}

func readAll(t *testing.T, c FileCache, key string) (string, bool) {
	t.Helper()
	r, size, found, err := c.Load(key)
	require.NoError(t, err)
	if !found {
		return "", false
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.EqualValues(t, len(b), size)
	return string(b), true
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func write(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestGridCacheStoreLoad(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state[1]") // pattern characters in the dir are fine
	c := NewGridCache(dir, false)

	_, found := readAll(t, c, "aa01")
	require.False(t, found, "nothing stored yet, and no dir: not an error")

	require.NoError(t, c.Store("aa01", write("first")))
	got, found := readAll(t, c, "aa01")
	require.True(t, found)
	require.Equal(t, "first", got)
	require.Equal(t, []string{"grid-precompute-aa01.bin"}, cacheFiles(t, dir))

	// A write that fails half way (a crash, a full disk) leaves the
	// previous entry and no temporary file.
	err := c.Store("bb02", func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("disk full")
	})
	require.ErrorContains(t, err, "disk full")
	got, _ = readAll(t, c, "aa01")
	require.Equal(t, "first", got)
	require.Equal(t, []string{"grid-precompute-aa01.bin"}, cacheFiles(t, dir))

	// Another key replaces the entry; files that are not precomputes stay.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hazardsync.db"), []byte("x"), 0o600))
	require.NoError(t, c.Store("bb02", write("second")))
	_, found = readAll(t, c, "aa01")
	require.False(t, found, "older precompute removed")
	got, _ = readAll(t, c, "bb02")
	require.Equal(t, "second", got)
	require.Equal(t, []string{"grid-precompute-bb02.bin", "hazardsync.db"}, cacheFiles(t, dir))

	// A read-only cache (dry run) reads but never writes.
	ro := NewGridCache(dir, true)
	got, _ = readAll(t, ro, "bb02")
	require.Equal(t, "second", got)
	require.NoError(t, ro.Store("cc03", write("third")))
	require.Equal(t, []string{"grid-precompute-bb02.bin", "hazardsync.db"}, cacheFiles(t, dir))
}

func TestGridCacheRefusesPathKeys(t *testing.T) {
	t.Parallel()
	c := NewGridCache(t.TempDir(), false)
	for _, key := range []string{"", "../x", "a/b", "a.b", "a b"} {
		t.Run(key, func(t *testing.T) {
			_, _, _, err := c.Load(key)
			require.ErrorContains(t, err, "cache key")
			require.ErrorContains(t, c.Store(key, write("x")), "cache key")
		})
	}
}

// TestGridCacheKeepsEnginePrecompute: the engine's precompute goes through
// FileCache into the file the daemon has always written
// (grid-precompute-<24 hex>.bin, magic HSGRIDPC), reloads from it, and a
// damaged file is reported, so the engine rebuilds instead of trusting it.
func TestGridCacheKeepsEnginePrecompute(t *testing.T) {
	t.Parallel()
	geo := grid.Geo{X0: 10, Y0: 2, DX: 0.1, DY: 0.1}
	const w, h = 20, 20
	pop := make([]float32, w*h)
	for i := range pop {
		pop[i] = float32(1 + i%7)
	}
	sq := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	areas := []indicators.Area{{Code: "W", Geometry: sq(10, 0, 11, 2)}, {Code: "E", Geometry: sq(11, 0, 12, 2)}}
	e := grid.NewEngineFromLayers(areas, geo, w, h, pop, nil)
	dir := t.TempDir()
	c := NewGridCache(dir, false)
	require.NoError(t, e.Persist(c))
	files := cacheFiles(t, dir)
	require.Len(t, files, 1)
	assert.Regexp(t, `^grid-precompute-[0-9a-f]{24}\.bin$`, files[0])
	b, err := os.ReadFile(filepath.Join(dir, files[0]))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("HSGRIDPC")))

	e2, err := grid.LoadEngine(areas, geo, w, h, c)
	require.NoError(t, err)
	fp := []orb.Geometry{sq(10.55, 0.55, 11.45, 1.45)}
	x1, err := e.Expose(fp)
	require.NoError(t, err)
	x2, err := e2.Expose(fp)
	require.NoError(t, err)
	require.Equal(t, x1, x2)

	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(filepath.Join(dir, files[0]), b, 0o600))
	_, err = grid.LoadEngine(areas, geo, w, h, c)
	require.ErrorContains(t, err, "checksum")
	require.True(t, strings.HasPrefix(files[0], GridCachePrefix))
}
