package project

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func demoSpec() Spec {
	return Spec{Slug: "p", Name: "P", Dataset: "d", Extent: [4]float64{0, 0, 1, 1}, Levels: []int{0, 1}, DefaultLevel: 1,
		Indicators: []Indicator{
			{ID: 1, Shortcode: "EW", Name: "EW", Recipe: "early_warning_level"},
			{ID: 2, Shortcode: "CH", Name: "CH", Recipe: "children_at_risk"},
			{ID: 3, Shortcode: "EX", Name: "EX", Recipe: "children_exposed"},
			{ID: 4, Shortcode: "AL", Name: "AL", Recipe: "alert_level"},
		},
		Layers: []Layer{{ID: 9, Name: "fp"}}}
}

func roundTrip(t *testing.T, v any) map[string]any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// adminItems adds n things an admin made by hand, returning their JSON.
func adminItems(r *rand.Rand, data map[string]any, n int) []string {
	var marks []string
	for i := 0; i < n; i++ {
		id := 1000 + i
		var item map[string]any
		switch r.IntN(4) {
		case 0: // a two-indicator layer in its own group
			item = map[string]any{"id": id, "name": fmt.Sprint("admin layer ", i), "indicators": []any{
				map[string]any{"id": 1, "name": "x"}, map[string]any{"id": 2, "name": "y"}}, "related_tables": []any{}}
			data["indicator_layers"] = append(data["indicator_layers"].([]any), item)
			st := data["indicator_layers_structure"].(map[string]any)
			st["children"] = append(st["children"].([]any), map[string]any{"group": fmt.Sprint("admin group ", i), "children": []any{id}})
		case 1: // a widget
			item = map[string]any{"id": id, "name": fmt.Sprint("admin widget ", i), "config": map[string]any{"k": i}}
			data["widgets"] = append(data["widgets"].([]any), item)
		case 2: // a filter
			item = map[string]any{"name": fmt.Sprint("admin filter ", i), "type": "EXPRESSION", "value": []any{i}}
			f := data["filters"].(map[string]any)
			f["queries"] = append(f["queries"].([]any), item)
		case 3: // a context layer of their own
			item = map[string]any{"id": id, "layer_name": fmt.Sprint("admin cl ", i), "data_fields": []any{}}
			data["context_layers"] = append(data["context_layers"].([]any), item)
		}
		b, _ := json.Marshal(item)
		marks = append(marks, string(b))
	}
	return marks
}

// TestMergeNeverTouchesWhatIsNotOurs: whatever an admin adds by hand
// survives a merge unchanged, and merging twice is merging once.
func TestMergeNeverTouchesWhatIsNotOurs(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		s := demoSpec()
		f, err := Build(s)
		require.NoError(t, err)
		data := roundTrip(t, f.Data)
		marks := adminItems(r, data, 1+r.IntN(6))

		once := roundTrip(t, data)
		require.NoError(t, merge(once, s))
		b, _ := json.Marshal(once)
		for _, m := range marks {
			assert.Contains(t, string(b), m, "seed %d: the admin's item survives", seed)
		}
		twice := roundTrip(t, once)
		require.NoError(t, merge(twice, s))
		assert.True(t, sameJSON(once, twice), "seed %d: merge is idempotent", seed)
	}
}

// TestMergeChangingOneIndicatorChangesOnlyItsParts: renaming one indicator
// changes its legend name and the widgets that list it, nothing else.
func TestMergeChangingOneIndicatorChangesOnlyItsParts(t *testing.T) {
	s := demoSpec()
	f, err := Build(s)
	require.NoError(t, err)
	base := roundTrip(t, f.Data)
	renamed := roundTrip(t, base)
	s.Indicators[3].Name = "renamed" // alert_level: in no widget
	require.NoError(t, merge(renamed, s))
	for k := range base {
		if k == "indicator_layers" {
			continue
		}
		assert.True(t, sameJSON(base[k], renamed[k]), "%s unchanged", k)
	}
	layers := renamed["indicator_layers"].([]any)
	changed := 0
	for i := range layers {
		if !sameJSON(layers[i], base["indicator_layers"].([]any)[i]) {
			changed++
		}
	}
	assert.Equal(t, 1, changed, "only the renamed indicator's layer changes")
}

// TestMergeRemovesRetiredWidgets: a widget an earlier version made and this
// one no longer does is removed, from the list and the layout.
func TestMergeRemovesRetiredWidgets(t *testing.T) {
	s := demoSpec()
	f, err := Build(s)
	require.NoError(t, err)
	data := roundTrip(t, f.Data)
	data["widgets"] = append(data["widgets"].([]any), map[string]any{"id": 77, "name": "Areas at warning or above"})
	st := data["widgets_structure"].(map[string]any)
	st["children"] = append(st["children"].([]any), 77)
	require.NoError(t, merge(data, s))
	b, _ := json.Marshal(map[string]any{"w": data["widgets"], "s": data["widgets_structure"]})
	assert.NotContains(t, string(b), "Areas at warning or above")
	assert.NotContains(t, string(b), "77")
}
