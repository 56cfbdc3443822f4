package layer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
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

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newTestSource(t *testing.T, name string, cfg *Config) *Source {
	t.Helper()
	require.NoError(t, cfg.Validate())
	s, err := New(cfg, adapter.Env{Name: name, Now: func() time.Time { return testNow },
		Fetch: config.Fetch{Timeout: 5 * time.Second, MaxBodyBytes: 8 << 20}})
	require.NoError(t, err)
	return s
}

func floodMapping() Mapping {
	return Mapping{HazardType: "flood", Phase: "observed", EventIDProperty: "event_id",
		Severity:  SeverityMapping{Property: "depth_class", Map: map[string]string{"high": "red", "medium": "orange", "low": "green"}},
		Intensity: IntensityMapping{Property: "depth_m", Unit: "m"},
		ValidFrom: TimeMapping{Property: "observed"}}
}

func readFixture(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Fixture(t, parts...))
	require.NoError(t, err)
	return b
}

// featuresOf returns a fixture's features as raw JSON.
func featuresOf(t *testing.T, parts ...string) []json.RawMessage {
	t.Helper()
	c, err := decodeCollection(readFixture(t, parts...))
	require.NoError(t, err)
	return c.Features
}

func TestGeoJSONFileDemoFloodExtent(t *testing.T) {
	cfg := defaultConfig()
	cfg.URL = "file://" + testutil.Fixture(t, "demo", "feeds", "layer", "flood_extent.geojson")
	cfg.Mapping = floodMapping()
	s := newTestSource(t, "flood_extent", cfg)

	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.True(t, b.Complete)
	require.Empty(t, b.Problems)
	require.Len(t, b.Events, 2)
	e := b.Events[0]
	assert.Equal(t, "layer:flood_extent:DML-FL-2026-0001", e.ID)
	assert.Equal(t, "flood_extent", e.Source)
	assert.Equal(t, indicators.Flood, e.Type)
	assert.Equal(t, indicators.Observed, e.Phase)
	assert.Equal(t, indicators.SeverityRed, e.Severity)
	assert.Equal(t, "High", e.NativeSeverity)
	assert.Equal(t, time.Date(2026, 11, 22, 5, 40, 0, 0, time.UTC), e.ValidFrom)
	require.Len(t, e.Footprints, 3)
	for i, want := range []struct {
		band string
		sev  indicators.Severity
		m    float64
	}{{"Low", indicators.SeverityGreen, 0.3}, {"Medium", indicators.SeverityOrange, 1}, {"High", indicators.SeverityRed, 2}} {
		fp := e.Footprints[i]
		assert.Equal(t, want.band, fp.Band)
		assert.Equal(t, want.sev, fp.Severity)
		assert.Equal(t, want.m, fp.Intensity)
		assert.Equal(t, "m", fp.Unit)
		poly, ok := fp.Geometry.(orb.Polygon)
		require.True(t, ok, "footprint %d is %T", i, fp.Geometry)
		assert.Greater(t, ringArea(poly[0]), 0.0, "shell counter-clockwise after NormalizeGeometry")
	}
	// Cumulative bands: the Low extent is the largest.
	assert.Greater(t, indicators.GeodesicAreaKm2(e.Footprints[0].Geometry), indicators.GeodesicAreaKm2(e.Footprints[1].Geometry))
	assert.Greater(t, indicators.GeodesicAreaKm2(e.Footprints[1].Geometry), indicators.GeodesicAreaKm2(e.Footprints[2].Geometry))
	assert.Equal(t, b.Cursor.Versions[e.ID], e.Version)
	assert.True(t, strings.HasPrefix(e.Version, "sha256:"))

	// The unchanged file comes back NotModified (file ETag).
	b2, err := s.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
}

func TestDefaultOneEventPerLayerAndContentHash(t *testing.T) {
	feats := featuresOf(t, "demo", "feeds", "layer", "flood_extent.geojson")
	m := floodMapping()
	m.EventIDProperty = ""
	mp, err := newMapper("flood_extent", m)
	require.NoError(t, err)
	raw := func(fs []json.RawMessage) []rawFeature {
		out := make([]rawFeature, len(fs))
		for i, f := range fs {
			out[i] = rawFeature{raw: f}
		}
		return out
	}
	r := mp.build(raw(feats), testNow)
	require.Len(t, r.Events, 1)
	e := r.Events[0]
	assert.Equal(t, "layer:flood_extent", e.ID)
	assert.Len(t, e.Footprints, 6)
	assert.Equal(t, indicators.SeverityRed, e.Severity)

	// Paging order does not change the version.
	rev := append([]json.RawMessage{}, feats...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	assert.Equal(t, e.Version, mp.build(raw(rev), testNow).Events[0].Version)
	// A changed feature changes it.
	changed := append([]json.RawMessage{}, feats...)
	changed[2] = json.RawMessage(strings.Replace(string(changed[2]), `"High"`, `"Medium"`, 1))
	assert.NotEqual(t, e.Version, mp.build(raw(changed), testNow).Events[0].Version)
	// So does an edited mapping (the daemon must recompute).
	m.Severity.Map["high"] = "orange"
	mp2, err := newMapper("flood_extent", m)
	require.NoError(t, err)
	e2 := mp2.build(raw(feats), testNow).Events[0]
	assert.NotEqual(t, e.Version, e2.Version)
	assert.Equal(t, indicators.SeverityOrange, e2.Severity)

	// A version property replaces the hash.
	m = floodMapping()
	m.VersionProperty = "observed"
	mp3, err := newMapper("flood_extent", m)
	require.NoError(t, err)
	assert.Equal(t, "2026-11-22T05:40:00Z", mp3.build(raw(feats), testNow).Events[0].Version)
}

// ogcServer serves a collection's items in pages with next links, like
// pygeoapi / ldproxy (alternating absolute and relative next hrefs).
func ogcServer(t *testing.T, items []json.RawMessage, contentCRS string, hits *atomic.Int32, check func(r *http.Request)) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/collections/landslide-susceptibility/items" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if check != nil {
			check(r)
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		if limit <= 0 {
			limit = 10
		}
		end := min(offset+limit, len(items))
		links := []map[string]string{{"rel": "self", "type": "application/geo+json", "href": srv.URL + r.URL.RequestURI()}}
		if end < len(items) {
			nq := r.URL.Query()
			nq.Set("offset", strconv.Itoa(end))
			href := srv.URL + r.URL.Path + "?" + nq.Encode()
			if (offset/limit)%2 == 1 {
				href = "items?" + nq.Encode() // relative to the items URL
			}
			links = append(links, map[string]string{"rel": "next", "type": "application/geo+json", "href": href})
		}
		page := map[string]any{"type": "FeatureCollection", "features": items[offset:end], "links": links,
			"numberMatched": len(items), "numberReturned": end - offset, "timeStamp": time.Now().Format(time.RFC3339Nano)}
		if contentCRS != "" {
			w.Header().Set("Content-Crs", contentCRS)
		}
		w.Header().Set("Content-Type", "application/geo+json")
		require.NoError(t, json.NewEncoder(w).Encode(page))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func landslideConfig(url string) *Config {
	cfg := defaultConfig()
	cfg.Format, cfg.URL, cfg.Collection = FormatOGC, url, "landslide-susceptibility"
	cfg.PageSize = 2
	cfg.BBox = []float64{60, 10, 64, 14}
	cfg.Datetime = "2026-11-20T00:00:00Z/.."
	cfg.Mapping = Mapping{HazardTypeProperty: "hazard", HazardTypeMap: map[string]string{"mudflow": "landslide"},
		Phase: "forecast", EventIDProperty: "zone",
		Severity: SeverityMapping{Property: "susceptibility", Map: map[string]string{"very high": "red", "high": "red",
			"moderate": "orange", "low": "green"}},
		Issued:  TimeMapping{Property: "issued", Format: "rfc3339"},
		ValidTo: TimeMapping{Property: "valid_until", Format: "date"}}
	return cfg
}

func TestOGCPagingToTheEnd(t *testing.T) {
	items := featuresOf(t, "layer", "landslide_ogc_items.geojson")
	var hits atomic.Int32
	srv := ogcServer(t, items, "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>", &hits, func(r *http.Request) {
		q := r.URL.Query()
		assert.Equal(t, "json", q.Get("f"))
		assert.Equal(t, "2", q.Get("limit"))
		assert.Equal(t, "60,10,64,14", q.Get("bbox"))
		assert.Equal(t, "2026-11-20T00:00:00Z/..", q.Get("datetime"))
	})
	s := newTestSource(t, "landslide", landslideConfig(srv.URL))
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.EqualValues(t, 3, hits.Load(), "5 items in pages of 2")
	require.Empty(t, b.Problems)
	require.True(t, b.Complete)
	require.Len(t, b.Events, 3)
	byID := map[string]indicators.Event{}
	for _, e := range b.Events {
		byID[e.ID] = e
		assert.Equal(t, indicators.Forecast, e.Phase)
		assert.Equal(t, indicators.Landslide, e.Type)
	}
	n1 := byID["layer:landslide:LS-N1"]
	assert.Len(t, n1.Footprints, 2)
	assert.Equal(t, indicators.SeverityRed, n1.Severity)
	assert.Equal(t, "Very High", n1.NativeSeverity)
	assert.Equal(t, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), n1.ValidTo)
	assert.Equal(t, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), n1.Issued)
	e2 := byID["layer:landslide:LS-E2"]
	assert.Equal(t, indicators.SeverityOrange, e2.Severity)
	assert.IsType(t, orb.MultiPolygon{}, e2.Footprints[0].Geometry)
	assert.Equal(t, indicators.Landslide, byID["layer:landslide:LS-S3"].Type, "Mudflow mapped through hazard_type_map")
	assert.Equal(t, "3", b.Cursor.Extra["pages"])

	// Nothing changed: every page is read again (paged sets are not
	// conditional) and the same versions say NotModified.
	b2, err := s.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
	assert.EqualValues(t, 6, hits.Load())
}

func TestOGCConditionalSinglePage(t *testing.T) {
	items := featuresOf(t, "layer", "landslide_ogc_items.geojson")
	var conditional atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "FeatureCollection", "features": items, "links": []any{}})
	}))
	defer srv.Close()
	cfg := landslideConfig(srv.URL)
	cfg.PageSize = 100
	s := newTestSource(t, "landslide", cfg)
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, b.Events, 3)
	assert.Equal(t, `"v1"`, b.Cursor.ETag)
	b2, err := s.Fetch(context.Background(), b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)
	assert.EqualValues(t, 1, conditional.Load())
}

func TestOGCCRS(t *testing.T) {
	items := featuresOf(t, "layer", "landslide_ogc_items.geojson")
	t.Run("projected Content-Crs refused", func(t *testing.T) {
		var hits atomic.Int32
		srv := ogcServer(t, items, "<http://www.opengis.net/def/crs/EPSG/0/3857>", &hits, nil)
		_, err := newTestSource(t, "landslide", landslideConfig(srv.URL)).Fetch(context.Background(), adapter.Cursor{})
		require.Error(t, err)
		assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
		assert.Contains(t, err.Error(), "Content-Crs header says <http://www.opengis.net/def/crs/EPSG/0/3857>")
		assert.Contains(t, err.Error(), "source=landslide")
	})
	t.Run("EPSG:4326 is latitude first", func(t *testing.T) {
		latLon := json.RawMessage(`{"type":"Feature","id":"x","properties":{"zone":"Z","susceptibility":"High","hazard":"landslide","issued":"2026-11-21T00:00:00Z","valid_until":"2026-11-28"},` +
			`"geometry":{"type":"Polygon","coordinates":[[[13.5,60.1],[13.5,60.7],[13.95,60.7],[13.95,60.1],[13.5,60.1]]]}}`)
		var hits atomic.Int32
		srv := ogcServer(t, []json.RawMessage{latLon}, "<http://www.opengis.net/def/crs/EPSG/0/4326>", &hits, nil)
		b, err := newTestSource(t, "landslide", landslideConfig(srv.URL)).Fetch(context.Background(), adapter.Cursor{})
		require.NoError(t, err)
		require.Len(t, b.Events, 1)
		bound := b.Events[0].Footprints[0].Geometry.Bound()
		assert.Equal(t, orb.Point{60.1, 13.5}, bound.Min)
		assert.Equal(t, orb.Point{60.7, 13.95}, bound.Max)
	})
}

func TestGeoJSONCRSMemberRefused(t *testing.T) {
	cfg := defaultConfig()
	cfg.URL = "file://" + testutil.Fixture(t, "layer", "crs_3857.geojson")
	cfg.Mapping = Mapping{HazardType: "drought", Phase: "observed"}
	_, err := newTestSource(t, "drought", cfg).Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	assert.Contains(t, err.Error(), `GeoJSON crs member says "urn:ogc:def:crs:EPSG::3857"`)
	assert.Contains(t, err.Error(), "EPSG:4326")
}

// arcgisServer behaves like an ArcGIS feature layer's /query with
// f=geojson: paging by resultOffset/resultRecordCount capped at the
// service's maxRecordCount, exceededTransferLimit under properties, and
// errors as JSON bodies with HTTP 200.
func arcgisServer(t *testing.T, feats []json.RawMessage, maxRecordCount int, token string, requests *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*requests = append(*requests, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/geo+json")
		if r.URL.Path != "/arcgis/rest/services/Demoland/EvacuationZones/FeatureServer/0/query" {
			fmt.Fprint(w, `{"error":{"code":400,"message":"Invalid URL","details":[]}}`)
			return
		}
		q := r.URL.Query()
		if token != "" {
			switch q.Get("token") {
			case "":
				fmt.Fprint(w, `{"error":{"code":499,"message":"Token Required","details":[]}}`)
				return
			case token:
			default:
				fmt.Fprint(w, string(readFixture(t, "layer", "arcgis_error_498.json")))
				return
			}
		}
		if q.Get("f") != "geojson" || q.Get("outSR") != "4326" || q.Get("where") == "" || q.Get("outFields") != "*" {
			fmt.Fprint(w, `{"error":{"code":400,"message":"Unable to complete operation.","details":["Invalid query parameters"]}}`)
			return
		}
		off, _ := strconv.Atoi(q.Get("resultOffset"))
		n, _ := strconv.Atoi(q.Get("resultRecordCount"))
		if n <= 0 || n > maxRecordCount {
			n = maxRecordCount
		}
		end := min(off+n, len(feats))
		page := map[string]any{"type": "FeatureCollection", "features": feats[min(off, len(feats)):end]}
		if end < len(feats) {
			page["properties"] = map[string]any{"exceededTransferLimit": true}
		}
		require.NoError(t, json.NewEncoder(w).Encode(page))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func evacConfig(base string) *Config {
	cfg := defaultConfig()
	cfg.Format = FormatArcGIS
	cfg.URL = base + "/arcgis/rest/services/Demoland/EvacuationZones/FeatureServer/0"
	cfg.PageSize = 3
	cfg.TokenEnv = "DEMO_ARCGIS_TOKEN"
	cfg.Mapping = Mapping{HazardType: "flood", Phase: "forecast", EventIDProperty: "zone_id",
		Severity: SeverityMapping{Property: "level_", Map: map[string]string{"mandatory": "red", "advisory": "orange"}, Default: "green"},
		Issued:   TimeMapping{Property: "issued"}, ValidTo: TimeMapping{Property: "expires", Format: "unix_ms"}}
	return cfg
}

func TestArcGISPagingWithToken(t *testing.T) {
	const token = "s3cr3t-T0ken/with+chars"
	feats := featuresOf(t, "layer", "arcgis_evacuation_zones.geojson")
	var reqs []string
	srv := arcgisServer(t, feats, 2, token, &reqs) // server caps pages at 2, below page_size 3
	s := newTestSource(t, "evacuation", evacConfig(srv.URL))
	s.getenv = func(k string) string { return map[string]string{"DEMO_ARCGIS_TOKEN": token}[k] }

	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	require.Len(t, reqs, 3, "5 features, 2 per page")
	for i, off := range []string{"0", "2", "4"} {
		assert.Contains(t, reqs[i], "resultOffset="+off)
		assert.Contains(t, reqs[i], "resultRecordCount=3")
	}
	assert.Empty(t, b.Problems)
	require.Len(t, b.Events, 3, "EVZ-C has no geometry and is skipped")
	a := b.Events[0]
	assert.Equal(t, "layer:evacuation:EVZ-A", a.ID)
	assert.Equal(t, indicators.SeverityRed, a.Severity)
	assert.Equal(t, "Mandatory", a.NativeSeverity)
	assert.Equal(t, time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC), a.Issued, "epoch ms read by format auto")
	assert.Equal(t, time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC), a.ValidTo)
	assert.Equal(t, indicators.SeverityGreen, b.Events[2].Severity, "Shelter in place falls to severity.default")
}

func TestArcGISErrors(t *testing.T) {
	const token = "good-token-123"
	feats := featuresOf(t, "layer", "arcgis_evacuation_zones.geojson")
	cases := []struct {
		name      string
		handler   http.HandlerFunc // nil: the arcgisServer requiring token
		envToken  string
		class     adapter.Class
		contains  []string
		noContain string
	}{
		{name: "token rejected (498 with HTTP 200)", envToken: "wrong-token-456", class: adapter.Auth,
			contains: []string{"ArcGIS error 498: Invalid token.", "token_env", "token=REDACTED"}, noContain: "wrong-token-456"},
		{name: "token env unset", envToken: "", class: adapter.Auth, contains: []string{"environment variable DEMO_ARCGIS_TOKEN is empty or unset"}},
		{name: "query error with HTTP 200", envToken: token, class: adapter.Permanent,
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"error":{"code":400,"message":"Failed to execute query.","details":["'Invalid field: DEPTH' parameter is invalid"]}}`)
			}, contains: []string{"ArcGIS error 400: Failed to execute query.", "Invalid field: DEPTH"}, noContain: token},
		{name: "server error in body is retryable", envToken: token, class: adapter.Retryable,
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"error":{"code":500,"message":"Error performing query operation","details":[]}}`)
			}, contains: []string{"ArcGIS error 500"}},
		{name: "HTTP 403", envToken: token, class: adapter.Auth,
			handler:  func(w http.ResponseWriter, r *http.Request) { http.Error(w, "Forbidden", http.StatusForbidden) },
			contains: []string{"HTTP 403"}, noContain: token},
		{name: "spatialReference not WGS84", envToken: token, class: adapter.Permanent,
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"type":"FeatureCollection","spatialReference":{"wkid":102100,"latestWkid":3857},"features":[]}`)
			}, contains: []string{"spatialReference is wkid 102100 (latestWkid 3857)"}},
		{name: "malformed JSON", envToken: token, class: adapter.Permanent,
			handler: func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, "{\"type\":\"FeatureCollection\",\n\"features\":[{]}")
			},
			contains: []string{"malformed JSON at line 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *httptest.Server
			if tc.handler != nil {
				srv = httptest.NewServer(tc.handler)
				defer srv.Close()
			} else {
				var reqs []string
				srv = arcgisServer(t, feats, 1000, token, &reqs)
			}
			s := newTestSource(t, "evacuation", evacConfig(srv.URL))
			s.getenv = func(string) string { return tc.envToken }
			b, err := s.Fetch(context.Background(), adapter.Cursor{})
			require.Error(t, err)
			assert.Empty(t, b.Events)
			assert.Equal(t, tc.class, adapter.ClassOf(err), "%v", err)
			msg := err.Error()
			assert.Contains(t, msg, "source=evacuation")
			for _, c := range tc.contains {
				assert.Contains(t, msg, c)
			}
			if tc.noContain != "" {
				assert.NotContains(t, msg, tc.noContain, "the token never appears in errors")
			}
		})
	}
}

func TestMissingPropertyNamesLayerFeatureAndProperty(t *testing.T) {
	cfg := defaultConfig()
	cfg.URL = "file://" + testutil.Fixture(t, "demo", "feeds", "layer", "flood_extent.geojson")
	cfg.Mapping = floodMapping()
	cfg.Severity.Property = "depth_clas" // a typo: no feature has it
	_, err := newTestSource(t, "flood_extent", cfg).Fetch(context.Background(), adapter.Cursor{})
	require.Error(t, err)
	assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	assert.Contains(t, err.Error(), `layer flood_extent: feature 1: property "depth_clas" (severity.property) is missing; the feature has: depth_class, depth_m, event_id`)
	assert.Contains(t, err.Error(), "none of 6 features could be mapped")

	// One feature lacking it: a problem, and the rest still arrive.
	feats := featuresOf(t, "demo", "feeds", "layer", "flood_extent.geojson")
	feats[4] = json.RawMessage(strings.Replace(string(feats[4]), `"depth_m":1,`, ``, 1))
	mp, err := newMapper("flood_extent", floodMapping())
	require.NoError(t, err)
	rf := make([]rawFeature, len(feats))
	for i, f := range feats {
		rf[i] = rawFeature{raw: f}
	}
	r := mp.build(rf, testNow)
	require.Len(t, r.Problems, 1)
	var mpe *MissingPropertyError
	require.ErrorAs(t, r.Problems[0], &mpe)
	assert.Equal(t, MissingPropertyError{Layer: "flood_extent", Feature: "5", Property: "depth_m", Setting: "intensity.property",
		Have: []string{"depth_class", "event_id", "name", "observed", "source"}}, *mpe)
	assert.Equal(t, 5, r.Mapped)
	require.Len(t, r.Events, 2)
	assert.Len(t, r.Events[1].Footprints, 2)
}

func TestGeometryHygiene(t *testing.T) {
	mp, err := newMapper("hygiene", Mapping{HazardType: "flood", Phase: "observed",
		Severity: SeverityMapping{Property: "depth_class", Map: map[string]string{"high": "red", "medium": "orange", "low": "green"}}})
	require.NoError(t, err)
	var rf []rawFeature
	for _, f := range featuresOf(t, "layer", "geometry_hygiene.geojson") {
		rf = append(rf, rawFeature{raw: f})
	}
	r := mp.build(rf, testNow)
	assert.Equal(t, 8, r.Features)
	assert.Equal(t, 2, r.Empty, "null geometry and empty coordinates are skipped and counted")
	assert.Equal(t, 4, r.Mapped, "cw-shell, bad-hole (hole dropped), line, OBJECTID 77")
	var msgs []string
	for _, p := range r.Problems {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "layer hygiene: feature bad-hole: hole 1 has 2 distinct positions (a ring needs 3); dropped")
	assert.Contains(t, all, "layer hygiene: feature flat-shell: shell has no area (all positions on one line); dropped")
	assert.Contains(t, all, "layer hygiene: feature flat-shell: no valid polygon left")
	assert.Contains(t, all, "layer hygiene: feature projected-coords: invalid geometry: coordinate out of range")
	assert.Len(t, r.Problems, 4)
	require.Len(t, r.Events, 1)
	fps := r.Events[0].Footprints
	require.Len(t, fps, 4)
	cw := fps[0].Geometry.(orb.Polygon)
	assert.Greater(t, ringArea(cw[0]), 0.0, "clockwise shell reoriented")
	assert.Equal(t, cw[0][0], cw[0][len(cw[0])-1], "ring closed")
	assert.Len(t, fps[1].Geometry.(orb.Polygon), 1, "invalid hole dropped")
	assert.IsType(t, orb.LineString{}, fps[2].Geometry)
}

func TestSelfIntersectingRingReportedAndKept(t *testing.T) {
	mp, err := newMapper("hygiene", Mapping{HazardType: "flood", Phase: "observed", Severity: SeverityMapping{Value: "orange"}})
	require.NoError(t, err)
	r := mp.build([]rawFeature{{raw: []byte(`{"type":"Feature","id":"bow-tie","properties":{},` +
		`"geometry":{"type":"Polygon","coordinates":[[[61,11],[63,13],[63,11],[61,12],[61,11]]]}}`)}}, testNow)
	require.Len(t, r.Problems, 1)
	assert.Contains(t, r.Problems[0].Error(), "layer hygiene: feature bow-tie: shell crosses itself near")
	assert.Equal(t, 1, r.Mapped, "reported, not dropped: the hazard is still there")
}

func TestHazardTypeFromPropertySplitsEvents(t *testing.T) {
	mp, err := newMapper("multi", Mapping{HazardTypeProperty: "kind", HazardTypeMap: map[string]string{"fl": "flood", "ls": "landslide"},
		Phase: "observed", Severity: SeverityMapping{Value: "orange"}})
	require.NoError(t, err)
	poly := `"geometry":{"type":"Polygon","coordinates":[[[61,11],[62,11],[62,12],[61,11]]]}`
	r := mp.build([]rawFeature{
		{raw: []byte(`{"type":"Feature","id":1,"properties":{"kind":"FL"},` + poly + `}`)},
		{raw: []byte(`{"type":"Feature","id":2,"properties":{"kind":"LS"},` + poly + `}`)},
		{raw: []byte(`{"type":"Feature","id":3,"properties":{"kind":"wildfire"},` + poly + `}`)},
		{raw: []byte(`{"type":"Feature","id":4,"properties":{"kind":"tornado"},` + poly + `}`)},
	}, testNow)
	require.Len(t, r.Events, 3)
	assert.Equal(t, "layer:multi:flood", r.Events[0].ID)
	assert.Equal(t, "layer:multi:landslide", r.Events[1].ID)
	assert.Equal(t, "layer:multi:wildfire", r.Events[2].ID)
	assert.Equal(t, indicators.SeverityOrange, r.Events[0].Severity)
	require.Len(t, r.Problems, 1)
	assert.Contains(t, r.Problems[0].Error(), `layer multi: feature 4: property "kind" (hazard_type_property): unknown hazard type "tornado"`)
}
