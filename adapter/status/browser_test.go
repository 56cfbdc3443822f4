package status

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
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
	bin := chromiumPath(t)

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

	t.Run("status page", func(t *testing.T) {
		dom := dumpDOM(t, bin, url)
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

		shot := filepath.Join(out, "status-page.png")
		screenshot(t, bin, url, shot, "1280,1600")
		checkPNG(t, shot)
		full := filepath.Join(out, "status-page-full.png")
		screenshot(t, bin, url, full, "1280,2800")
		checkPNG(t, full)
		mobile := filepath.Join(out, "status-page-mobile.png")
		screenshot(t, bin, url, mobile, "420,1400")
		checkPNG(t, mobile)
	})

	t.Run("indicator picked by URL", func(t *testing.T) {
		u := url + "#ind=HZ_CHILDREN_EXPOSED&level=1"
		dom := dumpDOM(t, bin, u)
		assert.Contains(t, dom, "<h3>Children exposed to hazards")
		assert.Contains(t, dom, "4 areas at admin level 1")
		// Numeric classes: a quantile class label and the unit.
		assert.Regexp(t, `class="legend-item"><span class="sw"[^>]*></span><span>[\d.,k–≥ <]+</span>`, dom)
		assert.Contains(t, dom, "(children)")
		shot := filepath.Join(out, "status-page-children.png")
		screenshot(t, bin, u, shot, "1280,1100")
		checkPNG(t, shot)
	})

	t.Run("tooltip of a linked area", func(t *testing.T) {
		u := url + "#ind=HZ_ALERT&level=2&area=DML_0001_0005_V1"
		dom := dumpDOM(t, bin, u)
		tip := regexp.MustCompile(`(?s)<div id="tooltip" class="tooltip" role="tooltip"[^>]*>(.*?)</div>\s*<details`).FindStringSubmatch(dom)
		require.NotNil(t, tip, "tooltip element")
		assert.NotContains(t, tip[0], "hidden", "tooltip is shown")
		for _, want := range []string{"Ember North", "DML_0001_0005_V1", "green", "phase", "observed", "under-18"} {
			assert.Contains(t, tip[1], want)
		}
		shot := filepath.Join(out, "status-page-tooltip.png")
		screenshot(t, bin, u, shot, "1280,1000")
		checkPNG(t, shot)
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
		dom := dumpDOM(t, bin, ts.URL+"/", "--virtual-time-budget=40000")
		assert.Contains(t, dom, "refreshed-marker: feed went away", "the sources panel was refreshed in place")
		assert.Len(t, regexp.MustCompile(`class="area[^"]*"[^>]*data-code="DML_\d{4}_\d{4}_V1"`).FindAllString(dom, -1), 36, "map still drawn after refresh")
	})

	t.Run("dry-run map.html from file://", func(t *testing.T) {
		dir := filepath.Join(out, "preview")
		files, err := WriteDryRun(dir, p.areas, p.defs, p.values, p.values[:5])
		require.NoError(t, err)
		u := "file://" + files[0]
		dom := dumpDOM(t, bin, u)
		areaPaths := regexp.MustCompile(`<path[^>]*class="area[^"]*"[^>]*data-code="DML_`).FindAllString(dom, -1)
		assert.Len(t, areaPaths, 36)
		assert.Contains(t, dom, `class="legend-item"`)
		shot := filepath.Join(out, "dry-run-map.png")
		screenshot(t, bin, u, shot, "1280,1400")
		checkPNG(t, shot)
	})
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium found: run `make test-browser` (installs Debian's chromium) or set CHROMIUM")
	return ""
}

func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		// Console messages go to stderr, so script errors fail the test.
		"--enable-logging=stderr", "--v=0"}
	if !strings.Contains(strings.Join(args, " "), "--virtual-time-budget") {
		base = append(base, "--virtual-time-budget=5000") // so the page's script runs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "chromium %v: %s", args, tail(stderr.String(), 2000))
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") {
			t.Errorf("browser console: %s", line)
		}
	}
	return stdout.Bytes()
}

func dumpDOM(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	return string(chromium(t, bin, append(extra, "--dump-dom", url)...))
}

func screenshot(t *testing.T, bin, url, file, size string) {
	t.Helper()
	chromium(t, bin, "--screenshot="+file, "--window-size="+size, url)
}

// checkPNG: the screenshot exists, is a real image of some size and is not
// one flat colour (a blank or error page has very few colours; the page
// with its map and tables has many).
func checkPNG(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(20_000), "screenshot %s is suspiciously small", file)
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Greater(t, b.Dx(), 300)
	assert.Greater(t, b.Dy(), 600)
	n := distinctColours(img)
	assert.Greater(t, n, 50, "screenshot %s has only %d colours", file, n)
	t.Logf("%s: %dx%d, %d bytes, %d distinct colours", filepath.Base(file), b.Dx(), b.Dy(), st.Size(), n)
}

func distinctColours(img image.Image) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	return len(seen)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
