package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
)

func fmtAll(c config.Config) string { return fmt.Sprintf("%v %+v %#v", c, c, c.GeoSight) }

// parseSample parses the sample config. Source kinds are registered by the
// adapter packages (the CLI test validates the whole sample), so problems
// under sources. are expected here; any other fails the test.
func parseSample(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Parse(config.Sample, t.TempDir(), config.Overrides{})
	if err != nil {
		var ve *config.ValidationError
		require.ErrorAs(t, err, &ve)
		for _, p := range ve.Problems {
			require.True(t, strings.HasPrefix(p.Path, "sources."), "unexpected problem %s", p)
		}
	}
	return cfg
}
