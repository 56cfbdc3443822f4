package nhc

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flagUpdate()

func testEnv() adapter.Env {
	return adapter.Env{Name: "nhc-test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:   func() time.Time { return time.Date(2026, 9, 14, 16, 0, 0, 0, time.UTC) },
		Fetch: config.Fetch{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20}}
}

// nhcServer serves fixtures/nhc as www.nhc.noaa.gov: CurrentStorms.json with
// its absolute URLs pointed at the test server, KMZ by file name.
type nhcServer struct {
	srv      *httptest.Server
	list     atomic.Value // []byte
	kmzGets  atomic.Int32
	override map[string][]byte
}

func newNHC(t *testing.T, listFile string) *nhcServer {
	s := &nhcServer{override: map[string][]byte{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/CurrentStorms.json" {
			_, _ = w.Write(s.list.Load().([]byte))
			return
		}
		s.kmzGets.Add(1)
		name := path.Base(r.URL.Path)
		if b, ok := s.override[name]; ok {
			_, _ = w.Write(b)
			return
		}
		b, err := os.ReadFile(testutil.Fixture(t, "nhc", name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(s.srv.Close)
	s.setList(t, listFile)
	return s
}

func (s *nhcServer) setList(t *testing.T, file string) {
	b, err := os.ReadFile(testutil.Fixture(t, "nhc", file))
	require.NoError(t, err)
	s.list.Store(bytes.ReplaceAll(b, []byte("https://www.nhc.noaa.gov"), []byte(s.srv.URL)))
}

type goldenBatch struct {
	Events   []indicators.Event `json:"events"`
	Problems []string           `json:"problems,omitempty"`
	Versions map[string]string  `json:"versions"`
}

func checkGolden(t *testing.T, b adapter.Batch, base, file string) {
	t.Helper()
	g := goldenBatch{Events: b.Events, Versions: b.Cursor.Versions}
	for _, p := range b.Problems {
		g.Problems = append(g.Problems, p.Error())
	}
	got, err := json.MarshalIndent(g, "", " ")
	require.NoError(t, err)
	got = bytes.ReplaceAll(got, []byte(base), []byte("https://www.nhc.noaa.gov"))
	testutil.Golden(t, testutil.Fixture(t, "nhc", file), got, *update)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	s := newNHC(t, "CurrentStorms.json")
	cfg := DefaultConfig()
	cfg.URL = s.srv.URL + "/CurrentStorms.json"
	require.NoError(t, cfg.Validate())
	src := New(cfg, testEnv())
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	checkGolden(t, b, s.srv.URL, "CurrentStorms.golden.json")

	ev := map[string]indicators.Event{}
	for _, e := range b.Events {
		ev[e.ID] = e
	}
	require.Len(t, ev, 4, "forecast + observed for each storm")
	teresa := ev["nhc:al142026"]
	assert.Equal(t, indicators.Forecast, teresa.Phase)
	assert.Equal(t, "012", teresa.Version)
	assert.Equal(t, indicators.SeverityRed, teresa.Severity, "forecast peak 110 kt is cat 3")
	assert.Equal(t, time.Date(2026, 9, 19, 15, 0, 0, 0, time.UTC), teresa.ValidTo, "advisory + 120 h")
	bands := map[string]int{}
	for _, f := range teresa.Footprints {
		bands[f.Band]++
	}
	assert.Equal(t, map[string]int{"cone": 1, "34 kt": 6, "50 kt": 6, "64 kt": 6}, bands, "radii at 0..72 h")
	pts := teresa.Properties["forecast_points"].([]ForecastPoint)
	require.Len(t, pts, 8)
	assert.Equal(t, time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC), pts[2].Valid, "24 h point valid 24 h after the 12Z synoptic time")
	obs := ev["nhc:al142026:observed"]
	assert.Equal(t, indicators.Observed, obs.Phase)
	assert.Equal(t, indicators.SeverityOrange, obs.Severity, "85 kt now: cat 2")
	assert.Equal(t, "centre", obs.Footprints[0].Band)

	victor := ev["nhc:ep202026"]
	assert.Equal(t, indicators.SeverityGreen, victor.Severity)
	assert.Len(t, victor.Footprints, 1, "cone only: the radii KMZ is broken")
	require.Len(t, b.Problems, 1)
	assert.Contains(t, b.Problems[0].Error(), "EP202026_forecastradii_005Aadv.kmz")
	assert.Contains(t, b.Problems[0].Error(), "not KML: no <kml> element")

	assert.Equal(t, "005A+partial", victor.Version, "a partial storm is fetched again next poll")

	// Same list again: Teresa is not downloaded again; Victor is retried,
	// and once its radii KMZ is fixed, it comes back complete.
	gets := s.kmzGets.Load()
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.Equal(t, gets+3, s.kmzGets.Load(), "only the partial storm's cone, track and radii are fetched")
	require.Len(t, b2.Events, 2)
	assert.Equal(t, "nhc:ep202026", b2.Events[0].ID)
	s.override["EP202026_forecastradii_005Aadv.kmz"] = zipOf(t, map[string][]byte{"doc.kml": []byte(`<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>Forecast Wind Radii</name>
<Placemark><name>34 knot winds (12 h)</name><ExtendedData><SchemaData><SimpleData name="RADII">34.0</SimpleData><SimpleData name="VALIDTIME">14/1800</SimpleData></SchemaData></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>-110,14 -109,14 -109,15 -110,15 -110,14</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Folder></Document></kml>`)})
	b2, err = src.Fetch(context.Background(), b2.Cursor)
	require.NoError(t, err)
	require.Len(t, b2.Events, 2)
	assert.Equal(t, "005A", b2.Events[0].Version)
	assert.Equal(t, "34 kt", b2.Events[0].Footprints[1].Band)
	assert.Equal(t, time.Date(2026, 9, 14, 18, 0, 0, 0, time.UTC), b2.Events[0].Footprints[1].ValidFrom)
	b2, err = src.Fetch(context.Background(), b2.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified, "every storm complete and unchanged: nothing to recompute")

	// Storms gone from activeStorms end.
	s.setList(t, "CurrentStorms_none.json")
	b3, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Len(t, b3.Events, 4)
	for _, e := range b3.Events {
		assert.True(t, e.Closed, e.ID)
	}
	assert.Empty(t, b3.Cursor.Versions)
	b4, err := src.Fetch(context.Background(), b3.Cursor)
	require.NoError(t, err)
	assert.True(t, b4.NotModified)
}

func TestNewAdvisoryRefetches(t *testing.T) {
	t.Parallel()
	s := newNHC(t, "CurrentStorms.json")
	cfg := DefaultConfig()
	cfg.URL = s.srv.URL + "/CurrentStorms.json"
	cfg.Basins = []string{"AL"}
	src := New(cfg, testEnv())
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 2, "basin filter keeps the Atlantic storm")
	cur := b.Cursor
	cur.Versions["nhc:al142026"] = "011"
	b2, err := src.Fetch(context.Background(), cur)
	require.NoError(t, err)
	require.Len(t, b2.Events, 2)
	assert.Equal(t, "012", b2.Events[0].Version)
}

func TestRealCurrentStormsSample(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(testutil.SharedSample(t, "nhc", "CurrentStorms_al012020_Arthur.json"))
	require.NoError(t, err)
	cs, err := ParseCurrentStorms(body)
	require.NoError(t, err)
	require.Len(t, cs.ActiveStorms, 1)
	st := cs.ActiveStorms[0]
	assert.Equal(t, "al012020", st.ID)
	assert.Equal(t, "002A", st.Advisory(), "trackCone advNum is the version")
	assert.Equal(t, time.Date(2020, 5, 17, 6, 0, 0, 0, time.UTC), st.Issued())
	lon, lat, ok := st.Position()
	require.True(t, ok)
	assert.Equal(t, -77.7, lon)
	assert.Equal(t, 29.6, lat)
	assert.Equal(t, "https://www.nhc.noaa.gov/storm_graphics/api/AL012020_002Aadv_CONE.kmz", st.TrackCone.KmzFile)
	assert.Equal(t, "https://www.nhc.noaa.gov/storm_graphics/api/AL012020_forecastradii_002Aadv.kmz", st.ForecastWindRadiiGIS.KmzFile)

	// Through the source, with every KMZ missing (404): the storm is a
	// problem, not a failure, and its observed centre still comes through.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/CurrentStorms.json" {
			_, _ = w.Write(bytes.ReplaceAll(body, []byte("https://www.nhc.noaa.gov"), []byte("http://"+r.Host)))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/CurrentStorms.json"
	b, err := New(cfg, testEnv()).Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.NotEmpty(t, b.Problems)
	assert.Contains(t, b.Problems[0].Error(), "AL012020_002Aadv_CONE.kmz")
	assert.Contains(t, b.Problems[0].Error(), "HTTP 404")
	require.Len(t, b.Events, 1)
	assert.Equal(t, "nhc:al012020:observed", b.Events[0].ID)
	assert.Equal(t, orb.Point{-77.7, 29.6}, b.Events[0].Footprints[0].Geometry)
	assert.Equal(t, indicators.SeverityGreen, b.Events[0].Severity)
	assert.Equal(t, "TS 35 kt (tropical storm)", b.Events[0].NativeSeverity)
}

func TestDemoFeed(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.URL = "file://" + testutil.Fixture(t, "demo", "feeds", "nhc", "CurrentStorms.json")
	env := testEnv()
	env.BaseDir = testutil.Fixture(t, "demo")
	b, err := New(cfg, env).Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Empty(t, b.Problems)
	require.Len(t, b.Events, 2)
	demoland := orb.Polygon{{{60, 10}, {64, 10}, {64, 14}, {60, 14}, {60, 10}}}
	fc := b.Events[0]
	assert.Equal(t, "nhc:al992026", fc.ID)
	assert.Equal(t, indicators.SeverityRed, fc.Severity)
	hit := map[string]bool{}
	for _, f := range fc.Footprints {
		if indicators.Intersects(demoland, f.Geometry) {
			hit[f.Band] = true
		}
	}
	assert.Equal(t, map[string]bool{"cone": true, "34 kt": true, "50 kt": true, "64 kt": true}, hit, "the demo storm hits Demoland with every band")
}

func TestFailuresNameSourceURLAndProblem(t *testing.T) {
	t.Parallel()
	big := `{"activeStorms":[` + strings.Repeat(`{"id":"al012020"},`, 100000) + `{"id":"x"}]}`
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{\n \"activeStorms\": [,]}")) }, "malformed JSON at line 2"},
		{"truncated", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"activeStorms":[{"id":"al01`)) }, "truncated"},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "empty body"},
		{"not nhc", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"storms":[]}`)) }, `no "activeStorms" key`},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(big)) }, "response too large"},
		{"slow", testutil.SlowBody([]byte(`{"activeStorms":[`)), "timed out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			cfg := DefaultConfig()
			cfg.URL = srv.URL + "/CurrentStorms.json"
			cfg.MaxBodyBytes = 64 << 10
			env := testEnv()
			env.Fetch.Timeout = 300 * time.Millisecond
			_, err := New(cfg, env).Fetch(context.Background(), adapter.Cursor{})
			testutil.AssertFetchError(t, err, "nhc-test", srv.URL+"/CurrentStorms.json", tc.want)
		})
	}
}

func zipOf(t testing.TB, files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, _ = w.Write(b)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestKMZLimitsAndErrors(t *testing.T) {
	t.Parallel()
	cone, err := os.ReadFile(testutil.Fixture(t, "nhc", "AL142026_012adv_CONE.kmz"))
	require.NoError(t, err)
	many := map[string][]byte{}
	for i := 0; i < 40; i++ {
		many[strings.Repeat("x", i+1)+".png"] = []byte("x")
	}
	bomb := zipOf(t, map[string][]byte{"doc.kml": bytes.Repeat([]byte(" "), 4<<20)}) // 4 MiB of spaces deflate to ~4 kB
	cases := []struct {
		name string
		body []byte
		lim  Limits
		want string
	}{
		{"ok", cone, DefaultLimits, ""},
		{"zip bomb", bomb, Limits{MaxEntries: 8, MaxKMLBytes: 1 << 20}, "more than the limit of 1048576"},
		{"too many entries", zipOf(t, many), DefaultLimits, "lists 40 entries"},
		{"no kml", zipOf(t, map[string][]byte{"a.png": []byte("x")}), DefaultLimits, "no .kml entry"},
		{"html", []byte("<html><body>Not found</body></html>"), DefaultLimits, "not KML"},
		{"garbage", []byte("PK\x03\x04garbage"), DefaultLimits, "not a KMZ"},
		{"empty", nil, DefaultLimits, "empty body"},
		{"truncated kml", zipOf(t, map[string][]byte{"doc.kml": []byte(`<kml><Document><Placemark><name>x</name><Point><coordinates>1,2`)}), DefaultLimits, "malformed KML"},
		{"bad coords", zipOf(t, map[string][]byte{"doc.kml": []byte(`<kml><Placemark><name>p</name><Point><coordinates>1;2</coordinates></Point></Placemark></kml>`)}), DefaultLimits, `coordinate "1;2"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pms, err := ReadKMZ(tc.body, tc.lim)
			if tc.want == "" {
				require.NoError(t, err)
				require.Len(t, pms, 1)
				assert.Equal(t, "Forecast Cone", pms[0].Folder)
				assert.Equal(t, "120", pms[0].Field("fcstprd"))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseKMLGeometries(t *testing.T) {
	t.Parallel()
	doc := `<?xml version="1.0"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>d</name>
<Folder><name>Outer</name>
 <Folder><name>Inner</name>
  <Placemark><name>holed</name>
   <ExtendedData><Data name="RADII"><value>50</value></Data></ExtendedData>
   <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0,0 10,0,0 10,10,0 0,10,0 0,0,0</coordinates></LinearRing></outerBoundaryIs>
   <innerBoundaryIs><LinearRing><coordinates>2,2 4,2 4,4 2,4 2,2</coordinates></LinearRing></innerBoundaryIs></Polygon>
  </Placemark>
 </Folder>
 <Placemark><name>multi</name><MultiGeometry>
   <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing></outerBoundaryIs></Polygon>
   <Polygon><outerBoundaryIs><LinearRing><coordinates>5,5 6,5 6,6 5,5</coordinates></LinearRing></outerBoundaryIs></Polygon>
 </MultiGeometry></Placemark>
 <Placemark><name>line</name><LineString><coordinates>
   1,1 2,2
   3,3</coordinates></LineString></Placemark>
</Folder></Document></kml>`
	pms, err := ParseKML(strings.NewReader(doc))
	require.NoError(t, err)
	require.Len(t, pms, 3)
	assert.Equal(t, "Inner", pms[0].Folder)
	assert.Equal(t, 50, radiiBand(pms[0]))
	p := pms[0].Geometry.(orb.Polygon)
	require.Len(t, p, 2, "outer + inner boundary")
	assert.Equal(t, orb.Point{2, 2}, p[1][0])
	assert.Equal(t, "Outer", pms[1].Folder)
	assert.IsType(t, orb.MultiPolygon{}, pms[1].Geometry)
	assert.Equal(t, orb.LineString{{1, 1}, {2, 2}, {3, 3}}, pms[2].Geometry)
}

func TestValidTime(t *testing.T) {
	t.Parallel()
	iss := time.Date(2026, 9, 30, 21, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		tau  int
		want time.Time
	}{
		{"01/0600", 0, time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC)},
		{"30/1800", 0, time.Date(2026, 9, 30, 18, 0, 0, 0, time.UTC)},
		{"2026100112", 0, time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)},
		{"2026-10-02T00:00:00Z", 0, time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC)},
		{"", 24, time.Date(2026, 10, 1, 18, 0, 0, 0, time.UTC)},
		{"", -1, time.Time{}},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, validTime(tc.in, tc.tau, iss), tc.in)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		mod  func(c *Config)
		want []string
	}{
		{"defaults", func(c *Config) {}, nil},
		{"bad url", func(c *Config) { c.URL = "" }, []string{"url"}},
		{"bad basin", func(c *Config) { c.Basins = []string{"wp"} }, []string{"basins[0]"}},
		{"every problem", func(c *Config) { c.ConeHours = 1; c.MaxZipEntries = 0; c.MaxKMLBytes = 1 }, []string{"cone_hours", "max_zip_entries", "max_kml_bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func FuzzReadKMZ(f *testing.F) {
	for _, n := range []string{"AL142026_012adv_CONE.kmz", "AL142026_012adv_TRACK.kmz", "AL142026_forecastradii_012adv.kmz"} {
		b, err := os.ReadFile(testutil.Fixture(f, "nhc", n))
		require.NoError(f, err)
		f.Add(b)
		if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
			rc, _ := zr.File[0].Open()
			kml, _ := io.ReadAll(rc)
			f.Add(kml)
		}
	}
	f.Add([]byte(`<kml><Placemark><MultiGeometry><MultiGeometry><Point><coordinates>1,2</coordinates></Point></MultiGeometry></MultiGeometry></Placemark></kml>`))
	lim := Limits{MaxEntries: 8, MaxKMLBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		pms, err := ReadKMZ(b, lim)
		if err != nil {
			return
		}
		for _, pm := range pms {
			if pm.Geometry != nil {
				_, _ = indicators.NormalizeGeometry(pm.Geometry)
			}
			_ = radiiBand(pm)
		}
	})
}

func FuzzParseCurrentStorms(f *testing.F) {
	for _, n := range []string{"CurrentStorms.json", "CurrentStorms_none.json"} {
		b, err := os.ReadFile(testutil.Fixture(f, "nhc", n))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"activeStorms":[{"id":"al012020","intensity":35,"latitude":"29.6N","longitude":"77.7W"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseCurrentStorms(b)
		if err != nil {
			return
		}
		for _, st := range cs.ActiveStorms {
			_ = st.Advisory()
			_ = st.Issued()
			_, _, _ = st.Position()
		}
	})
}

// BenchmarkReadRadiiKMZ: inflate and parse a forecast wind radii KMZ.
func BenchmarkReadRadiiKMZ(b *testing.B) {
	body, err := os.ReadFile(testutil.Fixture(b, "nhc", "AL142026_forecastradii_012adv.kmz"))
	require.NoError(b, err)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ReadKMZ(body, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}
