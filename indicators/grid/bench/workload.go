// Package bench generates the deterministic exposure workload of
// /work/shared/geo-compute.md §4.1 (5,040 areas of 200 vertices tiling
// 0–10°E × 0–10°N, 200 hazard footprints, a 10,000 × 10,000 population grid
// at 0.001°) for the Go benchmarks and the side-by-side comparison with
// geopandas and GDAL.
package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/paulmach/orb"
)

// Size of the workload; Small shrinks everything for quick checks.
type Size struct {
	Cells        int // grid edge (cells)
	AreasX       int // areas across
	AreasY       int
	EdgeSegments int // segments per area edge (4× = vertices)
	Footprints   int // circles; blobs, cones and quakes scale with it
}

var (
	// Full is the measured workload: 1e8 cells, 5,040 areas, 200 footprints.
	Full = Size{Cells: 10000, AreasX: 72, AreasY: 70, EdgeSegments: 50, Footprints: 200}
	// Small runs in a second, for the comparison's smoke test.
	Small = Size{Cells: 1000, AreasX: 12, AreasY: 10, EdgeSegments: 10, Footprints: 20}
)

// Footprint is one generated hazard footprint.
type Footprint struct {
	ID       string
	Kind     string // circle, blob, cone, quake
	Geometry orb.Polygon
}

// Workload is areas, footprints and the grid layers.
type Workload struct {
	Geo        grid.Geo
	Width      int
	Height     int
	Pop, U18   []float32
	Areas      []indicators.Area
	Footprints []Footprint
}

// NoData marks lakes and sea in the population layer.
const NoData = -99999

// Generate builds the workload deterministically from seed.
func Generate(s Size, seed uint64) *Workload {
	w := &Workload{Geo: grid.Geo{X0: 0, Y0: 10, DX: 10 / float64(s.Cells), DY: 10 / float64(s.Cells)}, Width: s.Cells, Height: s.Cells}
	w.Areas = areas(s, seed)
	w.Footprints = footprints(s, seed)
	w.Pop, w.U18 = population(s, w.Geo, seed)
	return w
}

// Shapes is Generate without the grid layers: the areas and footprints of
// the same workload, for a process that reads the grid from GeoTIFFs.
func Shapes(s Size, seed uint64) *Workload {
	w := &Workload{Geo: grid.Geo{X0: 0, Y0: 10, DX: 10 / float64(s.Cells), DY: 10 / float64(s.Cells)}, Width: s.Cells, Height: s.Cells}
	w.Areas = areas(s, seed)
	w.Footprints = footprints(s, seed)
	return w
}

// hash01 is a deterministic value in [0,1) from integers.
func hash01(a, b, c uint64) float64 {
	x := a*0x9E3779B97F4A7C15 ^ b*0xC2B2AE3D27D4EB4F ^ c*0x165667B19E3779F9
	x ^= x >> 33
	x *= 0xFF51AFD7ED558CCD
	x ^= x >> 33
	x *= 0xC4CEB9FE1A85EC53
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}

func areas(s Size, seed uint64) []indicators.Area {
	nx, ny := s.AreasX, s.AreasY
	dx, dy := 10/float64(nx), 10/float64(ny)
	corner := func(i, j int) orb.Point {
		x, y := float64(i)*dx, float64(j)*dy
		if i > 0 && i < nx {
			x += (hash01(seed, uint64(i), uint64(j)*2) - 0.5) * 0.4 * dx
		}
		if j > 0 && j < ny {
			y += (hash01(seed, uint64(i), uint64(j)*2+1) - 0.5) * 0.4 * dy
		}
		return orb.Point{x, y}
	}
	// edge returns the wiggly polyline from corner a to corner b (without
	// b); id keys its wiggle so both neighbours share it exactly.
	edge := func(a, b orb.Point, id uint64, outer bool) []orb.Point {
		n := s.EdgeSegments
		pts := make([]orb.Point, 0, n)
		ex, ey := b[0]-a[0], b[1]-a[1]
		l := math.Hypot(ex, ey)
		amp := 0.06 * math.Min(dx, dy)
		if outer {
			amp = 0
		}
		freq := 1 + math.Floor(hash01(seed, id, 7)*4)
		ph := hash01(seed, id, 8)
		for k := 0; k < n; k++ {
			f := float64(k) / float64(n)
			off := amp * math.Sin(math.Pi*f*freq) * math.Sin(2*math.Pi*(f*3+ph)) * math.Sin(math.Pi*f)
			pts = append(pts, orb.Point{a[0] + f*ex - off*ey/l, a[1] + f*ey + off*ex/l})
		}
		return pts
	}
	rev := func(p []orb.Point, end orb.Point) []orb.Point {
		// p runs a→b without b; reversed it must run b→a without a.
		out := make([]orb.Point, 0, len(p))
		out = append(out, end)
		for k := len(p) - 1; k >= 1; k-- {
			out = append(out, p[k])
		}
		return out
	}
	hid := func(i, j int) uint64 { return uint64(i)*100003 + uint64(j)*2 }
	vid := func(i, j int) uint64 { return uint64(i)*100003 + uint64(j)*2 + 1 }
	var out []indicators.Area
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			c00, c10, c11, c01 := corner(i, j), corner(i+1, j), corner(i+1, j+1), corner(i, j+1)
			var ring orb.Ring
			ring = append(ring, edge(c00, c10, hid(i, j), j == 0)...)
			ring = append(ring, edge(c10, c11, vid(i+1, j), i+1 == nx)...)
			ring = append(ring, rev(edge(c01, c11, hid(i, j+1), j+1 == ny), c11)...)
			ring = append(ring, rev(edge(c00, c01, vid(i, j), i == 0), c01)...)
			ring = append(ring, ring[0])
			out = append(out, indicators.Area{Code: fmt.Sprintf("BX_%02d_%02d", j, i), Name: fmt.Sprintf("Area %d,%d", j, i),
				Level: 2, Geometry: orb.Polygon{ring},
				Baseline: indicators.Baseline{Population: indicators.F(10000), Under18: indicators.F(4200)}})
		}
	}
	return out
}

func blob(c orb.Point, rKm float64, n int, rng *rand.Rand, rough float64) orb.Polygon {
	var harm [6]struct{ a, p float64 }
	for k := range harm {
		harm[k].a = rough * rng.Float64() / float64(k+1)
		harm[k].p = rng.Float64() * 2 * math.Pi
	}
	kx := 111.32 * math.Cos(c[1]*math.Pi/180)
	ring := make(orb.Ring, 0, n+1)
	for i := 0; i < n; i++ {
		th := 2 * math.Pi * float64(i) / float64(n)
		f := 1.0
		for k, h := range harm {
			f += h.a * math.Sin(float64(k+2)*th+h.p)
		}
		r := rKm * math.Max(0.3, f)
		ring = append(ring, orb.Point{c[0] + r*math.Cos(th)/kx, c[1] + r*math.Sin(th)/110.57})
	}
	return orb.Polygon{append(ring, ring[0])}
}

func footprints(s Size, seed uint64) []Footprint {
	rng := rand.New(rand.NewPCG(seed, 77))
	n := s.Footprints
	nCircle, nBlob, nCone, nQuake := n*110/200, n*40/200, n*20/200, n*10/200
	scale := float64(s.Cells) / 10000 // smaller grids keep the same geography
	_ = scale
	var out []Footprint
	pt := func() orb.Point { return orb.Point{0.3 + rng.Float64()*9.4, 0.3 + rng.Float64()*9.4} }
	for i := 0; i < nCircle; i++ {
		r := math.Exp(math.Log(5) + rng.Float64()*(math.Log(80)-math.Log(5)))
		out = append(out, Footprint{fmt.Sprintf("circle-%03d", i), "circle", indicators.Circle(pt(), r, 64).(orb.Polygon)})
	}
	for i := 0; i < nBlob; i++ {
		out = append(out, Footprint{fmt.Sprintf("blob-%03d", i), "blob", blob(pt(), 10+rng.Float64()*40, 400+rng.IntN(401), rng, 0.35)})
	}
	for i := 0; i < nCone; i++ {
		start := pt()
		bearing := rng.Float64() * 2 * math.Pi
		length := 300 + rng.Float64()*600
		w1 := 200 + rng.Float64()*300
		curve := (rng.Float64() - 0.5) * 0.8
		const m = 78
		var left, right orb.Ring
		for k := 0; k <= m; k++ {
			f := float64(k) / m
			b := bearing + curve*f
			// centre line: integrate a gently curving track
			d := length * f
			cx := start[0] + d*math.Cos(bearing+curve*f/2)/(111.32*math.Cos(start[1]*math.Pi/180))
			cy := start[1] + d*math.Sin(bearing+curve*f/2)/110.57
			hw := (60 + (w1-60)*f) / 2
			nxk, nyk := -math.Sin(b), math.Cos(b)
			left = append(left, orb.Point{cx + hw*nxk/(111.32*math.Cos(cy*math.Pi/180)), cy + hw*nyk/110.57})
			right = append(right, orb.Point{cx - hw*nxk/(111.32*math.Cos(cy*math.Pi/180)), cy - hw*nyk/110.57})
		}
		ring := append(orb.Ring{}, right...)
		for k := len(left) - 1; k >= 0; k-- {
			ring = append(ring, left[k])
		}
		out = append(out, Footprint{fmt.Sprintf("cone-%03d", i), "cone", orb.Polygon{append(ring, ring[0])}})
	}
	for i := 0; i < nQuake; i++ {
		c := pt()
		sub := rand.New(rand.NewPCG(seed, uint64(1000+i)))
		for lvl, r := range []float64{70, 40, 20} {
			sub2 := rand.New(rand.NewPCG(sub.Uint64(), 5))
			out = append(out, Footprint{fmt.Sprintf("quake-%03d-mmi%d", i, 6+lvl), "quake", blob(c, r, 360, sub2, 0.15)})
		}
	}
	return out
}

// population is a clustered surface: lognormal-ish rural noise, 400 towns
// as Gaussian peaks, about 7% nodata lakes and sea; under-18 is 35–55% of it
// varying smoothly.
func population(s Size, g grid.Geo, seed uint64) (pop, u18 []float32) {
	n := s.Cells
	pop = make([]float32, n*n)
	u18 = make([]float32, n*n)
	rng := rand.New(rand.NewPCG(seed, 3))
	type town struct{ x, y, sig, peak float64 }
	towns := make([]town, 400)
	for i := range towns {
		towns[i] = town{rng.Float64() * 10, rng.Float64() * 10, 0.005 + rng.Float64()*0.03, 20 + math.Exp(rng.Float64()*5)}
	}
	type lake struct{ x, y, r float64 }
	lakes := make([]lake, 30)
	for i := range lakes {
		lakes[i] = lake{rng.Float64() * 10, rng.Float64() * 10, 0.2 + rng.Float64()*0.4}
	}
	rows := make(chan int, 64)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rows {
				lat := g.Y0 - (float64(r)+0.5)*g.DY
				for c := 0; c < n; c++ {
					h := hash01(seed, uint64(r), uint64(c))
					v := float32(math.Exp(3*h) - 1) // 0 … 19 people
					pop[r*n+c] = v
					lon := g.X0 + (float64(c)+0.5)*g.DX
					u18[r*n+c] = v * float32(0.45+0.1*math.Sin(lon)*math.Cos(lat))
				}
			}
		}()
	}
	for r := 0; r < n; r++ {
		rows <- r
	}
	close(rows)
	wg.Wait()
	// Towns: add each Gaussian inside its 3σ window only.
	for _, t := range towns {
		r0, r1 := int((g.Y0-t.y-3*t.sig)/g.DY), int((g.Y0-t.y+3*t.sig)/g.DY)+1
		c0, c1 := int((t.x-3*t.sig-g.X0)/g.DX), int((t.x+3*t.sig-g.X0)/g.DX)+1
		for r := max(0, r0); r < min(n, r1); r++ {
			dy := g.Y0 - (float64(r)+0.5)*g.DY - t.y
			for c := max(0, c0); c < min(n, c1); c++ {
				dx := g.X0 + (float64(c)+0.5)*g.DX - t.x
				add := float32(t.peak * math.Exp(-(dx*dx+dy*dy)/(2*t.sig*t.sig)))
				pop[r*n+c] += add
				u18[r*n+c] += add * 0.42
			}
		}
	}
	for _, l := range lakes {
		r0, r1 := int((g.Y0-l.y-l.r)/g.DY), int((g.Y0-l.y+l.r)/g.DY)+1
		c0, c1 := int((l.x-l.r-g.X0)/g.DX), int((l.x+l.r-g.X0)/g.DX)+1
		for r := max(0, r0); r < min(n, r1); r++ {
			dy := g.Y0 - (float64(r)+0.5)*g.DY - l.y
			for c := max(0, c0); c < min(n, c1); c++ {
				dx := g.X0 + (float64(c)+0.5)*g.DX - l.x
				if dx*dx+dy*dy < l.r*l.r {
					pop[r*n+c] = NoData
					u18[r*n+c] = NoData
				}
			}
		}
	}
	return pop, u18
}

// Geometries returns the footprints as orb geometries.
func (w *Workload) Geometries() []orb.Geometry {
	out := make([]orb.Geometry, len(w.Footprints))
	for i, f := range w.Footprints {
		out[i] = f.Geometry
	}
	return out
}

// Populated counts cells that are not nodata.
func (w *Workload) Populated() int {
	n := 0
	for _, v := range w.Pop {
		if v != NoData {
			n++
		}
	}
	return n
}
