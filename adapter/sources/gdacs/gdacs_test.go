package gdacs

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files under fixtures/gdacs")

var demoland = orb.Polygon{{{60, 10}, {64, 10}, {64, 14}, {60, 14}, {60, 10}}}

func newSource(t *testing.T, mut func(*Config)) *Source { return newSourceIn(t, "", mut) }

// newSourceIn builds a source whose relative file:// URLs resolve in dir.
func newSourceIn(t *testing.T, dir string, mut func(*Config)) *Source {
	t.Helper()
	c := DefaultConfig()
	if mut != nil {
		mut(c)
	}
	require.NoError(t, c.Validate())
	now := func() time.Time { return time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC) }
	return New(c, adapter.Env{Name: "gdacs", Now: now, BaseDir: dir})
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	testutil.Golden(t, testutil.Fixture(t, "gdacs", "golden", name), v, *update)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		mut  func(*Config)
		want []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"files", func(c *Config) {
			c.ListURL = "file://feeds/gdacs/eventlist.json"
			c.GeometryURLTemplate = "file://feeds/gdacs/geometry_{type}_{id}_{episode}.geojson"
		}, nil},
		{"lower-case ok", func(c *Config) { c.EventTypes = []string{"tc", "ts"}; c.AlertLevels = []string{"orange"} }, nil},
		{"bad everything", func(c *Config) {
			c.BaseURL = "gdacs.org"
			c.GeometryURLTemplate = "https://x/geom"
			c.EventTypes = []string{"XX"}
			c.AlertLevels = []string{"Yellow"}
			c.DaysBack = 0
			c.Country = "PK"
			c.MaxPages = 0
		}, []string{"base_url:", "geometry_url_template:", "event_types[0]:", "alert_levels[0]:", "days_back:", "country:", "max_pages:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mut(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
	_, ok := adapter.LookupSource(Kind)
	assert.True(t, ok)
}

func read(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestSharedEventLists(t *testing.T) {
	t.Parallel()
	for _, p := range testutil.SharedSamples(t, "gdacs", "geteventlist*.json") {
		t.Run(filepath.Base(p), func(t *testing.T) {
			body := read(t, p)
			var raw struct{ Features []json.RawMessage }
			require.NoError(t, json.Unmarshal(body, &raw))
			items, probs, err := ParseEventList(body)
			require.NoError(t, err)
			require.Empty(t, probs)
			require.Len(t, items, len(raw.Features))
			for i := range items {
				ev := BaseEvent("gdacs", &items[i])
				assert.Regexp(t, `^gdacs:(EQ|TC|FL|DR|VO|WF|TS):\d+$`, ev.ID)
				assert.NotEqual(t, indicators.SeverityNone, ev.Severity, ev.ID)
				assert.Contains(t, ev.NativeSeverity, "alertscore")
				assert.False(t, ev.Issued.IsZero())
				assert.Contains(t, items[i].GeometryURL(), "getgeometry")
			}
		})
	}
}

func TestSharedEpisodes(t *testing.T) {
	t.Parallel()
	files := append(testutil.SharedSamples(t, "gdacs", "getepisodedata*.json"), testutil.SharedSamples(t, "gdacs", "geteventdata*.json")...)
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			it, err := ParseEpisode(read(t, p))
			require.NoError(t, err)
			ev := BaseEvent("gdacs", it)
			// The file names carry type, id and episode.
			parts := strings.Split(strings.TrimSuffix(filepath.Base(p), ".json"), "_")
			assert.Equal(t, "gdacs:"+parts[1]+":"+parts[2], ev.ID)
			assert.Equal(t, strings.TrimPrefix(parts[3], "ep"), ev.Version)
			assert.True(t, ev.Closed, "iscurrent=false in every sample")
		})
	}
}

func TestSharedGeometries(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		observed, forecast []string
	}{
		"getgeometry_TC_1001253_ep1.geojson": {
			// Zero-size rings (no winds of that band at that time) are dropped.
			observed: []string{"60 km/h"},
			forecast: []string{"cone", "60 km/h", "90 km/h", "60 km/h"}},
		"getgeometry_FL_1102983_ep2.geojson": {observed: []string{"affected area"}},
		"getgeometry_DR_1016449_ep7.geojson": {observed: []string{"affected area"}},
		"getgeometry_WF_1028649_ep1.geojson": {observed: []string{"burnt area"}},
	}
	for _, p := range testutil.SharedSamples(t, "gdacs", "getgeometry*.geojson") {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			g, probs, err := ParseGeometry(read(t, p))
			require.NoError(t, err)
			assert.Empty(t, probs)
			w, ok := want[name]
			require.True(t, ok, "add expectations for %s", name)
			assert.Equal(t, w.observed, bands(g.Observed))
			assert.Equal(t, w.forecast, bands(g.Forecast))
			for _, f := range append(g.Observed, g.Forecast...) {
				assert.Greater(t, indicators.GeodesicAreaKm2(f.Geometry), 0.0, f.Band)
			}
			if strings.Contains(name, "_TC_") {
				assert.Equal(t, time.Date(2026, 1, 28, 6, 0, 0, 0, time.UTC), g.Advisory)
				checkWindNesting(t, g.Observed)
				checkWindNesting(t, g.Forecast[1:])
				assert.Equal(t, time.Date(2026, 1, 29, 18, 0, 0, 0, time.UTC), g.Forecast[0].ValidTo)
			}
		})
	}
}

func bands(fps []indicators.Footprint) []string {
	var out []string
	for _, f := range fps {
		out = append(out, f.Band)
	}
	return out
}

// Per time, Green ⊇ Orange ⊇ Red (cumulative bands).
func checkWindNesting(t *testing.T, fps []indicators.Footprint) {
	t.Helper()
	for i := 1; i < len(fps); i++ {
		if !fps[i].ValidFrom.Equal(fps[i-1].ValidFrom) {
			continue
		}
		hi, lo := fps[i].Geometry, fps[i-1].Geometry
		a := indicators.GeodesicAreaKm2(hi)
		assert.InDelta(t, a, indicators.IntersectionAreaKm2(hi, lo), a*0.05, "%s inside %s at %s", fps[i].Band, fps[i-1].Band, fps[i].ValidFrom)
	}
}

func demoSource(t *testing.T) *Source {
	return newSourceIn(t, testutil.Fixture(t, "demo"), func(c *Config) {
		c.ListURL = "file://feeds/gdacs/eventlist.json"
		c.GeometryURLTemplate = "file://feeds/gdacs/geometry_{type}_{id}_{episode}.geojson"
	})
}

func TestDemoFeed(t *testing.T) {
	t.Parallel()
	src := demoSource(t)
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Empty(t, b.Problems)
	assert.False(t, b.Complete)
	require.Equal(t, []string{"gdacs:FL:1103050", "gdacs:TC:1001401", "gdacs:TC:1001401:forecast"}, ids(b.Events))

	fl, tc, tcf := b.Events[0], b.Events[1], b.Events[2]
	assert.Equal(t, indicators.SeverityOrange, fl.Severity)
	assert.Equal(t, "GDACS Orange (alertscore 2)", fl.NativeSeverity)
	assert.Equal(t, []string{"affected area"}, bands(fl.Footprints))
	assert.True(t, indicators.Intersects(demoland, fl.Footprints[0].Geometry))

	assert.Equal(t, indicators.Observed, tc.Phase)
	for _, f := range tc.Footprints {
		assert.False(t, indicators.Intersects(demoland, f.Geometry), "observed buffers are offshore: %s %s", f.Band, f.ValidFrom)
	}
	assert.Equal(t, indicators.Forecast, tcf.Phase)
	assert.Equal(t, "6", tcf.Version)
	assert.Equal(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), tcf.Issued)
	assert.Equal(t, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), tcf.ValidFrom)
	assert.Equal(t, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), tcf.ValidTo)
	assert.Equal(t, 12*time.Hour, tcf.LeadTime())
	assert.Equal(t, "cone", tcf.Footprints[0].Band)
	assert.True(t, indicators.Intersects(demoland, tcf.Footprints[0].Geometry))
	checkWindNesting(t, tcf.Footprints[1:])
	golden(t, "demo.expected.json", b)

	// Nothing changed: not modified, no new events.
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
	assert.Empty(t, b2.Events)
}

func ids(evs []indicators.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// listItem is a minimal event-list feature in the API's shape.
func listItem(typ string, id, ep int, level, current string) string {
	return fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[62.0,12.0]},"properties":{"eventtype":"%s","eventid":%d,"episodeid":%d,"name":"%s %d","alertlevel":"%s","alertscore":1,"iscurrent":"%s","istemporary":"false","country":"Demoland","iso3":"DML","fromdate":"2026-11-26T00:00:00","todate":"2026-11-26T00:00:00","datemodified":"2026-11-26T01:00:00","url":{"geometry":"https://www.gdacs.org/gdacsapi/api/polygons/getgeometry?eventtype=%s&eventid=%d&episodeid=%d"},"severitydata":{"severity":5.1,"severitytext":"Magnitude 5.1M","severityunit":"M"}}}`,
		typ, id, ep, typ, id, level, current, typ, id, ep)
}

func list(items ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(items, ",") + `]}`
}

func TestPaging(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		require.Equal(t, "/events/geteventlist/SEARCH", r.URL.Path)
		page, _ := strconv.Atoi(r.URL.Query().Get("pageNumber"))
		n := map[int]int{1: 100, 2: 100, 3: 37}[page]
		var items []string
		for i := 0; i < n; i++ {
			items = append(items, listItem("EQ", page*1000+i, 1, "Green", "true"))
		}
		fmt.Fprint(w, list(items...))
	}))
	defer srv.Close()
	src := newSource(t, func(c *Config) { c.BaseURL = srv.URL; c.FetchGeometry = false })
	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Len(t, b.Events, 237)
	require.Len(t, queries, 3)
	q := queries[0]
	for _, want := range []string{"eventlist=EQ;TC;FL;DR;VO;WF", "alertlevel=Green;Orange;Red", "pageSize=100", "pageNumber=1", "fromDate=2026-11-20", "toDate=2026-11-28"} {
		assert.Contains(t, q, want)
	}
	assert.Contains(t, queries[2], "pageNumber=3")

	// max_pages=2 stops early, says so, and ends nothing.
	src = newSource(t, func(c *Config) { c.BaseURL = srv.URL; c.FetchGeometry = false; c.MaxPages = 2 })
	b2, err := src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Len(t, b2.Problems, 1)
	assert.Contains(t, b2.Problems[0].Error(), "max_pages=2")
	assert.Empty(t, b2.Events)
	assert.Len(t, b2.Cursor.Versions, 237)
}

func TestEmptyAnswers(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusNoContent, http.StatusNotFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			empty := false
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if empty {
					w.WriteHeader(status)
					return
				}
				fmt.Fprint(w, list(listItem("FL", 7, 2, "Orange", "true")))
			}))
			defer srv.Close()
			src := newSource(t, func(c *Config) { c.BaseURL = srv.URL; c.FetchGeometry = false })
			b, err := src.Fetch(context.Background(), adapter.Cursor{})
			require.NoError(t, err)
			require.Len(t, b.Events, 1)

			empty = true
			b2, err := src.Fetch(context.Background(), b.Cursor)
			require.NoError(t, err, "an empty list is not an error")
			require.Len(t, b2.Events, 1)
			assert.Equal(t, "gdacs:FL:7", b2.Events[0].ID)
			assert.True(t, b2.Events[0].Closed, "left the window: ended")
			assert.Empty(t, b2.Cursor.Versions)

			b3, err := src.Fetch(context.Background(), b2.Cursor)
			require.NoError(t, err)
			assert.True(t, b3.NotModified)
		})
	}
}

func TestEpisodesAndClosing(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	body := list(listItem("TC", 1, 1, "Green", "true"))
	geomHits := map[string]int{}
	tcGeom := read(t, testutil.Fixture(t, "demo", "feeds", "gdacs", "geometry_TC_1001401_6.geojson"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/geom/") {
			geomHits[r.URL.Path]++
			if r.URL.Path == "/geom/TC/1/3" {
				w.WriteHeader(http.StatusNoContent) // an episode without polygons
				return
			}
			w.Write(tcGeom)
			return
		}
		// mis-encoded BOM, as in real GDACS captures
		w.Write(append([]byte("\xc3\xaf\xc2\xbb\xc2\xbf"), body...))
	}))
	defer srv.Close()
	src := newSource(t, func(c *Config) { c.BaseURL = srv.URL; c.GeometryURLTemplate = srv.URL + "/geom/{type}/{id}/{episode}" })
	set := func(b string) { mu.Lock(); body = b; mu.Unlock() }

	b, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Equal(t, []string{"gdacs:TC:1", "gdacs:TC:1:forecast"}, ids(b.Events))
	assert.Equal(t, 1, geomHits["/geom/TC/1/1"])

	// Same episode: no geometry fetch, nothing emitted.
	b, err = src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b.NotModified)
	assert.Equal(t, 1, geomHits["/geom/TC/1/1"])

	// New episode: geometry fetched, both events re-emitted with version 2.
	set(list(listItem("TC", 1, 2, "Orange", "true")))
	b, err = src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Len(t, b.Events, 2)
	assert.Equal(t, "2", b.Events[0].Version)
	assert.Equal(t, indicators.SeverityOrange, b.Events[0].Severity)
	assert.Equal(t, 1, geomHits["/geom/TC/1/2"])

	// An episode without forecast geometry ends the forecast event.
	set(list(listItem("TC", 1, 3, "Orange", "true")))
	b, err = src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Equal(t, []string{"gdacs:TC:1", "gdacs:TC:1:forecast"}, ids(b.Events))
	assert.False(t, b.Events[0].Closed)
	assert.Equal(t, "centroid", b.Events[0].Footprints[0].Band)
	assert.True(t, b.Events[1].Closed)

	// iscurrent=false: closed, without a geometry fetch.
	set(list(listItem("TC", 1, 3, "Orange", "false")))
	b, err = src.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	require.Equal(t, []string{"gdacs:TC:1"}, ids(b.Events))
	assert.True(t, b.Events[0].Closed)
	assert.Equal(t, 1, geomHits["/geom/TC/1/3"])

	// Geometry failure: a problem, the centroid, and a pending version so
	// the next poll retries.
	set(list(listItem("FL", 9, 1, "Red", "true")))
	src2 := newSource(t, func(c *Config) {
		c.BaseURL = srv.URL
		c.GeometryURLTemplate = "http://127.0.0.1:1/geom/{type}/{id}/{episode}"
	})
	b, err = src2.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Problems, 1)
	assert.Contains(t, b.Problems[0].Error(), "FL:9 episode 1")
	assert.Equal(t, "1"+pendingSuffix, b.Events[0].Version)
}

func TestCountryFilter(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other := strings.Replace(listItem("EQ", 2, 1, "Green", "true"), `"iso3":"DML"`, `"iso3":"PAK, AFG"`, 1)
		fmt.Fprint(w, list(listItem("EQ", 1, 1, "Green", "true"), other))
	}))
	defer srv.Close()
	for country, want := range map[string][]string{"DML": {"gdacs:EQ:1"}, "afg": {"gdacs:EQ:2"}} {
		src := newSource(t, func(c *Config) { c.BaseURL = srv.URL; c.FetchGeometry = false; c.Country = country })
		b, err := src.Fetch(context.Background(), adapter.Cursor{})
		require.NoError(t, err)
		assert.Equal(t, want, ids(b.Events), country)
	}
}

func TestMalformedList(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "{\"type\":\"FeatureCollection\",\n\"features\":[{]}")
	}))
	defer srv.Close()
	src := newSource(t, func(c *Config) { c.BaseURL = srv.URL })
	_, err := src.Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	for _, w := range []string{"source=gdacs", srv.URL + "/events/geteventlist/SEARCH", "line 2, column 14"} {
		assert.Contains(t, err.Error(), w)
	}
}

func TestFixtureGolden(t *testing.T) {
	t.Parallel()
	body := read(t, testutil.Fixture(t, "gdacs", "eventlist_mixed.json"))
	items, probs, err := ParseEventList(body)
	require.NoError(t, err)
	var evs []indicators.Event
	for i := range items {
		evs = append(evs, BaseEvent("gdacs", &items[i]))
	}
	var msgs []string
	for _, p := range probs {
		msgs = append(msgs, p.Error())
	}
	golden(t, "eventlist_mixed.expected.json", map[string]any{"events": evs, "problems": msgs})
}

func FuzzParseEventList(f *testing.F) {
	f.Add(read(f, testutil.Fixture(f, "demo", "feeds", "gdacs", "eventlist.json")))
	f.Add(read(f, testutil.Fixture(f, "gdacs", "eventlist_mixed.json")))
	f.Add([]byte("\xef\xbb\xbf" + list(listItem("VO", 1, 1, "Red", "true"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, _, err := ParseEventList(b)
		if err != nil {
			return
		}
		for i := range items {
			ev := BaseEvent("f", &items[i])
			if !strings.HasPrefix(ev.ID, "gdacs:") || ev.Type == "" {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}

func FuzzParseGeometry(f *testing.F) {
	f.Add(read(f, testutil.Fixture(f, "demo", "feeds", "gdacs", "geometry_FL_1103050_3.geojson")))
	f.Add(read(f, testutil.Fixture(f, "demo", "feeds", "gdacs", "geometry_TC_1001401_6.geojson")))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, _, err := ParseGeometry(b)
		if err != nil {
			return
		}
		for _, fp := range append(g.Observed, g.Forecast...) {
			if fp.Geometry == nil || !indicators.IsPolygonal(fp.Geometry) {
				t.Fatalf("non-polygon footprint %+v", fp)
			}
		}
	})
}
