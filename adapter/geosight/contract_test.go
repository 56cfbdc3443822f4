package geosight_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/indicators"
)

// httpErr asserts err is an HTTP error with status and returns it.
func httpErr(t *testing.T, err error, status int) *geosight.HTTPError {
	t.Helper()
	require.Error(t, err)
	var he *geosight.HTTPError
	require.True(t, errors.As(err, &he), "not an HTTP error: %v", err)
	require.Equal(t, status, he.Status, "body: %s", he.Body)
	return he
}

func TestContractAuthErrors(t *testing.T) {
	tg := newTarget(t)
	cases := []struct {
		name   string
		header map[string]string
		detail string
	}{
		{"unknown key", map[string]string{"Authorization": "Token not-a-real-key"}, "Invalid token."},
		{"wrong e-mail", map[string]string{"GeoSight-User-Key": "someone-else@example.org"}, "Invalid email!."},
		{"keyword only", map[string]string{"Authorization": "Token"}, "Invalid token header. No credentials provided."},
		{"anonymous POST", map[string]string{"Authorization": "", "GeoSight-User-Key": ""}, "Authentication credentials were not provided."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := tg.raw(t, http.MethodPost, "/api/v1/data-browser/", tc.header, `{}`)
			assert.Equal(t, http.StatusForbidden, status, "GeoSight answers 403, never 401")
			var got map[string]string
			if assert.NoError(t, json.Unmarshal([]byte(body), &got), body) {
				assert.Equal(t, tc.detail, got["detail"])
			}
		})
	}
}

func TestContractWrongKeyNothingDelivered(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	lvl, codes := tg.codes(t)
	d := tg.def(t, "AUTH", indicators.Float)
	require.NoError(t, tg.client.Ensure(ctx, []indicators.Definition{d}))
	bad := tg.cfg
	bad.APIKey = "0000000000000000000000000000000000000000000000000000000000000bad"
	bc := tg.newClient(t, bad)
	bc.RefreshEntities()
	col := newCollect()
	vals := []indicators.Value{{Indicator: d.Shortcode, Code: codes[0], AdminLevel: lvl, Date: "2026-11-20", Type: indicators.Float, Number: 1}}
	werr := bc.Write(ctx, vals, col.ack)
	require.Error(t, werr)
	assert.Equal(t, adapter.Auth, adapter.ClassOf(werr))
	assert.Contains(t, werr.Error(), "Invalid token.", "the 403 text is surfaced")
	for _, o := range col.all() {
		assert.Error(t, o.Err, "nothing may be marked delivered")
	}
	got, err := tg.client.Values(ctx, geosight.ValueFilter{Shortcodes: []string{d.Shortcode}})
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.NotContains(t, tg.logs.String(), bad.APIKey.Reveal())
	assert.NotContains(t, werr.Error(), bad.APIKey.Reveal())
}

func TestContractTrailingSlash(t *testing.T) {
	tg := newTarget(t)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		t.Run(m, func(t *testing.T) {
			status, h, _ := tg.raw(t, m, "/api/v1/indicators?page=1", nil, `{}`)
			assert.Equal(t, http.StatusMovedPermanently, status)
			assert.Equal(t, "/api/v1/indicators/?page=1", strings.TrimPrefix(h.Get("Location"), tg.cfg.URL))
		})
	}
}

func TestContractIndicators(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	num := tg.def(t, "NUM", indicators.Float)
	num.MinValue = indicators.F(0)
	cat := tg.def(t, "CAT", indicators.String)
	cat.Codes = []string{"none", "green", "orange", "red"}
	defs := []indicators.Definition{num, cat}
	require.NoError(t, tg.client.Ensure(ctx, defs))

	found, err := tg.client.FindIndicators(ctx, geosight.IndicatorFilter{Shortcodes: []string{num.Shortcode, cat.Shortcode}})
	require.NoError(t, err)
	assert.Len(t, found, 2)
	byCode := map[string]geosight.RemoteIndicator{}
	for _, f := range found {
		byCode[f.Shortcode] = f
	}
	assert.Equal(t, "Float", byCode[num.Shortcode].Type)
	assert.Equal(t, geosight.StyleQuantitative, byCode[num.Shortcode].StyleType)
	assert.Equal(t, geosight.StyleQualitative, byCode[cat.Shortcode].StyleType)
	// GeoSight stores the unit but never returns it (list, fields=__all__,
	// detail): the client keeps a record of what it sent instead.
	assert.Nil(t, byCode[num.Shortcode].Unit, "unit is not returned")
	assert.Contains(t, tg.client.IndicatorRecords()[num.Shortcode], `"people"`)
	if !tg.real() {
		for _, it := range tg.fake.Indicators() {
			if it.Shortcode == num.Shortcode && assert.NotNil(t, it.Unit) {
				assert.Equal(t, "people", *it.Unit, "stored")
			}
		}
	}

	// Ensure again: nothing created, nothing patched (a unit does not make
	// every sync PATCH).
	posts, patches := tg.sent.count("POST", "/api/v1/indicators/"), tg.sent.count("PATCH", "/api/v1/indicators/")
	require.NoError(t, tg.client.Ensure(ctx, defs))
	assert.Equal(t, posts, tg.sent.count("POST", "/api/v1/indicators/"), "no POST on a repeat Ensure")
	assert.Equal(t, patches, tg.sent.count("PATCH", "/api/v1/indicators/"), "no PATCH on a repeat Ensure")
	// A client restored from the record behaves the same.
	c2 := tg.newClient(t, tg.cfg)
	c2.SetIndicatorRecords(tg.client.IndicatorRecords())
	require.NoError(t, c2.Ensure(ctx, defs))
	assert.Equal(t, patches, tg.sent.count("PATCH", "/api/v1/indicators/"), "no PATCH from a restored client")

	// Only the unit changes: PATCHed once (it cannot be read back).
	unitOnly := num
	unitOnly.Unit = "children"
	require.NoError(t, tg.client.Ensure(ctx, []indicators.Definition{unitOnly}))
	assert.Equal(t, patches+1, tg.sent.count("PATCH", "/api/v1/indicators/"), "a changed unit is sent")
	require.NoError(t, tg.client.Ensure(ctx, []indicators.Definition{unitOnly}))
	assert.Equal(t, patches+1, tg.sent.count("PATCH", "/api/v1/indicators/"), "and only once")

	// A changed definition is PATCHed, not duplicated.
	num.Name += " v2"
	num.Unit = "children"
	num.MaxValue = indicators.F(1e9)
	num.Style = map[string]any{"color_palette": 3}
	require.NoError(t, tg.client.Ensure(ctx, []indicators.Definition{num}))
	found, err = tg.client.FindIndicators(ctx, geosight.IndicatorFilter{Shortcodes: []string{num.Shortcode}})
	require.NoError(t, err)
	if assert.Len(t, found, 1, "never duplicated") {
		assert.Equal(t, num.Name, found[0].Name)
		if assert.NotNil(t, found[0].MaxValue) {
			assert.Equal(t, 1e9, *found[0].MaxValue)
		}
		assert.EqualValues(t, 3, found[0].StyleConfig["color_palette"])
	}

	t.Run("unknown filter", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodGet, "indicators/", url.Values{"bogus_field": {"1"}}, nil, "")
		he := httpErr(t, err, http.StatusBadRequest)
		assert.Equal(t, "Can not query param bogus_field", he.Body)
		assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	})
	t.Run("form errors", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodPost, "indicators/", nil, map[string]any{
			"name": "x " + tg.prefix, "shortcode": num.Shortcode, "category": "c", "type": "float", "style_type": geosight.StyleQuantitative}, "")
		he := httpErr(t, err, http.StatusBadRequest)
		var formErrs map[string][]string
		if assert.NoError(t, json.Unmarshal([]byte(he.Body), &formErrs)) {
			assert.Equal(t, []string{"Select a valid choice. float is not one of the available choices."}, formErrs["type"])
			assert.Equal(t, []string{"The shortcode has been used by " + num.Name}, formErrs["shortcode"])
		}
	})
	t.Run("PATCH unknown id", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodPatch, "indicators/999999999/", nil, map[string]any{"name": "x"}, "")
		assert.Equal(t, "Not found.", httpErr(t, err, http.StatusNotFound).Detail)
	})
}

func TestContractPagination(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	var defs []indicators.Definition
	for i := 0; i < 3; i++ {
		defs = append(defs, tg.def(t, fmt.Sprintf("PG%d", i), indicators.Integer))
	}
	require.NoError(t, tg.client.Ensure(ctx, defs))
	q := url.Values{"q": {tg.prefix}, "page_size": {"2"}}
	resp, err := tg.client.Do(ctx, http.MethodGet, "indicators/", q, nil, "")
	require.NoError(t, err)
	var p struct {
		Next      *string          `json:"next"`
		Previous  *string          `json:"previous"`
		Count     int              `json:"count"`
		Page      int              `json:"page"`
		TotalPage int              `json:"total_page"`
		PageSize  int              `json:"page_size"`
		Results   []map[string]any `json:"results"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &p))
	assert.Equal(t, 3, p.Count)
	assert.Equal(t, 2, p.TotalPage)
	assert.Equal(t, 2, p.PageSize)
	assert.Len(t, p.Results, 2)
	require.NotNil(t, p.Next)
	assert.Contains(t, *p.Next, "page=2")
	assert.Nil(t, p.Previous)

	q.Set("page", "3")
	_, err = tg.client.Do(ctx, http.MethodGet, "indicators/", q, nil, "")
	he := httpErr(t, err, http.StatusNotFound)
	assert.Equal(t, "Invalid page.", he.Detail)

	// The paging helper follows next/total_page across pages.
	all, err := tg.client.FindIndicators(ctx, geosight.IndicatorFilter{Query: tg.prefix})
	require.NoError(t, err)
	assert.Len(t, all, 3)
}

func TestContractValues(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	lvl, codes := tg.codes(t)
	d := tg.def(t, "VAL", indicators.Float)
	d.MinValue = indicators.F(0)
	s := tg.def(t, "VALS", indicators.String)
	require.NoError(t, tg.client.Ensure(ctx, []indicators.Definition{d, s}))

	vals := []indicators.Value{
		{Indicator: d.Shortcode, Code: codes[0], AdminLevel: lvl, Date: "2026-11-20", Type: indicators.Float, Number: 12.5,
			Attributes: map[string]any{"event": "usgs:1"}},
		{Indicator: d.Shortcode, Code: codes[1], AdminLevel: lvl, Date: "2026-11-20", Type: indicators.Float, Number: 3},
		{Indicator: s.Shortcode, Code: codes[0], AdminLevel: lvl, Date: "2026-11-20", Type: indicators.String, Text: "orange"},
		{Indicator: d.Shortcode, Code: "NOPE_9999_V1", AdminLevel: lvl, Date: "2026-11-20", Type: indicators.Float, Number: 1},
		{Indicator: d.Shortcode, Code: codes[1], AdminLevel: lvl, Date: "2026-11-21", Type: indicators.Float, Number: -1},
	}
	col := newCollect()
	require.NoError(t, tg.client.Write(ctx, vals, col.ack))
	for i, v := range vals {
		os := col.out[v.Key()]
		require.Len(t, os, 1, "value %d acked once", i)
		switch i {
		case 3:
			require.Error(t, os[0].Err)
			assert.Equal(t, adapter.Permanent, adapter.ClassOf(os[0].Err))
			assert.Contains(t, os[0].Err.Error(), "unknown ucode NOPE_9999_V1 not in dataset "+tg.cfg.Dataset)
			var ae *adapter.Error
			require.True(t, errors.As(os[0].Err, &ae))
			assert.Equal(t, v.Key().String(), ae.Key)
		case 4:
			require.Error(t, os[0].Err)
			assert.Equal(t, adapter.Permanent, adapter.ClassOf(os[0].Err))
			assert.Contains(t, os[0].Err.Error(), "Value is less than 0.0", "GeoSight's text verbatim")
		default:
			assert.NoError(t, os[0].Err)
		}
	}
	if !tg.real() {
		assert.Zero(t, tg.fake.RequestCount("POST", "/api/v1/data-browser/")-4, "the unknown code is not sent")
	}

	got, err := tg.client.Values(ctx, geosight.ValueFilter{Shortcodes: []string{d.Shortcode, s.Shortcode}})
	require.NoError(t, err)
	require.Len(t, got, 3)
	byKey := map[indicators.Key]geosight.RemoteValue{}
	for _, g := range got {
		byKey[g.Key()] = g
	}
	assert.Equal(t, 12.5, byKey[vals[0].Key()].Number)
	assert.Equal(t, "usgs:1", byKey[vals[0].Key()].Attributes["event"])
	assert.Equal(t, "orange", byKey[vals[2].Key()].Text)

	// Upsert on (indicator, date, ucode): a second write replaces, and
	// attributes merge.
	v2 := vals[0]
	v2.Number, v2.Attributes = 99, map[string]any{"run": "2"}
	col = newCollect()
	require.NoError(t, tg.client.Write(ctx, []indicators.Value{v2}, col.ack))
	got, err = tg.client.Values(ctx, geosight.ValueFilter{Shortcodes: []string{d.Shortcode}, Codes: []string{codes[0]}, Date: "2026-11-20"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, 99.0, got[0].Number)
	assert.Equal(t, "usgs:1", got[0].Attributes["event"])
	assert.Equal(t, "2", got[0].Attributes["run"])

	// Raw error shapes of POST /data-browser/ (plain text 400s).
	base := map[string]any{"indicator_shortcode": d.Shortcode, "date": "2026-11-20", "geom_id": codes[0],
		"dataset_uuid": tg.cfg.Dataset, "admin_level": lvl, "value": 1}
	without := func(k string) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			if kk != k {
				m[kk] = vv
			}
		}
		return m
	}
	with := func(k string, v any) map[string]any {
		m := without(k)
		m[k] = v
		return m
	}
	cases := []struct {
		name string
		body any
		want string
	}{
		{"no indicator", without("indicator_shortcode"), "indicator_id or indicator_shortcode is required"},
		{"unknown indicator", with("indicator_shortcode", tg.prefix+"MISSING"), "Indicator does not exist"},
		{"no date", without("date"), "'date' is required on payload"},
		{"no value", without("value"), "'value' is required on payload"},
		{"empty value", with("value", ""), "Value is empty"},
		{"not float", with("value", "abc"), "Value is not float"},
		{"ISO datetime", with("date", "2020-01-01T00:00:00Z"), "['“2020-01-01T00:00:00Z” value has an invalid date format. It must be in YYYY-MM-DD format.']"},
		{"array body", []any{base}, "'list' object has no attribute 'get'"},
	}
	if !tg.real() {
		// GeoRepo-backed servers word this one differently (geosight-api.md §8).
		cases = append(cases, struct {
			name string
			body any
			want string
		}{"unknown ucode", with("geom_id", "NOPE_9999_V1"), "Georepo entity does not exist."})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tg.client.Do(ctx, http.MethodPost, "data-browser/", nil, tc.body, "k")
			he := httpErr(t, err, http.StatusBadRequest)
			assert.Equal(t, tc.want, he.Body)
			var ae *adapter.Error
			if assert.True(t, errors.As(err, &ae)) {
				assert.Equal(t, tc.want, ae.Err.Error(), "kept verbatim")
			}
		})
	}
	resp, err := tg.client.Do(ctx, http.MethodPost, "data-browser/", nil, base, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.Status)
	assert.Equal(t, "201", strings.TrimSpace(string(resp.Body)), "success is HTTP 200 with body 201")

	_, err = tg.client.Do(ctx, http.MethodGet, "data-browser/", url.Values{"nonsense": {"1"}}, nil, "")
	assert.Equal(t, "Can not query param nonsense", httpErr(t, err, http.StatusBadRequest).Body)
}

func TestContractReferenceDataset(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	ds, err := tg.client.Datasets(ctx)
	require.NoError(t, err)
	var found bool
	for _, d := range ds {
		if d.UUID == tg.cfg.Dataset {
			found = true
			assert.NotEmpty(t, d.DatasetLevels)
			assert.Contains(t, d.PossibleIDs, "ucode")
		}
	}
	assert.True(t, found, "configured dataset is listed")
	lvl, codes := tg.codes(t)
	areas, err := tg.client.Areas(ctx, []int{lvl})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(areas), 2)
	for _, a := range areas {
		assert.Equal(t, lvl, a.Level)
		assert.NotEmpty(t, a.Name)
		assert.NotNil(t, a.Geometry, "area %s has a geometry", a.Code)
		if lvl > 0 {
			assert.NotEmpty(t, a.Parents)
		}
	}
	assert.Contains(t, []string{areas[0].Code, areas[1].Code}, codes[0])

	entity := "/api/v1/reference-datasets/" + tg.cfg.Dataset + "/entity/?admin_level=1&format=geojson"
	t.Run("GeoJSON needs a matching Accept", func(t *testing.T) {
		status, h, body := tg.raw(t, http.MethodGet, entity, map[string]string{"Accept": "application/json"}, "")
		assert.Equal(t, http.StatusNotAcceptable, status)
		assert.JSONEq(t, `{"detail":"Could not satisfy the request Accept header."}`, body)
		for _, accept := range []string{geosight.GeoJSONAccept, "*/*", "application/json, */*"} {
			status, h, _ = tg.raw(t, http.MethodGet, entity, map[string]string{"Accept": accept}, "")
			assert.Equal(t, http.StatusOK, status, accept)
			assert.Equal(t, "application/geo+json", h.Get("Content-Type"), accept)
		}
	})
	t.Run("parents: only ucodes are read", func(t *testing.T) {
		// GeoSight gives the parents wrong admin levels; the client reads
		// the level only of the entity itself.
		ents, err := tg.client.Entities(ctx, 2)
		require.NoError(t, err)
		for _, e := range ents {
			assert.Equal(t, 2, e.AdminLevel)
			assert.NotEmpty(t, e.ParentCodes(), e.Ucode)
		}
	})
	t.Run("page past the end", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodGet, "reference-datasets/"+tg.cfg.Dataset+"/entity/", url.Values{"admin_level": {"1"}, "page": {"99"}}, nil, "")
		assert.Equal(t, "Invalid page.", httpErr(t, err, http.StatusNotFound).Detail)
	})
}

func TestContractContextLayer(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	l, err := tg.client.CreateContextLayer(ctx, geosight.LayerSpec{Name: tg.prefix + "layer", Category: "hazardsync contract tests",
		Styles: geosight.FootprintStyles()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tg.client.DeleteContextLayer(context.Background(), l.ID) })
	assert.Equal(t, geosight.CloudNativeLayerType, l.LayerType)
	assert.Empty(t, l.OGCAPI, "ogc_api is null until the first upload")
	assert.Nil(t, l.CloudNativeID, "cloud_native_gis_layer_id is null until the first upload")
	again, err := tg.client.FindContextLayer(ctx, l.Name)
	require.NoError(t, err)
	if assert.NotNil(t, again) {
		assert.Equal(t, l.ID, again.ID)
		assert.NotEmpty(t, again.Styles, "styles come from the detail view (the list omits them)")
	}

	feats := footprintsFor(t, 40)
	tg.client.SetBodyLimit(4096) // force several chunks
	n, err := tg.client.ReplaceFeatures(ctx, l.ID, feats)
	require.NoError(t, err)
	assert.Greater(t, n, 1, "chunked")
	rows, err := tg.client.LayerFeatures(ctx, l.ID)
	require.NoError(t, err)
	if assert.Len(t, rows, 40) {
		assert.IsType(t, "", rows[0]["id"], "ids come back as strings")
	}
	attrs, err := tg.client.LayerAttributes(ctx, l.ID)
	require.NoError(t, err)
	assert.Contains(t, attrs, "severity")
	uploaded, err := tg.client.ContextLayer(ctx, l.ID)
	require.NoError(t, err)
	assert.NotEmpty(t, uploaded.OGCAPI, "set by the first upload")
	assert.NotNil(t, uploaded.CloudNativeID, "set by the first upload")
	if !tg.real() {
		assert.LessOrEqual(t, tg.fake.LargestBody("/api/v1/context-layers/"), 4096)
	}
	// Replace is idempotent: same content, same count.
	_, err = tg.client.ReplaceFeatures(ctx, l.ID, feats[:5])
	require.NoError(t, err)
	rows, err = tg.client.LayerFeatures(ctx, l.ID)
	require.NoError(t, err)
	assert.Len(t, rows, 5)

	path := fmt.Sprintf("context-layers/%d/data/", l.ID)
	t.Run("empty replace is refused", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodPost, path+"replace/", nil, []byte(`{"type":"FeatureCollection","features":[]}`), "")
		assert.Contains(t, httpErr(t, err, http.StatusBadRequest).Body, "active geometry column ('geometry') is not present")
	})
	t.Run("DELETE takes one feature at a time", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodDelete, path+"features/", nil, nil, "")
		assert.Equal(t, "Found 5 feature(s); cannot delete more than one at a time.", httpErr(t, err, http.StatusBadRequest).Body)
	})
	t.Run("emptied", func(t *testing.T) {
		_, err := tg.client.ReplaceFeatures(ctx, l.ID, nil)
		require.NoError(t, err)
		rows, err := tg.client.LayerFeatures(ctx, l.ID)
		require.NoError(t, err)
		assert.Empty(t, rows, "no feature left")
		// And it fills again.
		_, err = tg.client.ReplaceFeatures(ctx, l.ID, feats[:3])
		require.NoError(t, err)
		rows, err = tg.client.LayerFeatures(ctx, l.ID)
		require.NoError(t, err)
		assert.Len(t, rows, 3)
	})
	t.Run("error shapes", func(t *testing.T) {
		_, err := tg.client.Do(ctx, http.MethodPost, path+"replace/", nil, map[string]any{"type": "FeatureCollection"}, "")
		assert.Equal(t, "Invalid payload format. Format should be geojson format. ", httpErr(t, err, http.StatusBadRequest).Body)
		_, err = tg.client.Do(ctx, http.MethodPost, path+"features/", nil, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[61,11]},"properties":{"brand_new":1}}]}`), "")
		assert.Equal(t, `column "brand_new" does not exist`, httpErr(t, err, http.StatusBadRequest).Body)
		_, err = tg.client.Do(ctx, http.MethodPost, "context-layers/", nil, map[string]any{"name": tg.prefix + "x", "category": "c"}, "")
		assert.JSONEq(t, `["layer_type is required."]`, httpErr(t, err, http.StatusBadRequest).Body)
	})
	t.Run("data/ answers 500", func(t *testing.T) {
		// ContextLayerDataViewSet.list passes an argument retrieve does not
		// take: never read it.
		status, _, body := tg.raw(t, http.MethodGet, "/api/v1/"+path, nil, "")
		assert.Equal(t, http.StatusInternalServerError, status)
		assert.Contains(t, body, "Server Error (500)")
	})
}

func TestContractRelatedTable(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	tbl, err := tg.client.CreateRelatedTable(ctx, tg.prefix+"table", "contract test", []geosight.Field{{"ucode", "Ucode", "string"}, {"n", "N", "number"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tg.client.DeleteRelatedTable(context.Background(), tbl.ID) })
	assert.Equal(t, fmt.Sprintf("/api/v1/related-tables/%d/", tbl.ID), tbl.URL)
	assert.Equal(t, "Ucode", tbl.FieldsDefinition[0].Label)
	rows := make([]map[string]any, 30)
	for i := range rows {
		rows[i] = map[string]any{"ucode": fmt.Sprintf("X_%d", i), "n": float64(i)}
	}
	tg.client.SetBodyLimit(512)
	posts, err := tg.client.ReplaceRows(ctx, tbl.ID, rows)
	require.NoError(t, err)
	assert.Greater(t, posts, 1)
	_, err = tg.client.ReplaceRows(ctx, tbl.ID, rows[:3]) // DELETE then POST: no accumulation
	require.NoError(t, err)
	got, err := tg.client.TableRows(ctx, tbl.ID)
	require.NoError(t, err)
	assert.Len(t, got, 3)

	data := fmt.Sprintf("related-tables/%d/data/", tbl.ID)
	_, err = tg.client.Do(ctx, http.MethodPost, data, nil, map[string]any{}, "")
	assert.JSONEq(t, `{"non_field_errors":["Expected a list of items but got type \"dict\"."]}`, httpErr(t, err, http.StatusBadRequest).Body)
	_, err = tg.client.Do(ctx, http.MethodPost, data, nil, []any{}, "")
	assert.JSONEq(t, `[]`, httpErr(t, err, http.StatusBadRequest).Body)
	_, err = tg.client.Do(ctx, http.MethodPost, data, nil, []any{map[string]any{}}, "")
	assert.JSONEq(t, `[{"properties":["This field is required."]}]`, httpErr(t, err, http.StatusBadRequest).Body)
	_, err = tg.client.Do(ctx, http.MethodPost, "related-tables/", nil, map[string]any{"name": tg.prefix + "bad"}, "")
	he := httpErr(t, err, http.StatusBadRequest)
	assert.True(t, strings.HasPrefix(he.Detail, "odict_items(["), he.Detail)
	assert.Contains(t, he.Detail, "fields_definition")
	_, err = tg.client.Do(ctx, http.MethodPatch, fmt.Sprintf("related-tables/%d/", tbl.ID), nil, map[string]any{"name": "x"}, "")
	httpErr(t, err, http.StatusMethodNotAllowed)
}

func TestContractStyles(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	st, err := tg.client.CreateStyle(ctx, geosight.StyleSpec{Name: tg.prefix + "style", Group: "hazardsync contract tests",
		ValueType: "Float", StyleType: geosight.StyleQuantitative,
		Keys: map[string]any{"color_palette": 2, "dynamic_classification": "Quantile.", "dynamic_class_num": 5}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tg.client.DeleteStyle(context.Background(), st.ID) })
	assert.EqualValues(t, 2, st.StyleConfig["color_palette"])
	found, err := tg.client.FindStyle(ctx, st.Name)
	require.NoError(t, err)
	require.NotNil(t, found)
	assert.Equal(t, st.ID, found.ID)
	_, err = tg.client.CreateStyle(ctx, geosight.StyleSpec{Name: st.Name, Group: "g", ValueType: "Float", StyleType: geosight.StyleQuantitative})
	he := httpErr(t, err, http.StatusBadRequest)
	assert.Contains(t, he.Body, "Style with this Name already exists.")
	_, err = tg.client.Do(ctx, http.MethodPost, "styles/", nil, map[string]any{"name": tg.prefix + "s2", "category": "g",
		"value_type": "Float", "style_type": geosight.StyleQuantitative}, "")
	assert.Contains(t, httpErr(t, err, http.StatusBadRequest).Body, `"group":["This field is required."]`)
}
