package postgis

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// TestRegisteredKind: the registry builds the sink under its instance
// name, with a relative dsn_file read from the config's directory, and
// footprints: false makes publishing the footprints a no-op (no
// connection is even tried: the DSN points nowhere).
func TestRegisteredKind(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dsn"), []byte("postgres://u:p@127.0.0.1:1/db\n"), 0o600))
	for _, tc := range []struct {
		name       string
		footprints bool
		wantErr    bool
	}{
		{"footprints off", false, false},
		{"footprints on: tries the database", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConfig()
			c.DSNFile, c.Footprints, c.ConnectTimeout = "dsn", tc.footprints, time.Second
			s, err := adapter.BuildSink(config.SinkSpec{Name: "db", Kind: Kind, Plugin: c}, adapter.SinkEnv{BaseDir: dir})
			require.NoError(t, err)
			defer s.(adapter.Closer).Close()
			assert.Equal(t, "db", s.Name())
			ctx, cancel := context.WithTimeout(context.Background(), c.ConnectTimeout)
			defer cancel()
			err = s.(adapter.FootprintSink).PublishFootprints(ctx, []indicators.Event{{ID: "x"}})
			if tc.wantErr {
				require.Error(t, err)
				assert.Equal(t, adapter.Retryable, adapter.ClassOf(err), "%v", err)
				return
			}
			require.NoError(t, err)
		})
	}
}
