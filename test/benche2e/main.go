// Command benche2e measures hazardsync end to end on a generated country
// (`make bench-e2e`): 5,040 admin-2 areas of ~300 vertices under 90 admin-1,
// a 10,000 × 10,000 DEFLATE population grid (and under-18 grid), 200 hazard
// footprints published as `layer` GeoJSON files, 11 indicators (5 rolled
// up). It times dry-run syncs (no delivery) three ways:
//
//   - `hazardsync once --dry-run` processes: cold (empty state dir: the grid
//     precompute is built), again (precompute and prepared areas reloaded,
//     nothing changed),
//     and after 10% of the footprints moved. Each process pays its start.
//   - syncs inside one daemon-like process: start (config, areas, grid
//     engine from the cache) reported apart, then a cold sync, a sync where
//     nothing changed, one where 10% of the footprints moved, and one more
//     where nothing changed.
//   - beside them, in the same run, the Python pipeline on the same files:
//     geopandas overlay + equal-area km² and GDAL rasterize + numpy zonal
//     totals (indicators/grid/bench/*.py), each run twice: the first run is
//     "cold" (fresh interpreter, first import of the libraries since the
//     files were written), the second "warm" (libraries and files cached).
//
// Everything is seeded; a second run reuses the generated grid.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/runner"
	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/hazardsync/hazardsync/indicators/grid/bench"
)

const (
	layerFiles = 10
	seed       = 1
)

var (
	full  = bench.Size{Cells: 10000, AreasX: 72, AreasY: 70, EdgeSegments: 75, Footprints: 200}
	small = bench.Size{Cells: 1000, AreasX: 16, AreasY: 14, EdgeSegments: 10, Footprints: 40}
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "hazardsync-e2e"), "work directory (generated inputs are kept and reused)")
	python := flag.String("python", "/usr/bin/python3", "Python with geopandas, GDAL and numpy (Debian's); empty skips it")
	useSmall := flag.Bool("small", false, "a small country (smoke test)")
	child := flag.String("child", "", "internal: run the in-process syncs (sync), write the precompute and the prepared areas (prebuild), rewrite the layer files (layers, layers-moved); once: one `once --dry-run` in this process, phases and peak RSS on stdout (with -profile, CPU and peak-heap profiles)")
	pairsOnly := flag.Bool("pairs", false, "only compare the overlay's pairs with the last geopandas run in -dir")
	profile := flag.String("profile", "", "write CPU (FILE.cpu) and heap (FILE.heap) profiles of the in-process syncs")
	profileSync := flag.Int("profile-sync", 0, "with -profile, the CPU profile covers only the in-process sync with this number (1 cold, 2 nothing changed, 3 10% moved, 4 nothing changed again)")
	dump := flag.String("dump", "", "with -child sync: write every sync's values (current, then changed) to FILE.N.json, to compare two builds")
	profileRepeat := flag.Int("profile-repeat", 1, "with -profile-sync 2 or 4 (nothing changed), profile that many such syncs in a row: more samples; the sync's figures are the last one's")
	flag.Parse()
	size := full
	if *useSmall {
		size = small
	}
	must(os.MkdirAll(*dir, 0o755))
	if *pairsOnly {
		comparePairs(*dir, size)
		return
	}
	switch *child {
	case "sync":
		runChild(*dir, size, *profile, *profileSync, *profileRepeat, *dump)
		return
	case "prebuild":
		prebuild(*dir)
		return
	case "layers", "layers-moved":
		must(writeLayers(*dir, size, *child == "layers-moved"))
		return
	case "once":
		runOnceInProcess(*dir, *profile)
		return
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s; load average %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadavg())
	t0 := time.Now()
	nAreas := generate(*dir, size)
	must(writeLayers(*dir, size, false))
	fmt.Printf("country: %d areas, %d footprints in %d layer files, %d×%d cells, 11 indicators (5 rolled up); inputs ready in %s under %s\n",
		nAreas, size.Footprints, layerFiles, size.Cells, size.Cells, since(t0), *dir)

	bin := filepath.Join(*dir, "hazardsync")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hazardsync")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	must(build.Run())

	// 1. Separate `once --dry-run` processes.
	must(os.RemoveAll(filepath.Join(*dir, "state")))
	fmt.Println("\n`hazardsync once --dry-run` processes (each pays its start: config, areas, grid engine; preview files written):")
	cold := runOnce(*dir, bin, "cold: empty state dir, precompute built")
	// Dry runs leave the state dir untouched, the precompute cache too: a
	// daemon start that is not a dry run writes it, as a real first run does.
	self, err := os.Executable()
	must(err)
	t1 := time.Now()
	pre := exec.Command(self, "-child", "prebuild", "-dir", *dir)
	pre.Stderr = os.Stderr
	must(pre.Run())
	ru := pre.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Printf("  %-52s wall %6.2f s  CPU %6.2f s  (daemon start, not a dry run: writes the precompute, the prepared areas and the grids' digests)\n", "precompute and prepared areas written", time.Since(t1).Seconds(), tv(ru.Utime)+tv(ru.Stime))
	// Three runs: one process is one sample of a shared machine; the
	// median is compared with Python (each run is printed).
	var agains []timing
	for i := range 3 {
		agains = append(agains, runOnce(*dir, bin, fmt.Sprintf("again (%d of 3): precompute, prepared areas reloaded", i+1)))
	}
	again := medianTiming(agains)
	fmt.Printf("  %-52s wall %6.2f s  CPU %6.2f s\n", "again, median of the 3", again.wall, again.cpu)
	// The same `once --dry-run`, in one process, by phase: what dominates.
	phases := exec.Command(self, "-child", "once", "-dir", *dir)
	phases.Stderr = os.Stderr
	pout, err := phases.Output()
	must(err)
	fmt.Printf("  the same, by phase (one process: start = config, areas, grid engine; once = fetch + sync; preview = map.html, values.geojson, values.csv):\n%s", pout)
	must(writeLayers(*dir, size, true))
	moved := runOnce(*dir, bin, "10% of footprints moved")
	must(writeLayers(*dir, size, false))
	_ = moved

	// 2. Syncs inside one daemon-like process.
	fmt.Println("\nsyncs inside one daemon-like process (dry run, no delivery, no preview):")
	args := []string{"-child", "sync", "-dir", *dir, "-profile", *profile, "-profile-sync", strconv.Itoa(*profileSync)}
	if *useSmall {
		args = append(args, "-small")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	must(err)
	var cr childResult
	must(json.Unmarshal(out, &cr))
	fmt.Printf("  process start (config, %d areas, grid engine from the precompute cache): %.2f s\n", nAreas, cr.StartS)
	for _, s := range cr.Syncs {
		fmt.Printf("  %-24s fetch %6.3f s (CPU %5.3f)  sync wall %6.3f s  CPU %6.3f s  overlay: %3d footprints, %3d measured, %3d reused, %5d hits in %.3f s  values %d  allocated %.0f MB, %d GCs (CPU %.3f s)  peak RSS %.0f MB\n",
			s.Name, s.FetchS, s.FetchCPUS, s.WallS, s.CPUS, s.Footprints, s.Computed, s.Reused, s.Hits, s.OverlayS, s.Values, s.AllocMB, s.GCs, s.GCCPUS, mb(s.PeakRSS))
	}
	// The issue counts the engine as ~1.08 GB at this size: its precompute,
	// its area edge index and the per-row area extents built from the
	// precompute on the first sync; each figure is printed.
	engine := cr.EngineBytes + cr.EdgeBytes + cr.ExtentBytes
	fmt.Printf("  peak RSS %.0f MB (%.0f MB at the end of the start); grid engine %.0f MB = precompute %.0f MB + area edge index %.0f MB + area extents %.0f MB; everything else ≤ %.0f MB (peak RSS − engine; %.0f MB counting only the precompute as engine); Go heap in use after the syncs %.0f MB\n",
		mb(cr.PeakRSS), mb(cr.StartPeakRSS), mb(engine), mb(cr.EngineBytes), mb(cr.EdgeBytes), mb(cr.ExtentBytes), mb(cr.PeakRSS-engine), mb(cr.PeakRSS-cr.EngineBytes), mb(cr.HeapInUse))
	fmt.Printf("  resident at the end: anonymous %.0f MB (Go heap from the OS %.0f MB, all Go runtime %.0f MB; the rest is the engine's arena), file-backed %.0f MB (the mapped precompute and the binary)\n",
		mb(cr.RSSAnon), mb(cr.HeapSys), mb(cr.GoSys), mb(cr.RSSFile))
	fmt.Printf("  precompute cache file(s) in the state dir: %.0f MB\n", mb(dirBytes(filepath.Join(*dir, "state"), "grid-precompute")))
	targets := map[string]float64{"cold": 3, "nothing changed": 0.2, "10% moved": 0.5}
	for _, s := range cr.Syncs {
		if t, ok := targets[s.Key]; ok && !*useSmall { // targets are for the full country
			verdict := "meets"
			if s.WallS > t {
				verdict = "MISSES"
			}
			fmt.Printf("  target %-16s ≤ %.1f s: %.3f s %s it\n", s.Key, t, s.WallS, verdict)
		}
	}

	fmt.Printf("  load average now %s: on a shared machine wall ≫ CPU; CPU is what the code costs\n", loadavg())

	// 2b. Real runs, after the dry ones (whose syncs must not find what a
	// real one keeps): the first push of every value to the embedded
	// GeoSight, then a `once` as cron would run it with nothing changed.
	fmt.Println("\n`hazardsync once` processes that deliver (embedded GeoSight; a real sync keeps its measures for the next process):")
	push := runOnceAs(*dir, bin, "first real run: every value delivered", false)
	fmt.Printf("  %-52s %.0f values/s end to end (the whole process: start, sync, %d values POSTed one by one and recorded)\n", "", float64(push.sent)/push.wall, push.sent)
	if !*useSmall {
		rate, verdict := float64(push.sent)/push.wall, "meets"
		if rate < 500 {
			verdict = "MISSES"
		}
		fmt.Printf("  target embedded push ≥ 500 values/s: %.0f values/s %s it\n", rate, verdict)
	}
	runOnceAs(*dir, bin, "real run again, nothing changed", false)
	runOnce(*dir, bin, "dry run after them (reads the kept measures)")

	// 3. The Python pipeline on the same files.
	if *python == "" {
		return
	}
	_, src, _, _ := runtime.Caller(0)
	scripts := filepath.Join(filepath.Dir(src), "..", "..", "indicators", "grid", "bench")
	fmt.Println("\nPython pipeline on the same files (geopandas overlay + EPSG:6933 area; GDAL rasterize + numpy bincount zonal totals):")
	var py, pyCPU [2]float64
	for i, label := range []string{"cold (first run: fresh interpreter, first library import)", "warm (second run)"} {
		ov := runPy(*python, filepath.Join(scripts, "geopandas_overlay.py"), *dir)
		zo := runPy(*python, filepath.Join(scripts, "gdal_zonal.py"), *dir)
		py[i], pyCPU[i] = ov.wall+zo.wall, ov.cpu+zo.cpu
		fmt.Printf("  %-58s overlay process %6.2f s (CPU %6.2f; overlay+area %5.2f s, %v pairs), zonal process %6.2f s (CPU %6.2f; compute %5.2f s): end to end %6.2f s, CPU %6.2f s\n",
			label, ov.wall, ov.cpu, ov.out["total_s"], ov.out["pairs"], zo.wall, zo.cpu, zo.out["total_s"], py[i], pyCPU[i])
	}
	comparePairs(*dir, size)
	var coldSync, coldFetch, warmCPU float64
	for _, s := range cr.Syncs {
		switch s.Key {
		case "cold":
			coldSync, coldFetch = s.WallS, s.FetchS
		case "nothing changed":
			warmCPU = s.CPUS + s.FetchCPUS
		}
	}
	fmt.Println("\nratios (Python ÷ hazardsync, same run):")
	fmt.Printf("  end to end, processes, wall: Python cold %.2f s ÷ `once` cold (precompute built) %.2f s = %.1f×\n", py[0], cold.wall, py[0]/cold.wall)
	fmt.Printf("  end to end, processes, CPU:  Python cold %.2f s ÷ `once` cold (precompute built) %.2f s = %.1f×\n", pyCPU[0], cold.cpu, pyCPU[0]/cold.cpu)
	fmt.Printf("  end to end, processes, wall: Python warm %.2f s ÷ `once` again (precompute and prepared areas reloaded; median of 3) %.2f s = %.1f×\n", py[1], again.wall, py[1]/again.wall)
	fmt.Printf("  end to end, processes, CPU:  Python warm %.2f s ÷ `once` again (precompute and prepared areas reloaded; median of 3) %.2f s = %.1f×\n", pyCPU[1], again.cpu, pyCPU[1]/again.cpu)
	fmt.Printf("  first cycle in a daemon, wall: Python warm %.2f s ÷ (start %.2f s + fetch %.2f s + cold sync %.3f s) = %.1f×\n", py[1], cr.StartS, coldFetch, coldSync, py[1]/(cr.StartS+coldFetch+coldSync))
	fmt.Printf("  later cycles, CPU: Python warm %.2f s ÷ nothing-changed fetch + sync %.3f s = %.0f×\n", pyCPU[1], warmCPU, pyCPU[1]/warmCPU)
}

// generate writes the areas and the grids unless a previous run did.
func generate(dir string, s bench.Size) int {
	stamp := filepath.Join(dir, fmt.Sprintf("inputs-%d-%d-%d-%d-%d.done", s.Cells, s.AreasX, s.AreasY, s.EdgeSegments, seed))
	as := countryAreas(s)
	if _, err := os.Stat(stamp); err == nil {
		return len(as)
	}
	fc := geojson.NewFeatureCollection()
	for i, a := range as {
		f := geojson.NewFeature(a.Geometry)
		f.Properties["ucode"], f.Properties["name"], f.Properties["admin_level"] = a.Code, a.Name, a.Level
		if len(a.Parents) > 0 {
			f.Properties["parent"] = a.Parents[0]
		}
		// For the Python side: area index and rasterize zone.
		f.Properties["area"], f.Properties["zone"] = i, i+1
		fc.Append(f)
	}
	writeJSON(filepath.Join(dir, "areas.geojson"), fc)
	w := bench.Generate(s, seed)
	nd := float64(bench.NoData)
	for name, v := range map[string][]float32{"pop.tif": w.Pop, "under18.tif": w.U18} {
		f, err := os.Create(filepath.Join(dir, name))
		must(err)
		bw := bufio.NewWriterSize(f, 1<<20)
		must(grid.WriteTiff(bw, v, w.Width, w.Height, w.Geo, grid.WriteOptions{Tile: 256, Deflate: true, FloatPredictor: true, NoData: &nd}))
		must(bw.Flush())
		must(f.Close())
	}
	must(os.WriteFile(filepath.Join(dir, "hazardsync.yaml"), []byte(configYAML(dir)), 0o644))
	must(os.WriteFile(stamp, nil, 0o644))
	return len(as)
}

// countryAreas: the workload's admin-2 lattice, grouped 8 × 7 into admin-1
// areas whose boundary is the outer boundary of their children (shared
// edges cancel), so the two levels agree exactly.
func countryAreas(s bench.Size) []indicators.Area {
	adm2 := bench.Shapes(s, seed).Areas
	gx, gy := 8, 7
	if s.AreasX%gx != 0 || s.AreasY%gy != 0 {
		gx, gy = 4, 2
	}
	var out []indicators.Area
	kids := map[string][]int{}
	var order []string
	for i := range adm2 {
		ix, iy := i%s.AreasX, i/s.AreasX
		p := fmt.Sprintf("BX1_%02d_%02d", iy/gy, ix/gx)
		if _, ok := kids[p]; !ok {
			order = append(order, p)
		}
		kids[p] = append(kids[p], i)
		adm2[i].Parents = []string{p}
		adm2[i].Baseline = indicators.Baseline{}
	}
	for _, p := range order {
		var polys []orb.Polygon
		for _, i := range kids[p] {
			polys = append(polys, adm2[i].Geometry.(orb.Polygon))
		}
		out = append(out, indicators.Area{Code: p, Name: "Region " + p[4:], Level: 1, Geometry: outline(polys)})
	}
	return append(out, adm2...)
}

// outline is the union of polygons that tile a region with exactly shared
// edges: every directed edge whose reverse is also present is inner.
func outline(polys []orb.Polygon) orb.Polygon {
	type edge struct{ a, b orb.Point }
	has := map[edge]bool{}
	for _, p := range polys {
		r := p[0]
		for i := 0; i+1 < len(r); i++ {
			has[edge{r[i], r[i+1]}] = true
		}
	}
	next := map[orb.Point]orb.Point{}
	var start orb.Point
	for e := range has {
		if !has[edge{e.b, e.a}] {
			next[e.a] = e.b
			if e.a[0] < start[0] || len(next) == 1 || (e.a[0] == start[0] && e.a[1] < start[1]) {
				start = e.a
			}
		}
	}
	ring := orb.Ring{start}
	for p := next[start]; p != start && len(ring) <= len(next); p = next[p] {
		ring = append(ring, p)
	}
	return orb.Polygon{append(ring, start)}
}

// writeLayers writes the footprints as 10 layer files (6 observed flood, 2
// landslide, 2 forecast flood) and, for the Python side, one file of all.
// With moved, 10% of the footprints (two per file) are shifted 0.05° east.
func writeLayers(dir string, s bench.Size, moved bool) error {
	fps := bench.Shapes(s, seed).Footprints
	if err := os.MkdirAll(filepath.Join(dir, "layers"), 0o755); err != nil {
		return err
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	files := make([]*geojson.FeatureCollection, layerFiles)
	for i := range files {
		files[i] = geojson.NewFeatureCollection()
	}
	all := geojson.NewFeatureCollection()
	for i, fp := range fps {
		g := fp.Geometry
		if moved && (i/layerFiles)%10 == 0 {
			g = orb.Polygon{append(orb.Ring(nil), g[0]...)}
			for k := range g[0] {
				g[0][k][0] += 0.05
			}
		}
		f := geojson.NewFeature(g)
		f.Properties["event_id"] = fp.ID
		f.Properties["class"] = []string{"Low", "Medium", "High"}[i%3]
		f.Properties["depth_m"] = 0.5 + float64(i%7)*0.4
		f.Properties["issued"] = day.Format(time.RFC3339)
		f.Properties["valid_from"] = day.Add(time.Duration(12+24*(i%5)) * time.Hour).Format(time.RFC3339)
		files[i%layerFiles].Append(f)
		a := geojson.NewFeature(g)
		a.Properties["fp"], a.Properties["id"] = i, fp.ID
		all.Append(a)
	}
	for i, fc := range files {
		writeJSON(filepath.Join(dir, "layers", fmt.Sprintf("layer%d.geojson", i)), fc)
	}
	writeJSON(filepath.Join(dir, "footprints.geojson"), all)
	return nil
}

func configYAML(dir string) string {
	var b strings.Builder
	b.WriteString(`# generated by test/benche2e (make bench-e2e)
geosight:
  url: embedded
  dataset: 6f3a2c1e-0000-4000-8000-000000000001
geographies:
  from: file
  files:
    - {path: areas.geojson, code_property: ucode, name_property: name, level_property: admin_level, parent_property: parent}
population:
  grid: pop.tif
  under18_grid: under18.tif
log: {level: warn}
http: {listen: ""}
state_dir: state
output: {dir: preview}
sources:
`)
	for i := 0; i < layerFiles; i++ {
		typ, phase := "flood", "observed"
		switch {
		case i >= 8:
			phase = "forecast"
		case i >= 6:
			typ = "landslide"
		}
		fmt.Fprintf(&b, `  layer%d:
    type: layer
    url: file://%s
    interval: 10m
    hazard_type: %s
    phase: %s
    event_id_property: event_id
    severity: {property: class, map: {high: red, medium: orange, low: green}}
    intensity: {property: depth_m, unit: m}
    issued: {property: issued}
    valid_from: {property: valid_from}
`, i, filepath.Join(dir, "layers", fmt.Sprintf("layer%d.geojson", i)), typ, phase)
	}
	b.WriteString(`indicators:
  - {shortcode: HS_FL_PRES, name: Flood present, type: Integer, recipe: hazard_presence, params: {hazard_types: [flood], phase: observed}, rollup_from: 2, aggregation: MAX(value)}
  - {shortcode: HS_FL_ALERT, name: Flood alert, type: String, codes: [none, green, orange, red], recipe: alert_level, params: {hazard_types: [flood], phase: observed}, rollup_from: 2, aggregation: MAX(value)}
  - {shortcode: HS_FL_DEPTH, name: Flood depth, type: Float, unit: m, recipe: max_intensity, params: {hazard_types: [flood], phase: observed, unit: m}, admin_levels: [2]}
  - {shortcode: HS_FL_POP, name: People in floods, type: Integer, unit: people, recipe: population_exposed, params: {hazard_types: [flood], phase: observed}, rollup_from: 2, aggregation: SUM(value)}
  - {shortcode: HS_FL_CHILD, name: Children in floods, type: Integer, unit: children, recipe: children_exposed, params: {hazard_types: [flood], phase: observed, min_severity: orange}, rollup_from: 2, aggregation: SUM(value)}
  - {shortcode: HS_FL_KM2, name: Flooded km2, type: Float, unit: km2, recipe: area_exposed_km2, params: {hazard_types: [flood], phase: observed}, admin_levels: [2]}
  - {shortcode: HS_LS_ALERT, name: Landslide alert, type: String, codes: [none, green, orange, red], recipe: alert_level, params: {hazard_types: [landslide], phase: observed}, admin_levels: [2]}
  - shortcode: HS_MHI
    name: Multi-hazard index
    type: Float
    recipe: multi_hazard_index
    params:
      method: probabilistic_or
      components:
        - {name: flood, hazard_types: [flood]}
        - {name: landslide, hazard_types: [landslide]}
    rollup_from: 2
    aggregation: MAX(value)
  - {shortcode: HS_EW_FLOOD, name: Flood early warning, type: String, codes: [none, watch, warning, alert], recipe: early_warning_level, params: {trigger: river_flood}, admin_levels: [2]}
  - {shortcode: HS_EW_LEAD, name: Flood lead time, type: Float, unit: hours, recipe: lead_time_hours, params: {trigger: river_flood, level: warning}, admin_levels: [2]}
  - {shortcode: HS_EW_CHILD, name: Children at risk of floods, type: Integer, unit: children, recipe: children_at_risk, params: {trigger: river_flood, level: warning}, admin_levels: [2]}
`)
	return b.String()
}

type timing struct {
	wall, cpu float64
	sent      int // values delivered (sent= of the summary line)
}

// medianTiming is the median wall and the median CPU of some runs.
func medianTiming(ts []timing) timing {
	w, c := make([]float64, len(ts)), make([]float64, len(ts))
	for i, t := range ts {
		w[i], c[i] = t.wall, t.cpu
	}
	slices.Sort(w)
	slices.Sort(c)
	return timing{wall: w[len(w)/2], cpu: c[len(c)/2]}
}

// runOnce runs one `once --dry-run` process and reports wall, CPU, peak RSS.
func runOnce(dir, bin, label string) timing { return runOnceAs(dir, bin, label, true) }

// runOnceAs runs `once`, a dry run or a real one (delivering to the
// embedded GeoSight).
func runOnceAs(dir, bin, label string, dry bool) timing {
	args := []string{"once", "--config", filepath.Join(dir, "hazardsync.yaml")}
	if dry {
		args = append(args, "--dry-run", "--out", filepath.Join(dir, "preview"))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0).Seconds()
	if err != nil {
		log.Fatalf("%s: %v\n%s", label, err, out.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := tv(ru.Utime) + tv(ru.Stime)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	fmt.Printf("  %-52s wall %6.2f s  CPU %6.2f s  peak RSS %5.0f MB  [%s]\n", label, wall, cpu, float64(ru.Maxrss)/1024, last)
	t := timing{wall: wall, cpu: cpu}
	for _, f := range strings.Fields(last) {
		if n, ok := strings.CutPrefix(f, "sent="); ok {
			t.sent, _ = strconv.Atoi(n)
		}
	}
	return t
}

type syncResult struct {
	Name, Key                                  string
	WallS, CPUS, OverlayS, FetchS, FetchCPUS   float64
	Footprints, Computed, Reused, Hits, Values int
	// AllocMB is what the sync allocated on the Go heap, GCs the
	// collections it ran: with the precompute off the heap, the GC's
	// headroom is the small rest, so allocation is what GC CPU follows.
	AllocMB float64
	GCs     uint32
	GCCPUS  float64 // CPU the GC spent during the sync (runtime/metrics)
	// PeakRSS is the process's peak resident set at the end of the sync:
	// which sync set the high-water mark.
	PeakRSS float64
}

// gcCPU is the CPU the GC has used so far (an estimate the runtime keeps).
func gcCPU() float64 {
	m := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return m[0].Value.Float64()
}

type childResult struct {
	StartS  float64
	Syncs   []syncResult
	PeakRSS float64
	// StartPeakRSS is the peak before the first sync (daemon start).
	StartPeakRSS float64
	EngineBytes  float64
	// At the end: resident anonymous and file-backed memory (the
	// precompute is a mapped file), the Go heap's and the Go runtime's
	// memory from the OS not returned to it.
	RSSAnon, RSSFile, HeapSys, GoSys float64
	ExtentBytes                      float64
	// EdgeBytes is the engine's per-area edge index (exact clips), built
	// during syncs and kept.
	EdgeBytes float64
	HeapInUse float64
}

// layersFromAnotherProcess rewrites the layer files (moved or not) from a
// child process, so what the measured process allocates and holds is the
// daemon's own, not the harness's JSON.
func layersFromAnotherProcess(dir string, small, moved bool) {
	self, err := os.Executable()
	must(err)
	args := []string{"-child", "layers", "-dir", dir}
	if moved {
		args[1] = "layers-moved"
	}
	if small {
		args = append(args, "-small")
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	must(cmd.Run())
}

// prebuild starts a daemon that is not a dry run (so the prepared areas and
// the grid engine's precompute are written to the state dir) and stops it.
func prebuild(dir string) {
	must(os.Chdir(dir))
	path := filepath.Join(dir, "hazardsync.yaml")
	cfg, err := config.Load(path, config.Overrides{})
	must(err)
	d, err := daemon.New(context.Background(), cfg, daemon.Options{ConfigPath: path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(err)
	d.Close()
}

// runChild is the daemon-like process: one daemon, several syncs.
func runChild(dir string, s bench.Size, profile string, profileSync, profileRepeat int, dump string) {
	ctx := context.Background()
	must(os.Chdir(dir)) // state_dir is relative, as for the `once` processes
	t0 := time.Now()
	path := filepath.Join(dir, "hazardsync.yaml")
	cfg, err := config.Load(path, config.Overrides{})
	must(err)
	d, err := daemon.New(ctx, cfg, daemon.Options{ConfigPath: path, DryRun: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(err)
	defer d.Close()
	r := childResult{StartS: time.Since(t0).Seconds(), StartPeakRSS: vmHWM()}
	startCPU := func() {
		f, err := os.Create(profile + ".cpu")
		must(err)
		must(pprof.StartCPUProfile(f))
	}
	if profile != "" {
		if profileSync == 0 {
			startCPU()
		}
		defer func() {
			pprof.StopCPUProfile()
			runtime.GC()
			h, err := os.Create(profile + ".heap")
			must(err)
			must(pprof.WriteHeapProfile(h))
			must(h.Close())
		}()
	}
	sync := func(name, key string) {
		// Fetch every source (in parallel, as Runner.Once does), then
		// sync; timed apart: a daemon fetches each source on its own
		// schedule, and the sync is what the targets are about.
		c0, t := cpuNow(), time.Now()
		var wg gosync.WaitGroup
		for src := range cfg.Sources {
			wg.Add(1)
			go func() {
				defer wg.Done()
				must(d.Runner.FetchSource(ctx, src))
			}()
		}
		wg.Wait()
		fetchS, fetchCPU := time.Since(t).Seconds(), cpuNow()-c0
		one := profile != "" && profileSync == len(r.Syncs)+1
		if one {
			// A heap profile before and after: `pprof -diff_base
			// FILE.sync0.heap FILE.sync1.heap` is what this sync allocated.
			writeHeap(profile + ".sync0.heap")
			startCPU()
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		g0 := gcCPU()
		c0, t = cpuNow(), time.Now()
		if one && (profileSync == 2 || profileSync == 4) {
			for range profileRepeat - 1 {
				_, err := d.Runner.Sync(ctx, runner.SyncOptions{DryRun: true})
				must(err)
			}
			runtime.ReadMemStats(&m0)
			g0 = gcCPU()
			c0, t = cpuNow(), time.Now()
		}
		res, err := d.Runner.Sync(ctx, runner.SyncOptions{DryRun: true})
		must(err)
		if one {
			pprof.StopCPUProfile()
		}
		wall, cpu := time.Since(t).Seconds(), cpuNow()-c0
		runtime.ReadMemStats(&m1)
		gcS := gcCPU() - g0
		if one {
			writeHeap(profile + ".sync1.heap")
		}
		if dump != "" {
			writeJSON(fmt.Sprintf("%s.%d.json", dump, len(r.Syncs)+1), [][]indicators.Value{res.Current, res.Changed})
		}
		r.Syncs = append(r.Syncs, syncResult{Name: name, Key: key, WallS: wall, CPUS: cpu,
			AllocMB: mb(float64(m1.TotalAlloc - m0.TotalAlloc)), GCs: m1.NumGC - m0.NumGC, GCCPUS: gcS,
			FetchS: fetchS, FetchCPUS: fetchCPU,
			OverlayS: res.Overlay.Duration.Seconds(), Footprints: res.Overlay.Footprints, Computed: res.Overlay.Computed,
			Reused: res.Overlay.Reused, Hits: res.Overlay.Pairs, Values: len(res.Current), PeakRSS: vmHWM()})
	}
	sync("cold (first sync)", "cold")
	sync("nothing changed", "nothing changed")
	layersFromAnotherProcess(dir, s == small, true)
	sync("10% of footprints moved", "10% moved")
	sync("nothing changed again", "")
	layersFromAnotherProcess(dir, s == small, false)
	if pb, ok := d.Runner.Exposure().(interface{ PrecomputeBytes() int }); ok {
		r.EngineBytes = float64(pb.PrecomputeBytes())
	}
	if eb, ok := d.Runner.Exposure().(interface{ EdgeBytes() int }); ok {
		r.EdgeBytes = float64(eb.EdgeBytes())
	}
	if xb, ok := d.Runner.Exposure().(interface{ ExtentBytes() int }); ok {
		r.ExtentBytes = float64(xb.ExtentBytes())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.HeapInUse = float64(ms.HeapInuse)
	r.PeakRSS = vmHWM()
	r.RSSAnon, r.RSSFile, r.HeapSys, r.GoSys = procStatus("RssAnon:"), procStatus("RssFile:"), float64(ms.HeapSys-ms.HeapReleased), float64(ms.Sys-ms.HeapReleased)
	must(json.NewEncoder(os.Stdout).Encode(r))
}

// writeHeap writes a heap profile after a collection: allocation counts in
// a profile are as of the last completed GC.
func writeHeap(path string) {
	runtime.GC()
	h, err := os.Create(path)
	must(err)
	must(pprof.WriteHeapProfile(h))
	must(h.Close())
}

type pyRun struct {
	wall, cpu float64
	out       map[string]any
}

func runPy(python, script, dir string) pyRun {
	cmd := exec.Command(python, script, dir)
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("%s: %v (install python3-geopandas python3-gdal: make bench-e2e does)", script, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := pyRun{wall: time.Since(t0).Seconds(), cpu: tv(ru.Utime) + tv(ru.Stime)}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	must(json.Unmarshal([]byte(lines[len(lines)-1]), &r.out))
	return r
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// comparePairs checks the overlay against geopandas on the same files: the
// same (footprint, area) pairs, and km² against its EPSG:6933 areas.
func comparePairs(dir string, s bench.Size) {
	f, err := os.Open(filepath.Join(dir, "geopandas_pairs.csv"))
	must(err)
	defer f.Close()
	gp := map[[2]int]float64{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header fp,area,km2
	for sc.Scan() {
		p := strings.Split(sc.Text(), ",")
		fp, _ := strconv.Atoi(p[0])
		ar, _ := strconv.Atoi(p[1])
		km2, _ := strconv.ParseFloat(p[2], 64)
		gp[[2]int{fp, ar}] += km2
	}
	ov := indicators.NewOverlay(countryAreas(s), indicators.OverlayOptions{})
	var ours, onlyOurs, both int
	var worst float64
	var worstAt [2]int
	var rels []float64
	for i, fp := range bench.Shapes(s, seed).Footprints {
		for _, p := range ov.Measure(fp.Geometry) {
			ours++
			g, ok := gp[[2]int{i, p.Area}]
			if !ok {
				onlyOurs++
				continue
			}
			both++
			rel := math.Abs(p.Km2-g) / math.Max(g, 1e-9)
			rels = append(rels, rel)
			if rel > worst {
				worst, worstAt = rel, [2]int{i, p.Area}
			}
		}
	}
	slices.Sort(rels)
	pct := func(q float64) float64 {
		if len(rels) == 0 {
			return math.NaN()
		}
		return rels[int(q*float64(len(rels)-1))]
	}
	fmt.Printf("  overlay: the areas it prepared hold %.1f MB (projected vertices + edge index; a daemon keeps them between syncs only with memory.keep_overlay_areas)\n", mb(float64(ov.IndexBytes())))
	fmt.Printf("  pairs: hazardsync %d, geopandas %d, in both %d, only hazardsync %d, only geopandas %d; km² relative difference median %.1e, p99 %.1e, max %.1e (footprint %d, area %d; geopandas intersects in lon/lat, then measures each piece with its edges straight in EPSG:6933)\n",
		ours, len(gp), both, onlyOurs, len(gp)-both, pct(0.5), pct(0.99), worst, worstAt[0], worstAt[1])
}

func cpuNow() float64 {
	var ru syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// vmHWM is the process's peak resident set in bytes.
func vmHWM() float64 { return procStatus("VmHWM:") }

// procStatus is a size field of /proc/self/status in bytes.
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	must(err)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return math.NaN()
}

// dirBytes sums the sizes of files under root whose names contain any of
// the markers.
func dirBytes(root string, markers ...string) float64 {
	var n int64
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		for _, m := range markers {
			if strings.Contains(info.Name(), m) {
				n += info.Size()
				break
			}
		}
		return nil
	})
	return float64(n)
}

func writeJSON(path string, v any) {
	b, err := json.Marshal(v)
	must(err)
	must(os.WriteFile(path, b, 0o644))
}

func mb(b float64) float64 { return b / 1e6 }

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// runOnceInProcess is `hazardsync once --dry-run` in this process, with the
// peak RSS after each phase (start, sync, preview) on stdout. With profile,
// it writes a CPU profile of the whole run (FILE.cpu) and a heap profile
// each time the heap in use reaches a new high (FILE.peak.heap: what was
// live at the last collection before the peak).
func runOnceInProcess(dir, profile string) {
	ctx := context.Background()
	must(os.Chdir(dir))
	if profile != "" {
		f, err := os.Create(profile + ".cpu")
		must(err)
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
		stop := make(chan struct{})
		done := make(chan struct{})
		defer func() { close(stop); <-done }()
		go func() {
			defer close(done)
			var hi uint64
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > hi+16<<20 {
					hi = ms.HeapInuse
					h, err := os.Create(profile + ".peak.heap")
					must(err)
					must(pprof.WriteHeapProfile(h))
					must(h.Close())
					fmt.Fprintf(os.Stderr, "heap in use %.0f MB (live at last GC %.0f MB), RSS peak %.0f MB\n", mb(float64(ms.HeapInuse)), mb(float64(ms.NextGC)/1.25), mb(vmHWM()))
				}
			}
		}()
	}
	t0, c0 := time.Now(), cpuNow()
	phase := func(name string) {
		fmt.Printf("    %-10s wall %6.2f s  CPU %6.2f s  peak RSS so far %5.0f MB\n", name, time.Since(t0).Seconds(), cpuNow()-c0, mb(vmHWM()))
		t0, c0 = time.Now(), cpuNow()
	}
	path := filepath.Join(dir, "hazardsync.yaml")
	cfg, err := config.Load(path, config.Overrides{})
	must(err)
	d, err := daemon.New(ctx, cfg, daemon.Options{ConfigPath: path, DryRun: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	must(err)
	defer d.Close()
	phase("start")
	res, err := d.Once(ctx, runner.SyncOptions{DryRun: true})
	must(err)
	phase("once")
	// Labelled so the CPU profile can be cut to the preview
	// (-tagfocus=phase=preview), its goroutines included.
	pprof.Do(ctx, pprof.Labels("phase", "preview"), func(context.Context) {
		_, err = d.WritePreview(filepath.Join(dir, "preview"), res)
	})
	must(err)
	phase("preview")
}
