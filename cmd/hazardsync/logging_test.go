package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/config"
)

// TestJSONLogsGiveSeconds: the daemon's JSON logger writes durations as
// seconds, never as nanoseconds.
func TestJSONLogsGiveSeconds(t *testing.T) {
	var buf bytes.Buffer
	g := &globals{stderr: &buf}
	cfg := config.Defaults()
	cfg.Log.Format = "json"
	log := g.logger(cfg)
	log.Info("fetched", "duration", 1500*time.Millisecond, "timeout_seconds", 30*time.Second, "events", 3,
		slog.Group("run", "grace", 2*time.Minute))
	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got), buf.String())
	assert.Equal(t, 1.5, got["duration_seconds"])
	assert.Equal(t, 30.0, got["timeout_seconds"])
	assert.Equal(t, 3.0, got["events"])
	assert.NotContains(t, got, "duration")
	assert.Equal(t, map[string]any{"grace_seconds": 120.0}, got["run"])
}
