package firms

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// Peak memory is measured in a child process (this test binary re-run with
// FIRMS_MEM_CHILD set) as VmHWM, the kernel's high-water mark of resident
// memory, so the figure is what an operator sees, garbage and all, and one
// measurement cannot inherit another's heap.

const memChildEnv = "FIRMS_MEM_CHILD"

// globalCSV streams n VIIRS rows as a keyless global file would: spread
// over the world, 1% of them inside the areas' box (60-64 E, 10-14 N).
func globalCSV(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	_, _ = bw.WriteString("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,bright_ti5,frp,daynight\n")
	confs := []string{"l", "n", "h"}
	for i := 0; i < n; i++ {
		lat, lon := -60+rng.Float64()*130, -180+rng.Float64()*360
		if i%100 == 0 {
			lat, lon = 10+rng.Float64()*4, 60+rng.Float64()*4
		}
		day := 20 + i*7/n
		if _, err := fmt.Fprintf(bw, "%.5f,%.5f,%.2f,0.39,0.36,2026-11-%02d,%02d%02d,N,VIIRS,%s,2.0NRT,%.2f,%.2f,D\n",
			lat, lon, 300+rng.Float64()*60, day, rng.IntN(24), rng.IntN(60), confs[rng.IntN(3)],
			280+rng.Float64()*20, rng.Float64()*40); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// TestMemChild is the measured side; it does nothing unless started by
// peakRSS.
func TestMemChild(t *testing.T) {
	spec := os.Getenv(memChildEnv)
	if spec == "" {
		t.Skip("run by TestStreamingPeakMemory")
	}
	mode, rows, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(rows)
	require.NoError(t, err)
	var sent countingWriter
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		sent.w = w
		_ = globalCSV(&sent, n)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/VIIRS_SNPP_NRT_Global_7d.csv"
	cfg.Product = "VIIRS_SNPP_NRT"
	cfg.MaxBodyBytes = 1 << 30
	env := testEnv()
	env.Fetch.MaxBodyBytes = 1 << 30
	env.Fetch.Timeout = 0
	env.Areas = []indicators.Area{{Code: "A", Geometry: orb.Polygon{{{60, 10}, {64, 10}, {64, 14}, {60, 14}, {60, 10}}}}}
	if mode == "world" {
		env.Areas = nil // no box: every hotspot is kept
	}
	src := New(cfg, env)
	kept := 0
	switch mode {
	case "stream", "world":
		b, err := src.Fetch(context.Background(), adapter.Cursor{})
		require.NoError(t, err)
		for _, e := range b.Events {
			kept += len(e.Footprints)
		}
	case "whole":
		// The pipeline before streaming: the whole body, every row as a
		// Hotspot, then grouping (no box: the old code kept them all).
		resp, err := http.Get(cfg.URL)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.NoError(t, err)
		f, err := ParseCSV(body)
		require.NoError(t, err)
		evs, _ := src.group(cfg.Product, f.Hotspots)
		for _, e := range evs {
			kept += len(e.Footprints)
		}
		runtime.KeepAlive(body)
	default:
		t.Fatalf("mode %q", mode)
	}
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Printf("KEPT %d\nBYTES %d\n%s\n", kept, sent.n, line)
		}
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// peakRSS runs one measurement in a fresh process and returns VmHWM in MB,
// the number of hotspots kept and the size of the file in MB.
func peakRSS(t testing.TB, mode string, rows int) (float64, int, float64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestMemChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), memChildEnv+"="+mode+":"+strconv.Itoa(rows))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var kb, kept, size int
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ = strconv.Atoi(f[1])
		} else if len(f) == 2 && f[0] == "KEPT" {
			kept, _ = strconv.Atoi(f[1])
		} else if len(f) == 2 && f[0] == "BYTES" {
			size, _ = strconv.Atoi(f[1])
		}
	}
	require.NotZero(t, kb, "no VmHWM in %s", out)
	return float64(kb) / 1024, kept, float64(size) / (1 << 20)
}

// TestStreamingPeakMemory: a 1 M-row global file (80 MB) is read
// within 100 MB of resident memory, and 4× the rows cost about the same
// as 250 k: memory follows the hotspots kept (inside the areas' box),
// not the file.
func TestStreamingPeakMemory(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("needs /proc and a few seconds")
	}
	small, keptSmall, sizeSmall := peakRSS(t, "stream", 250_000)
	big, keptBig, sizeBig := peakRSS(t, "stream", 1_000_000)
	t.Logf("peak RSS streaming: 250k rows (%.0f MB file) %.0f MB (%d kept), 1M rows (%.0f MB file) %.0f MB (%d kept)",
		sizeSmall, small, keptSmall, sizeBig, big, keptBig)
	require.Greater(t, keptBig, 3*keptSmall, "the rows inside the box are kept")
	require.LessOrEqual(t, big, 100.0, "1 M rows must stay within 100 MB RSS")
	require.Less(t, big-small, 20.0, "750 k more rows must not cost more than the hotspots they add")
}

// BenchmarkPeakRSS reports peak resident memory for 1 M rows, streamed and
// the old way (whole body, every row kept), from the same run; MB-world is
// streaming with no areas and no bbox, where all 1 M hotspots are kept as
// footprints (memory then follows the hotspots, not the bytes):
//
//	go test ./adapter/sources/firms -run '^$' -bench PeakRSS -benchtime 1x
func BenchmarkPeakRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("needs /proc")
	}
	for b.Loop() {
		whole, _, size := peakRSS(b, "whole", 1_000_000)
		stream, _, _ := peakRSS(b, "stream", 1_000_000)
		world, _, _ := peakRSS(b, "world", 1_000_000)
		b.ReportMetric(size, "MB-file")
		b.ReportMetric(whole, "MB-whole")
		b.ReportMetric(world, "MB-world")
		b.ReportMetric(stream, "MB-stream")
		b.ReportMetric(whole/stream, "x-less")
	}
}
