package config_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// testSource is a source kind's typed config, as plugins define them.
type testSource struct {
	URL   string `mapstructure:"url"`
	Limit int    `mapstructure:"limit"`
}

func (c *testSource) Validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, indicators.FieldError{Field: "url", Message: "is required"})
	}
	if c.Limit < 0 {
		errs = append(errs, indicators.FieldError{Field: "limit", Message: "must be >= 0"})
	}
	return errors.Join(errs...)
}

func init() {
	config.RegisterSourceKind("testsrc", func() config.PluginConfig { return &testSource{Limit: 10} })
}

// base writes a minimal valid config (plus the files it names) into a temp
// dir and returns the dir and the YAML.
func base(t *testing.T) (string, string) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "areas.geojson"), []byte(`{"type":"FeatureCollection","features":[]}`), 0o644))
	return dir, `
geosight:
  url: embedded
  dataset: 6f3a2c1e-0000-4000-8000-000000000001
geographies:
  files:
    - path: areas.geojson
sources:
  feed:
    type: testsrc
    url: file://x.json
indicators:
  - shortcode: HS_A
    name: Alert
    type: String
    recipe: alert_level
    params: {hazard_types: [earthquake]}
`
}

func TestParseValidAppliesDefaults(t *testing.T) {
	dir, y := base(t)
	cfg, err := config.Parse([]byte(y), dir, config.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, 4, cfg.GeoSight.Concurrency)
	assert.Equal(t, 10*time.Minute, cfg.Schedule.Interval)
	assert.Equal(t, filepath.Join(dir, "areas.geojson"), cfg.Geographies.Files[0].Path)
	assert.Equal(t, "ucode", cfg.Geographies.Files[0].CodeProperty)
	assert.Equal(t, -1, cfg.Geographies.Files[0].Level)
	src := cfg.Sources["feed"]
	assert.Equal(t, "testsrc", src.Kind)
	assert.True(t, src.Enabled)
	assert.Equal(t, 8*time.Minute, src.Timeout, "timeout defaults to 80% of the interval")
	assert.Equal(t, 10, src.Plugin.(*testSource).Limit, "plugin defaults kept")
}

func TestValidateListsEveryProblemWithKeyPath(t *testing.T) {
	dir, _ := base(t)
	y := `
geosight:
  url: ftp://nowhere
  dataset: not-a-uuid
  concurrency: 0
  user: nobody
geographies:
  files:
    - path: missing.geojson
sources:
  feed:
    type: testsrc
    interval: 10s
    limit: -1
    colour: blue
  mystery:
    type: nosuchkind
indicators:
  - shortcode: "bad code"
    name: ""
    type: Number
    recipe: no_such_recipe
  - shortcode: HS_B
    name: B
    type: Float
    recipe: max_intensity
    params: {hazard_types: [meteor], phase: later}
schedule:
  timezone: Mars/Olympus
log:
  format: xml
`
	_, err := config.Parse([]byte(y), dir, config.Overrides{})
	var ve *config.ValidationError
	require.ErrorAs(t, err, &ve)
	msg := err.Error()
	for _, want := range []string{
		"geosight.url: must be an http(s) URL",
		"geosight.dataset: must be the reference dataset UUID",
		"geosight.concurrency: must be 1..32, got 0",
		"geosight.user: must be the e-mail",
		"geographies.files[0].path: cannot read",
		"sources.feed.interval: must be >= 1m0s, got 10s",
		"sources.feed.limit: must be >= 0",
		"sources.feed.colour: unknown key",
		"sources.mystery.type: unknown source type \"nosuchkind\"",
		"indicators[0](bad code).shortcode",
		"indicators[0](bad code).name: is required",
		"indicators[0](bad code).type: must be Integer, Float or String",
		"indicators[0](bad code).recipe: unknown recipe",
		"indicators[1](HS_B).params.hazard_types[0]: unknown hazard type \"meteor\"",
		"indicators[1](HS_B).params.phase",
		"indicators[1](HS_B).params.unit: is required",
		"schedule.timezone",
		"log.format: must be text or json",
	} {
		assert.Contains(t, msg, want)
	}
	assert.GreaterOrEqual(t, len(ve.Problems), 18)
}

func TestUnknownTopLevelKeyIsAnError(t *testing.T) {
	dir, y := base(t)
	_, err := config.Parse([]byte(y+"\nschedul:\n  interval: 5m\n"), dir, config.Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schedul")
}

func TestOverridesAndEnvironment(t *testing.T) {
	dir, y := base(t)
	t.Setenv("HAZARDSYNC_LOG_LEVEL", "debug")
	cfg, err := config.Parse([]byte(y), dir, config.Overrides{StateDir: "/tmp/s", HTTPAddr: "127.0.0.1:9999"})
	require.NoError(t, err)
	assert.Equal(t, "/tmp/s", cfg.StateDir)
	assert.Equal(t, "127.0.0.1:9999", cfg.HTTP.Listen)
	assert.Equal(t, "debug", cfg.Log.Level)
}

func TestAPIKeyFromEnvOrFileNeverPrinted(t *testing.T) {
	dir, _ := base(t)
	y := `
geosight:
  url: https://geosight.example.org
  user: bot@example.org
  dataset: 6f3a2c1e-0000-4000-8000-000000000001
  api_key_file: key.txt
geographies:
  files: [{path: areas.geojson}]
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.txt"), []byte("s3cr3t-from-file\n"), 0o600))
	cfg, err := config.Parse([]byte(y), dir, config.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "s3cr3t-from-file", cfg.GeoSight.APIKey.Reveal())
	assert.NotContains(t, strings.Join([]string{cfg.GeoSight.APIKey.String(), fmtAll(cfg)}, " "), "s3cr3t")

	t.Setenv(config.EnvAPIKey, "s3cr3t-from-env")
	cfg, err = config.Parse([]byte(y), dir, config.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, "s3cr3t-from-env", cfg.GeoSight.APIKey.Reveal(), "the environment wins over the file")

	t.Setenv(config.EnvAPIKey, "")
	require.NoError(t, os.Remove(filepath.Join(dir, "key.txt")))
	_, err = config.Parse([]byte(y), dir, config.Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "geosight.api_key_file: cannot read api key file")
}

func TestNotYAML(t *testing.T) {
	_, err := config.Parse([]byte("geosight: [unclosed"), "", config.Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not valid YAML")
}

func TestCronSourcesNeedNoInterval(t *testing.T) {
	dir, y := base(t)
	y = strings.Replace(y, "    url: file://x.json", "    url: file://x.json\n    cron: \"*/15 * * * *\"", 1)
	_, err := config.Parse([]byte(y), dir, config.Overrides{})
	require.NoError(t, err)
	bad := strings.Replace(y, "*/15 * * * *", "every quarter", 1)
	_, err = config.Parse([]byte(bad), dir, config.Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sources.feed.cron: not a 5-field cron expression")
}

func TestTriggersDefaultAndOverride(t *testing.T) {
	dir, y := base(t)
	cfg, err := config.Parse([]byte(y), dir, config.Overrides{})
	require.NoError(t, err)
	for _, n := range []string{"heat", "heavy_rain", "wind", "river_flood", "cyclone"} {
		require.Contains(t, cfg.Triggers, n)
		assert.NotEmpty(t, cfg.Triggers[n].Reference, "default %s names its source", n)
	}
	y += `
triggers:
  heat:
    levels: {watch: 30, warning: 35}
    countries:
      DML_V1: {levels: {watch: 36, warning: 38, alert: 40}}
  storm_surge:
    hazard_types: [tropical_cyclone]
    measure: intensity
    unit: m
    levels: {warning: 1, alert: 0.5}
    windows: {action: 48h}
`
	_, err = config.Parse([]byte(y), dir, config.Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "triggers.storm_surge.levels.alert: must be above warning (1), got 0.5")
	y = strings.Replace(y, "alert: 0.5", "alert: 2", 1)
	cfg, err = config.Parse([]byte(y), dir, config.Overrides{})
	require.NoError(t, err)
	heat := cfg.Triggers["heat"]
	assert.Equal(t, map[string]float64{"watch": 30, "warning": 35}, heat.Levels)
	assert.Equal(t, "value", heat.Measure, "unchanged fields keep the default")
	assert.Equal(t, 72*time.Hour, heat.Windows["action"])
	assert.Len(t, heat.Countries, 1)

	bad := strings.Replace(y, "indicators:\n", `indicators:
  - shortcode: HS_EW
    name: EW
    type: String
    recipe: early_warning_level
    params: {trigger: tsunami}
`, 1)
	_, err = config.Parse([]byte(bad), dir, config.Overrides{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `indicators[0](HS_EW).params.trigger: no trigger "tsunami"`)
}

// The sample's triggers are the built-in defaults, written out: they must
// not drift apart.
func TestSampleTriggersMatchDefaults(t *testing.T) {
	t.Setenv(config.EnvAPIKey, "k")
	cfg := parseSample(t)
	assert.Equal(t, indicators.DefaultTriggers(), cfg.Triggers)
}

// The sample claims every key it shows carries its default unless marked
// "example": check every value key of the schema it writes (outside sources
// and indicators, which are examples by nature; triggers are checked above).
// The keys and values come from the schema walker the docs use.
func TestSampleShowsDefaultsUnlessMarkedExample(t *testing.T) {
	t.Setenv(config.EnvAPIKey, "k")
	cfg := parseSample(t)
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal(config.Sample, &root))
	def, got := schemaValues(config.Defaults()), schemaValues(cfg)
	checked := 0
	for _, path := range slices.Sorted(maps.Keys(def)) {
		if strings.HasPrefix(path, "triggers.") {
			continue
		}
		key, val := lookupNode(root.Content[0], strings.Split(path, "."))
		if key == nil {
			continue
		}
		comment := key.LineComment + val.LineComment
		if strings.Contains(comment, "example") {
			continue
		}
		checked++
		assert.Equal(t, def[path], got[path],
			"sample line %d: %s is shown without \"# example\" but is not the default", key.Line, path)
	}
	assert.Greater(t, checked, 20)
}

// The sample's indicators comment names every registered recipe.
func TestSampleNamesEveryRecipe(t *testing.T) {
	_, list, ok := strings.Cut(string(config.Sample), "Recipes:")
	require.True(t, ok, "the sample lists no recipes")
	list, _, ok = strings.Cut(list, "(docs/indicators.md)")
	require.True(t, ok)
	listed := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '#' || r == ' ' || r == '\n' })
	assert.ElementsMatch(t, indicators.RecipeNames(), listed)
}

// schemaValues maps every value key of a config (through sections and the
// entries of maps of sections) to its value.
func schemaValues(v any) map[string]any {
	out := map[string]any{}
	config.WalkSchema("", v, config.WalkOptions{Entries: true}, func(k config.SchemaKey) bool {
		if k.Shape == config.ShapeValue {
			out[k.Path] = k.Value.Interface()
		}
		return k.Shape == config.ShapeSection || k.Shape == config.ShapeMap
	})
	return out
}

func lookupNode(n *yaml.Node, path []string) (key, val *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == path[0] {
			if len(path) == 1 {
				return n.Content[i], n.Content[i+1]
			}
			return lookupNode(n.Content[i+1], path[1:])
		}
	}
	return nil, nil
}
