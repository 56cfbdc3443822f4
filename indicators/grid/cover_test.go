package grid

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/stretchr/testify/require"
)

// unitGeo maps lon/lat 1:1 onto cells: cell (r,c) spans lon [c,c+1] and lat
// [H-r-1, H-r], so expected fractions are easy to write down.
func unitGeo(h int) Geo { return Geo{X0: 0, Y0: float64(h), DX: 1, DY: 1} }

func rect(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

// overlap1D is the length of [a,b]∩[c,d].
func overlap1D(a, b, c, d float64) float64 { return math.Max(0, math.Min(b, d)-math.Max(a, c)) }

// clipOracle is an independent per-cell reference: a Sutherland–Hodgman clip
// of each ring to the cell box, then its shoelace area. Clipping against a
// convex box keeps the area right even for concave polygons. (orb's
// clip.Ring drops corner pieces of some rings, so it is not used here.)
func clipOracle(p orb.Polygon, geo Geo, h, row, col int) float64 {
	x0 := geo.X0 + float64(col)*geo.DX
	y1 := geo.Y0 - float64(row)*geo.DY
	b := orb.Bound{Min: orb.Point{x0, y1 - geo.DY}, Max: orb.Point{x0 + geo.DX, y1}}
	var a float64
	for i, r := range p {
		cr := shClip(r, b)
		if len(cr) < 3 {
			continue
		}
		ra := math.Abs(planar.Area(cr))
		if i == 0 {
			a += ra
		} else {
			a -= ra
		}
	}
	return a / (geo.DX * geo.DY)
}

func TestRasterizeAnalytic(t *testing.T) {
	const w, h = 12, 10
	geo := unitGeo(h)
	cases := []struct {
		name string
		poly orb.Polygon
		want func(row, col int) float64
	}{
		{"aligned rectangle with fractional edges", orb.Polygon{rect(1.25, 2.5, 7.75, 8.125)},
			func(r, c int) float64 {
				lat0 := float64(h - r - 1)
				return overlap1D(1.25, 7.75, float64(c), float64(c+1)) * overlap1D(2.5, 8.125, lat0, lat0+1)
			}},
		{"clockwise rectangle (orientation ignored)", orb.Polygon{orb.Ring{{2.5, 1.5}, {2.5, 4.5}, {6.5, 4.5}, {6.5, 1.5}}},
			func(r, c int) float64 {
				lat0 := float64(h - r - 1)
				return overlap1D(2.5, 6.5, float64(c), float64(c+1)) * overlap1D(1.5, 4.5, lat0, lat0+1)
			}},
		{"rectangle with a hole", orb.Polygon{rect(0.5, 0.5, 10.5, 9.5), rect(3.25, 3.75, 6.5, 6.25)},
			func(r, c int) float64 {
				lat0 := float64(h - r - 1)
				outer := overlap1D(0.5, 10.5, float64(c), float64(c+1)) * overlap1D(0.5, 9.5, lat0, lat0+1)
				hole := overlap1D(3.25, 6.5, float64(c), float64(c+1)) * overlap1D(3.75, 6.25, lat0, lat0+1)
				return outer - hole
			}},
		{"rectangle sticking out of the grid", orb.Polygon{rect(-3.5, -2, 4.5, 12)},
			func(r, c int) float64 { return overlap1D(-3.5, 4.5, float64(c), float64(c+1)) }},
		{"half-plane x+y<=9.3 (big triangle)", orb.Polygon{orb.Ring{{-100, -100}, {109.3, -100}, {-100, 109.3}}},
			func(r, c int) float64 {
				// ∫∫ over the cell of [x+y<=k]: analytic for a unit square.
				k := 9.3 - float64(c) - float64(h-r-1)
				switch {
				case k <= 0:
					return 0
				case k <= 1:
					return k * k / 2
				case k <= 2:
					return 1 - (2-k)*(2-k)/2
				}
				return 1
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cov := Rasterize(tc.poly, geo, w, h)
			for r := 0; r < h; r++ {
				for c := 0; c < w; c++ {
					require.InDelta(t, tc.want(r, c), cov.At(r, c), 1e-9, "cell row %d col %d", r, c)
				}
			}
		})
	}
}

func TestRasterizeCircleAndRandomPolygonsMatchClipOracle(t *testing.T) {
	const w, h = 60, 50
	geo := Geo{X0: 59, Y0: 15, DX: 0.1, DY: 0.1}
	rng := rand.New(rand.NewPCG(1, 2))
	var polys []orb.Polygon
	// A 256-gon "circle": its exact area is its shoelace area.
	circle := orb.Ring{}
	for i := 0; i < 256; i++ {
		a := 2 * math.Pi * float64(i) / 256
		circle = append(circle, orb.Point{62 + 1.13*math.Cos(a), 12.5 + 1.13*math.Sin(a)})
	}
	polys = append(polys, orb.Polygon{circle})
	// Star-shaped random polygons (concave), some with a hole.
	for n := 0; n < 20; n++ {
		cx, cy := 60.5+rng.Float64()*3, 11.5+rng.Float64()*2
		var ring orb.Ring
		k := 5 + rng.IntN(60)
		for i := 0; i < k; i++ {
			a := 2 * math.Pi * float64(i) / float64(k)
			rad := 0.2 + rng.Float64()*1.2
			ring = append(ring, orb.Point{cx + rad*math.Cos(a), cy + rad*math.Sin(a)})
		}
		p := orb.Polygon{ring}
		if n%3 == 0 {
			p = append(p, orb.Ring{{cx - 0.1, cy - 0.1}, {cx - 0.1, cy + 0.12}, {cx + 0.13, cy + 0.12}, {cx + 0.13, cy - 0.1}})
		}
		polys = append(polys, p)
	}
	for i, p := range polys {
		cov := Rasterize(p, geo, w, h)
		var sum float64
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				want := clipOracle(p, geo, h, r, c)
				require.InDelta(t, want, cov.At(r, c), 1e-9, "polygon %d cell %d,%d", i, r, c)
				sum += cov.At(r, c)
			}
		}
		// Conservation: Σ fractions × cell area = polygon area.
		area := math.Abs(planar.Area(p[0]))
		for _, hole := range p[1:] {
			area -= math.Abs(planar.Area(hole))
		}
		require.InDelta(t, 1, sum*geo.DX*geo.DY/area, 1e-9, "polygon %d", i)
		require.InDelta(t, sum, cov.CellSum(w), 1e-9)
	}
}

func TestRasterizeTilingConserves(t *testing.T) {
	// A jittered mesh of quads that tile the grid: per cell, the fractions of
	// all pieces sum to 1.
	const w, h = 25, 20
	geo := unitGeo(h)
	rng := rand.New(rand.NewPCG(3, 4))
	const nx, ny = 6, 5
	var pts [nx + 1][ny + 1]orb.Point
	for i := 0; i <= nx; i++ {
		for j := 0; j <= ny; j++ {
			x, y := float64(i)*w/nx, float64(j)*h/ny
			if i > 0 && i < nx {
				x += rng.Float64()*2 - 1
			}
			if j > 0 && j < ny {
				y += rng.Float64()*2 - 1
			}
			pts[i][j] = orb.Point{x, y}
		}
	}
	total := make([]float64, w*h)
	for i := 0; i < nx; i++ {
		for j := 0; j < ny; j++ {
			p := orb.Polygon{{pts[i][j], pts[i+1][j], pts[i+1][j+1], pts[i][j+1]}}
			cov := Rasterize(p, geo, w, h)
			for r := 0; r < h; r++ {
				for c := 0; c < w; c++ {
					total[r*w+c] += cov.At(r, c)
				}
			}
		}
	}
	for i, v := range total {
		require.InDelta(t, 1, v, 1e-9, "cell %d", i)
	}
}

func TestRasterizeMultiPolygonAntimeridianSplit(t *testing.T) {
	// A grid across lon 179..181 written as -180..180 would not exist; an
	// antimeridian-split footprint arrives as two parts, and only the part
	// on the grid counts.
	geo := Geo{X0: 170, Y0: 10, DX: 1, DY: 1}
	mp := orb.MultiPolygon{
		{rect(175.5, 2, 180, 6)},
		{rect(-180, 2, -175.5, 6)},
	}
	cov := Rasterize(mp, geo, 10, 10)
	require.InDelta(t, 4.5*4, cov.CellSum(10), 1e-9)
	require.InDelta(t, 0.5, cov.At(5, 5), 1e-12)
}

func shClip(r orb.Ring, b orb.Bound) orb.Ring {
	out := append(orb.Ring(nil), r...)
	if len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	edges := []struct {
		inside func(p orb.Point) bool
		cut    func(p, q orb.Point) orb.Point
	}{
		{func(p orb.Point) bool { return p[0] >= b.Min[0] }, func(p, q orb.Point) orb.Point {
			t := (b.Min[0] - p[0]) / (q[0] - p[0])
			return orb.Point{b.Min[0], p[1] + t*(q[1]-p[1])}
		}},
		{func(p orb.Point) bool { return p[0] <= b.Max[0] }, func(p, q orb.Point) orb.Point {
			t := (b.Max[0] - p[0]) / (q[0] - p[0])
			return orb.Point{b.Max[0], p[1] + t*(q[1]-p[1])}
		}},
		{func(p orb.Point) bool { return p[1] >= b.Min[1] }, func(p, q orb.Point) orb.Point {
			t := (b.Min[1] - p[1]) / (q[1] - p[1])
			return orb.Point{p[0] + t*(q[0]-p[0]), b.Min[1]}
		}},
		{func(p orb.Point) bool { return p[1] <= b.Max[1] }, func(p, q orb.Point) orb.Point {
			t := (b.Max[1] - p[1]) / (q[1] - p[1])
			return orb.Point{p[0] + t*(q[0]-p[0]), b.Max[1]}
		}},
	}
	for _, e := range edges {
		in := out
		out = nil
		for i := range in {
			p, q := in[i], in[(i+1)%len(in)]
			pi, qi := e.inside(p), e.inside(q)
			switch {
			case pi && qi:
				out = append(out, q)
			case pi && !qi:
				out = append(out, e.cut(p, q))
			case !pi && qi:
				out = append(out, e.cut(p, q), q)
			}
		}
		if len(out) == 0 {
			return nil
		}
	}
	return append(out, out[0])
}
