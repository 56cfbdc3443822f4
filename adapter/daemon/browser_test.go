package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/internal/browser"
)

// TestDemoInBrowser runs the demo daemon exactly as `make run` does (demo
// config, embedded GeoSight, status server) and loads its status page in
// headless Chromium: the map draws every district, the legend and the
// health table show the demo's nine sources, the warnings table lists the
// cyclone. Gated: `make test-browser`.
func TestDemoInBrowser(t *testing.T) {
	browser.Enabled(t)
	bin := browser.Path(t)
	cfg := demoConfig(t, t.TempDir(), nil)
	cfg.HTTP.Listen = "127.0.0.1:0"
	d, err := daemon.New(context.Background(), cfg, daemon.Options{ConfigPath: "fixtures/demo/hazardsync.yaml",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	go func() { _ = d.Run(ctx, daemon.RunOptions{Ready: ready, ShutdownGrace: time.Second}) }()
	url := <-ready + "/"
	deadline := time.Now().Add(30 * time.Second)
	for d.Runner.LastRun().Values == 0 {
		require.True(t, time.Now().Before(deadline), "no sync within 30 s")
		time.Sleep(100 * time.Millisecond)
	}

	dom := browser.DumpDOM(t, bin, url)
	paths := regexp.MustCompile(`<path[^>]*class="area[^"]*"[^>]*data-code="DML_\d{4}_\d{4}_V1"`).FindAllString(dom, -1)
	assert.Len(t, paths, 36, "every district drawn")
	assert.Contains(t, dom, `class="legend-item"`)
	for _, src := range []string{"usgs", "gdacs", "nhc", "eonet", "firms", "openmeteo", "glofas", "cap", "flood_extent"} {
		assert.Contains(t, dom, `<tr class="source-row" data-source="`+src+`">`, "health row for %s", src)
	}
	// The summary comes first; warnings are listed by name, not shortcode.
	assert.Less(t, strings.Index(dom, `id="summary"`), strings.Index(dom, `id="map-panel"`))
	table := dom[strings.Index(dom, `id="warnings-table"`):]
	table = table[:strings.Index(table, "</table>")]
	assert.Contains(t, table, "Cyclone early-warning level", "the cyclone warnings are listed by name")
	assert.NotContains(t, table, ">HS_EW_TC<")
	assert.Contains(t, dom, "replay clock", "the demo replays its feeds: hazard times are on the as-of clock")
	assert.Regexp(t, `<g id="fp-layer"[^>]*>`, dom, "hazard footprints drawn over the map")

	out := os.Getenv("HAZARDSYNC_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	}
	// The first screen at 1400 px, the whole page, and a phone.
	for _, s := range []struct{ name, size, hash string }{
		{"demo-status-page.png", "1400,900", ""},
		{"demo-status-page-full.png", "1400,4200", ""},
		{"demo-status-page-phone.png", "390,844", ""},
		{"demo-status-page-phone-full.png", "390,4400", ""},
		{"demo-lead-time-map.png", "1400,1300", "#ind=HS_EW_TC_LEAD&level=2"},
	} {
		shot := filepath.Join(out, s.name)
		browser.Screenshot(t, bin, url+s.hash, shot, s.size)
		browser.CheckPNG(t, shot)
	}
}
