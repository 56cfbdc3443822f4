package areas

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// memStore is a PreparedStore in memory, one entry per key.
type memStore struct {
	entries  map[string][]byte
	stores   int
	storeErr error
}

func (s *memStore) Load(key string) (io.ReadCloser, int64, bool, error) {
	b, ok := s.entries[key]
	if !ok {
		return nil, 0, false, nil
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), true, nil
}

func (s *memStore) Store(key string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	if s.storeErr != nil {
		return s.storeErr
	}
	if s.entries == nil {
		s.entries = map[string][]byte{}
	}
	s.entries[key] = b.Bytes()
	s.stores++
	return nil
}

// preparedFixture is geography files exercising what LoadFilesReport does:
// the demo country (two levels, parents, pcodes), areas repaired (a
// figure-8, a self-touching ring), across the antimeridian, a multipolygon
// with a hole.
func preparedFixture(t testing.TB) []config.GeoFile {
	demo := config.GeoFileDefaults()
	demo.Path = testutil.Fixture(t, "demo", "areas.geojson")
	demo.PCodeProperty = "pcode"
	p := filepath.Join(t.TempDir(), "more.geojson")
	require.NoError(t, os.WriteFile(p, []byte(`{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"ucode":"EIGHT_1","admin_level":1,"name":"Eight"},"geometry":{"type":"Polygon","coordinates":[[[10,0],[12,2],[12,0],[10,2],[10,0]]]}},
{"type":"Feature","properties":{"ucode":"LOOP_1","admin_level":1},"geometry":{"type":"Polygon","coordinates":[[[20,0],[23,0],[23,3],[21,3],[21,1],[22,1],[22,2],[20,2],[20,0]]]}},
{"type":"Feature","properties":{"ucode":"FJI_V1","admin_level":0},"geometry":{"type":"Polygon","coordinates":[[[177,-19],[-179,-19],[-179,-16],[177,-16],[177,-19]]]}},
{"type":"Feature","properties":{"ucode":"HOLE_2","admin_level":2,"parent":"EIGHT_1"},"geometry":{"type":"MultiPolygon","coordinates":[[[[30,0],[34,0],[34,4],[30,4],[30,0]],[[31,1],[31,2],[32,2],[32,1],[31,1]]],[[[40,0],[41,0],[41,1],[40,0]]]]}}
]}`), 0o644))
	more := config.GeoFileDefaults()
	more.Path = p
	return []config.GeoFile{demo, more}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestPreparedAreasRoundTrip: the second start reads the areas from the
// store and gets exactly what parsing gives (geometry to the bit, codes,
// names, levels, parents, pcodes, repairs); a changed file or setting is
// parsed again.
func TestPreparedAreasRoundTrip(t *testing.T) {
	files := preparedFixture(t)
	as, pcodes, repairs, err := LoadFilesReport(files)
	require.NoError(t, err)
	require.NotEmpty(t, pcodes)
	require.Len(t, repairs, 2)

	store := &memStore{}
	p, from, err := LoadFilesPrepared(files, store, quiet())
	require.NoError(t, err)
	require.False(t, from, "nothing stored yet")
	require.Equal(t, 1, store.stores)
	p, from, err = LoadFilesPrepared(files, store, quiet())
	require.NoError(t, err)
	require.True(t, from, "read from the store")
	require.Equal(t, as, p.Areas)
	require.Equal(t, pcodes, p.PCodes)
	require.Equal(t, repairs, p.Repairs)
	for i := range p.Areas {
		for _, poly := range indicators.Polygons(p.Areas[i].Geometry) {
			for _, r := range poly {
				require.Equal(t, len(r), cap(r), "a ring cannot grow into the next")
			}
		}
	}

	// Anything that changes the result changes the key.
	changed := func(name string, edit func(fs []config.GeoFile) []config.GeoFile) {
		t.Helper()
		fs := edit(append([]config.GeoFile(nil), files...))
		_, from, err := LoadFilesPrepared(fs, store, quiet())
		require.NoError(t, err, name)
		require.False(t, from, name)
	}
	changed("a setting", func(fs []config.GeoFile) []config.GeoFile { fs[0].PCodeProperty = ""; return fs })
	changed("a file's order", func(fs []config.GeoFile) []config.GeoFile { fs[0], fs[1] = fs[1], fs[0]; return fs })
	changed("a file's bytes", func(fs []config.GeoFile) []config.GeoFile {
		b, err := os.ReadFile(fs[1].Path)
		require.NoError(t, err)
		p := filepath.Join(t.TempDir(), "more.geojson")
		require.NoError(t, os.WriteFile(p, bytes.Replace(b, []byte(`"Eight"`), []byte(`"Eight!"`), 1), 0o644))
		fs[1].Path = p
		return fs
	})
}

// TestPreparedAreasDamagedEntry: an entry that is damaged, foreign or of
// another version is a warning and a parse with the same result, and is
// replaced; a store that cannot write is a warning.
func TestPreparedAreasDamagedEntry(t *testing.T) {
	files := preparedFixture(t)
	want, _, _, err := LoadFilesReport(files)
	require.NoError(t, err)
	store := &memStore{}
	_, _, err = LoadFilesPrepared(files, store, quiet())
	require.NoError(t, err)
	require.Len(t, store.entries, 1)
	var name string
	var good []byte
	for k, v := range store.entries {
		name, good = k, v
	}
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		warn   string
	}{
		{"a flipped point", func(b []byte) []byte { b[len(b)-20] ^= 1; return b }, "checksum mismatch"},
		{"cut short", func(b []byte) []byte { return b[:len(b)/2] }, "checksum mismatch"},
		{"empty", func(b []byte) []byte { return nil }, "too short"},
		{"another version", func(b []byte) []byte { b[8]++; return b }, "version"},
		{"another key", func(b []byte) []byte { b[20] ^= 1; return b }, "key differs"},
		{"not ours", func(b []byte) []byte { b[0] = 'X'; return b }, "not a prepared areas file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store.entries[name] = tc.damage(bytes.Clone(good))
			var log bytes.Buffer
			p, from, err := LoadFilesPrepared(files, store, slog.New(slog.NewTextHandler(&log, nil)))
			require.NoError(t, err)
			require.False(t, from)
			require.Equal(t, want, p.Areas)
			require.Contains(t, log.String(), tc.warn)
			require.Equal(t, good, store.entries[name], "replaced by a good entry")
		})
	}

	store.storeErr = errors.New("disk full")
	store.entries = nil
	var log bytes.Buffer
	p, _, err := LoadFilesPrepared(files, store, slog.New(slog.NewTextHandler(&log, nil)))
	require.NoError(t, err, "a store that cannot write is not fatal")
	require.Equal(t, want, p.Areas)
	require.Contains(t, log.String(), "disk full")
}

// TestPreparedAreasNeverStoresFailures: files that do not load give
// LoadFilesReport's error and store nothing.
func TestPreparedAreasNeverStoresFailures(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.geojson")
	require.NoError(t, os.WriteFile(p, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`), 0o644))
	f := config.GeoFileDefaults()
	f.Path = p
	_, _, _, want := LoadFilesReport([]config.GeoFile{f})
	require.Error(t, want)
	store := &memStore{}
	_, _, err := LoadFilesPrepared([]config.GeoFile{f}, store, quiet())
	require.EqualError(t, err, want.Error())
	require.Zero(t, store.stores)
}

// preparedDigest pins what parsing, repair and normalisation make of the
// fixture files, with the version that names it. When the test fails
// because the output changed on purpose, bump preparedVersion (so stored
// entries from older builds are not reused) and put the new pair here.
const preparedDigest = "2 8295a2351b54576ef013760c0ae0b2861f9eaf36a6582448476c9c0e73f03892"

func TestPreparedVersionPinsTheOutput(t *testing.T) {
	files := preparedFixture(t)
	as, pcodes, repairs, err := LoadFilesReport(files)
	require.NoError(t, err)
	// The key holds the files' paths' bytes, not the paths: a zero key
	// leaves only what was made of them.
	for i := range repairs { // repairs name their file's temporary path
		repairs[i].File = filepath.Base(repairs[i].File)
	}
	b := encodePrepared([32]byte{}, Prepared{Areas: as, PCodes: pcodes, Repairs: repairs})
	sum := sha256.Sum256(b)
	got := strings.Fields(preparedDigest)
	assert.Equal(t, got[1], hex.EncodeToString(sum[:]),
		"what LoadFilesReport makes of the fixtures changed: bump preparedVersion in prepared.go and update preparedDigest to %q",
		"<new version> "+hex.EncodeToString(sum[:]))
	assert.Equal(t, got[0], strconv.Itoa(preparedVersion), "preparedDigest names another version")
}

// FuzzDecodePreparedBody: any body decodes without a panic, and what
// decodes encodes back to the same bytes.
func FuzzDecodePreparedBody(f *testing.F) {
	files := preparedFixture(f)
	as, pcodes, repairs, err := LoadFilesReport(files)
	require.NoError(f, err)
	full := encodePrepared([32]byte{}, Prepared{Areas: as[:3], PCodes: pcodes, Repairs: repairs})
	const head = len(preparedMagic) + 4 + 32
	f.Add(full[head : len(full)-4])
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeBody(body)
		if err != nil {
			return
		}
		again := encodePrepared([32]byte{}, p)
		q, err := decodeBody(again[head : len(again)-4])
		require.NoError(t, err)
		require.Equal(t, p, q)
	})
}

// TestAreasCarryTheirGeodesicArea: loaded areas (parsed or prepared) carry
// their geometry's geodesic area, the very number GeodesicAreaKm2 gives.
func TestAreasCarryTheirGeodesicArea(t *testing.T) {
	files := preparedFixture(t)
	store := &memStore{}
	for _, name := range []string{"parsed", "prepared"} {
		p, _, err := LoadFilesPrepared(files, store, quiet())
		require.NoError(t, err, name)
		for _, a := range p.Areas {
			require.Positive(t, a.Km2, "%s %s", name, a.Code)
			require.Equal(t, indicators.GeodesicAreaKm2(a.Geometry), a.Km2, "%s %s", name, a.Code)
		}
	}
}
