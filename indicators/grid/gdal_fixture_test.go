package grid

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hazardsync/hazardsync/internal/testutil"
	"github.com/stretchr/testify/require"
)

// The fixtures under fixtures/grid were written by gdal_translate (make
// grid-fixtures) from ASCII grids following these formulas, so the reader is
// checked against GDAL's writer and against the source values, not itself.
func intSource(r, c int) float64 { return float64((r*7 + c*3) % 200) }

func floatSource(r, c int) float64 {
	if r == 2 && c == 5 {
		return math.NaN() // the source's NODATA_value cell
	}
	return intSource(r, c) + float64(c%4)*0.25
}

func TestReadGDALFixtures(t *testing.T) {
	dir := filepath.Dir(testutil.Fixture(t, "grid", "f32_strip_none.tif"))
	files, err := filepath.Glob(filepath.Join(dir, "*.tif"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 11)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			l := openLayer(t, f)
			tf, err := NewTiff(l.R, l.Size)
			require.NoError(t, err)
			require.Equal(t, 37, tf.Width)
			require.Equal(t, 29, tf.Height)
			require.InDelta(t, 60, tf.Geo.X0, 1e-9)
			require.InDelta(t, 10.29, tf.Geo.Y0, 1e-9)
			require.InDelta(t, 0.01, tf.Geo.DX, 1e-12)
			require.InDelta(t, 0.01, tf.Geo.DY, 1e-12)
			src := intSource
			if strings.HasPrefix(name, "f32") {
				src = floatSource
				require.True(t, tf.HasNoData)
				require.Equal(t, -9999.0, tf.NoData)
			}
			if strings.HasPrefix(name, "i16_strip") {
				require.True(t, tf.HasNoData)
				require.Equal(t, -1.0, tf.NoData)
			}
			all, err := tf.ReadAll()
			require.NoError(t, err)
			for r := 0; r < 29; r++ {
				for c := 0; c < 37; c++ {
					want, got := src(r, c), float64(all[r*37+c])
					if math.IsNaN(want) {
						require.True(t, math.IsNaN(got), "cell %d,%d nodata", r, c)
						continue
					}
					require.Equal(t, want, got, "cell %d,%d", r, c)
				}
			}
			// A window crossing block edges reads the same cells.
			win, err := tf.ReadWindow(13, 9, 20, 11)
			require.NoError(t, err)
			for r := 0; r < 11; r++ {
				for c := 0; c < 20; c++ {
					a, b := win[r*20+c], all[(r+9)*37+c+13]
					require.True(t, a == b || (a != a && b != b), "window cell %d,%d", r, c)
				}
			}
		})
	}
}

func TestTiffWriterRoundTrip(t *testing.T) {
	w, h := 45, 33
	vals := make([]float32, w*h)
	for i := range vals {
		vals[i] = float32(math.Sin(float64(i))*1000) + 0.125
	}
	vals[7] = float32(math.NaN())
	nd := -99999.0
	for _, o := range []WriteOptions{{}, {RowsPerStrip: 5, Deflate: true}, {Tile: 16, Deflate: true, FloatPredictor: true, NoData: &nd}, {Tile: 32, FloatPredictor: true}} {
		var b bytes.Buffer
		g := Geo{X0: 60, Y0: 14, DX: 0.01, DY: 0.02}
		require.NoError(t, WriteTiff(&b, vals, w, h, g, o))
		tf, err := NewTiff(bytes.NewReader(b.Bytes()), int64(b.Len()))
		require.NoError(t, err)
		require.Equal(t, g, tf.Geo)
		got, err := tf.ReadAll()
		require.NoError(t, err)
		for i := range vals {
			require.True(t, got[i] == vals[i] || (got[i] != got[i] && vals[i] != vals[i]), "%+v cell %d", o, i)
		}
	}
}

func TestTiffErrorsNameTheTag(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteTiff(&b, make([]float32, 4), 2, 2, Geo{0, 1, 0.5, 0.5}, WriteOptions{}))
	raw := b.Bytes()
	// Patch the Compression tag's value to JPEG (7).
	patched := bytes.Clone(raw)
	n := int(patched[8]) | int(patched[9])<<8
	for i := 0; i < n; i++ {
		e := patched[10+12*i:]
		if int(e[0])|int(e[1])<<8 == tagCompression {
			e[8] = 7
		}
	}
	_, err := NewTiff(bytes.NewReader(patched), int64(len(patched)))
	require.ErrorContains(t, err, "Compression (tag 259) = 7")
	_, err = NewTiff(bytes.NewReader([]byte("GIF89a..")), 8)
	require.ErrorContains(t, err, "not a TIFF")
}

func FuzzTiff(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(testutil.Fixture(f, "grid", "f32_strip_none.tif")), "*.tif"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := NewTiff(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if tf.Width*tf.Height > 1<<20 {
			return
		}
		_, _ = tf.ReadAll()
	})
}
