package grid

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// openLayer opens a GeoTIFF file for the engine (the package itself opens
// no files); it is closed when the test ends.
func openLayer(t testing.TB, path string) Layer {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	require.NoError(t, err)
	return Layer{Name: path, R: f, Size: st.Size()}
}

func bytesLayer(name string, b []byte) Layer {
	return Layer{Name: name, R: bytes.NewReader(b), Size: int64(len(b))}
}

// memCache is a Cache in memory: one entry, as the state dir's file keeps.
type memCache struct {
	mu     sync.Mutex
	key    string
	data   []byte
	loads  int
	stores int
	fail   error // returned by Store after write ran, as a failed rename would
}

func (c *memCache) Load(key string) (io.ReadCloser, int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loads++
	if c.data == nil || key != c.key {
		return nil, 0, false, nil
	}
	return io.NopCloser(bytes.NewReader(c.data)), int64(len(c.data)), true, nil
}

func (c *memCache) Store(key string, write func(io.Writer) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	if c.fail != nil {
		return c.fail
	}
	c.stores++
	c.key, c.data = key, b.Bytes()
	return nil
}

// errCache fails its loads, its stores, or both.
type errCache struct{ load, store error }

func (c errCache) Load(string) (io.ReadCloser, int64, bool, error) {
	return nil, 0, false, c.load
}

func (c errCache) Store(_ string, write func(io.Writer) error) error {
	if err := write(io.Discard); err != nil {
		return err
	}
	return c.store
}

func TestEngineCacheFailuresRebuild(t *testing.T) {
	tw := newTestWorld(t, 2, 2, 3)
	grid := tw.tiffLayer(t, "pop.tif", tw.pop)
	ref, err := NewEngine(tw.areas, Options{Grid: grid})
	require.NoError(t, err)
	fp := []orb.Geometry{indicators.Circle(orb.Point{61.2, 11.1}, 80, 64)}
	want, err := ref.Expose(fp)
	require.NoError(t, err)
	foreign := &memCache{}
	other, err := NewEngine(tw.areas[:2], Options{Grid: grid, Cache: foreign})
	require.NoError(t, err)
	foreign.key = cacheKey(ref.key) // another engine's bytes under this key

	for _, tc := range []struct {
		name  string
		cache Cache
		warn  string
	}{
		{"load fails", errCache{load: errors.New("disk on fire")}, "disk on fire"},
		{"store fails", errCache{store: errors.New("disk full")}, "disk full"},
		{"foreign entry", foreign, "inputs key differs"},
		{"empty entry", &memCache{key: cacheKey(ref.key), data: []byte{}}, "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			e, err := NewEngine(tw.areas, Options{Grid: grid, Cache: tc.cache, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			require.NoError(t, err, "a cache problem is never fatal")
			got, err := e.Expose(fp)
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.Contains(t, log.String(), tc.warn)
			require.Contains(t, log.String(), "level=WARN")
		})
	}
	require.NotEqual(t, ref.Version(), other.Version())
}
