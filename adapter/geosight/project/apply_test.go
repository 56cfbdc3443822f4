package project_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	apiKey  = "creator-key"
	dataset = "6f3a2c1e-0000-4000-8000-000000000001"
)

type world struct {
	fake   *fake.Server
	url    string
	cfg    config.Config
	client *geosight.Client
}

func box(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// newWorld is a fake GeoSight holding a config's indicators and one
// footprint layer, with editor logins for a creator, a viewer and an admin.
func newWorld(t *testing.T) *world {
	t.Helper()
	f := fake.New(fake.Options{
		Users: []fake.User{
			{Key: apiKey, Email: "creator@example.org", Role: fake.Creator},
			{Key: "viewer-key", Email: "viewer@example.org", Role: fake.Viewer},
			{Key: "admin-key", Email: "admin@example.org", Role: fake.SuperAdmin},
		},
		Datasets: []fake.Dataset{{UUID: dataset, Name: "Demoland", Areas: []indicators.Area{
			{Code: "DML_V1", Name: "Demoland", Level: 0, Geometry: box(60, 10, 64, 14)},
			{Code: "DML_0001_V1", Name: "North", Level: 1, Parents: []string{"DML_V1"}, Geometry: box(60, 12, 64, 14)},
			{Code: "DML_0002_V1", Name: "South", Level: 1, Parents: []string{"DML_V1"}, Geometry: box(60, 10, 64, 12)},
		}}},
	})
	url := f.Start()
	t.Cleanup(f.Close)
	f.AddEditorLogin("creator", "creator-pass", "creator@example.org")
	f.AddEditorLogin("viewer", "viewer-pass", "viewer@example.org")
	f.AddEditorLogin("admin", "admin-pass", "admin@example.org")
	f.AddBasemap(7)

	cfg := config.Defaults()
	cfg.GeoSight.URL, cfg.GeoSight.User, cfg.GeoSight.Dataset = url, "creator@example.org", dataset
	cfg.GeoSight.APIKey = config.Secret(apiKey)
	cfg.GeoSight.ContextLayers.Enabled = true
	cfg.Indicators = []indicators.Definition{
		{Shortcode: "T_EW", Name: "Cyclone early-warning level", Type: indicators.String, Recipe: "early_warning_level", AdminLevels: []int{1}},
		{Shortcode: "T_CHILD", Name: "Children at risk, cyclone", Type: indicators.Integer, Recipe: "children_at_risk", AdminLevels: []int{1}},
		{Shortcode: "T_EXP", Name: "Children exposed", Type: indicators.Float, Recipe: "children_exposed", AdminLevels: []int{1}},
		{Shortcode: "T_ALERT", Name: "Alert level", Type: indicators.String, Recipe: "alert_level", AdminLevels: []int{1}},
		{Shortcode: "T_MHI", Name: "Multi-hazard index", Type: indicators.Float, Recipe: "multi_hazard_index", AdminLevels: []int{1}},
	}
	c, err := geosight.NewClient(cfg.GeoSight, nil)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, c.Ensure(ctx, cfg.Indicators))
	_, err = c.CreateContextLayer(ctx, geosight.LayerSpec{Name: c.LayerName(indicators.TropicalCyclone), Category: "Hazards",
		Styles: geosight.FootprintStyles()})
	require.NoError(t, err)
	return &world{fake: f, url: url, cfg: cfg, client: c}
}

func (w *world) spec(t *testing.T) project.Spec {
	t.Helper()
	s, err := project.Resolve(context.Background(), w.client, w.cfg, project.DefaultSettings())
	require.NoError(t, err)
	return s
}

func (w *world) editor(t *testing.T, user, pass string) *project.Editor {
	t.Helper()
	e, err := project.NewEditor(w.url, 5*time.Second, nil)
	require.NoError(t, err)
	require.NoError(t, e.Login(context.Background(), user, pass))
	return e
}

func TestResolveReadsTheServer(t *testing.T) {
	w := newWorld(t)
	s := w.spec(t)
	assert.Equal(t, [4]float64{60, 10, 64, 14}, s.Extent)
	assert.Equal(t, []int{0, 1}, s.Levels)
	assert.Equal(t, 1, s.DefaultLevel)
	require.Len(t, s.Indicators, 5)
	for _, in := range s.Indicators {
		assert.Positive(t, in.ID, in.Shortcode)
	}
	require.Len(t, s.Layers, 1)
	assert.Equal(t, "hazardsync: tropical_cyclone", s.Layers[0].Name)
	assert.Equal(t, []int{7}, s.Basemaps)
}

func TestResolveBeforeFirstSync(t *testing.T) {
	w := newWorld(t)
	w.cfg.Indicators = append(w.cfg.Indicators, indicators.Definition{Shortcode: "T_NEW", Name: "New", Type: indicators.Float, Recipe: "hazard_presence"})
	_, err := project.Resolve(context.Background(), w.client, w.cfg, project.DefaultSettings())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "T_NEW is not on the server yet")
}

// groupsOf maps group name → the names of the layers in it.
func groupsOf(t *testing.T, data map[string]any) map[string][]string {
	t.Helper()
	names := map[int]string{}
	for _, l := range data["indicator_layers"].([]any) {
		m := l.(map[string]any)
		names[int(m["id"].(float64))] = m["name"].(string)
	}
	out := map[string][]string{}
	for _, g := range data["indicator_layers_structure"].(map[string]any)["children"].([]any) {
		gm, ok := g.(map[string]any)
		if !ok {
			out[""] = append(out[""], names[int(g.(float64))])
			continue
		}
		for _, c := range gm["children"].([]any) {
			out[gm["group"].(string)] = append(out[gm["group"].(string)], names[int(c.(float64))])
		}
	}
	return out
}

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.editor(t, "creator", "creator-pass")
	s := w.spec(t)

	out, err := project.Apply(ctx, e, s)
	require.NoError(t, err)
	assert.Equal(t, project.Created, out)
	data, ok := w.fake.ProjectData("hazardsync")
	require.True(t, ok)
	assert.Equal(t, map[string][]string{
		project.GroupEarlyWarning: {"Cyclone early-warning level", "Children at risk, cyclone"},
		project.GroupExposure:     {"Children exposed"},
		project.GroupHazards:      {"Alert level"},
		project.GroupMultiHazard:  {"Multi-hazard index"},
	}, groupsOf(t, data))
	assert.Len(t, data["context_layers"], 1)
	assert.Len(t, data["widgets"], 2)
	assert.Equal(t, dataset, data["reference_layer"].(map[string]any)["identifier"])
	assert.Equal(t, []any{60.0, 10.0, 64.0, 14.0}, data["extent"])
	saves := w.fake.ProjectSaves()

	for i := 0; i < 2; i++ {
		out, err = project.Apply(ctx, e, w.spec(t))
		require.NoError(t, err)
		assert.Equal(t, project.Unchanged, out, "apply %d with nothing changed", i+2)
	}
	assert.Equal(t, saves, w.fake.ProjectSaves(), "an unchanged project is not saved again")
}

// TestApplyKeepsWhatAnAdminChanged: an admin adds a widget, a group with
// their own layer, a filter and a category by hand; apply (unchanged
// config) leaves all of it, and a config change updates only ours.
func TestApplyKeepsWhatAnAdminChanged(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.editor(t, "creator", "creator-pass")
	_, err := project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)

	// The admin's edit, saved the way GeoSight's editor saves.
	served, _ := w.fake.ProjectData("hazardsync")
	data := project.EditorData(served)
	mhi := w.spec(t).Indicators[4].ID
	data["indicator_layers"] = append(data["indicator_layers"].([]any), map[string]any{
		"id": -99, "name": "Admin's own view of the index", "description": "", "indicators": []any{
			map[string]any{"id": mhi, "name": "MHI", "color": "#000"}, map[string]any{"id": w.spec(t).Indicators[1].ID, "name": "C", "color": "#111"}},
		"related_tables": []any{}, "data_fields": nil, "style": []any{}})
	st := data["indicator_layers_structure"].(map[string]any)
	st["children"] = append(st["children"].([]any), map[string]any{"group": "Admin group", "children": []any{-99}})
	data["widgets"] = append(data["widgets"].([]any), map[string]any{"id": -5, "name": "Admin widget", "description": "mine",
		"visible_by_default": true, "type": "GenericSummaryWidget", "config": map[string]any{"indicators": []any{}}})
	ws := data["widgets_structure"].(map[string]any)
	ws["children"] = append(ws["children"].([]any), -5)
	f := data["filters"].(map[string]any)
	f["queries"] = append(f["queries"].([]any), map[string]any{"name": "Admin filter", "type": "EXPRESSION",
		"field": "geometry_1.name", "operator": "IN", "value": []any{"North"}})
	fields := map[string]string{"slug": "hazardsync", "name": served["name"].(string), "description": served["description"].(string),
		"overview": served["overview"].(string), "group": "Emergencies", "show_map_toolbar": "false"}
	require.NoError(t, e.Save(ctx, "hazardsync", project.Form{Fields: fields, Data: data}))
	before, _ := w.fake.ProjectData("hazardsync")
	saves := w.fake.ProjectSaves()

	out, err := project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	assert.Equal(t, project.Unchanged, out, "the admin's changes are not ours to undo")
	assert.Equal(t, saves, w.fake.ProjectSaves())

	// A config change: one indicator renamed, one added.
	w.cfg.Indicators[2].Name = "Children in observed footprints"
	w.cfg.Indicators = append(w.cfg.Indicators, indicators.Definition{Shortcode: "T_LEAD", Name: "Cyclone lead time",
		Type: indicators.Float, Recipe: "lead_time_hours", AdminLevels: []int{1}})
	require.NoError(t, w.client.Ensure(ctx, w.cfg.Indicators))
	out, err = project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	assert.Equal(t, project.Updated, out)

	after, _ := w.fake.ProjectData("hazardsync")
	g := groupsOf(t, after)
	assert.Equal(t, []string{"Cyclone early-warning level", "Children at risk, cyclone", "Cyclone lead time"}, g[project.GroupEarlyWarning])
	assert.Equal(t, []string{"Children in observed footprints"}, g[project.GroupExposure])
	assert.Equal(t, []string{"Admin's own view of the index"}, g["Admin group"], "the admin's group and layer stay")
	assert.Equal(t, "Emergencies", after["group"], "the category an admin chose stays")
	assert.Equal(t, false, after["show_map_toolbar"])
	names := func(d map[string]any, key string) []string {
		var out []string
		for _, x := range d[key].([]any) {
			out = append(out, fmt.Sprint(x.(map[string]any)["name"]))
		}
		return out
	}
	assert.Contains(t, names(after, "widgets"), "Admin widget")
	assert.Equal(t, names(before, "widgets"), names(after, "widgets"))
	assert.Contains(t, names(after["filters"].(map[string]any), "queries"), "Admin filter")
	assert.Contains(t, names(after["filters"].(map[string]any), "queries"), project.FilterName)

	// And once more: nothing to do.
	out, err = project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	assert.Equal(t, project.Unchanged, out)
}

func TestEditorLoginErrors(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e, err := project.NewEditor(w.url, 5*time.Second, nil)
	require.NoError(t, err)

	err = e.Login(ctx, "", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), project.EnvUsername)

	err = e.Login(ctx, "creator", "wrong-secret-pw")
	require.ErrorIs(t, err, project.ErrLoginRefused)
	assert.NotContains(t, err.Error(), "wrong-secret-pw")
}

func TestViewerCannotCreate(t *testing.T) {
	w := newWorld(t)
	e := w.editor(t, "viewer", "viewer-pass")
	_, err := project.Apply(context.Background(), e, w.spec(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Creator role")
	_, ok := w.fake.ProjectData("hazardsync")
	assert.False(t, ok)
}

func TestSaveErrorsAreGeoSightsText(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.editor(t, "creator", "creator-pass")
	f, err := project.Build(w.spec(t))
	require.NoError(t, err)
	f.Data["indicators"] = append(f.Data["indicators"].([]any), map[string]any{"id": 99999})
	err = e.Save(ctx, "", f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Indicator with id 99999 does not exist")

	f, _ = project.Build(w.spec(t))
	f.Data["extent"] = []any{}
	err = e.Save(ctx, "", f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Invalid extent")
}

func TestBuildGolden(t *testing.T) {
	s := project.Spec{Slug: "demo", Name: "Demo", Description: "d", Overview: "o", Dataset: dataset,
		Extent: [4]float64{60, 10, 64, 14}, Levels: []int{0, 1, 2}, DefaultLevel: 2, Basemaps: []int{3},
		Indicators: []project.Indicator{
			{ID: 11, Shortcode: "A", Name: "Alert", Recipe: "alert_level", StyleType: "Predefined style/color rules."},
			{ID: 12, Shortcode: "W", Name: "Warning", Recipe: "early_warning_level", StyleType: "Predefined style/color rules."},
			{ID: 13, Shortcode: "C", Name: "Children at risk", Recipe: "children_at_risk", StyleType: "Dynamic quantitative style."},
		},
		Layers: []project.Layer{{ID: 5, Name: "hazardsync: flood"}}}
	f, err := project.Build(s)
	require.NoError(t, err)
	got, err := json.MarshalIndent(f, "", "  ")
	require.NoError(t, err)
	testutil.Golden(t, testutil.Fixture(t, "geosight", "project", "build.golden.json"), got, *update)
}

func TestSpecValidate(t *testing.T) {
	err := project.Spec{}.Validate()
	require.Error(t, err)
	for _, want := range []string{"slug is empty", "name is empty", "geosight.dataset is empty", "extent", "no indicator"} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestUpdateSeesARename: a change to one of our layers is a change, and
// Update never edits the project it was given.
func TestUpdateSeesARename(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	e := w.editor(t, "creator", "creator-pass")
	_, err := project.Apply(ctx, e, w.spec(t))
	require.NoError(t, err)
	served, _ := w.fake.ProjectData("hazardsync")
	keep, _ := json.Marshal(served)

	s := w.spec(t)
	s.Indicators[0].Name = "Renamed"
	_, changed, err := project.Update(served, s)
	require.NoError(t, err)
	assert.True(t, changed)
	again, _ := json.Marshal(served)
	assert.JSONEq(t, string(keep), string(again), "Update leaves its input alone")
}
