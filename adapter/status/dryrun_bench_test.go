package status

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
)

// benchCountry is a country shaped like make bench-e2e's: nx×ny admin-2
// squares whose sides have seg segments (full-precision coordinates, shared
// exactly by neighbours), under provinces of 8×7 districts, with ~7 values
// per area carrying attributes like the recipes'.
func benchCountry(nx, ny, seg int) ([]indicators.Area, []indicators.Definition, []indicators.Value) {
	const dx, dy = 1 / 7.3, 1 / 7.1
	corner := func(i, j int) orb.Point { return orb.Point{float64(i) * dx, float64(j) * dy} }
	// edge is the points from corner (i0,j0) to (i1,j1), without the last;
	// computed in one direction so both neighbours get the same floats.
	edge := func(i0, j0, i1, j1 int) []orb.Point {
		rev := i1 < i0 || j1 < j0
		if rev {
			i0, j0, i1, j1 = i1, j1, i0, j0
		}
		a, b := corner(i0, j0), corner(i1, j1)
		pts := make([]orb.Point, seg+1)
		for k := range pts {
			t := float64(k) / float64(seg)
			pts[k] = orb.Point{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t}
		}
		if rev {
			for l, r := 0, len(pts)-1; l < r; l, r = l+1, r-1 {
				pts[l], pts[r] = pts[r], pts[l]
			}
		}
		return pts[:seg]
	}
	rect := func(i0, j0, i1, j1 int) orb.Polygon {
		var r orb.Ring
		for i := i0; i < i1; i++ {
			r = append(r, edge(i, j0, i+1, j0)...)
		}
		for j := j0; j < j1; j++ {
			r = append(r, edge(i1, j, i1, j+1)...)
		}
		for i := i1; i > i0; i-- {
			r = append(r, edge(i, j1, i-1, j1)...)
		}
		for j := j1; j > j0; j-- {
			r = append(r, edge(i0, j, i0, j-1)...)
		}
		return orb.Polygon{append(r, r[0])}
	}
	var areas []indicators.Area
	pop := func(i int) *float64 { p := float64(1000+i*37%5000) + 0.25; return &p }
	for pi := 0; pi < nx/8; pi++ {
		for pj := 0; pj < ny/7; pj++ {
			areas = append(areas, indicators.Area{Code: fmt.Sprintf("BX_%02d_%02d", pi, pj), Name: fmt.Sprintf("Province %d-%d", pi, pj), Level: 1,
				Geometry: rect(pi*8, pj*7, pi*8+8, pj*7+7), Baseline: indicators.Baseline{Population: pop(pi*100 + pj)}})
		}
	}
	for i := range nx {
		for j := range ny {
			areas = append(areas, indicators.Area{Code: fmt.Sprintf("BX_%02d_%02d_%02d", i/8, i, j), Name: fmt.Sprintf("District %d-%d", i, j), Level: 2,
				Parents: []string{fmt.Sprintf("BX_%02d_%02d", i/8, j/7)}, Geometry: rect(i, j, i+1, j+1),
				Baseline: indicators.Baseline{Population: pop(i*100 + j), Under18: pop(j*100 + i)}})
		}
	}
	var defs []indicators.Definition
	for k := range 11 {
		d := indicators.Definition{Shortcode: fmt.Sprintf("HS_IND_%02d", k), Name: fmt.Sprintf("Indicator %d", k), Type: indicators.Float}
		if k%4 == 3 {
			d.Type, d.Codes = indicators.String, []string{"none", "watch", "warning", "alert"}
		}
		defs = append(defs, d)
	}
	var values []indicators.Value
	for n, a := range areas {
		for k, d := range defs {
			if (n+k)%3 == 0 {
				continue
			}
			v := indicators.Value{Indicator: d.Shortcode, Code: a.Code, AdminLevel: a.Level, Date: "2026-12-03", Type: d.Type, Number: float64(n*k%9973) * 1.5,
				Attributes: map[string]any{"events": fmt.Sprintf("layer:layer%d:blob-%03d@sha256:b00c42a9ce81786c90f25b41", k, n%200),
					"method": "grid-exact", "phase": "forecast", "note": "forecast, not an activation", "trigger": "river_flood", "window": "readiness"}}
			if d.Type == indicators.String {
				v.Text = d.Codes[n%4]
			}
			values = append(values, v)
		}
	}
	return areas, defs, values
}

// BenchmarkWriteDryRunCountry is the dry-run preview of a country the size
// of make bench-e2e's (5,130 areas of ~300 vertices, ~37,600 values), all
// values to be sent. cpu-s/op is the process's CPU time (every goroutine,
// the GC included) per preview: on a shared machine, compare it with a
// baseline measured in the same run.
func BenchmarkWriteDryRunCountry(b *testing.B) {
	areas, defs, values := benchCountry(72, 70, 75)
	dir := b.TempDir()
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := WriteDryRun(dir, areas, defs, values, values); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((processCPU()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
