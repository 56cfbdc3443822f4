package all_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/adapter"
	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// These meta-tests hold every registered sink kind to the plugin
// conventions, like adapter/sources/all does for sources: a README with the
// agreed sections naming every config key, and an example config that
// loads and configures the kind.

var requiredHeadings = []string{"What it writes", "Configuration", "Health signals", "Example config"}

// minKinds guards against the blank imports vanishing.
var minKinds = []string{"embedded", "geosight", "postgis"}

func kinds(t *testing.T) []adapter.SinkFactory {
	ks := adapter.SinkKinds()
	var names []string
	for _, k := range ks {
		names = append(names, k.Kind)
	}
	for _, want := range minKinds {
		require.Contains(t, names, want, "sink kind %s is not registered: is adapter/sinks/all/%s.go missing?", want, want)
	}
	return ks
}

// readme is the README of the kind's package, found from its config type.
func readme(t *testing.T, f adapter.SinkFactory) string {
	t.Helper()
	typ := reflect.TypeOf(f.NewConfig())
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	rel, ok := strings.CutPrefix(typ.PkgPath(), "github.com/hazardsync/hazardsync/")
	require.True(t, ok, "kind %s: config type %s is outside the module", f.Kind, typ)
	require.True(t, strings.HasPrefix(rel, "adapter/sinks/"), "kind %s: config type %s lives outside adapter/sinks/ (give the kind its own config type)", f.Kind, typ)
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), filepath.FromSlash(rel), "README.md"))
	require.NoError(t, err, "kind %s needs a README.md in its package", f.Kind)
	return string(b)
}

func TestEverySinkKindIsDocumented(t *testing.T) {
	for _, f := range kinds(t) {
		t.Run(f.Kind, func(t *testing.T) {
			require.NotEmpty(t, f.Description)
			assert.NotSame(t, f.NewConfig(), f.NewConfig(), "NewConfig must return a fresh config each call")
			doc := readme(t, f)
			for _, h := range requiredHeadings {
				body, ok := testutil.Section(doc, h)
				if assert.True(t, ok, "README of %s lacks ## %s", f.Kind, h) {
					assert.NotEmpty(t, strings.TrimSpace(body), "README of %s: section %q is empty", f.Kind, h)
				}
			}
			conf, _ := testutil.Section(doc, "Configuration")
			testutil.AssertConfigKeysNamed(t, f.Kind, conf, f.NewConfig())
		})
	}
}

var yamlBlockRE = regexp.MustCompile("(?s)```ya?ml\\s*\\n(.*?)```")

// TestSinkExampleConfigLoads takes the first YAML block under "Example
// config", completes it into a whole config (the demo geography, and the
// embedded GeoSight unless it configures geosight:), loads it and checks a
// sink of the kind is configured.
func TestSinkExampleConfigLoads(t *testing.T) {
	root := testutil.RepoRoot(t)
	demo := filepath.Join(root, "fixtures", "demo")
	keys := t.TempDir()
	for _, f := range kinds(t) {
		t.Run(f.Kind, func(t *testing.T) {
			body, ok := testutil.Section(readme(t, f), "Example config")
			require.True(t, ok)
			m := yamlBlockRE.FindStringSubmatch(body)
			require.NotNil(t, m, "README of %s: no ```yaml block under Example config", f.Kind)
			var doc map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(m[1]), &doc), "README of %s: example is not YAML", f.Kind)
			if _, ok := doc["geosight"]; !ok {
				doc["geosight"] = map[string]any{"url": config.EmbeddedURL, "dataset": "6f3a2c1e-0000-4000-8000-000000000001"}
			}
			doc["geographies"] = map[string]any{"from": "file", "files": []any{map[string]any{"path": filepath.Join(demo, "areas.geojson")}}}
			b, err := yaml.Marshal(doc)
			require.NoError(t, err)
			// Key files the examples name, relative to the config's directory.
			for _, k := range []string{"geosight-api-key", "regional-api-key"} {
				require.NoError(t, os.WriteFile(filepath.Join(keys, k), []byte("dummy\n"), 0o600))
			}
			cfg, err := config.Parse(b, keys, config.Overrides{})
			require.NoError(t, err, "README of %s: the example config does not load:\n%s", f.Kind, b)
			var kinds []string
			for _, s := range cfg.AllSinks() {
				kinds = append(kinds, s.Kind)
				require.NoError(t, s.Plugin.Validate())
			}
			assert.Contains(t, kinds, f.Kind, "README of %s: the example configures no %s sink", f.Kind, f.Kind)
		})
	}
}
