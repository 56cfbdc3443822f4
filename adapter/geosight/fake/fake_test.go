package fake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

const key, email, ds = "k123", "bot@example.org", "6f3a2c1e-0000-4000-8000-000000000001"

func opts(persist string) Options {
	return Options{
		Users: []User{{Key: key, Email: email, Role: Creator}},
		Datasets: []Dataset{{UUID: ds, Name: "Demoland", Areas: []indicators.Area{
			{Code: "DML_V1", Name: "Demoland", Level: 0, Geometry: orb.Polygon{{{60, 10}, {64, 10}, {64, 14}, {60, 14}, {60, 10}}}},
			{Code: "DML_0001_V1", Name: "North West", Level: 1, Parents: []string{"DML_V1"}},
		}}},
		PersistPath: persist,
	}
}

func call(t testing.TB, s http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Token "+key)
	req.Header.Set("GeoSight-User-Key", email)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestPersistSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "geosight.json")
	s := New(opts(path))
	rec := call(t, s, "POST", "/api/v1/indicators/", `{"name":"A","shortcode":"A","category":"c","type":"Float","style_type":"Dynamic quantitative style."}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = call(t, s, "POST", "/api/v1/data-browser/", `{"indicator_shortcode":"A","date":"2026-11-20","geom_id":"DML_0001_V1","dataset_uuid":"`+ds+`","admin_level":1,"value":3}`)
	require.Equal(t, "201", rec.Body.String())

	again := New(opts(path))
	require.Len(t, again.Indicators(), 1)
	require.Len(t, again.Values(), 1)
	assert.Equal(t, 3.0, *again.Values()[0].Number)
	// ids keep counting after a restart
	rec = call(t, again, "POST", "/api/v1/indicators/", `{"name":"B","shortcode":"B","category":"c","type":"Float","style_type":"Dynamic quantitative style."}`)
	require.Equal(t, http.StatusCreated, rec.Code)
	ids := map[int]bool{}
	for _, i := range again.Indicators() {
		ids[i.ID] = true
	}
	assert.Len(t, ids, 2)
}

func TestIndexPage(t *testing.T) {
	s := New(opts(""))
	call(t, s, "POST", "/api/v1/indicators/", `{"name":"Children exposed","shortcode":"KIDS","category":"c","type":"Integer","style_type":"Dynamic quantitative style."}`)
	call(t, s, "POST", "/api/v1/data-browser/", `{"indicator_shortcode":"KIDS","date":"2026-11-20","geom_id":"DML_0001_V1","dataset_uuid":"`+ds+`","admin_level":1,"value":12.7}`)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "KIDS")
	assert.Contains(t, rec.Body.String(), "2026-11-20")
	v := s.Values()[0]
	assert.Equal(t, 12.0, *v.Number, "Integer values are truncated like int()")
	assert.Equal(t, "Result was rounded to int.", v.Attributes["description"])
}

func TestEntityGeoJSONAndDetail(t *testing.T) {
	s := New(opts(""))
	rec := call(t, s, "GET", "/api/v1/reference-datasets/"+ds+"/entity/?admin_level=0&format=geojson", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &fc))
	assert.Equal(t, "FeatureCollection", fc.Type)
	require.Len(t, fc.Features, 1)
	assert.Equal(t, "DML_V1", fc.Features[0].Properties["ucode"])
	assert.Equal(t, http.StatusNotFound, call(t, s, "GET", "/api/v1/reference-datasets/nope/", "").Code)
	assert.Equal(t, http.StatusOK, call(t, s, "GET", "/api/v1/reference-datasets/"+ds+"/entity/DML_V1/", "").Code)
}

func TestFaultsOverRealListener(t *testing.T) {
	s := New(opts(""))
	url := s.Start()
	defer s.Close()
	s.SetFaults(Faults{ResetRate: 1})
	_, err := http.Get(url + "/api/v1/indicators/")
	require.Error(t, err, "connection reset")
	s.SetFaults(Faults{ErrorRate: 1})
	resp, err := http.Get(url + "/api/v1/indicators/")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, string(b), "502 Bad Gateway")
	s.SetFaults(Faults{Latency: 30 * time.Millisecond})
	resp, err = http.Get(url + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the index page is not faulted")
	assert.GreaterOrEqual(t, s.RequestCount("GET", "/api/"), 2)
}

func TestBodyLimit(t *testing.T) {
	s := New(opts(""))
	big := bytes.Repeat([]byte("x"), maxRequestBody+1)
	req := httptest.NewRequest("POST", "/api/v1/data-browser/", bytes.NewReader(big))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

// FuzzDataBrowserPost: whatever the body, the fake answers 200 "201" or a
// plain-text 400, never panics, and never stores an invalid row.
func FuzzDataBrowserPost(f *testing.F) {
	for _, s := range []string{
		`{"indicator_shortcode":"A","date":"2026-11-20","geom_id":"DML_0001_V1","dataset_uuid":"` + ds + `","admin_level":1,"value":3}`,
		`{"indicator_shortcode":"A","date":"2026-1-2","geom_id":"DML_V1","dataset_uuid":"` + ds + `","admin_level":null,"value":"4.5"}`,
		`{"indicator_id":1,"date":"2026-02-30","geom_id":"DML_V1","dataset_uuid":"` + ds + `","admin_level":0,"value":1}`,
		`[{}]`, `{}`, `null`, `"x"`, `{"indicator_shortcode":"A","date":20260101}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := New(opts(""))
		call(t, s, "POST", "/api/v1/indicators/", `{"name":"A","shortcode":"A","category":"c","type":"Float","style_type":"Dynamic quantitative style.","min_value":0}`)
		rec := call(t, s, "POST", "/api/v1/data-browser/", body)
		switch rec.Code {
		case http.StatusOK:
			require.Equal(t, "201", rec.Body.String())
			for _, v := range s.Values() {
				_, err := time.Parse(time.DateOnly, v.Date)
				require.NoError(t, err)
				require.GreaterOrEqual(t, *v.Number, 0.0)
			}
		case http.StatusBadRequest:
			require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
