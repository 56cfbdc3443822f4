package project_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	"github.com/hazardsync/hazardsync/indicators"
)

// contextLabels maps each context layer of a served project to the
// label_config the dashboard hands to GeoSight's label code.
func contextLabels(served map[string]any) map[string]any {
	out := map[string]any{}
	for _, c := range served["context_layers"].([]any) {
		m := c.(map[string]any)
		out[fmt.Sprint(m["name"])] = m["label_config"]
	}
	return out
}

// readableLabel is what GeoSight's renderContextLayerLabel needs: an object
// with text, or JSON text of one (it JSON.parses a string).
func readableLabel(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		_, ok := x["text"]
		return ok
	case string:
		var m map[string]any
		if json.Unmarshal([]byte(x), &m) != nil {
			return false
		}
		_, ok := m["text"]
		return ok
	}
	return false
}

// The project's footprint layers reach the dashboard with the layer's own
// label config (not the project's, which GeoSight drops without
// override_label), so a layer repaired after the project was made is seen
// at once and the project itself stays unchanged.
func TestProjectContextLayersCarryTheLayersLabel(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// A second footprint layer as an earlier hazardsync made it: no label.
	old := w.client.LayerName(indicators.Earthquake)
	_, err := w.client.Do(ctx, http.MethodPost, "context-layers/", nil, map[string]any{"name": old, "category": "Hazards",
		"layer_type": geosight.CloudNativeLayerType, "styles": geosight.FootprintStyles()}, "")
	require.NoError(t, err)

	e := w.editor(t, "creator", "creator-pass")
	out, err := project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	require.Equal(t, project.Created, out)
	served, err := e.Data(ctx, "hazardsync")
	require.NoError(t, err)
	labels := contextLabels(served)
	require.Len(t, labels, 2)
	assert.Equal(t, geosight.DefaultLabelConfig, labels[w.client.LayerName(indicators.TropicalCyclone)])
	assert.True(t, readableLabel(labels[w.client.LayerName(indicators.TropicalCyclone)]))
	assert.Nil(t, labels[old], "the old layer has none yet: the dashboard would throw on it")

	l, err := w.client.FindContextLayer(ctx, old)
	require.NoError(t, err)
	fixed, err := w.client.EnsureLabelConfig(ctx, l)
	require.NoError(t, err)
	require.True(t, fixed)

	served, err = e.Data(ctx, "hazardsync")
	require.NoError(t, err)
	for name, v := range contextLabels(served) {
		assert.True(t, readableLabel(v), "layer %s: %v", name, v)
	}
	out, err = project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	assert.Equal(t, project.Unchanged, out, "the label lives on the layer: the project needs no save")
}

// Sending a label config in the project without override_label does not
// stick (GeoSight serves the layer's own): the builder leaves it null.
func TestProjectLabelWithoutOverrideIsNotServed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.editor(t, "creator", "creator-pass")
	s := w.spec(t)
	f, err := project.Build(s)
	require.NoError(t, err)
	for _, c := range f.Data["context_layers"].([]any) {
		c.(map[string]any)["label_config"] = map[string]any{"text": "{title}"}
	}
	require.NoError(t, e.Save(ctx, "", f))
	served, err := e.Data(ctx, s.Slug)
	require.NoError(t, err)
	for name, v := range contextLabels(served) {
		assert.Equal(t, geosight.DefaultLabelConfig, v, "layer %s: the layer's own label, not the project's", name)
	}
}

// evalRule evaluates a GeoSight rule for a value as its frontend does
// (UpdateStyleData): every x replaced by the value, "and"/"or" by && and
// ||, then eval. Only the form levelRules uses is understood here:
// "a"=="b".
func evalRule(t *testing.T, rule, value string) bool {
	t.Helper()
	s := strings.ReplaceAll(rule, "x", value)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "and", "&&"), "or", "||")
	a, b, ok := strings.Cut(s, "==")
	require.True(t, ok, "rule %q", rule)
	ua, err1 := strconv.Unquote(a)
	ub, err2 := strconv.Unquote(b)
	require.NoError(t, err1, "rule %q for %q became %q", rule, value, s)
	require.NoError(t, err2, "rule %q for %q became %q", rule, value, s)
	return ua == ub
}

// Each early-warning level matches exactly one rule, its own colour, as
// GeoSight's frontend evaluates rules; the other layers keep their
// indicator's style; an admin's restyle of a level layer is put back and
// a second apply saves nothing.
func TestEarlyWarningLayersHaveFixedColours(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.editor(t, "creator", "creator-pass")
	_, err := project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	served, err := e.Data(ctx, "hazardsync")
	require.NoError(t, err)

	want := map[string]string{"alert": "#d7191c", "warning": "#fd8d3c", "watch": "#fecc5c", "none": "#f0f0f0"}
	var levelLayers int
	for _, raw := range served["indicator_layers"].([]any) {
		l := raw.(map[string]any)
		if l["name"] != "Cyclone early-warning level" {
			assert.NotEqual(t, true, l["override_style"], "layer %s keeps its indicator's style", l["name"])
			assert.Empty(t, l["style"], "layer %s", l["name"])
			continue
		}
		levelLayers++
		assert.Equal(t, true, l["override_style"])
		assert.Equal(t, project.StylePredefined, l["style_type"])
		rules := l["style"].([]any)
		require.Len(t, rules, len(want))
		for level, colour := range want {
			var hits []string
			for _, r := range rules {
				m := r.(map[string]any)
				if evalRule(t, m["rule"].(string), level) {
					hits = append(hits, m["color"].(string))
				}
			}
			assert.Equal(t, []string{colour}, hits, "level %s", level)
		}
	}
	require.Equal(t, 1, levelLayers)

	out, err := project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	assert.Equal(t, project.Unchanged, out, "the served rules carry ids and order: still the same style")

	// An admin turns the override off: the next apply puts the rules back.
	for _, raw := range served["indicator_layers"].([]any) {
		if l := raw.(map[string]any); l["name"] == "Cyclone early-warning level" {
			l["override_style"] = false
		}
	}
	f, changed, err := project.Update(served, w.spec(t))
	require.NoError(t, err)
	assert.True(t, changed)
	var restored bool
	for _, raw := range f.Data["indicator_layers"].([]any) {
		if l := raw.(map[string]any); l["name"] == "Cyclone early-warning level" {
			restored = l["override_style"] == true && len(l["style"].([]any)) == len(want)
		}
	}
	assert.True(t, restored)
}
