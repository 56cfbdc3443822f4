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

func FuzzFeedQuery(f *testing.F) {
	for _, s := range []string{"", "indicator=A,B", "admin_level=1,2", "admin_level=%zz", "indicator=&admin_level=-1"} {
		f.Add(s)
	}
	h := New(func() ([]indicators.Value, error) { return sample(), nil })
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.RawQuery = q
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for %q", rec.Code, q)
		}
	})
}
