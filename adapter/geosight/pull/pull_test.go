package pull

import (
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() []indicators.Value {
	return []indicators.Value{
		{Indicator: "TC_CHILDREN_EXPOSED", Code: "DML_0002_V1", AdminLevel: 1, Date: "2026-11-21", Type: indicators.Integer, Number: 15230.6,
			Attributes: map[string]any{"events": "gdacs:TC:1001253"}},
		{Indicator: "ALERT_LEVEL", Code: "DML_0001_V1", AdminLevel: 1, Date: "2026-11-21", Type: indicators.String, Text: "orange"},
		{Indicator: "TC_CHILDREN_EXPOSED", Code: "DML_0001_V1", AdminLevel: 1, Date: "2026-11-21", Type: indicators.Integer, Number: 0},
		{Indicator: "EQ_MAX_MMI", Code: "DML_0001_0002_V1", AdminLevel: 2, Date: "2026-11-20", Type: indicators.Float, Number: 6.4},
		{Indicator: "EQ_MAX_MMI", Code: "DML_0001_0003_V1", AdminLevel: 2, Date: "not-a-day", Type: indicators.Float, Number: 5},
	}
}

func get(t *testing.T, h http.Handler, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFeedGolden(t *testing.T) {
	h := New(func() ([]indicators.Value, error) { return sample(), nil })
	h.now = func() time.Time { return time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC) }
	rec := get(t, h, "/", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	golden := testutil.Fixture(t, "geosight", "pull_feed.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, rec.Body.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), rec.Body.String())

	// The importer evaluates json["results"] and reads each record's keys.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	recs := doc[RecordsKey].([]any)
	require.Len(t, recs, 4, "the value with an invalid date is left out")
	first := recs[0].(map[string]any)
	for _, k := range []string{"ucode", "indicator_shortcode", "value", "date", "timestamp", "admin_level"} {
		assert.Contains(t, first, k)
	}
	assert.Len(t, strings.TrimSpace(jsonNum(first["timestamp"])), 10, "the importer's timestamp format wants 10 digits")
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestFeedFiltersAndErrors(t *testing.T) {
	h := New(func() ([]indicators.Value, error) { return sample(), nil })
	cases := []struct {
		name   string
		target string
		status int
		count  int
	}{
		{"one indicator", "/?indicator=TC_CHILDREN_EXPOSED", 200, 2},
		{"two indicators", "/?indicator=TC_CHILDREN_EXPOSED,ALERT_LEVEL", 200, 3},
		{"level", "/?admin_level=2", 200, 1},
		{"bad level", "/?admin_level=x", 400, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.target, nil)
			require.Equal(t, tc.status, rec.Code)
			if tc.status == 200 {
				var f Feed
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &f))
				assert.Equal(t, tc.count, f.Count)
				assert.Len(t, f.Results, tc.count)
			}
		})
	}
	rec := get(t, h, "/", nil)
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)
	assert.Equal(t, http.StatusNotModified, get(t, h, "/", map[string]string{"If-None-Match": etag}).Code)

	failing := New(func() ([]indicators.Value, error) { return nil, errors.New("store closed") })
	assert.Equal(t, http.StatusServiceUnavailable, get(t, failing, "/", nil).Code)
	post := httptest.NewRecorder()
	h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, post.Code)
}

// catalogue configures the sample's indicators over a small country.
func catalogue() Catalogue {
	two := 2
	return Catalogue{Ready: true, Today: "2026-11-21",
		Indicators: []indicators.Definition{
			{Shortcode: "TC_CHILDREN_EXPOSED", Type: indicators.Integer, AdminLevels: []int{1}},
			{Shortcode: "ALERT_LEVEL", Type: indicators.String, AdminLevels: []int{1}},
			{Shortcode: "EQ_MAX_MMI", Type: indicators.Float, RollupFrom: &two},
			{Shortcode: "QUIET", Type: indicators.Float, AdminLevels: []int{1}}, // nothing anywhere today
		},
		Areas: []indicators.Area{
			{Code: "DML_V1", Level: 0}, {Code: "DML_0001_V1", Level: 1}, {Code: "DML_0002_V1", Level: 1},
			{Code: "DML_0001_0002_V1", Level: 2}, {Code: "DML_0001_0003_V1", Level: 2},
		}}
}

// GeoSight's importer fails a whole run on an empty results list: every
// configured indicator is served for every area it covers, current value or
// explicit 0 / "none".
func TestFeedServesEveryAreaOfEveryIndicator(t *testing.T) {
	h := New(func() ([]indicators.Value, error) { return sample(), nil }).WithCatalogue(catalogue)
	read := func(target string) Feed {
		rec := get(t, h, target, nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var f Feed
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &f))
		return f
	}
	f := read("/?indicator=QUIET")
	require.Len(t, f.Results, 2, "an indicator with no value today still lists its areas")
	for _, r := range f.Results {
		assert.Equal(t, 0.0, r.Value)
		assert.Equal(t, "2026-11-21", r.Date)
	}
	alert := read("/?indicator=ALERT_LEVEL")
	got := map[string]any{}
	for _, r := range alert.Results {
		got[r.Ucode] = r.Value
	}
	assert.Equal(t, map[string]any{"DML_0001_V1": "orange", "DML_0002_V1": "none"}, got)
	mmi := read("/?indicator=EQ_MAX_MMI")
	codes := map[string]bool{}
	for _, r := range mmi.Results {
		codes[r.Ucode] = true
	}
	// 5 areas: DML_0001_0003_V1 has a value, but not a GeoSight day, so it
	// is left out as before rather than zeroed.
	assert.Len(t, codes, 4, "a roll-up covers its base level and every level above")
	all := read("/")
	assert.Equal(t, 2+2+4+2, all.Count, "one value per indicator and area")

	cases := []struct {
		name, target string
		status       int
		detail       string
	}{
		{"unknown indicator", "/?indicator=NOPE", 404, `NOPE\" is not configured`},
		{"filter matching nothing", "/?admin_level=7", 404, "no values match this feed's filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.target, nil)
			assert.Equal(t, tc.status, rec.Code)
			assert.Contains(t, rec.Body.String(), tc.detail)
		})
	}
	notYet := New(func() ([]indicators.Value, error) { return nil, nil }).WithCatalogue(func() Catalogue {
		c := catalogue()
		c.Ready = false
		return c
	})
	rec := get(t, notYet, "/", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "zeros before the first sync would overwrite real values")
}

// Property: whatever the query, the feed never answers 200 with an empty
// results list (GeoSight's importer fails on it).
func FuzzFeedQuery(f *testing.F) {
	for _, s := range []string{"", "indicator=A,B", "admin_level=1,2", "admin_level=%zz", "indicator=&admin_level=-1",
		"indicator=QUIET", "indicator=ALERT_LEVEL&admin_level=2"} {
		f.Add(s)
	}
	plain := New(func() ([]indicators.Value, error) { return sample(), nil })
	complete := New(func() ([]indicators.Value, error) { return sample(), nil }).WithCatalogue(catalogue)
	f.Fuzz(func(t *testing.T, q string) {
		for _, h := range []*Handler{plain, complete} {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.RawQuery = q
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case 200:
				var feed Feed
				if err := json.Unmarshal(rec.Body.Bytes(), &feed); err != nil || len(feed.Results) == 0 {
					t.Fatalf("200 with no results for %q: %s", q, rec.Body.String())
				}
			case 400, 404:
			default:
				t.Fatalf("status %d for %q", rec.Code, q)
			}
		}
	})
}
