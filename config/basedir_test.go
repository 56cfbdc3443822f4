package config_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
)

// pathsPlugin is a source kind's config with a file path in it.
type pathsPlugin struct {
	Table string `mapstructure:"table"`
	// seen is the path Validate saw.
	seen string
}

func (p *pathsPlugin) ResolvePaths(base string) { p.Table = config.ResolvePath(base, p.Table) }
func (p *pathsPlugin) Validate() error {
	p.seen = p.Table
	if filepath.Base(p.Table) == "bad" {
		return errors.New("table: bad")
	}
	return nil
}

func init() {
	config.RegisterSourceKind("basedir-test", func() config.PluginConfig { return &pathsPlugin{} })
}

// TestBaseDirIsTheConfigsOwn: each parsed config carries its own base dir
// (no package state a refused reload or `validate` could change), and a
// plugin's relative paths resolve against it before Validate runs.
func TestBaseDirIsTheConfigsOwn(t *testing.T) {
	t.Parallel()
	yaml := func(table string) []byte {
		return []byte("geosight: {url: embedded}\nsources:\n  t:\n    type: basedir-test\n    table: " + table + "\n")
	}
	for _, tc := range []struct {
		name, base, table string
		wantTable         string
	}{
		{"relative", "/etc/hs", "codes.csv", "/etc/hs/codes.csv"},
		{"nested relative", "/etc/hs", "sub/codes.csv", "/etc/hs/sub/codes.csv"},
		{"absolute", "/etc/hs", "/data/codes.csv", "/data/codes.csv"},
		{"no base dir", "", "codes.csv", "codes.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Parse(yaml(tc.table), tc.base, config.Overrides{})
			var ve *config.ValidationError
			if err != nil {
				require.ErrorAs(t, err, &ve) // other sections may be incomplete; the source is what counts
				for _, p := range ve.Problems {
					require.NotEqual(t, "sources.t", p.Path, "%s", p)
				}
			}
			assert.Equal(t, tc.base, cfg.BaseDir)
			p := cfg.Sources["t"].Plugin.(*pathsPlugin)
			assert.Equal(t, filepath.FromSlash(tc.wantTable), p.Table)
			assert.Equal(t, p.Table, p.seen, "resolved before Validate")
		})
	}

	// A refused config leaves another's base dir alone: it is a value.
	good, _ := config.Parse(yaml("codes.csv"), "/etc/good", config.Overrides{})
	_, err := config.Parse(yaml("bad"), "/etc/refused", config.Overrides{})
	require.ErrorContains(t, err, "table: bad")
	assert.Equal(t, "/etc/good", good.BaseDir)
}
