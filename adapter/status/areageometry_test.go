package status

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// previewFiles writes a preview and returns its files' bytes by name.
func previewFiles(t *testing.T, write func(dir string) ([]string, error)) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	files, err := write(dir)
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		// map.html says when it was written.
		out[filepath.Base(f)] = clockTime.ReplaceAll(b, []byte("<time>"))
	}
	return out
}

// clockTime is a time of day as map.html writes when it was generated.
var clockTime = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?`)

// The preview with the geometry spelled beforehand (through the file the
// daemon keeps) is the same bytes as the one spelling it, on a country
// with simplification and on one too small to simplify.
func TestWriteDryRunWithAreaGeometryIsTheSameBytes(t *testing.T) {
	big, defs, values := benchCountry(9, 8, 12)
	tiny := []indicators.Area{{Code: "T1", Name: "Tiny", Level: 2, Geometry: orb.Polygon{{{1, 1}, {1.000001, 1}, {1.000001, 1.000001}, {1, 1}}}}}
	for name, areas := range map[string][]indicators.Area{"country": big, "tiny": tiny} {
		vals := values
		if name == "tiny" {
			vals = nil
		}
		g, err := EncodeAreaGeometry(areas)
		require.NoError(t, err)
		again, err := DecodeAreaGeometry(g.Encode(), len(areas))
		require.NoError(t, err, name)
		want := previewFiles(t, func(dir string) ([]string, error) { return WriteDryRun(dir, areas, defs, vals, vals) })
		got := previewFiles(t, func(dir string) ([]string, error) { return WriteDryRunWith(dir, areas, again, defs, vals, vals) })
		require.Len(t, got, 3)
		for f := range want {
			require.Equal(t, string(want[f]), string(got[f]), "%s: %s", name, f)
		}
	}
	_, err := WriteDryRunWith(t.TempDir(), big[:3], mustEncode(t, big), defs, values, values)
	require.ErrorContains(t, err, "geometry of 73 areas for 3 areas")
}

func mustEncode(t *testing.T, areas []indicators.Area) *AreaGeometry {
	g, err := EncodeAreaGeometry(areas)
	require.NoError(t, err)
	return g
}

func TestDecodeAreaGeometryRejectsDamage(t *testing.T) {
	areas, _, _ := benchCountry(3, 2, 4)
	b := mustEncode(t, areas).Encode()
	withSum := func(body []byte) []byte {
		return binary.LittleEndian.AppendUint32(body, crc32Of(body))
	}
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/2] ^= 1
	badOff := append([]byte(nil), b[:len(b)-4]...)
	binary.LittleEndian.PutUint64(badOff[len(areaGeometryMagic)+8+8*3:], 1<<40)
	for _, tc := range []struct {
		name string
		b    []byte
		n    int
		err  string
	}{
		{"empty", nil, len(areas), "not an area geometry file"},
		{"flipped", flipped, len(areas), "checksum"},
		{"cut", b[:len(b)-9], len(areas), "checksum"},
		{"other areas", b, len(areas) + 1, "areas, want"},
		{"offsets", withSum(badOff), len(areas), "out of order"},
	} {
		_, err := DecodeAreaGeometry(tc.b, tc.n)
		require.ErrorContains(t, err, tc.err, tc.name)
	}
}

func crc32Of(b []byte) uint32 { return crc32Checksum(b) }

// FuzzDecodeAreaGeometry: any bytes with a right checksum decode or fail,
// never panic, and what decodes has in-bounds parts.
func FuzzDecodeAreaGeometry(f *testing.F) {
	areas, _, _ := benchCountry(2, 2, 3)
	b := mustEncode(&testing.T{}, areas).Encode()
	f.Add(b[:len(b)-4], 4)
	f.Add([]byte(areaGeometryMagic), 0)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		g, err := DecodeAreaGeometry(binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32Checksum(body)), n)
		if err != nil {
			return
		}
		for i := range g.Len() {
			g.part(i, true)
			g.part(i, false)
		}
	})
}

// areaGeometryDigest is AreaGeometryVersion and the digest of the spelled
// geometry of benchCountry(6, 5, 9): see
// TestAreaGeometryVersionPinsTheOutput.
const areaGeometryDigest = "1 fe5af8412942c9aa8af430996d63512ddd53a2602a19ce09db50eb9b2fc43298"

// The daemon keeps spelled geometry in the state dir under
// AreaGeometryVersion, so a change to how the preview spells geometry must
// bump it: this fails, naming the new digest, until it is.
func TestAreaGeometryVersionPinsTheOutput(t *testing.T) {
	areas, _, _ := benchCountry(6, 5, 9)
	areas = append(areas, indicators.Area{Code: "MP", Level: 2, Geometry: orb.MultiPolygon{
		{{{0, 0}, {0.3, 0}, {0.3, 0.2}, {0, 0}}, {{0.1, 0.05}, {0.2, 0.05}, {0.2, 0.1}, {0.1, 0.05}}},
		{{{1.123456789, 2}, {1.5, 2.000000049}, {1.2, 2.5}, {1.123456789, 2}}}}})
	sum := sha256.Sum256(mustEncode(t, areas).Encode())
	got := strings.Fields(areaGeometryDigest)
	require.Equal(t, got[1], hex.EncodeToString(sum[:]),
		"how the preview spells geometry changed: bump AreaGeometryVersion and set areaGeometryDigest to %q", "<new version> "+hex.EncodeToString(sum[:]))
	require.Equal(t, got[0], strconv.Itoa(AreaGeometryVersion))
}
