// Command daemonrss measures the exposure engine's peak memory the way the
// daemon uses it: a fresh process with one engine that reads the population
// and under-18 GeoTIFFs, builds (then, in a second process, reloads) the
// precompute and runs a cold cycle and a union. The parent writes the
// workload's grids to -dir and frees them before starting the children, so
// the generator's memory is not counted. `make bench-grid-rss` runs it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/hazardsync/hazardsync/indicators/grid/bench"
	"github.com/paulmach/orb"
)

type result struct {
	Phase     string  // "build" or "reload"
	EngineS   float64 // NewEngine: TIFF read + precompute, or cache reload
	CycleS    float64 // cold cycle, every footprint on its own
	UnionS    float64
	Pairs     int
	PeakBytes int64 // VmHWM
}

func main() {
	dir := flag.String("dir", "", "work directory for the GeoTIFFs and the precompute cache (default: a temp dir, removed)")
	small := flag.Bool("small", false, "the small workload (smoke test)")
	child := flag.String("child", "", "internal: run one engine process (build|reload)")
	flag.Parse()
	size := bench.Full
	if *small {
		size = bench.Small
	}
	if *child != "" {
		runChild(*child, *dir, size)
		return
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "hazardsync-rss-")
		must(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	must(os.MkdirAll(*dir, 0o755))
	t0 := time.Now()
	populated := writeGrids(*dir, size)
	runtime.GC()
	fmt.Printf("grids written to %s in %s; %d populated cells\n", *dir, time.Since(t0).Round(time.Millisecond), populated)
	must(os.RemoveAll(filepath.Join(*dir, "state")))
	for _, phase := range []string{"build", "reload"} {
		self, err := os.Executable()
		must(err)
		args := []string{"-child", phase, "-dir", *dir}
		if *small {
			args = append(args, "-small")
		}
		cmd := exec.Command(self, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			log.Fatalf("%s process: %v", phase, err)
		}
		var r result
		must(json.Unmarshal(out, &r))
		fmt.Printf("%-6s process: engine %.2f s, cold cycle %.3f s (%d pairs), union %.3f s, peak RSS %.0f MB = %.1f B/populated cell (target ≤ 16)\n",
			r.Phase, r.EngineS, r.CycleS, r.Pairs, r.UnionS, float64(r.PeakBytes)/1e6, float64(r.PeakBytes)/float64(populated))
	}
}

// writeGrids writes pop.tif and under18.tif (tiled, uncompressed, nodata
// for lakes) and returns the number of populated (non-nodata) cells.
func writeGrids(dir string, size bench.Size) int {
	w := bench.Generate(size, 1)
	populated := w.Populated()
	nd := float64(bench.NoData)
	for name, v := range map[string][]float32{"pop.tif": w.Pop, "under18.tif": w.U18} {
		f, err := os.Create(filepath.Join(dir, name))
		must(err)
		bw := bufio.NewWriterSize(f, 1<<20)
		must(grid.WriteTiff(bw, v, w.Width, w.Height, w.Geo, grid.WriteOptions{Tile: 256, NoData: &nd}))
		must(bw.Flush())
		must(f.Close())
	}
	return populated
}

func runChild(phase, dir string, size bench.Size) {
	w := bench.Shapes(size, 1)
	t0 := time.Now()
	pop, pc, err := areas.OpenGrid(filepath.Join(dir, "pop.tif"))
	must(err)
	u18, uc, err := areas.OpenGrid(filepath.Join(dir, "under18.tif"))
	must(err)
	e, err := grid.NewEngine(w.Areas, grid.Options{Grid: pop, Under18: u18, Cache: state.NewGridCache(filepath.Join(dir, "state"), false)})
	must(pc.Close())
	must(uc.Close())
	must(err)
	r := result{Phase: phase, EngineS: time.Since(t0).Seconds()}
	fps := w.Geometries()
	t0 = time.Now()
	for _, f := range fps {
		x, err := e.Expose([]orb.Geometry{f})
		must(err)
		r.Pairs += len(x)
	}
	r.CycleS = time.Since(t0).Seconds()
	t0 = time.Now()
	_, err = e.Expose(fps)
	must(err)
	r.UnionS = time.Since(t0).Seconds()
	r.PeakBytes = vmHWM()
	runtime.KeepAlive(e)
	must(json.NewEncoder(os.Stdout).Encode(r))
}

// vmHWM is the process's peak resident set size (Linux /proc).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	must(err)
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			must(err)
			return kb * 1024
		}
	}
	log.Fatal("no VmHWM in /proc/self/status")
	return 0
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
