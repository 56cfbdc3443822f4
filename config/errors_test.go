package config_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
)

// sampleWith is the sample config with one text replaced (it must occur).
func sampleWith(t *testing.T, old, new string) []byte {
	t.Helper()
	s := string(config.Sample)
	require.Contains(t, s, old)
	return []byte(strings.Replace(s, old, new, 1))
}

func problemsOf(t *testing.T, y []byte, env map[string]string) []string {
	t.Helper()
	t.Setenv(config.EnvAPIKey, "k")
	for k, v := range env {
		t.Setenv(k, v)
	}
	_, err := config.Parse(y, t.TempDir(), config.Overrides{})
	if err == nil {
		return nil
	}
	var ve *config.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, p := range ve.Problems {
		if !strings.HasPrefix(p.Path, "sources.") {
			out = append(out, p.String())
		}
	}
	return out
}

// These passed validate before, or failed with messages that hid the key,
// the value or the cause.
func TestConfigErrorsHelp(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml []byte
		env  map[string]string
		want []string // every problem, exactly
	}{
		{"rollup_from a level that is not read", sampleWith(t, "rollup_from: 2\n    aggregation: SUM", "rollup_from: 7\n    aggregation: SUM"), nil,
			[]string{"indicators[1](HS_EQ_CHILD_MMI6).rollup_from: level 7 is not among the admin levels read ([1, 2])"}},
		{"negative min_intensity", sampleWith(t, "min_intensity: 6}", "min_intensity: -3}"), nil,
			[]string{"indicators[1](HS_EQ_CHILD_MMI6).params.min_intensity: must be >= 0 (intensities in MMI, kt, mm, km/h are never negative), got -3"}},
		{"negative rain threshold", sampleWith(t, "{watch: 64.5,", "{watch: -64.5,"), nil,
			[]string{"triggers.heavy_rain.levels.watch: must be >= 0 (only temperatures go below zero), got -64.5 mm"}},
		{"port out of range", sampleWith(t, "listen: 127.0.0.1:8080", "listen: localhost:99999"), nil,
			[]string{`http.listen: port 99999 is out of range (0-65535), in "localhost:99999"`}},
		{"type error names value and type", sampleWith(t, "concurrency: 4 ", "concurrency: four "), nil,
			[]string{`geosight.concurrency: "four" is not a whole number`}},
		{"duration names the value", sampleWith(t, "  jitter: 30s", "  jitter: banana"), nil,
			[]string{`schedule.jitter: "banana" is not a duration (like 90s, 15m or 6h)`}},
		{"trigger duration", sampleWith(t, "clear_after: 6h", "clear_after: banana"), nil,
			[]string{`triggers.cyclone.clear_after: "banana" is not a duration (like 90s, 15m or 6h)`}},
		{"typo suggests the key, no consequential errors", sampleWith(t, "\ngeographies:", "\ngeographys:"), nil,
			[]string{"geographys: unknown key; did you mean geographies?"}},
		{"nested typo", sampleWith(t, "  concurrency: 4", "  concurency: 4"), nil,
			[]string{"geosight.concurency: unknown key; did you mean concurrency?"}},
		{"empty file", []byte("# nothing yet\n"), nil,
			[]string{"the file is empty (no keys at all): start from `hazardsync config sample`"}},
		{"YAML error at its own line", sampleWith(t, "  timeout: 30s", `  timeout: "30s`), nil,
			[]string{`not valid YAML at line 16 (timeout: "30s): mapping values are not allowed in this context`}},
		{"YAML unclosed list", sampleWith(t, "  timeout: 30s", `  timeout: [30s`), nil,
			[]string{`not valid YAML at line 16 (timeout: [30s): did not find expected ',' or ']'`}},
		{"YAML error after a multi-line list", sampleWith(t, "  timeout: 30s\n", "  timeout: 30s\n  tags: [a,\n    b]\n  x: 1\n   y: 2\n"), nil,
			[]string{"not valid YAML at line 20 (y: 2): mapping values are not allowed in this context"}},
		{"env error names the variable", config.Sample, map[string]string{"HAZARDSYNC_GEOSIGHT_CONCURRENCY": "x"},
			[]string{`geosight.concurrency: "x" is not a whole number (set by HAZARDSYNC_GEOSIGHT_CONCURRENCY)`}},
		{"env overrides a key the file leaves out", sampleWith(t, "  timeout: 30s\n", ""), map[string]string{"HAZARDSYNC_GEOSIGHT_TIMEOUT": "bogus"},
			[]string{`geosight.timeout: "bogus" is not a duration (like 90s, 15m or 6h) (set by HAZARDSYNC_GEOSIGHT_TIMEOUT)`}},
		{"env reaches triggers", config.Sample, map[string]string{"HAZARDSYNC_TRIGGERS_HEAT_CLEAR_AFTER": "soon"},
			[]string{`triggers.heat.clear_after: "soon" is not a duration (like 90s, 15m or 6h) (set by HAZARDSYNC_TRIGGERS_HEAT_CLEAR_AFTER)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, problemsOf(t, tc.yaml, tc.env))
		})
	}
}

func TestEveryKeyIsBoundToTheEnvironment(t *testing.T) {
	keys := config.EnvKeys()
	assert.Greater(t, len(keys), 60, "every scalar key of the schema")
	for _, k := range []string{"geosight.timeout", "geosight.context_layers.enabled", "geographies.levels", "fetch.user_agent",
		"triggers.heavy_rain.clear_after", "replay_time", "output.dir"} {
		assert.Contains(t, keys, k)
	}
	t.Setenv(config.EnvAPIKey, "k")
	t.Setenv("HAZARDSYNC_GEOSIGHT_TIMEOUT", "45s")
	t.Setenv("HAZARDSYNC_GEOGRAPHIES_LEVELS", "1,2,3")
	t.Setenv("HAZARDSYNC_GEOSIGHT_CONTEXT_LAYERS_ENABLED", "true")
	t.Setenv("HAZARDSYNC_LOG_FORMAT", "json")
	cfg := parseSample(t)
	assert.Equal(t, "45s", cfg.GeoSight.Timeout.String())
	assert.Equal(t, []int{1, 2, 3}, cfg.Geographies.Levels)
	assert.True(t, cfg.GeoSight.ContextLayers.Enabled)
	assert.Equal(t, "json", cfg.Log.Format)
}

// Keys the schema walk cannot name (entries of mappings) can still be
// overridden when the file writes them, as before.
func TestEnvOverridesMappingEntriesTheFileWrites(t *testing.T) {
	t.Setenv(config.EnvAPIKey, "k")
	t.Setenv("HAZARDSYNC_TRIGGERS_HEAT_LEVELS_WATCH", "30")
	cfg := parseSample(t)
	assert.Equal(t, map[string]float64{"watch": 30, "warning": 39, "alert": 52}, cfg.Triggers["heat"].Levels)
}
