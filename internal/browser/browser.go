// Package browser runs headless Chromium for the tests that check what a
// person sees (the status page, the dry-run map): DOM dumps and screenshots.
// Tests using it are gated by HAZARDSYNC_BROWSER=1; `make test-browser`
// installs Debian's chromium and sets it.
package browser

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Enabled skips the test unless browser tests were asked for.
func Enabled(t *testing.T) {
	t.Helper()
	if os.Getenv("HAZARDSYNC_BROWSER") == "" {
		t.Skip("set HAZARDSYNC_BROWSER=1 (or run `make test-browser`) to test pages in Chromium")
	}
}

func Path(t *testing.T) string {
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

func Run(t *testing.T, bin string, args ...string) []byte {
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

func DumpDOM(t *testing.T, bin, url string, extra ...string) string {
	t.Helper()
	return string(Run(t, bin, append(extra, "--dump-dom", url)...))
}

func Screenshot(t *testing.T, bin, url, file, size string) {
	t.Helper()
	Run(t, bin, "--screenshot="+file, "--window-size="+size, url)
}

// checkPNG: the screenshot exists, is a real image of some size and is not
// one flat colour (a blank or error page has very few colours; the page
// with its map and tables has many).
func CheckPNG(t *testing.T, file string) {
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
