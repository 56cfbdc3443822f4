package firms

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var (
	update = flag.Bool("update", false, "rewrite golden files")
	gen    = flag.Bool("gen", false, "regenerate the demo feed under fixtures/demo/feeds/firms")
)

const testKey = "0123456789abcdef0123456789abcdef"

func testEnv() adapter.Env {
	return adapter.Env{Name: "firms-test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:   func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) },
		Fetch: config.Fetch{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20}}
}

func readFixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(testutil.Fixture(t, "firms", name))
	require.NoError(t, err)
	return b
}

// apiServer answers the area API path /api/area/csv/{key}/{product}/{bbox}/{days}
// from a map of product → body, and records the paths it saw.
type apiServer struct {
	mu     sync.Mutex
	bodies map[string][]byte
	paths  []string
	srv    *httptest.Server
}

func newAPI(t *testing.T, bodies map[string][]byte) *apiServer {
	a := &apiServer{bodies: bodies}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.paths = append(a.paths, r.URL.Path)
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/area/csv/"), "/")
		if len(parts) != 4 || parts[0] != testKey {
			_, _ = w.Write([]byte("Invalid MAP_KEY."))
			return
		}
		body, ok := a.bodies[parts[1]]
		if !ok {
			http.Error(w, "Invalid source "+parts[1], http.StatusBadRequest)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func apiConfig(t *testing.T, base string) *Config {
	t.Setenv("FIRMS_TEST_KEY", testKey)
	cfg := DefaultConfig()
	cfg.APIURL = base + "/api/area/csv/{MAP_KEY}/{product}/{bbox}/{days}"
	cfg.MapKeyEnv = "FIRMS_TEST_KEY"
	cfg.Products = []string{"VIIRS_SNPP_NRT", "MODIS_NRT"}
	require.NoError(t, cfg.Validate())
	return cfg
}

type goldenBatch struct {
	Events   []indicators.Event `json:"events"`
	Problems []string           `json:"problems,omitempty"`
	Versions map[string]string  `json:"versions"`
}

func checkGolden(t *testing.T, b adapter.Batch, path string) {
	t.Helper()
	g := goldenBatch{Events: b.Events, Versions: b.Cursor.Versions}
	for _, p := range b.Problems {
		g.Problems = append(g.Problems, p.Error())
	}
	testutil.Golden(t, path, g, *update)
}

func TestGoldenAreaAPI(t *testing.T) {
	api := newAPI(t, map[string][]byte{"VIIRS_SNPP_NRT": readFixture(t, "viirs_snpp_area.csv"), "MODIS_NRT": readFixture(t, "modis_global_24h.csv")})
	cfg := apiConfig(t, api.srv.URL)
	env := testEnv()
	env.Areas = []indicators.Area{{Code: "A", Geometry: orb.Polygon{{{60.001, 10}, {64, 10}, {64, 14.004}, {60.001, 14.004}, {60.001, 10}}}}}
	src := New(cfg, env)
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	// Golden output must not depend on the test server's port.
	for i := range b.Problems {
		b.Problems[i] = errorString(strings.ReplaceAll(b.Problems[i].Error(), api.srv.URL, "http://firms.test"))
	}
	checkGolden(t, b, testutil.Fixture(t, "firms", "area_api.golden.json"))

	assert.Equal(t, []string{"/api/area/csv/" + testKey + "/VIIRS_SNPP_NRT/60,10,64,14.01/1", "/api/area/csv/" + testKey + "/MODIS_NRT/60,10,64,14.01/1"}, api.paths, "bbox from the areas, rounded outwards")
	ids := map[string]indicators.Event{}
	for _, e := range b.Events {
		ids[e.ID] = e
		assert.Equal(t, indicators.Wildfire, e.Type)
		assert.Equal(t, indicators.Observed, e.Phase)
		assert.Equal(t, indicators.SeverityGreen, e.Severity)
	}
	require.Len(t, ids, 3)
	d25 := ids["firms:VIIRS_SNPP_NRT:2026-11-25"]
	assert.Len(t, d25.Footprints, 3, "the duplicate row is dropped")
	assert.Equal(t, time.Date(2026, 11, 26, 21, 18, 0, 0, time.UTC), d25.ValidTo, "last detection + 24 h persistence")
	assert.Equal(t, "MW", d25.Footprints[0].Unit)
	require.Len(t, b.Problems, 1, "the not-a-number row")
	assert.Contains(t, b.Problems[0].Error(), "line 8: latitude")
	assert.Equal(t, "2026-11-26T21:00:00Z", b.Cursor.Extra["watermark:VIIRS_SNPP_NRT"])
	for _, p := range b.Problems {
		assert.NotContains(t, p.Error(), testKey)
	}

	// Nothing new: no events, NotModified.
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.Len(t, b2.Events, 0)
	assert.Len(t, b2.Problems, 1, "the bad row is still reported")

	// The window slides: day 25 comes back with one row only; the stored
	// event keeps its fuller set. A new detection on day 26 updates it.
	api.mu.Lock()
	api.bodies["VIIRS_SNPP_NRT"] = []byte("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,bright_ti5,frp,daynight\n" +
		"11.02255,62.80311,298.05,0.44,0.39,2026-11-25,2118,N,VIIRS,l,2.0NRT,281.93,0.87,N\n" +
		"13.51864,60.40228,367.00,0.41,0.37,2026-11-26,0854,N,VIIRS,h,2.0NRT,301.65,24.90,D\n" +
		"13.52210,60.40650,352.76,0.41,0.37,2026-11-26,0854,N,VIIRS,n,2.0NRT,299.20,15.02,D\n" +
		"10.77719,63.14402,301.33,0.52,0.41,2026-11-26,2100,N,VIIRS,n,2.0NRT,301.33,1.66,N\n" +
		"12.00000,62.00000,310.00,0.52,0.41,2026-11-26,2242,N,VIIRS,n,2.0NRT,290.00,3.10,N\n")
	api.mu.Unlock()
	b3, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Len(t, b3.Events, 1)
	assert.Equal(t, "firms:VIIRS_SNPP_NRT:2026-11-26", b3.Events[0].ID)
	assert.Len(t, b3.Events[0].Footprints, 4)
	assert.Equal(t, b.Cursor.Versions["firms:VIIRS_SNPP_NRT:2026-11-25"], b3.Cursor.Versions["firms:VIIRS_SNPP_NRT:2026-11-25"])
	assert.Equal(t, "2026-11-26T22:42:00Z", b3.Cursor.Extra["watermark:VIIRS_SNPP_NRT"])
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestNotModifiedWhenSameVersions(t *testing.T) {
	body := readFixture(t, "modis_global_24h.csv")
	srv := testutil.FeedServer(t, testutil.ServeBody(body))
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/MODIS_C6_1_Global_24h.csv"
	src := New(cfg, testEnv())
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	assert.Equal(t, "firms:MODIS:2026-11-26", b.Events[0].ID, "product inferred from the MODIS columns")
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
}

func TestMinConfidence(t *testing.T) {
	cases := []struct {
		min  string
		want int
	}{{"low", 4}, {"nominal", 3}, {"high", 1}}
	for _, tc := range cases {
		t.Run(tc.min, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL = "file://unused"
			cfg.MinConfidence = tc.min
			f, err := ParseCSV(readFixture(t, "modis_global_24h.csv"))
			require.NoError(t, err)
			evs, _ := New(cfg, testEnv()).group("MODIS", f.Hotspots)
			n := 0
			for _, e := range evs {
				n += len(e.Footprints)
			}
			assert.Equal(t, tc.want, n)
		})
	}
}

func TestOneProductFailingDoesNotStopOthers(t *testing.T) {
	api := newAPI(t, map[string][]byte{"MODIS_NRT": readFixture(t, "modis_global_24h.csv")})
	cfg := apiConfig(t, api.srv.URL)
	b, err := New(cfg, testEnv()).Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	require.Len(t, b.Problems, 1)
	msg := b.Problems[0].Error()
	assert.Contains(t, msg, "HTTP 400")
	assert.Contains(t, msg, "VIIRS_SNPP_NRT")
	assert.Contains(t, msg, "REDACTED")
	assert.NotContains(t, msg, testKey, "the MAP_KEY never appears in errors")
}

func TestBadMapKeyIsAuth(t *testing.T) {
	api := newAPI(t, map[string][]byte{})
	cfg := apiConfig(t, api.srv.URL)
	t.Setenv("FIRMS_TEST_KEY", "wrongkey")
	cfg.Products = []string{"MODIS_NRT"}
	_, err := New(cfg, testEnv()).Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Equal(t, adapter.Auth, adapter.ClassOf(err))
	assert.NotContains(t, err.Error(), "wrongkey")

	t.Setenv("FIRMS_TEST_KEY", "")
	_, err = New(cfg, testEnv()).Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FIRMS_TEST_KEY")
}

func TestRealSamples(t *testing.T) {
	cases := []struct {
		file     string
		product  string
		day      string
		hotspots int
	}{
		{"MODIS_C6_1_Global_24h_2023-08-01_mozambique_bbox.csv", "MODIS", "2023-08-01", -1},
		{"SUOMI_VIIRS_C2_7d_excerpt_3rows.csv", "VIIRS", "2022-07-06", 3},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(testutil.SharedSample(t, "firms", tc.file))
			require.NoError(t, err)
			f, err := ParseCSV(body)
			require.NoError(t, err)
			assert.Empty(t, f.Problems)
			assert.Equal(t, tc.product, f.Sensor)
			rows := strings.Count(strings.TrimSpace(string(body)), "\n")
			assert.Len(t, f.Hotspots, rows, "every data row is read")
			cfg := DefaultConfig()
			cfg.URL = "file://x"
			evs, wm := New(cfg, testEnv()).group(f.Sensor, f.Hotspots)
			require.NotEmpty(t, evs)
			assert.Equal(t, "firms:"+tc.product+":"+tc.day, evs[0].ID)
			assert.False(t, wm.IsZero())
			if tc.hotspots > 0 {
				assert.Len(t, evs[0].Footprints, tc.hotspots)
			}
			for _, fp := range evs[0].Footprints {
				require.NotNil(t, fp.Value, "FRP")
				assert.NotEqual(t, "unknown", fp.Band)
			}
		})
	}
}

func TestFailuresNameSourceURLAndProblem(t *testing.T) {
	big := "latitude,longitude,acq_date,acq_time\n" + strings.Repeat("12.1,61.1,2026-11-26,0100\n", 60000)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		problem bool
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>maintenance</html>")) }, "not a FIRMS CSV: header lacks latitude", false},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,confidence\n12.1,61.2,330,0.4,0.4,2026-11-26,0100,N,n\n12.3,61."))
		}, "line 3: acq_date/acq_time", true},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "empty body", false},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(big)) }, "response too large", false},
		{"slow", testutil.SlowBody([]byte("latitude,longitude,")), "timed out", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			cfg := DefaultConfig()
			cfg.URL = srv.URL + "/fires.csv"
			env := testEnv()
			if tc.name == "slow" {
				// Short only where the timeout is the point: on a loaded
				// machine the other cases may take longer than this.
				env.Fetch.Timeout = 300 * time.Millisecond
			}
			b, err := New(cfg, env).Fetch(context.Background(), adapter.Cursor{})
			if tc.problem {
				require.NoError(t, err)
				require.NotEmpty(t, b.Problems)
				err = b.Problems[0]
			}
			testutil.AssertFetchError(t, err, "firms-test", srv.URL+"/fires.csv", tc.want)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("FIRMS_MAP_KEY", "k")
	cases := []struct {
		name string
		mod  func(c *Config)
		want []string
	}{
		{"defaults with key", func(c *Config) {}, nil},
		{"keyless url", func(c *Config) { c.URL = "file://feeds/firms/x.csv"; c.MapKeyEnv = "NOPE_NOT_SET" }, nil},
		{"key env unset", func(c *Config) { c.MapKeyEnv = "NOPE_NOT_SET" }, []string{"map_key_env", "NOPE_NOT_SET is not set"}},
		{"bad product", func(c *Config) { c.Products = []string{"VIIRS"} }, []string{"products[0]"}},
		{"bad bbox", func(c *Config) { c.BBox = []float64{64, 10, 60, 14} }, []string{"bbox"}},
		{"bad days", func(c *Config) { c.Days = 0 }, []string{"days"}},
		{"bad conf", func(c *Config) { c.MinConfidence = "50" }, []string{"min_confidence"}},
		{"bad template", func(c *Config) { c.APIURL = "https://x/{product}" }, []string{"api_url"}},
		{"every problem", func(c *Config) { c.Days = 99; c.Persistence = -time.Hour; c.URL = "gopher://x" }, []string{"days", "persistence", "url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, p := range []string{testutil.Fixture(f, "firms", "viirs_snpp_area.csv"), testutil.Fixture(f, "firms", "modis_global_24h.csv"),
		testutil.Fixture(f, "demo", "feeds", "firms", "VIIRS_SNPP_NRT_demoland.csv")} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("latitude,longitude,acq_date,acq_time\n\"1,2\n"))
	cfg := DefaultConfig()
	cfg.URL = "file://x"
	src := New(cfg, testEnv())
	f.Fuzz(func(t *testing.T, body []byte) {
		file, err := ParseCSV(body)
		// Reading in small, uneven pieces (as from a slow connection) must
		// never change the answer.
		var streamed []Hotspot
		sfile, serr := Scan(iotest.HalfReader(iotest.OneByteReader(bytes.NewReader(body))), func(h *Hotspot) { streamed = append(streamed, *h) })
		if (err == nil) != (serr == nil) {
			t.Fatalf("in memory: %v, streamed: %v", err, serr)
		}
		if err != nil {
			if err.Error() != serr.Error() {
				t.Fatalf("errors differ: %q vs %q", err, serr)
			}
			return
		}
		if len(streamed) != len(file.Hotspots) || fmt.Sprint(sfile.Problems) != fmt.Sprint(file.Problems) {
			t.Fatalf("streamed %d hotspots, %v; in memory %d, %v", len(streamed), sfile.Problems, len(file.Hotspots), file.Problems)
		}
		for i := range streamed {
			if streamed[i].Key() != file.Hotspots[i].Key() {
				t.Fatalf("hotspot %d: %s vs %s", i, streamed[i].Key(), file.Hotspots[i].Key())
			}
		}
		if len(file.Problems) > maxProblems+1 {
			t.Fatalf("%d problems listed", len(file.Problems))
		}
		evs, _ := src.group(file.Sensor, file.Hotspots)
		for _, e := range evs {
			if len(e.Footprints) == 0 {
				t.Fatal("event without hotspots")
			}
		}
	})
}

// BenchmarkParseAndGroup: the real 1,500-row MODIS sample, CSV to events.
func BenchmarkParseAndGroup(b *testing.B) {
	body, err := os.ReadFile(testutil.SharedSample(b, "firms", "MODIS_C6_1_Global_24h_2023-08-01_mozambique_bbox.csv"))
	require.NoError(b, err)
	cfg := DefaultConfig()
	cfg.URL = "file://x"
	src := New(cfg, testEnv())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		f, err := ParseCSV(body)
		if err != nil {
			b.Fatal(err)
		}
		src.group(f.Sensor, f.Hotspots)
	}
}

// TestKeylessFileIsCutToTheAreas: a keyless file is global, so rows outside
// the areas' box (or the configured bbox) are dropped while reading; with
// neither, every row is kept. The demo file has 27 of 30 hotspots inside
// Demoland.
func TestKeylessFileIsCutToTheAreas(t *testing.T) {
	demo := testutil.Fixture(t, "demo", "feeds", "firms", "VIIRS_SNPP_NRT_demoland.csv")
	box := orb.Polygon{{{60, 10}, {64, 10}, {64, 14}, {60, 14}, {60, 10}}}
	cases := []struct {
		name  string
		areas []indicators.Area
		bbox  []float64
		want  int
	}{
		{name: "no areas, no bbox: world", want: 30},
		{name: "areas' box", areas: []indicators.Area{{Code: "A", Geometry: box}}, want: 27},
		{name: "configured bbox wins", areas: []indicators.Area{{Code: "A", Geometry: box}}, bbox: []float64{65, 12, 66, 13}, want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL = "file://" + demo
			cfg.BBox = tc.bbox
			require.NoError(t, cfg.Validate())
			env := testEnv()
			env.Areas = tc.areas
			b, err := New(cfg, env).Fetch(context.Background(), adapter.Cursor{})
			require.NoError(t, err)
			n := 0
			for _, e := range b.Events {
				n += len(e.Footprints)
				assert.Equal(t, len(e.Footprints), e.Properties["hotspots"])
			}
			assert.Equal(t, tc.want, n)
		})
	}
}
