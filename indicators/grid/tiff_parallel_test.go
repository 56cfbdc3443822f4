package grid

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hazardsync/hazardsync/internal/testutil"
	"github.com/stretchr/testify/require"
)

// bitsOf compares grids bit for bit (NaN == NaN).
func bitsOf(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}

func testGridValues(w, h int) []float32 {
	v := make([]float32, w*h)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			v[r*w+c] = float32(math.Sin(float64(r)/5)*100 + float64(c)*0.75 + float64((r*13+c*7)%11))
			if (r*w+c)%17 == 3 {
				v[r*w+c] = float32(math.NaN())
			}
		}
	}
	return v
}

func TestReadWindowParallelEqualsSerial(t *testing.T) {
	const w, h = 101, 77
	nd := -9999.0
	files := map[string][]byte{}
	for name, o := range map[string]WriteOptions{
		"strips of 3, deflate, predictor 3": {RowsPerStrip: 3, Deflate: true, FloatPredictor: true, NoData: &nd},
		"strips of 16, uncompressed":        {RowsPerStrip: 16, NoData: &nd},
		"strips of 1, deflate":              {RowsPerStrip: 1, Deflate: true, NoData: &nd},
		"tiles of 16, deflate, predictor 3": {Tile: 16, Deflate: true, FloatPredictor: true, NoData: &nd},
		"tiles of 32, uncompressed":         {Tile: 32, NoData: &nd},
	} {
		var b bytes.Buffer
		require.NoError(t, WriteTiff(&b, testGridValues(w, h), w, h, Geo{X0: 10, Y0: 5, DX: 0.01, DY: 0.01}, o))
		files[name] = b.Bytes()
	}
	// GDAL's files: LZW, predictor 2, integer samples, big-endian, BigTIFF.
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(testutil.Fixture(t, "grid", "f32_strip_none.tif")), "*.tif"))
	require.NoError(t, err)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files["gdal "+filepath.Base(p)] = b
	}
	for name, raw := range files {
		t.Run(name, func(t *testing.T) {
			tf, err := NewTiff(bytes.NewReader(raw), int64(len(raw)))
			require.NoError(t, err)
			windows := [][4]int{
				{0, 0, tf.Width, tf.Height},
				{tf.Width / 3, tf.Height / 4, tf.Width / 2, tf.Height / 2}, // crosses block edges
				{tf.Width - 1, tf.Height - 1, 1, 1},
				{0, tf.Height - 2, tf.Width, 2}, // the short last strip
			}
			for _, win := range windows {
				tf.workers = 1
				serial, err := tf.ReadWindow(win[0], win[1], win[2], win[3])
				require.NoError(t, err)
				for _, workers := range []int{2, 3, 8} {
					tf.workers = workers
					par, err := tf.ReadWindow(win[0], win[1], win[2], win[3])
					require.NoError(t, err)
					require.Equal(t, bitsOf(serial), bitsOf(par), "window %v, %d workers", win, workers)
				}
			}
		})
	}
}

func TestReadWindowErrorIsTheFirstBadBlock(t *testing.T) {
	const w, h = 64, 64
	var b bytes.Buffer
	require.NoError(t, WriteTiff(&b, testGridValues(w, h), w, h, Geo{X0: 10, Y0: 5, DX: 0.01, DY: 0.01},
		WriteOptions{Tile: 16, Deflate: true}))
	raw := b.Bytes()
	for _, tc := range []struct {
		name  string
		tiled bool
		bad   func(tf *Tiff, data []byte)
		want  string
	}{
		{"block beyond the end of the file, and a later one garbled", true, func(tf *Tiff, data []byte) {
			tf.counts[6] = uint64(len(data))
			copy(data[tf.offsets[11]:], "not deflate at all")
		}, "tiff: tile 6 (row 1, column 2): at "},
		{"garbled deflate, and a later block beyond the end", true, func(tf *Tiff, data []byte) {
			copy(data[tf.offsets[5]:], "not deflate at all")
			tf.counts[14] = uint64(len(data))
		}, "tiff: tile 5 (row 1, column 1): deflate: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 2, 3, 16} {
				data := bytes.Clone(raw)
				tf, err := NewTiff(bytes.NewReader(data), int64(len(data)))
				require.NoError(t, err)
				tc.bad(tf, data)
				tf.workers = workers
				_, err = tf.ReadAll()
				require.ErrorContains(t, err, tc.want, "%d workers", workers)
			}
		})
	}
	// Strips are named as strips.
	var s bytes.Buffer
	require.NoError(t, WriteTiff(&s, testGridValues(w, h), w, h, Geo{X0: 10, Y0: 5, DX: 0.01, DY: 0.01},
		WriteOptions{RowsPerStrip: 4, Deflate: true}))
	data := s.Bytes()
	tf, err := NewTiff(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	copy(data[tf.offsets[9]:], "not deflate at all")
	_, err = tf.ReadAll()
	require.ErrorContains(t, err, "tiff: strip 9: deflate: ")
}

// patterned is size bytes of a fixed pattern that is not periodic in
// layerChunk, so moving a chunk would change its digest.
func patterned(size int) []byte {
	b := make([]byte, size)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func layerDigest(t *testing.T, data []byte, workers int) string {
	h := sha256.New()
	require.NoError(t, hashLayer(h, bytes.NewReader(data), int64(len(data)), workers))
	return hex.EncodeToString(h.Sum(nil))
}

func TestHashLayerGolden(t *testing.T) {
	// The digest is part of every precompute key: a change here orphans
	// every cache on disk (they are rebuilt), so it must be deliberate.
	for _, tc := range []struct {
		size int
		want string
	}{
		{0, "af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"},
		{1000, "913d679427cda48fde4b4ea69bdebe288823bc934503be612a03b0829f54885a"},
		{2*layerChunk + 123, "23fa6fbd7e0f0ef23c59745f423fdd38d295425c2a9d8bbc658ef249f69aa8cb"},
	} {
		data := patterned(tc.size)
		for _, workers := range []int{1, 2, 5} {
			require.Equal(t, tc.want, layerDigest(t, data, workers), "%d bytes, %d workers", tc.size, workers)
		}
	}
}

// The digest is the size and the published XXH64 (seed 0) of each chunk.
func TestHashLayerIsXXH64OfChunks(t *testing.T) {
	var want bytes.Buffer
	want.Write([]byte{3, 0, 0, 0, 0, 0, 0, 0})
	want.Write([]byte{0x99, 0x09, 0x77, 0xad, 0xf5, 0x2c, 0xbc, 0x44}) // XXH64("abc") = 44bc2cf5ad770999
	var got bytes.Buffer
	require.NoError(t, hashLayer(&got, bytes.NewReader([]byte("abc")), 3, 1))
	require.Equal(t, want.Bytes(), got.Bytes())
}

func TestHashLayerSeesEveryByte(t *testing.T) {
	data := patterned(2*layerChunk + 123)
	ref := layerDigest(t, data, 0)
	for _, at := range []int{0, layerChunk - 1, layerChunk, 2*layerChunk + 122} {
		changed := bytes.Clone(data)
		changed[at] ^= 1
		require.NotEqual(t, ref, layerDigest(t, changed, 0), "byte %d flipped", at)
	}
	require.NotEqual(t, ref, layerDigest(t, data[:len(data)-1], 0), "one byte shorter")
	require.NotEqual(t, ref, layerDigest(t, append(bytes.Clone(data), 0), 0), "one zero byte longer")
}

// shortReader ends early, as a file truncated after it was measured.
type shortReader struct {
	r   *bytes.Reader
	end int64
}

func (s shortReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.end {
		return 0, errors.New("gone")
	}
	if off+int64(len(p)) > s.end {
		n, _ := s.r.ReadAt(p[:s.end-off], off)
		return n, nil
	}
	return s.r.ReadAt(p, off)
}

func TestHashLayerReadErrors(t *testing.T) {
	data := patterned(3*layerChunk + 5)
	for _, workers := range []int{1, 2, 4} {
		r := shortReader{bytes.NewReader(data), layerChunk + 10}
		err := hashLayer(sha256.New(), r, int64(len(data)), workers)
		require.EqualError(t, err, fmt.Sprintf("%d bytes at %d, want %d: unexpected EOF", 10, layerChunk, layerChunk), "%d workers", workers)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// A layer whose digest the caller knows (a memo) keys the precompute as
// the digest NewEngine computes would, without reading the file for it;
// a wrong digest is a different key (the precompute is rebuilt).
func TestEngineUsesAGivenLayerDigest(t *testing.T) {
	tw := bigWorld(t)
	layer := tw.tiffLayer(t, "pop.tif", tw.pop)
	cache := &memCache{}
	counted := func(digest []byte) (*Engine, int64) {
		cr := &countingReader{r: layer.R}
		l := layer
		l.R, l.Digest = cr, digest
		e, err := NewEngine(tw.areas, Options{Grid: l, Cache: cache})
		require.NoError(t, err)
		return e, cr.n.Load()
	}
	computed, readComputing := counted(nil)
	require.Equal(t, 1, cache.stores)
	require.GreaterOrEqual(t, readComputing, layer.Size, "the digest reads the whole file")

	d, err := LayerDigest(layer.R, layer.Size)
	require.NoError(t, err)
	given, readGiven := counted(d)
	require.Equal(t, computed.Version(), given.Version(), "same key")
	require.Equal(t, 1, cache.stores, "the precompute was reloaded under it")
	require.Less(t, readGiven, layer.Size/4, "only the header is read (the precompute comes from the cache)")

	wrong := bytes.Clone(d)
	wrong[len(wrong)-1] ^= 1
	other, _ := counted(wrong)
	require.NotEqual(t, computed.Version(), other.Version())
	require.Equal(t, 2, cache.stores, "another key: rebuilt and stored")
}
