package usgs

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

var update = flag.Bool("update", false, "rewrite golden files under fixtures/usgs")

func newSource(t *testing.T, mut func(*Config), fc config.Fetch) *Source {
	return newSourceIn(t, "", mut, fc)
}

// newSourceIn builds a source whose relative file:// URLs resolve in dir.
func newSourceIn(t *testing.T, dir string, mut func(*Config), fc config.Fetch) *Source {
	t.Helper()
	c := DefaultConfig()
	if mut != nil {
		mut(c)
	}
	require.NoError(t, c.Validate())
	return New(c, adapter.Env{Name: "quakes", Fetch: fc, BaseDir: dir})
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	if b, ok := v.(adapter.Batch); ok {
		// file:// validators come from the file's size and mtime: not stable.
		b.Cursor.ETag, b.Cursor.LastModified = "", ""
		v = b
	}
	testutil.Golden(t, testutil.Fixture(t, "usgs", "golden", name), v, *update)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		mut  func(*Config)
		want []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"file url", func(c *Config) { c.URL = "file://feeds/usgs/summary.geojson" }, nil},
		{"bad everything", func(c *Config) {
			c.URL = "ftp://x"
			c.MinMagnitude = 12
			c.BBox = []float64{1, 2, 3}
			c.DetailURLTemplate = "https://x/detail.geojson"
			c.MaxDetailsPerRun = -1
		}, []string{"url:", "min_magnitude:", "bbox:", "detail_url_template:", "max_details_per_run:"}},
		{"inverted bbox", func(c *Config) { c.BBox = []float64{60, 14, 64, 10} }, []string{"bbox:"}},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url: is required"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mut(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	f, ok := adapter.LookupSource(Kind)
	require.True(t, ok)
	c := f.NewConfig().(*Config)
	assert.Equal(t, DefaultURL, c.URL)
	assert.Equal(t, 4.5, c.MinMagnitude)
	assert.True(t, c.FetchDetails)
}

func TestSeverityRule(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	m := func(v float64) *float64 { return &v }
	cases := []struct {
		alert  *string
		mag    *float64
		want   indicators.Severity
		native string
	}{
		{s("green"), m(7), indicators.SeverityGreen, "PAGER green"},
		{s("yellow"), m(5), indicators.SeverityOrange, "PAGER yellow"},
		{s("orange"), m(5), indicators.SeverityOrange, "PAGER orange"},
		{s("red"), m(5), indicators.SeverityRed, "PAGER red"},
		{nil, m(5.99), indicators.SeverityGreen, "M 6.0 (no PAGER alert)"},
		{nil, m(6.0), indicators.SeverityOrange, "M 6.0 (no PAGER alert)"},
		{nil, m(6.5), indicators.SeverityRed, "M 6.5 (no PAGER alert)"},
		{nil, nil, indicators.SeverityNone, "no PAGER alert, no magnitude"},
	}
	for _, tc := range cases {
		got, native := Severity(tc.alert, tc.mag)
		assert.Equal(t, tc.want, got, native)
		assert.Equal(t, tc.native, native)
	}
	assert.InDelta(t, 56.2, RadiusKm(7.3), 0.1)
	assert.Equal(t, 5.0, RadiusKm(4.5))
}

// Every feature of the real summary samples becomes an event.
func TestSharedSummaries(t *testing.T) {
	t.Parallel()
	for _, p := range testutil.SharedSamples(t, "usgs", "*.geojson") {
		if strings.HasPrefix(filepath.Base(p), "detail_") {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			body, err := os.ReadFile(p)
			require.NoError(t, err)
			feats, probs, err := ParseSummary(body)
			require.NoError(t, err)
			require.Empty(t, probs)
			var meta Summary
			require.NoError(t, json.Unmarshal(body, &meta))
			require.Len(t, feats, meta.Metadata.Count)
			for i := range feats {
				ev := BaseEvent("quakes", feats[i].ID, &feats[i])
				assert.Equal(t, "usgs:"+feats[i].ID, ev.ID)
				assert.Equal(t, indicators.Observed, ev.Phase)
				assert.False(t, ev.Issued.IsZero())
				assert.NotEmpty(t, ev.Version)
				assert.NotEmpty(t, ev.NativeSeverity)
				fp, ok := RadiusFootprint(&feats[i])
				require.True(t, ok)
				assert.True(t, indicators.Contains(fp.Geometry, feats[i].Point()), ev.ID)
			}

			// Through the source: every earthquake-typed feature is emitted.
			src := newSource(t, func(c *Config) {
				c.URL = "file://" + p
				c.MinMagnitude = -2
				c.FetchDetails = false
			}, config.Fetch{})
			b, err := src.Fetch(context.Background(), adapter.Cursor{})
			require.NoError(t, err)
			quakes := 0
			for _, f := range feats {
				if f.Properties.Type == "earthquake" {
					quakes++
				}
			}
			assert.Len(t, b.Events, quakes)
			assert.True(t, b.Complete)
		})
	}
}

func TestSharedDetailAndContours(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(testutil.SharedSample(t, "usgs", "detail_us6000pi9w.geojson"))
	require.NoError(t, err)
	d, err := ParseDetail(body)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(d.ContourURL(), "/download/cont_mmi.json"), d.ContourURL())
	assert.True(t, strings.HasSuffix(d.ExposureURL(), "/json/exposures.json"), d.ExposureURL())
	assert.Equal(t, "5", d.ShakeMapVersion())

	cont, err := os.ReadFile(testutil.SharedSample(t, "usgs", "shakemap_cont_mmi.json"))
	require.NoError(t, err)
	fps, probs, err := ParseContours(cont)
	require.NoError(t, err)
	assert.Empty(t, probs)
	var bands []string
	for _, f := range fps {
		bands = append(bands, f.Band)
	}
	assert.Equal(t, []string{"MMI 3", "MMI 4", "MMI 5", "MMI 6", "MMI 7", "MMI 8"}, bands)
	checkCumulative(t, fps)
	// The 1959 Hebgen Lake epicentre (file metadata) has the strongest band.
	epi := orb.Point{-110.891, 44.63}
	for _, f := range fps {
		assert.True(t, indicators.Contains(f.Geometry, epi), f.Band)
	}
	// MMI 6 covers about 8,900 km² (planar ring area 1.013 deg² at 44.6°N).
	assert.InDelta(t, 8900, indicators.GeodesicAreaKm2(fps[3].Geometry), 400)
	// MMI 3 is open at the map edges on every side; closing along the box
	// makes it most of the 10°×7° map, not a sliver.
	assert.Greater(t, indicators.GeodesicAreaKm2(fps[0].Geometry), 200000.0)
}

func checkCumulative(t *testing.T, fps []indicators.Footprint) {
	t.Helper()
	for i := 1; i < len(fps); i++ {
		hi, lo := fps[i].Geometry, fps[i-1].Geometry
		aHi := indicators.GeodesicAreaKm2(hi)
		require.Greater(t, aHi, 0.0, fps[i].Band)
		assert.Less(t, aHi, indicators.GeodesicAreaKm2(lo), fps[i].Band)
		assert.InDelta(t, aHi, indicators.IntersectionAreaKm2(hi, lo), aHi*0.02, "%s inside %s", fps[i].Band, fps[i-1].Band)
	}
}

func TestContourFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"open_edges_cont_mmi.json"} {
		body, err := os.ReadFile(testutil.Fixture(t, "usgs", name))
		require.NoError(t, err)
		fps, probs, err := ParseContours(body)
		require.NoError(t, err)
		checkCumulative(t, fps)
		var msgs []string
		for _, p := range probs {
			msgs = append(msgs, p.Error())
		}
		golden(t, strings.TrimSuffix(name, ".json")+".expected.json", map[string]any{"footprints": fps, "problems": msgs})
	}
}

func TestContoursMalformed(t *testing.T) {
	t.Parallel()
	_, _, err := ParseContours([]byte("{\"type\": \"FeatureCollection\",\n \"features\": [}"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 2")
	_, _, err = ParseContours([]byte(`{"type":"FeatureCollection","features":[{"properties":{"value":5},"geometry":{"type":"Point","coordinates":[1,2]}}]}`))
	require.Error(t, err)
}

func demoDir(t *testing.T) string { return testutil.Fixture(t, "demo") }

// The demo feed, replayed with file:// URLs as the demo config does.
func TestDemoFeed(t *testing.T) {
	t.Parallel()
	src := newSourceIn(t, demoDir(t), func(c *Config) { c.URL = "file://feeds/usgs/summary.geojson" }, config.Fetch{})
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Empty(t, b.Problems)
	require.True(t, b.Complete)
	ids := eventIDs(b.Events)
	assert.Equal(t, []string{"usgs:us7000dm47", "usgs:us7000dm51", "usgs:us7000dm68", "usgs:us7000fa59"}, ids)

	big := b.Events[2]
	assert.Equal(t, indicators.SeverityOrange, big.Severity)
	assert.Equal(t, "PAGER orange", big.NativeSeverity)
	assert.Equal(t, "shakemap", big.Properties["footprint_method"])
	var bands []string
	for _, f := range big.Footprints {
		bands = append(bands, f.Band)
	}
	assert.Equal(t, []string{"MMI 4", "MMI 5", "MMI 6", "MMI 7", "MMI 8"}, bands)
	checkCumulative(t, big.Footprints)
	demoland := orb.Polygon{{{60, 10}, {64, 10}, {64, 14}, {60, 14}, {60, 10}}}
	for _, f := range big.Footprints {
		assert.True(t, indicators.Intersects(demoland, f.Geometry), f.Band)
	}
	assert.Equal(t, 377000.0+96000+905000, big.Properties["pager_population_mmi6plus"])
	assert.Equal(t, "magnitude-radius", b.Events[1].Properties["footprint_method"])
	golden(t, "demo_summary.expected.json", b)

	// One poll later: us7000dm51 left, the M4.7 changed preferred id and
	// version but keeps its first id; the M6.8's footprints come from the
	// cursor.
	src2 := newSourceIn(t, demoDir(t), func(c *Config) { c.URL = "file://feeds/usgs/summary_next.geojson" }, config.Fetch{})
	b2, err := src2.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Empty(t, b2.Problems)
	assert.Equal(t, []string{"usgs:us7000dm47", "usgs:us7000dm68", "usgs:us7000fa59"}, eventIDs(b2.Events))
	assert.Equal(t, "at00dm47xx", b2.Events[0].Properties["usgs_id"])
	assert.NotEqual(t, b.Events[0].Version, b2.Events[0].Version)
	assert.Equal(t, big.Version, b2.Events[1].Version)
	assert.Len(t, b2.Events[1].Footprints, 5)
	assert.NotContains(t, b2.Cursor.Extra, aliasPrefix+"us7000dm51")
	golden(t, "demo_summary_next.expected.json", b2)

	// Same file again: the file ETag makes it NotModified.
	b3, err := src2.Fetch(context.Background(), b2.Cursor)
	require.NoError(t, err)
	assert.True(t, b3.NotModified)
}

func eventIDs(evs []indicators.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// demoServer serves the demo feed over HTTP, rewriting its relative file://
// URLs to the server, and counts requests per path.
type demoServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
	file string // which summary to serve at /summary
}

func newDemoServer(t *testing.T) *demoServer {
	ds := &demoServer{hits: map[string]int{}, file: "summary.geojson"}
	root := filepath.Join(demoDir(t), "feeds", "usgs")
	ds.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ds.mu.Lock()
		ds.hits[r.URL.Path]++
		name := ds.file
		ds.mu.Unlock()
		p := r.URL.Path
		if p == "/summary" {
			p = "/" + name
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		b = []byte(strings.ReplaceAll(string(b), "file://feeds/usgs/", ds.URL+"/"))
		w.Write(b)
	}))
	t.Cleanup(ds.Close)
	return ds
}

func (ds *demoServer) count(p string) int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.hits[p]
}

func TestDetailsOnlyForChangedEvents(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	src := newSource(t, func(c *Config) { c.URL = ds.URL + "/summary" }, config.Fetch{})
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Empty(t, b.Problems)
	assert.Equal(t, 1, ds.count("/detail/us7000dm68.geojson"))
	assert.Equal(t, 1, ds.count("/detail/us7000dm68_cont_mmi.json"))
	assert.Equal(t, 1, ds.count("/detail/us7000dm68_exposures.json"))

	ds.file = "summary_next.geojson"
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.Equal(t, 1, ds.count("/detail/us7000dm68.geojson"), "unchanged event: no second detail fetch")
	assert.Len(t, b2.Events, 3)
	assert.Equal(t, "shakemap", b2.Events[1].Properties["footprint_method"])
}

func TestDetailBudgetAndFailure(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	// Details switched off: the radius, no detail fetch.
	src := newSource(t, func(c *Config) { c.URL = ds.URL + "/summary"; c.MaxDetailsPerRun = 0; c.FetchDetails = false }, config.Fetch{})
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Equal(t, 0, ds.count("/detail/us7000dm68.geojson"))
	assert.Equal(t, "magnitude-radius", b.Events[2].Properties["footprint_method"])

	// A broken detail URL: a problem, the radius, a pending version; the
	// next good poll fetches the detail and the version changes.
	src = newSource(t, func(c *Config) { c.URL = ds.URL + "/summary"; c.DetailURLTemplate = ds.URL + "/missing/{id}" }, config.Fetch{})
	b, err = src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Problems, 1)
	assert.Contains(t, b.Problems[0].Error(), "us7000dm68")
	assert.Contains(t, b.Problems[0].Error(), "/missing/us7000dm68")
	ev := b.Events[2]
	assert.True(t, strings.HasSuffix(ev.Version, pendingSuffix))
	assert.Equal(t, "magnitude-radius", ev.Properties["footprint_method"])

	src = newSource(t, func(c *Config) { c.URL = ds.URL + "/summary" }, config.Fetch{})
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSuffix(ev.Version, pendingSuffix), b2.Events[2].Version)
	assert.Equal(t, "shakemap", b2.Events[2].Properties["footprint_method"])

	// Per-run bound of 1 with one ShakeMap event: fetched.
	src = newSource(t, func(c *Config) { c.URL = ds.URL + "/summary"; c.MaxDetailsPerRun = 1 }, config.Fetch{})
	b3, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Equal(t, "shakemap", b3.Events[2].Properties["footprint_method"])
}

func TestFiltersFixture(t *testing.T) {
	t.Parallel()
	src := newSourceIn(t, testutil.Fixture(t, "usgs"), func(c *Config) {
		c.URL = "file://filters_summary.geojson"
		c.MinMagnitude = 4.5
		c.BBox = []float64{170, -50, -170, 10} // crosses the antimeridian
		c.FetchDetails = false
	}, config.Fetch{})
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	var msgs []string
	for _, p := range b.Problems {
		msgs = append(msgs, p.Error())
	}
	golden(t, "filters.expected.json", map[string]any{"events": b.Events, "problems": msgs})
}

func TestMalformedFeed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "{\"type\": \"FeatureCollection\",\n  \"features\": [\n    {\"id\": \"x\",, }\n]}")
	}))
	defer srv.Close()
	src := newSource(t, func(c *Config) { c.URL = srv.URL + "/feed.geojson" }, config.Fetch{})
	_, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	for _, want := range []string{"source=quakes", srv.URL + "/feed.geojson", "line 3, column 16"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestHTTPBehaviour(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join(demoDir(t), "feeds", "usgs", "summary.geojson"))
	require.NoError(t, err)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		fc      config.Fetch
		check   func(t *testing.T, b adapter.Batch, err error)
	}{
		{"304 not modified", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
			w.Write(body)
		}, config.Fetch{}, func(t *testing.T, b adapter.Batch, err error) {
			require.NoError(t, err)
			assert.True(t, b.NotModified)
			assert.Equal(t, `"v1"`, b.Cursor.ETag)
		}},
		{"oversize body", func(w http.ResponseWriter, r *http.Request) { w.Write(body) },
			config.Fetch{MaxBodyBytes: 1000}, func(t *testing.T, b adapter.Batch, err error) {
				require.Error(t, err)
				assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
				assert.Contains(t, err.Error(), "more than 1000 bytes")
			}},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) { w.Write(body[:len(body)/2]) },
			config.Fetch{}, func(t *testing.T, b adapter.Batch, err error) {
				require.Error(t, err)
				assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
				assert.Contains(t, err.Error(), "truncated")
			}},
		{"slow body", testutil.SlowBody(body[:100]), config.Fetch{Timeout: 300 * time.Millisecond}, func(t *testing.T, b adapter.Batch, err error) {
			require.Error(t, err)
			assert.Equal(t, adapter.Retryable, adapter.ClassOf(err))
			assert.Contains(t, err.Error(), "timed out")
		}},
		{"5xx", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream sad", http.StatusBadGateway)
		}, config.Fetch{}, func(t *testing.T, b adapter.Batch, err error) {
			require.Error(t, err)
			assert.Equal(t, adapter.Retryable, adapter.ClassOf(err))
			assert.Contains(t, err.Error(), "HTTP 502")
			assert.Contains(t, err.Error(), "source=quakes")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			src := newSource(t, func(c *Config) { c.URL = srv.URL; c.FetchDetails = false }, tc.fc)
			b, err := src.Fetch(context.Background(), adapter.Cursor{})
			if tc.name == "304 not modified" {
				require.NoError(t, err)
				b, err = src.Fetch(context.Background(), b.Cursor)
			}
			tc.check(t, b, err)
		})
	}
}

func FuzzParseSummary(f *testing.F) {
	for _, p := range []string{"demo/feeds/usgs/summary.geojson", "demo/feeds/usgs/summary_next.geojson", "usgs/filters_summary.geojson"} {
		b, err := os.ReadFile(testutil.Fixture(f, filepath.FromSlash(p)))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"id":"a","properties":{"time":1,"updated":2},"geometry":{"type":"Point","coordinates":[1e308,-91]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		feats, _, err := ParseSummary(b)
		if err != nil {
			return
		}
		for i := range feats {
			ev := BaseEvent("f", feats[i].ID, &feats[i])
			if ev.ID == "" || ev.Version == "" {
				t.Fatalf("event without id or version: %+v", ev)
			}
			RadiusFootprint(&feats[i])
		}
	})
}

func FuzzParseContours(f *testing.F) {
	for _, p := range []string{"demo/feeds/usgs/detail/us7000dm68_cont_mmi.json", "usgs/open_edges_cont_mmi.json"} {
		b, err := os.ReadFile(testutil.Fixture(f, filepath.FromSlash(p)))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fps, _, err := ParseContours(b)
		if err != nil {
			return
		}
		for _, fp := range fps {
			if fp.Geometry == nil || fp.Unit != "MMI" {
				t.Fatalf("bad footprint %+v", fp)
			}
		}
	})
}
