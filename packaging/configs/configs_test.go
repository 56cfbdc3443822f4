// Package configs holds the sample configs per deployment; this test keeps
// each of them valid as the schema evolves.
package configs

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
	"github.com/hazardsync/hazardsync/config"
)

func TestSampleConfigsValidate(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 3)
	t.Setenv(config.EnvAPIKey, "dummy-key-for-validation")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			abs, err := filepath.Abs(f)
			require.NoError(t, err)
			_, err = config.Load(abs, config.Overrides{StateDir: t.TempDir()})
			require.NoError(t, err)
		})
	}
}
