package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/runner"
	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// delivered is a value as the GeoSight fake stored it.
type delivered struct {
	Indicator  string `json:"indicator"`
	Code       string `json:"ucode"`
	AdminLevel int    `json:"admin_level"`
	Date       string `json:"date"`
	Value      any    `json:"value"`
}

// demoConfig loads the demo config, optionally edited, with a fresh state dir.
func demoConfig(t *testing.T, stateDir string, edit func(string) string) config.Config {
	t.Helper()
	dir := testutil.Fixture(t, "demo")
	b, err := os.ReadFile(filepath.Join(dir, "hazardsync.yaml"))
	require.NoError(t, err)
	y := string(b)
	if edit != nil {
		y = edit(y)
	}
	cfg, err := config.Parse([]byte(y), dir, config.Overrides{StateDir: stateDir})
	require.NoError(t, err)
	cfg.HTTP.Listen = ""
	return cfg
}

// lastPosts counts the POSTs the embedded GeoSight received in the last once().
var lastPosts struct{ values, layers, features int }

func once(t *testing.T, cfg config.Config, logs *bytes.Buffer) (runner.SyncResult, []delivered) {
	t.Helper()
	var w = logs
	if w == nil {
		w = &bytes.Buffer{}
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := daemon.New(context.Background(), cfg, daemon.Options{Logger: log})
	require.NoError(t, err)
	defer d.Close()
	res, err := d.Once(context.Background(), runner.SyncOptions{})
	require.NoError(t, err)
	f := d.Fake()
	lastPosts.values = f.RequestCount("POST", "/api/v1/data-browser/")
	lastPosts.layers = len(f.ContextLayers())
	lastPosts.features = f.RequestCount("POST", "/api/v1/context-layers/") // layer creations and feature uploads
	var out []delivered
	for _, v := range d.Fake().Values() {
		x := delivered{Indicator: v.Shortcode, Code: v.GeomID, AdminLevel: v.AdminLevel, Date: v.Date}
		if v.Text != nil {
			x.Value = *v.Text
		} else if v.Number != nil {
			x.Value = *v.Number
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		return fmt.Sprint(out[i].Indicator, out[i].Date, out[i].Code) < fmt.Sprint(out[j].Indicator, out[j].Date, out[j].Code)
	})
	return res, out
}

// TestDemoEndToEnd: `once` on the demo delivers the expected values into
// the embedded GeoSight, value by value; a second `once` with the same state
// directory sends nothing.
func TestDemoEndToEnd(t *testing.T) {
	state := t.TempDir()
	cfg := demoConfig(t, state, nil)
	var logs bytes.Buffer
	res, got := once(t, cfg, &logs)
	s := res.Summary
	assert.Zero(t, s.Failed+s.Rejected+s.SourceErr, "summary %+v\nlogs:\n%s", s, logs.String())
	assert.Equal(t, s.Values, s.Sent)
	assert.Len(t, got, s.Sent, "every value sent is stored in GeoSight")

	golden := testutil.Fixture(t, "demo", "golden", "delivered.json")
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(golden, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./adapter/daemon -run TestDemoEndToEnd -update to create it")
	var want []delivered
	require.NoError(t, json.Unmarshal(b, &want))
	require.Equal(t, len(want), len(got))
	for i := range want {
		assert.Equal(t, want[i], normalise(got[i]), "value %d", i)
	}

	assert.Positive(t, lastPosts.layers, "footprints published as context layers")
	assert.Positive(t, lastPosts.features)

	res2, got2 := once(t, cfg, nil)
	assert.Equal(t, 0, res2.Summary.Sent, "a second run with the same state sends nothing")
	assert.Zero(t, lastPosts.values, "zero value POSTs")
	assert.Zero(t, lastPosts.features, "zero feature uploads")
	assert.Equal(t, s.Values, res2.Summary.Unchanged)
	assert.Equal(t, got, got2)
}

// normalise gives numbers the shape JSON decoding gives them.
func normalise(d delivered) delivered {
	b, _ := json.Marshal(d)
	var out delivered
	_ = json.Unmarshal(b, &out)
	return out
}

func valuesOf(vals []delivered, indicator string) map[string]any {
	out := map[string]any{}
	for _, v := range vals {
		if v.Indicator == indicator {
			out[v.Code] = v.Value
		}
	}
	return out
}

// TestEarlyWarningRaiseAndClear: the demo's cyclone and heat forecasts raise
// warnings with lead times and children at risk; when the next forecasts
// drop below threshold, the warnings clear — after the trigger's hysteresis.
func TestEarlyWarningRaiseAndClear(t *testing.T) {
	state := t.TempDir()
	run := func(replay string, next bool) (runner.SyncResult, []delivered) {
		cfg := demoConfig(t, state, func(y string) string {
			y = strings.Replace(y, "replay_time: 2026-11-27T13:00:00Z", "replay_time: "+replay, 1)
			if next {
				y = strings.Replace(y, "feeds/openmeteo/forecast.json", "feeds/openmeteo/forecast_next.json", 1)
				// The storm has passed: NHC lists no storms, GDACS is off.
				empty := filepath.Join(t.TempDir(), "CurrentStorms.json")
				require.NoError(t, os.WriteFile(empty, []byte(`{"activeStorms": []}`), 0o644))
				y = strings.Replace(y, "url: file://feeds/nhc/CurrentStorms.json", "url: file://"+empty, 1)
				y = strings.Replace(y, "  gdacs:\n", "  gdacs:\n    enabled: false\n", 1)
			}
			return y
		})
		return once(t, cfg, nil)
	}

	_, got := run("2026-11-27T13:00:00Z", false)
	heat := valuesOf(got, "HS_EW_HEAT")
	assert.Len(t, heat, 18, "the western heat wave: 18 districts")
	for code, lvl := range heat {
		assert.Equal(t, "warning", lvl, code)
	}
	// Heat reaches 42.6 °C on 2026-11-29 (local +04:00): that day starts at
	// 2026-11-28T20:00Z; the forecast was fetched (issued) at 13:00Z.
	attrs := attributesOf(t, state, "HS_EW_HEAT", "DML_0001_0001_V1")
	assert.Equal(t, "2026-11-28T20:00:00Z", attrs["first_time"], "31 h after the sync")
	assert.Equal(t, "forecast, not an activation", attrs["note"])
	kids := valuesOf(got, "HS_EW_HEAT_CHILD")
	assert.Equal(t, under18(t, "DML_0001_0001_V1"), kids["DML_0001_0001_V1"], "a point forecast puts the whole district's children at risk")

	tc := valuesOf(got, "HS_EW_TC")
	assert.Equal(t, "alert", tc["DML_V1"], "the country rolls up the worst district")
	assert.NotEmpty(t, valuesOf(got, "HS_EW_TC_CHILD"))
	lead := valuesOf(got, "HS_EW_TC_LEAD")
	assert.NotEmpty(t, lead)
	for code, v := range lead {
		assert.Greater(t, v.(float64), 0.0, "warning-level winds arrive later than now at %s", code)
	}

	// Next forecast below thresholds, 1 h later: heat (clear_after 12h) is
	// held, the cyclone (clear_after 6h) too.
	_, got = run("2026-11-27T14:00:00Z", true)
	assert.Len(t, valuesOf(got, "HS_EW_HEAT"), 18)
	assert.Equal(t, "warning", valuesOf(got, "HS_EW_HEAT")["DML_0001_0001_V1"], "held by hysteresis")
	assert.Equal(t, true, attributesOf(t, state, "HS_EW_HEAT", "DML_0001_0001_V1")["held"])

	// 13 h after the forecast dropped: both cleared to an explicit "none".
	// Values of 2026-11-27 stay as history; the new day's say "none".
	_, got = run("2026-11-28T03:00:00Z", true)
	today := map[string]any{}
	for _, v := range got {
		if v.Indicator == "HS_EW_HEAT" && v.Date == "2026-11-28" {
			today[v.Code] = v.Value
		}
	}
	assert.Len(t, today, 18)
	for code, lvl := range today {
		assert.Equal(t, "none", lvl, code)
	}
	tcToday := map[string]any{}
	for _, v := range got {
		if v.Indicator == "HS_EW_TC" && v.Date == "2026-11-28" {
			tcToday[v.Code] = v.Value
		}
	}
	assert.Len(t, tcToday, len(tc))
	for code, lvl := range tcToday {
		assert.Equal(t, "none", lvl, code)
	}
}

func attributesOf(t *testing.T, state, indicator, code string) map[string]any {
	t.Helper()
	// The embedded GeoSight's state as a restarted daemon would load it
	// (snapshot plus journal).
	stored := fake.New(fake.Options{PersistPath: filepath.Join(state, "embedded-geosight.json")})
	latest := ""
	var out map[string]any
	for _, v := range stored.Values() {
		if v.Shortcode == indicator && v.GeomID == code && v.Date >= latest {
			latest, out = v.Date, v.Attributes
		}
	}
	require.NotNil(t, out, "no %s value for %s", indicator, code)
	return out
}

func under18(t *testing.T, code string) float64 {
	t.Helper()
	b, err := os.ReadFile(testutil.Fixture(t, "demo", "baseline.csv"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) > 5 && f[0] == code {
			var v float64
			_, err := fmt.Sscan(f[5], &v)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatalf("no baseline for %s", code)
	return 0
}
