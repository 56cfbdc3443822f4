package status

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/internal/browser"
)

// TestBrowser loads the status page, served with the demo's data, in a real
// headless Chromium and checks the DOM after the page's script ran (map
// paths, legend, health table) and a screenshot. It also opens the dry-run
// map.html from file://. Run with `make test-browser` (installs Debian's
// chromium) or HAZARDSYNC_BROWSER=1; skipped otherwise so `go test` stays
// fast and needs no browser. HAZARDSYNC_BROWSER_OUT=dir keeps the
// screenshots.
func TestBrowser(t *testing.T) {
	if os.Getenv("HAZARDSYNC_BROWSER") == "" {
		t.Skip("set HAZARDSYNC_BROWSER=1 (or run `make test-browser`) to test the page in Chromium")
	}
	bin := browser.Path(t)

	p, _ := demoData(t)
	m := adapter.NewMetrics()
	srv := NewServer(p, m.Registry, Options{Now: func() time.Time { return demoNow }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + ln.Addr().String() + "/"

	out := os.Getenv("HAZARDSYNC_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(out, 0o755))
	shoot := func(t *testing.T, u, name, size string) {
		t.Helper()
		shot := filepath.Join(out, name)
		browser.Screenshot(t, bin, u, shot, size)
		browser.CheckPNG(t, shot)
	}

	t.Run("status page", func(t *testing.T) {
		dom := browser.DumpDOM(t, bin, url)
		// The script drew one SVG path per district (admin 2 is the default
		// level for an indicator with district values) plus province
		// outlines, coloured by value.
		areaPaths := regexp.MustCompile(`<path[^>]*class="area[^"]*"[^>]*data-code="DML_\d{4}_\d{4}_V1"`).FindAllString(dom, -1)
		assert.Len(t, areaPaths, 36, "one path per demo district")
		assert.Regexp(t, `<path[^>]*d="M[\d.]+ [\d.]+L`, dom)
		assert.Regexp(t, `class="area"[^>]*fill="#`, dom, "areas with a value are filled")
		assert.Contains(t, dom, `class="outline"`)
		// Legend with the indicator's name and at least one class.
		assert.Regexp(t, `<aside class="legend" id="legend"[^>]*><h3>`, dom)
		assert.Contains(t, dom, `class="legend-item"`)
		assert.Contains(t, dom, "no value")
		// Indicator and level pickers were filled.
		assert.Contains(t, dom, `<option value="HZ_CHILDREN_EXPOSED"`)
		assert.Contains(t, dom, `<option value="2"`)
		// Health table rows with the demo's sources.
		for _, name := range []string{"eonet", "usgs", "gdacs"} {
			assert.Contains(t, dom, `data-source="`+name+`"`)
		}
		assert.Contains(t, dom, "36 areas at admin level 2")
		assert.NotContains(t, dom, "could not be loaded")

		// The summary comes first, with names; the footprints overlay is
		// drawn and its toggle shown.
		assert.Less(t, strings.Index(dom, `id="summary"`), strings.Index(dom, `id="map-panel"`))
		assert.Contains(t, dom, `id="children-at-risk"`)
		assert.Regexp(t, `<g id="fp-layer"[^>]*class="fp-layer">(<path|<circle)[^>]*class="fp`, dom)
		assert.Regexp(t, `<label class="toggle" id="fp-toggle-label">`, dom, "toggle shown (not hidden)")
		assert.Contains(t, dom, "Hazard footprints</h3>")
		assert.Regexp(t, `<option value="Ember North \(admin 2\)"`, dom, "search offers area names")

		// One screen at 1400 px, the whole page, and a phone.
		shoot(t, url, "status-page.png", "1400,900")
		shoot(t, url, "status-page-full.png", "1400,3000")
		shoot(t, url, "status-page-phone.png", "390,844")
		shoot(t, url, "status-page-phone-full.png", "390,3600")
	})

	t.Run("lead time: shorter is stronger", func(t *testing.T) {
		u := url + "#ind=EW_LEAD&level=2"
		dom := browser.DumpDOM(t, bin, u)
		// Ember North's warning level is reached now (0 h), Basalt North's
		// in 60 h: the darkest and the lightest colour of the ramp.
		assert.Regexp(t, `<path[^>]*class="area"[^>]*fill="#b30000"[^>]*data-code="DML_0001_0005_V1"`, dom)
		assert.Regexp(t, `<path[^>]*class="area"[^>]*fill="#fdd49e"[^>]*data-code="DML_0001_0002_V1"`, dom)
		assert.Regexp(t, `<span>now( – |\s*\(0 h\))`, dom, "the 0 h class reads as now")
		assert.Contains(t, dom, "Shorter lead time, stronger colour.")
		shoot(t, u, "status-page-lead-time.png", "1400,1100")
	})

	t.Run("warnings filtered to one level", func(t *testing.T) {
		dom := browser.DumpDOM(t, bin, url+"#wl=warning")
		rows := regexp.MustCompile(`<tr data-code="[^"]+" data-level="(\w+)"( hidden="")?>`).FindAllStringSubmatch(dom, -1)
		require.Len(t, rows, 4)
		for _, r := range rows {
			assert.Equal(t, r[1] != "warning", r[2] != "", "row at %s hidden=%q", r[1], r[2])
		}
		assert.Regexp(t, `<button type="button" class="filter on" data-level-filter="warning" aria-pressed="true">`, dom)
	})

	t.Run("area link opens its level", func(t *testing.T) {
		// A summary link opened in a new tab: Northwest is a province.
		dom := browser.DumpDOM(t, bin, url+"#area=DML_0001_V1")
		assert.Contains(t, dom, "4 areas at admin level 1")
		assert.Regexp(t, `<text class="label"[^>]*>Northwest</text>`, dom)
	})

	t.Run("area search", func(t *testing.T) {
		u := url + "#ind=HZ_ALERT&find=ember%20n&fp=0"
		dom := browser.DumpDOM(t, bin, u)
		assert.Regexp(t, `<g id="fp-layer"[^>]*class="fp-layer fp-hidden">`, dom, "fp=0 hides the overlay")
		assert.Regexp(t, `<text class="label"[^>]*>Ember North</text>`, dom, "the found area is labelled on the map")
		assert.Regexp(t, `class="area[^"]*linked"[^>]*data-code="DML_0001_0005_V1"`, dom)
		shoot(t, u, "status-page-search-phone.png", "390,1400")
	})

	t.Run("indicator picked by URL", func(t *testing.T) {
		u := url + "#ind=HZ_CHILDREN_EXPOSED&level=1"
		dom := browser.DumpDOM(t, bin, u)
		assert.Contains(t, dom, "<h3>Children exposed to hazards")
		assert.Contains(t, dom, "4 areas at admin level 1")
		// Numeric classes: a quantile class label and the unit.
		assert.Regexp(t, `class="legend-item"><span class="sw"[^>]*></span><span>[\d.,k–≥ <]+</span>`, dom)
		assert.Contains(t, dom, "(children)")
		shoot(t, u, "status-page-children.png", "1400,1100")
	})

	t.Run("tooltip of a linked area", func(t *testing.T) {
		u := url + "#ind=HZ_ALERT&level=2&area=DML_0001_0005_V1"
		dom := browser.DumpDOM(t, bin, u)
		tip := regexp.MustCompile(`(?s)<div id="tooltip" class="tooltip" role="tooltip"[^>]*>(.*?)</div>\s*<details`).FindStringSubmatch(dom)
		require.NotNil(t, tip, "tooltip element")
		assert.NotContains(t, tip[0], "hidden", "tooltip is shown")
		for _, want := range []string{"Ember North", "DML_0001_0005_V1", "green", "phase", "observed", "under-18"} {
			assert.Contains(t, tip[1], want)
		}
		shoot(t, u, "status-page-tooltip.png", "1400,1000")
	})

	t.Run("panels refresh after 30 s", func(t *testing.T) {
		// A second server whose data changes after the first page load; the
		// virtual-time budget lets the page's 30 s timer fire.
		q, _ := demoData(t)
		var mu sync.Mutex
		loads := 0
		srv2 := NewServer(q, nil, Options{Now: func() time.Time { return demoNow }})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if r.URL.Path == "/" {
				loads++
				if loads == 2 {
					q.mu.Lock()
					q.sources[0].LastError = "refreshed-marker: feed went away"
					q.sources[0].Healthy = false
					q.mu.Unlock()
				}
			}
			mu.Unlock()
			srv2.ServeHTTP(w, r)
		})
		ts := httptest.NewServer(h)
		defer ts.Close()
		dom := browser.DumpDOM(t, bin, ts.URL+"/", "--virtual-time-budget=40000")
		assert.Contains(t, dom, "refreshed-marker: feed went away", "the sources panel was refreshed in place")
		assert.Len(t, regexp.MustCompile(`class="area[^"]*"[^>]*data-code="DML_\d{4}_\d{4}_V1"`).FindAllString(dom, -1), 36, "map still drawn after refresh")
	})

	t.Run("dry-run map.html from file://", func(t *testing.T) {
		dir := filepath.Join(out, "preview")
		files, err := WriteDryRun(dir, p.areas, p.defs, p.values, p.values[:5])
		require.NoError(t, err)
		u := "file://" + files[0]
		dom := browser.DumpDOM(t, bin, u)
		areaPaths := regexp.MustCompile(`<path[^>]*class="area[^"]*"[^>]*data-code="DML_`).FindAllString(dom, -1)
		assert.Len(t, areaPaths, 36)
		assert.Contains(t, dom, `class="legend-item"`)
		assert.Contains(t, dom, `id="fp-toggle-label" hidden=""`, "no footprints in a preview: no toggle")
		shoot(t, u, "dry-run-map.png", "1400,1400")
	})
}
