package cap

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

var update = flag.Bool("update", false, "rewrite golden files")

const rootID = "cap:warnings@hydromet.demoland.example:DML-HYDRO-2026-0412"

func newSource(t *testing.T, url string, now *time.Time, mod func(*Config)) *Source {
	t.Helper()
	cfg := defaultConfig()
	cfg.URL = url
	cfg.GeocodeTable = testutil.Fixture(t, "cap", "geocodes.csv")
	if mod != nil {
		mod(cfg)
	}
	require.NoError(t, cfg.Validate())
	s, err := New(cfg, adapter.Env{Name: "cap-test", Now: func() time.Time { return *now },
		Fetch: config.Fetch{Timeout: 2 * time.Second, MaxBodyBytes: 1 << 20}})
	require.NoError(t, err)
	return s
}

// feedServer serves fixtures/cap with an overridable index, counting hits.
type feedServer struct {
	*httptest.Server
	index atomic.Value
	hits  atomic.Int32
}

func newFeedServer(t *testing.T) *feedServer {
	fs := &feedServer{}
	dir := testutil.Fixture(t, "cap")
	files := http.FileServer(http.Dir(dir))
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		if r.URL.Path == "/index.atom" {
			if v, ok := fs.index.Load().(string); ok {
				w.Write([]byte(v))
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func byID(events []indicators.Event) map[string]indicators.Event {
	m := map[string]indicators.Event{}
	for _, e := range events {
		m[e.ID] = e
	}
	return m
}

func TestGoldenIndex(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t)
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	s := newSource(t, srv.URL+"/index.atom", &now, nil)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Empty(t, b.Problems)
	assert.False(t, b.Complete)
	testutil.Golden(t, testutil.Fixture(t, "cap", "expected_events.json"), b.Events, *update)

	m := byID(b.Events)
	require.Len(t, m, 2)
	flood := m[rootID]
	assert.Equal(t, "2026-11-26T06:00:00+04:00", flood.Version, "the Update keeps the first alert's id, version = its sent")
	assert.Equal(t, indicators.Flood, flood.Type)
	assert.Equal(t, indicators.SeverityRed, flood.Severity)
	assert.Equal(t, "CAP Extreme/Observed/Immediate", flood.NativeSeverity)
	assert.Equal(t, indicators.Observed, flood.Phase)
	assert.Equal(t, []string{"DML_0002_0007_V1", "DML_0004_V1"}, flood.Areas)
	require.Len(t, flood.Footprints, 2)
	poly := flood.Footprints[0].Geometry.(orb.Polygon)
	assert.Equal(t, orb.Point{62.2, 10.2}, poly[0][0], "CAP lat,lon read as lon/lat")
	_, isPoly := flood.Footprints[1].Geometry.(orb.Polygon)
	assert.True(t, isPoly, "a circle becomes a polygon")
	heat := m["cap:atom:https://hydromet.demoland.example/cap/DML-MET-2026-0099"]
	assert.Equal(t, indicators.Heat, heat.Type)
	assert.Equal(t, indicators.Forecast, heat.Phase, "onset in the future")
	assert.Equal(t, indicators.SeverityGreen, heat.Severity)
	assert.Equal(t, []string{"DML_0001_V1"}, heat.Areas, "DM99 is not in the table")
	assert.Empty(t, heat.Footprints, "empty <cap:polygon>")
	assert.Equal(t, 3, int(srv.hits.Load()), "index + two CAP documents")

	// Unchanged: 304 (Last-Modified), nothing fetched beyond the index.
	b2, err := s.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
	assert.Equal(t, 4, int(srv.hits.Load()))

	// Past every expires: the events end without any new document.
	now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b3, err := s.Fetch(context.Background(), b2.Cursor)
	require.NoError(t, err)
	require.Len(t, b3.Events, 2)
	for _, e := range b3.Events {
		assert.True(t, e.Closed, e.ID)
	}
	assert.Empty(t, b3.Cursor.Versions)
}

func TestCancelAndSupersede(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t)
	idx, err := os.ReadFile(testutil.Fixture(t, "cap", "index.atom"))
	require.NoError(t, err)
	// Only the first alert at first.
	first := strings.Replace(string(idx), `href="alert2.xml"`, `href="missing-yet.xml"`, 1)
	first = strings.Replace(first, "<updated>2026-11-26T06:00:00+04:00</updated>", "<updated>x</updated>", 1)
	first = strings.Replace(first, "2026-11-26T06:05:00", "2026-11-25T06:05:00", 1) // the feed's <updated>
	first = removeEntry(removeEntry(first, "DML-HYDRO-2026-0413"), "DML-MET-2026-0099")
	srv.index.Store(first)
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	s := newSource(t, srv.URL+"/index.atom", &now, nil)
	b1, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b1.Events, 1)
	assert.Equal(t, indicators.SeverityOrange, b1.Events[0].Severity, "Severe -> orange")
	assert.Equal(t, indicators.Forecast, b1.Events[0].Phase, "onset 26 Nov is in the future")
	assert.Equal(t, "Flood warning for the southeast", b1.Events[0].Title, "English info chosen over French")

	// The index now lists only the Update: same event id, new version; the
	// first alert's entry left the index but its chain lives on.
	srv.index.Store(removeEntry(removeEntry(string(idx), "DML-HYDRO-2026-0412"), "DML-MET-2026-0099"))
	now = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	b2, err := s.Fetch(context.Background(), b1.Cursor)
	require.NoError(t, err)
	require.Len(t, b2.Events, 1)
	assert.Equal(t, rootID, b2.Events[0].ID)
	assert.False(t, b2.Events[0].Closed)
	assert.Equal(t, indicators.SeverityRed, b2.Events[0].Severity)

	// A Cancel referencing the Update ends the chain's event.
	cancelIdx := strings.Replace(string(idx), `href="alert1.xml"`, `href="cancel.xml"`, 1)
	cancelIdx = strings.Replace(cancelIdx, "<updated>2026-11-25T06:00:00+04:00</updated>", "<updated>2026-11-27T06:00:00+04:00</updated>", 1)
	cancelIdx = strings.Replace(cancelIdx, "2026-11-26T06:05:00", "2026-11-27T06:05:00", 1) // the feed's <updated>
	srv.index.Store(removeEntry(cancelIdx, "DML-MET-2026-0099"))
	b3, err := s.Fetch(context.Background(), b2.Cursor)
	require.NoError(t, err)
	require.Len(t, b3.Events, 1)
	assert.Equal(t, rootID, b3.Events[0].ID)
	assert.True(t, b3.Events[0].Closed)
	assert.Empty(t, b3.Cursor.Versions)
}

func removeEntry(feed, id string) string {
	i := strings.Index(feed, id)
	if i < 0 {
		return feed
	}
	start := strings.LastIndex(feed[:i], "<entry>")
	end := strings.Index(feed[i:], "</entry>") + i + len("</entry>")
	return feed[:start] + feed[end:]
}

func TestEntryLeavingIndexEndsEvent(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t)
	idx, err := os.ReadFile(testutil.Fixture(t, "cap", "index.atom"))
	require.NoError(t, err)
	srv.index.Store(string(idx))
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	s := newSource(t, srv.URL+"/index.atom", &now, nil)
	b1, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b1.Events, 2)
	srv.index.Store(strings.Replace(removeEntry(string(idx), "DML-MET-2026-0099"), "2026-11-26T06:05:00", "2026-11-26T07:05:00", 1))
	b2, err := s.Fetch(context.Background(), b1.Cursor)
	require.NoError(t, err)
	require.Len(t, b2.Events, 1)
	assert.True(t, b2.Events[0].Closed)
	assert.Contains(t, b2.Events[0].ID, "DML-MET-2026-0099")
}

func TestMaxDocumentsDefers(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t)
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	s := newSource(t, srv.URL+"/index.atom", &now, func(c *Config) { c.MaxDocuments = 1 })
	b1, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Len(t, b1.Events, 2, "alert1 and the embedded heat entry")
	b1.Cursor.ETag, b1.Cursor.LastModified = "", ""
	delete(b1.Cursor.Extra, "feed_updated")
	b2, err := s.Fetch(context.Background(), b1.Cursor)
	require.NoError(t, err)
	require.Len(t, b2.Events, 1, "the deferred Update is fetched on the next run")
	assert.Equal(t, "2026-11-26T06:00:00+04:00", b2.Events[0].Version)
}

func TestSingleAlertURL(t *testing.T) {
	t.Parallel()
	srv := newFeedServer(t)
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	s := newSource(t, srv.URL+"/alert1.xml", &now, func(c *Config) { c.Languages = []string{"fr"} })
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	assert.Equal(t, "Avertissement de crue pour le sud-est", b.Events[0].Title)
	assert.Equal(t, indicators.Flood, b.Events[0].Type, `type from the French info's "crue"`)
}

func TestRealSamples(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		typ         indicators.HazardType
		sev         indicators.Severity
		footprints  int
		lang, phase string
	}{
		"cap11_nws_flash_flood_watch.xml":                  {indicators.Flood, indicators.SeverityOrange, 0, "", "forecast"},
		"cap12_environment_canada_thunderstorm_update.xml": {indicators.SevereStorm, indicators.SeverityGreen, 0, "en-CA", "observed"},
		"cap12_nsw_rfs_bushfire.xml":                       {indicators.Wildfire, indicators.SeverityGreen, 2, "en-AU", "forecast"},
		"cap12_wcatwc_tsunami_warning.xml":                 {indicators.Tsunami, indicators.SeverityRed, 0, "", "observed"},
	}
	files := testutil.SharedSamples(t, "cap", "*.xml")
	for _, p := range files {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(p)
			require.NoError(t, err)
			kind, err := Sniff(body)
			require.NoError(t, err)
			now := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC) // before every sample, so none is expired
			s := newSource(t, "file:///unused", &now, nil)
			if kind != KindAlert {
				idx, err := ParseIndex(body)
				require.NoError(t, err)
				require.Len(t, idx.Entries, 1)
				e := idx.Entries[0]
				assert.Contains(t, e.Link, "wwacapget.php")
				require.NotNil(t, e.Embedded, "NWS entries embed cap: fields")
				ev, err := s.event("cap:x", e.Embedded, now)
				require.NoError(t, err)
				assert.Equal(t, indicators.OtherHazard, ev.Type, "Special Weather Statement")
				assert.Equal(t, indicators.SeverityGreen, ev.Severity)
				assert.Contains(t, ev.Properties["geocodes"], "UGC=AKZ224", "space-separated codes split")
				return
			}
			a, err := ParseAlert(body)
			require.NoError(t, err)
			now = sentOf(a) // phase is judged at the time the alert was sent
			ev, err := s.event("cap:x", a, now)
			require.NoError(t, err)
			for _, p := range ev.problems {
				assert.Contains(t, p.Error(), "covers no area", "only the (empty) geocode table may be reported")
			}
			w, ok := want[name]
			if !ok {
				t.Logf("no expectations for new sample %s; parsed as %s/%s", name, ev.Type, ev.Severity)
				return
			}
			assert.Equal(t, w.typ, ev.Type)
			assert.Equal(t, w.sev, ev.Severity)
			assert.Equal(t, w.phase, string(ev.Phase))
			if w.lang != "" {
				assert.Equal(t, w.lang, ev.Properties["language"])
			}
			if name == "cap12_environment_canada_thunderstorm_update.xml" {
				assert.Len(t, ev.Footprints, len(a.Infos[0].Areas), "one polygon per English area")
				assert.Len(t, ParseReferences(a.References), 2)
			} else {
				assert.Len(t, ev.Footprints, w.footprints)
			}
			for _, fp := range ev.Footprints {
				b := fp.Geometry.Bound()
				assert.True(t, b.Min[1] >= -90 && b.Max[1] <= 90)
			}
		})
	}
}

func TestRealRegistryURLsValidate(t *testing.T) {
	t.Parallel()
	p := testutil.SharedSample(t, "cap", "ifrc_alerthub_cap_feed_registry.json")
	body, err := os.ReadFile(p)
	require.NoError(t, err)
	var feeds []struct {
		SourceID     string `json:"sourceId"`
		CapAlertFeed string `json:"capAlertFeed"`
		Format       string `json:"format"`
	}
	require.NoError(t, json.Unmarshal(body, &feeds))
	require.Greater(t, len(feeds), 100)
	for _, f := range feeds {
		c := defaultConfig()
		c.URL = f.CapAlertFeed
		assert.NoError(t, c.Validate(), "registry feed %s (%s) must be a usable url", f.SourceID, f.Format)
	}
}

func TestRealNWSAtomThroughFetch(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(testutil.SharedSample(t, "cap", "nws_cap_atom_index_small.xml"))
	require.NoError(t, err)
	var local []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".atom") {
			w.Write(local)
			return
		}
		http.NotFound(w, r) // the linked CAP document is gone: fall back to the entry
	}))
	defer srv.Close()
	// Links point at alerts.weather.gov: redirect them here (no network in tests).
	local = []byte(strings.ReplaceAll(string(body), "https://alerts.weather.gov/cap/", srv.URL+"/cap/"))
	now := time.Date(2017, 9, 2, 4, 0, 0, 0, time.UTC)
	s := newSource(t, srv.URL+"/us.atom", &now, nil)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 1)
	require.NotEmpty(t, b.Problems)
	assert.Contains(t, b.Problems[0].Error(), "used the entry's cap: fields")
	assert.Contains(t, b.Problems[0].Error(), "HTTP 404")
	assert.Equal(t, "2017-09-01T22:00:00-08:00", b.Events[0].ValidTo.Format(time.RFC3339))
}

func TestParseGeometry(t *testing.T) {
	t.Parallel()
	p, err := ParsePolygon("10,60 10,61 11,61 10,60")
	require.NoError(t, err)
	assert.Equal(t, orb.Point{60, 10}, p[0][0])
	for _, bad := range []string{"", "10,60 10,61", "10;60 1,2 3,4", "95,60 10,61 11,61 95,60", "10,60,5 10,61 11,61"} {
		_, err := ParsePolygon(bad)
		assert.Error(t, err, bad)
	}
	c, r, err := ParseCircle("-35.3888,147.0598 25.0")
	require.NoError(t, err)
	assert.Equal(t, orb.Point{147.0598, -35.3888}, c)
	assert.Equal(t, 25.0, r)
	for _, bad := range []string{"", "1,2", "1,2 x", "1,2 -3", "a,b 3", "1,2 3 4"} {
		_, _, err := ParseCircle(bad)
		assert.Error(t, err, bad)
	}
	refs := ParseReferences("a,b,2026-01-01T00:00:00Z junk c,d,2026-01-02T00:00:00Z")
	assert.Equal(t, []Reference{{"a", "b", "2026-01-01T00:00:00Z"}, {"c", "d", "2026-01-02T00:00:00Z"}}, refs)
}

func TestClassifier(t *testing.T) {
	t.Parallel()
	c := newClassifier(map[string][]string{"landslide": {"glissement"}})
	cases := []struct {
		texts, codes []string
		want         indicators.HazardType
	}{
		{[]string{"Flash Flood Watch"}, nil, indicators.Flood},
		{[]string{"Tropical Storm Warning"}, nil, indicators.TropicalCyclone},
		{[]string{"Severe Thunderstorm Watch"}, nil, indicators.SevereStorm},
		{[]string{"Excessive Heat Warning"}, nil, indicators.Heat},
		{[]string{"Heavy rain"}, nil, indicators.HeavyRain},
		{[]string{"Red Flag Warning"}, nil, indicators.Wildfire},
		{[]string{"Special Weather Statement"}, nil, indicators.OtherHazard},
		{[]string{"Avis"}, []string{"TSW"}, indicators.Tsunami},
		{[]string{"Toronto"}, nil, indicators.OtherHazard}, // "tor" is a code, not a word prefix
		{[]string{"Risque de glissement"}, nil, indicators.Landslide},
	}
	for _, tc := range cases {
		got, _ := c.classify(tc.texts, tc.codes)
		assert.Equal(t, tc.want, got, "%v %v", tc.texts, tc.codes)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"ok", func(*Config) {}, nil},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url"}},
		{"severity map", func(c *Config) { c.SeverityMap = map[string]string{"severe": "yellow", "awful": "red"} }, []string{"severity_map.severe", "severity_map.awful"}},
		{"keywords", func(c *Config) { c.HazardKeywords = map[string][]string{"meteor": {"x"}} }, []string{"hazard_keywords.meteor"}},
		{"statuses", func(c *Config) { c.Statuses = nil }, []string{"statuses"}},
		{"docs", func(c *Config) { c.MaxDocuments = 0 }, []string{"max_documents"}},
		{"geocodes", func(c *Config) { c.Geocodes = []GeocodeRow{{ValueName: "UGC"}} }, []string{"geocodes[0]"}},
		{"table", func(c *Config) { c.GeocodeTable = "/nonexistent.csv" }, []string{"geocode_table"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultConfig()
			c.URL = "https://example.org/feed.atom"
			tc.mod(c)
			testutil.AssertErrorHas(t, c.Validate(), tc.want)
		})
	}
}

func TestFetchErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		class   adapter.Class
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<feed>\n<entry><id>x</id></entr></feed>"))
		}, "malformed XML at line 2", adapter.Permanent},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sen`))
		}, "malformed XML", adapter.Permanent},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "no XML element", adapter.Permanent},
		{"html", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html><body>maintenance</body></html>")) }, "root element <html>", adapter.Permanent},
		{"incomplete alert", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<alert><identifier>x</identifier></alert>`))
		}, "not a complete CAP alert", adapter.Permanent},
		{"oversized", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("<a>", 1<<19))) }, "response too large", adapter.Permanent},
		{"slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) }, "deadline exceeded", adapter.Retryable},
		{"server error", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }, "HTTP 502", adapter.Retryable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := testutil.FeedServer(t, tc.handler)
			cfg := defaultConfig()
			cfg.URL = srv.URL + "/feed.atom"
			timeout := 5 * time.Second // resty retries a 5xx twice, with waits
			if tc.name == "slow" {
				timeout = 500 * time.Millisecond
			}
			s, err := New(cfg, adapter.Env{Name: "cap-test", Fetch: config.Fetch{Timeout: timeout, MaxBodyBytes: 1 << 20}})
			require.NoError(t, err)
			_, err = s.Fetch(context.Background(), adapter.Cursor{})
			testutil.AssertFetchError(t, err, "cap-test", srv.URL+"/feed.atom", tc.want)
			assert.Equal(t, tc.class, adapter.ClassOf(err))
		})
	}
}

func seedXML(f *testing.F) {
	for _, n := range []string{"alert1.xml", "alert2.xml", "cancel.xml", "index.atom"} {
		if b, err := os.ReadFile(testutil.Fixture(f, "cap", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<rss><channel><item><link>a.xml</link></item></channel></rss>`))
}

func FuzzParseAlert(f *testing.F) {
	seedXML(f)
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	s, err := New(defaultConfig(), adapter.Env{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAlert(b)
		if err != nil {
			return
		}
		_, _ = s.event("cap:x", a, now)
	})
}

func FuzzParseIndex(f *testing.F) {
	seedXML(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, err := ParseIndex(b)
		if err != nil {
			return
		}
		for _, e := range idx.Entries {
			_ = e.Link
		}
	})
}

func FuzzGeometryStrings(f *testing.F) {
	f.Add("10.2,62.2 10.2,63.8 11.8,63.8 11.8,62.2 10.2,62.2")
	f.Add("-35.3888,147.0598 25.0")
	f.Add("1,2 3")
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePolygon(s); err == nil {
			_, _ = indicators.NormalizeGeometry(p)
		}
		if c, r, err := ParseCircle(s); err == nil && r > 0 {
			_ = indicators.Circle(c, r, 16)
		}
	})
}
