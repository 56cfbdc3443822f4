package config_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// testSink is a sink kind's typed config.
type testSink struct {
	Table string `mapstructure:"table"`
	Batch int    `mapstructure:"batch"`
}

func (c *testSink) Validate() error {
	if c.Table == "" {
		return errors.Join(indicators.FieldError{Field: "table", Message: "is required"})
	}
	return nil
}

func init() {
	config.RegisterSinkKind("testsink", func() config.PluginConfig { return &testSink{Batch: 100} })
}

func TestSinksSection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sinks string
		want  []string // error substrings; none: valid
		check func(t *testing.T, cfg config.Config)
	}{
		{name: "none: the geosight section is the one sink", check: func(t *testing.T, cfg config.Config) {
			all := cfg.AllSinks()
			require.Len(t, all, 1)
			assert.Equal(t, "geosight", all[0].Name)
			assert.Equal(t, "embedded", all[0].Kind, "url: embedded")
			g, ok := all[0].Plugin.(*config.GeoSight)
			require.True(t, ok, "no embedded kind registered in this test: the section itself")
			assert.Equal(t, cfg.GeoSight, *g)
		}},
		{name: "a second sink with defaults", sinks: "sinks:\n  db: {type: testsink, table: values}\n",
			check: func(t *testing.T, cfg config.Config) {
				all := cfg.AllSinks()
				require.Len(t, all, 2)
				assert.Equal(t, []string{"db", "geosight"}, []string{all[0].Name, all[1].Name})
				assert.Equal(t, &testSink{Table: "values", Batch: 100}, all[0].Plugin)
			}},
		{name: "type defaults to the name", sinks: "sinks:\n  testsink: {table: t}\n",
			check: func(t *testing.T, cfg config.Config) { assert.Equal(t, "testsink", cfg.Sinks["testsink"].Kind) }},
		{name: "disabled sinks are not delivered to", sinks: "sinks:\n  db: {type: testsink, table: t, enabled: false}\n",
			check: func(t *testing.T, cfg config.Config) {
				assert.False(t, cfg.Sinks["db"].Enabled)
				assert.Len(t, cfg.AllSinks(), 1)
			}},
		{name: "the kind validates", sinks: "sinks:\n  db: {type: testsink}\n", want: []string{"sinks.db.table: is required"}},
		{name: "unknown keys", sinks: "sinks:\n  db: {type: testsink, table: t, tabel: x}\n", want: []string{"sinks.db", "tabel"}},
		{name: "unknown kind", sinks: "sinks:\n  db: {type: nosuch}\n", want: []string{`sinks.db.type: unknown sink type "nosuch"`}},
		{name: "geosight twice", sinks: "sinks:\n  geosight: {type: testsink, table: t}\n",
			want: []string{"sinks.geosight: the sink named geosight is the geosight: section"}},
		{name: "not a mapping", sinks: "sinks: [a, b]\n", want: []string{"sinks: must be a mapping"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, y := base(t)
			cfg, err := config.Parse([]byte(y+tc.sinks), dir, config.Overrides{})
			if len(tc.want) == 0 {
				require.NoError(t, err)
				tc.check(t, cfg)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestSinkEnvironmentOverride: HAZARDSYNC_SINKS_<NAME>_<KEY> sets a sink's
// key like it does a source's.
func TestSinkEnvironmentOverride(t *testing.T) {
	dir, y := base(t)
	t.Setenv("HAZARDSYNC_SINKS_DB_BATCH", "7")
	cfg, err := config.Parse([]byte(y+"sinks:\n  db: {type: testsink, table: t}\n"), dir, config.Overrides{})
	require.NoError(t, err)
	assert.Equal(t, 7, cfg.Sinks["db"].Plugin.(*testSink).Batch)
}

// TestGeoSightValidateNamesFields: the section's checks, as a sink kind's
// Validate, name fields relative to the section.
func TestGeoSightValidateNamesFields(t *testing.T) {
	g := config.DefaultGeoSight()
	g.URL = "ftp://x"
	var fields []string
	for _, e := range indicators.Flatten(g.Validate()) {
		var fe indicators.FieldError
		require.True(t, errors.As(e, &fe))
		fields = append(fields, fe.Field)
	}
	assert.ElementsMatch(t, []string{"url", "api_key_file", "user", "dataset"}, fields)
	g.URL, g.APIKeyFile, g.User, g.Dataset = "https://gs.example.org", "key", "a@b.org", "6f3a2c1e-0000-4000-8000-000000000001"
	assert.NoError(t, g.Validate(), "a key file is resolved when the sink is built")
}
