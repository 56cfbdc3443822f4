package geosight_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/indicators"
)

// labelConfigOf reads a layer's label_config through its detail view.
func labelConfigOf(t *testing.T, tg *target, id int) any {
	t.Helper()
	l, err := tg.client.ContextLayer(context.Background(), id)
	require.NoError(t, err)
	return l.LabelConfig
}

// rawLayer creates a Cloud Native GIS layer outside the client with the
// given extra body keys, as an earlier hazardsync (or a script) did.
func rawLayer(t *testing.T, tg *target, name string, extra string) int {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"category":"HSCT","layer_type":%q%s}`, name, geosight.CloudNativeLayerType, extra)
	status, _, resp := tg.raw(t, http.MethodPost, "/api/v1/context-layers/", nil, body)
	require.Equal(t, http.StatusCreated, status, resp)
	var l geosight.RemoteLayer
	require.NoError(t, json.Unmarshal([]byte(resp), &l))
	require.NotZero(t, l.ID)
	t.Cleanup(func() { _ = tg.client.DeleteContextLayer(context.Background(), l.ID) })
	return l.ID
}

// GeoSight's dashboard hands a Cloud Native GIS layer's label_config to
// code that destructures {text, style} from it: null throws. The layer
// must carry one, stored as the JSON text GeoSight's own editor sends.
func TestContractLabelConfig(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()

	t.Run("created layers carry the editor's default label config as text", func(t *testing.T) {
		l, err := tg.client.CreateContextLayer(ctx, geosight.LayerSpec{Name: tg.prefix + "created", Category: "HSCT",
			Styles: geosight.FootprintStyles()})
		require.NoError(t, err)
		t.Cleanup(func() { _ = tg.client.DeleteContextLayer(context.Background(), l.ID) })
		assert.Equal(t, geosight.DefaultLabelConfig, l.LabelConfig, "create answer")
		got := labelConfigOf(t, tg, l.ID)
		assert.Equal(t, geosight.DefaultLabelConfig, got, "detail: the text comes back byte for byte")
		var parsed struct {
			Text  *string        `json:"text"`
			Style map[string]any `json:"style"`
		}
		require.NoError(t, json.Unmarshal([]byte(fmt.Sprint(got)), &parsed), "the browser JSON.parses it")
		require.NotNil(t, parsed.Text)
		assert.Empty(t, *parsed.Text, "no label text: nothing is drawn")
		for _, k := range []string{"fontColor", "haloColor", "fontSize", "minZoom", "maxZoom"} {
			assert.Contains(t, parsed.Style, k, "formatStyle reads style.%s", k)
		}
	})

	cases := []struct {
		name  string
		extra string
		// want is the stored label_config: nil, the exact text, or a
		// check of Python's repr of a dict.
		want    any
		wantHas bool
	}{
		{name: "none sent: null", extra: "", want: nil},
		{name: "null sent: null", extra: `,"label_config":null`, want: nil},
		{name: "empty text: null", extra: `,"label_config":""`, want: nil},
		{name: "text kept as sent", extra: `,"label_config":` + mustJSON(t, geosight.DefaultLabelConfig),
			want: geosight.DefaultLabelConfig, wantHas: true},
		{name: "an object is stored as Python's repr (unreadable)", extra: `,"label_config":{"text":"x"}`,
			want: "{'text': 'x'}"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := rawLayer(t, tg, fmt.Sprintf("%sraw%d", tg.prefix, i), c.extra)
			got := labelConfigOf(t, tg, id)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.wantHas, (&geosight.RemoteLayer{LabelConfig: got}).HasLabelConfig())
		})
	}

	t.Run("a layer without one is given one once", func(t *testing.T) {
		id := rawLayer(t, tg, tg.prefix+"old", "")
		l, err := tg.client.ContextLayer(ctx, id)
		require.NoError(t, err)
		require.Nil(t, l.LabelConfig)
		before := tg.sent.count(http.MethodPatch, "/api/v1/context-layers/")
		fixed, err := tg.client.EnsureLabelConfig(ctx, l)
		require.NoError(t, err)
		assert.True(t, fixed)
		assert.Equal(t, before+1, tg.sent.count(http.MethodPatch, "/api/v1/context-layers/"))
		assert.Equal(t, geosight.DefaultLabelConfig, labelConfigOf(t, tg, id))

		again, err := tg.client.ContextLayer(ctx, id)
		require.NoError(t, err)
		fixed, err = tg.client.EnsureLabelConfig(ctx, again)
		require.NoError(t, err)
		assert.False(t, fixed)
		assert.Equal(t, before+1, tg.sent.count(http.MethodPatch, "/api/v1/context-layers/"), "nothing sent the second time")
		assert.Equal(t, "HSCT", again.Category, "the PATCH kept the rest of the layer")
		assert.Equal(t, geosight.CloudNativeLayerType, again.LayerType)
	})

	t.Run("an empty label config in a PATCH keeps the stored one", func(t *testing.T) {
		id := rawLayer(t, tg, tg.prefix+"keep", `,"label_config":`+mustJSON(t, geosight.DefaultLabelConfig))
		status, _, resp := tg.raw(t, http.MethodPatch, fmt.Sprintf("/api/v1/context-layers/%d/", id), nil, `{"label_config":""}`)
		require.Equal(t, http.StatusOK, status, resp)
		assert.Equal(t, geosight.DefaultLabelConfig, labelConfigOf(t, tg, id))
	})
}

// A footprint layer made before labels were set is repaired by the next
// publish, and a later client sends no PATCH for it.
func TestPublishFootprintsRepairsLabelConfig(t *testing.T) {
	tg := newTarget(t)
	ctx := context.Background()
	cfg := tg.cfg
	cfg.ContextLayers.Enabled = true
	cfg.ContextLayers.NamePrefix = tg.prefix
	cfg.ContextLayers.HazardTypes = []string{string(indicators.Earthquake)}
	c := tg.newClient(t, cfg)
	id := rawLayer(t, tg, c.LayerName(indicators.Earthquake), `,"styles":`+mustJSON(t, geosight.FootprintStyles()))
	require.Nil(t, labelConfigOf(t, tg, id))

	events := demoEvents(time.Now())
	require.NoError(t, c.PublishFootprints(ctx, events))
	assert.Equal(t, geosight.DefaultLabelConfig, labelConfigOf(t, tg, id))
	assert.Equal(t, 1, tg.sent.count(http.MethodPatch, "/api/v1/context-layers/"))
	assert.Equal(t, 1, tg.sent.exact(http.MethodPost, "/api/v1/context-layers/"), "the layer was found, not made again")

	c2 := tg.newClient(t, cfg)
	require.NoError(t, c2.PublishFootprints(ctx, events))
	assert.Equal(t, 1, tg.sent.count(http.MethodPatch, "/api/v1/context-layers/"), "a repaired layer is not patched again")
}

// exact is how many requests with method went to exactly path.
func (c *counter) exact(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		if s == method+" "+path {
			n++
		}
	}
	return n
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
