package grid

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"
)

// The oracles below work in cell coordinates (x = column, y = row, growing
// southwards) on a grid at 0.01°, so a piece's area in cells is exact
// geometry and its km² is that times the row's geodesic cell area.

var oracleGeo = Geo{X0: 30, Y0: -10, DX: 0.01, DY: 0.01}

// lonLat turns cell-coordinate points into a lon/lat ring (closed).
func lonLat(pts ...orb.Point) orb.Ring {
	r := make(orb.Ring, 0, len(pts)+1)
	for _, p := range pts {
		r = append(r, orb.Point{oracleGeo.X0 + p[0]*oracleGeo.DX, oracleGeo.Y0 - p[1]*oracleGeo.DY})
	}
	return append(r, r[0])
}

func box(x0, y0, x1, y1 float64) []orb.Point {
	return []orb.Point{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

// ngon is a regular n-gon (a polygonal circle), convex.
func ngon(cx, cy, r float64, n int, rot float64) []orb.Point {
	out := make([]orb.Point, n)
	for i := range out {
		a := rot + 2*math.Pi*float64(i)/float64(n)
		out[i] = orb.Point{cx + r*math.Cos(a), cy + r*math.Sin(a)}
	}
	return out
}

// star is a concave star with k points.
func star(cx, cy, r float64, k int, rot float64) []orb.Point {
	out := make([]orb.Point, 2*k)
	for i := range out {
		rr := r
		if i%2 == 1 {
			rr = 0.45 * r
		}
		a := rot + math.Pi*float64(i)/float64(k)
		out[i] = orb.Point{cx + rr*math.Cos(a), cy + rr*math.Sin(a)}
	}
	return out
}

func shoelace(p []orb.Point) float64 {
	var s float64
	for i := range p {
		a, b := p[i], p[(i+1)%len(p)]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

// clipConvex is Sutherland–Hodgman of subj (any simple polygon, concave
// too) by the convex polygon win: the result's shoelace area is the area of
// subj ∩ win.
func clipConvex(subj, win []orb.Point) []orb.Point {
	out := subj
	orient := 1.0
	if shoelace(win) < 0 {
		orient = -1
	}
	for i := range win {
		a, b := win[i], win[(i+1)%len(win)]
		side := func(p orb.Point) float64 {
			return orient * ((b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0]))
		}
		in := out
		out = nil
		for k := range in {
			p, q := in[k], in[(k+1)%len(in)]
			sp, sq := side(p), side(q)
			cut := func() orb.Point {
				t := sp / (sp - sq)
				return orb.Point{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}
			}
			switch {
			case sp >= 0 && sq >= 0:
				out = append(out, q)
			case sp >= 0:
				out = append(out, cut())
			case sq >= 0:
				out = append(out, cut(), q)
			}
		}
		if len(out) < 3 {
			return nil
		}
	}
	return out
}

// clipArea is |subj ∩ win₁ ∩ win₂ ∩ …| for convex windows.
func clipArea(subj []orb.Point, wins ...[]orb.Point) float64 {
	for _, w := range wins {
		if subj = clipConvex(subj, w); subj == nil {
			return 0
		}
	}
	return math.Abs(shoelace(subj))
}

type oracleArea struct {
	code string
	geom orb.Geometry
	// piece is |cell ∩ area ∩ footprints| in cells, from convex clips.
	piece func(cell []orb.Point) float64
}

type oracleCase struct {
	name  string
	w, h  int
	areas []oracleArea
	fps   []orb.Geometry
}

func oraclePop(w, h int) []float32 {
	pop := make([]float32, w*h)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			if (r*5+c*3)%11 == 0 {
				continue // empty cells
			}
			pop[r*w+c] = float32(1+(r*7+c*13)%17) * 0.75
		}
	}
	pop[(h/2)*w+w/2] = 5000 // a dense city cell
	return pop
}

// runOracle checks each area's people and km² against the convex-clip
// oracle to 1e-9 relative, and that an area with no piece gets no entry.
func runOracle(t *testing.T, tc oracleCase) {
	t.Helper()
	pop := oraclePop(tc.w, tc.h)
	var areas []indicators.Area
	for _, a := range tc.areas {
		areas = append(areas, indicators.Area{Code: a.code, Geometry: a.geom,
			Baseline: indicators.Baseline{Population: indicators.F(1000), Under18: indicators.F(400)}})
	}
	e := NewEngineFromLayers(areas, oracleGeo, tc.w, tc.h, append([]float32(nil), pop...), nil)
	x, err := e.Expose(tc.fps)
	require.NoError(t, err)
	got := map[string]indicators.AreaExposure{}
	for _, a := range x {
		got[a.Code] = a
	}
	for _, a := range tc.areas {
		var people, km2, cells float64
		for r := 0; r < tc.h; r++ {
			top := oracleGeo.Y0 - float64(r)*oracleGeo.DY
			cellKm2 := indicators.BandAreaKm2(top-oracleGeo.DY, top, oracleGeo.DX)
			for c := 0; c < tc.w; c++ {
				f := a.piece(box(float64(c), float64(r), float64(c+1), float64(r+1)))
				people += f * float64(pop[r*tc.w+c])
				km2 += f * cellKm2
				cells += f
			}
		}
		g, ok := got[a.code]
		if cells < minPieceCells {
			require.False(t, ok, "%s: area %s has no piece of the footprint but got %+v", tc.name, a.code, g)
			continue
		}
		require.True(t, ok, "%s: area %s missing", tc.name, a.code)
		require.InDelta(t, people, g.Population, 1e-9*math.Max(1, people), "%s: %s people", tc.name, a.code)
		require.InDelta(t, km2, g.AreaKm2, 1e-9*math.Max(1, km2), "%s: %s km²", tc.name, a.code)
		require.InDelta(t, 0.4*people, g.Under18, 1e-9*math.Max(1, people), "%s: %s under-18", tc.name, a.code)
	}
}

func TestExactPiecesAnalytic(t *testing.T) {
	const w, h = 40, 30
	// Two rectangles sharing the edge x = 21.7 (inside a cell column).
	ra, rb := box(3.3, 2.2, 21.7, 25.4), box(21.7, 2.2, 37.2, 25.4)
	rectAreas := func(fps ...[]orb.Point) []oracleArea {
		return []oracleArea{
			{"A", orb.Polygon{lonLat(ra...)}, func(cell []orb.Point) float64 { return unionPiece(cell, ra, fps) }},
			{"B", orb.Polygon{lonLat(rb...)}, func(cell []orb.Point) float64 { return unionPiece(cell, rb, fps) }},
		}
	}
	circle := ngon(20.4, 13.1, 8.3, 96, 0.1)
	c2 := ngon(24.9, 16.2, 6.1, 64, 0.3)
	sliver := []orb.Point{{12.05, 3.1}, {12.2, 3.1}, {30.95, 24.9}, {30.8, 24.9}} // 0.15 cells wide
	tiny := []orb.Point{{21.55, 9.2}, {21.9, 9.35}, {21.6, 9.6}}                  // inside one cell, across the edge

	// Concave area × holed footprint, and holed area × concave footprint.
	comb := []orb.Point{{4.2, 3.3}, {19.7, 3.3}, {19.7, 26.1}, {15.4, 26.1}, {15.4, 9.8}, {12.1, 9.8}, {12.1, 26.1}, {4.2, 26.1}}
	ringOuter, ringHole := ngon(13.5, 13.3, 7.8, 4, 0.3), ngon(13.9, 13.1, 3.0, 4, 0.7) // tilted square with a tilted hole
	holedOuter, holedHole := box(21.2, 3.7, 38.6, 27.3), box(25.45, 9.1, 31.7, 17.8)
	starFp := star(28.3, 14.9, 9.7, 7, 0.21)
	concaveHoled := []oracleArea{
		{"COMB", orb.Polygon{lonLat(comb...)}, func(cell []orb.Point) float64 {
			in := clipConvex(comb, cell)
			if in == nil {
				return 0
			}
			return clipArea(in, ringOuter) - clipArea(in, ringHole)
		}},
		{"HOLED", orb.Polygon{lonLat(holedOuter...), lonLat(holedHole...)}, func(cell []orb.Point) float64 {
			in := clipConvex(starFp, cell)
			if in == nil {
				return 0
			}
			return clipArea(in, holedOuter) - clipArea(in, holedHole)
		}},
	}

	// One-cell-wide corridors: vertical, diagonal, and the rest of the grid
	// between them.
	vert := box(10.37, 0.5, 11.37, 29.5)
	diag := []orb.Point{{5.2, 1.1}, {6.2, 1.1}, {26.9, 28.6}, {25.9, 28.6}}
	band := box(0.2, 14.6, 39.7, 15.6) // a one-cell-wide footprint across both
	corridorFp := ngon(13.3, 12.8, 7.9, 80, 0.05)
	corridors := func(fps ...[]orb.Point) []oracleArea {
		return []oracleArea{
			{"VERT", orb.Polygon{lonLat(vert...)}, func(cell []orb.Point) float64 { return unionPiece(cell, vert, fps) }},
			{"DIAG", orb.Polygon{lonLat(diag...)}, func(cell []orb.Point) float64 { return unionPiece(cell, diag, fps) }},
		}
	}

	for _, tc := range []oracleCase{
		{"rectangle ∩ circle", w, h, rectAreas(circle), []orb.Geometry{orb.Polygon{lonLat(circle...)}}},
		{"concave area ∩ holed footprint", w, h, concaveHoled[:1], []orb.Geometry{orb.Polygon{lonLat(ringOuter...), lonLat(ringHole...)}}},
		{"holed area ∩ concave footprint", w, h, concaveHoled[1:], []orb.Geometry{orb.Polygon{lonLat(starFp...)}}},
		{"one-cell-wide corridors ∩ circle", w, h, corridors(corridorFp), []orb.Geometry{orb.Polygon{lonLat(corridorFp...)}}},
		{"one-cell-wide corridors ∩ one-cell-wide band", w, h, corridors(band), []orb.Geometry{orb.Polygon{lonLat(band...)}}},
		{"sliver narrower than a cell", w, h, rectAreas(sliver), []orb.Geometry{orb.Polygon{lonLat(sliver...)}}},
		{"piece inside one cell, across a boundary", w, h, rectAreas(tiny), []orb.Geometry{orb.Polygon{lonLat(tiny...)}}},
		{"union of two circles crossing a boundary", w, h, rectAreas(circle, c2),
			[]orb.Geometry{orb.Polygon{lonLat(circle...)}, orb.Polygon{lonLat(c2...)}}},
		{"union of sliver and corridor band", w, h, corridors(sliver, band),
			[]orb.Geometry{orb.Polygon{lonLat(sliver...)}, orb.Polygon{lonLat(band...)}}},
	} {
		t.Run(tc.name, func(t *testing.T) { runOracle(t, tc) })
	}
}

// unionPiece is |cell ∩ area ∩ (F₁ ∪ F₂)| for convex area and footprints
// (one or two), by inclusion–exclusion.
func unionPiece(cell, area []orb.Point, fps [][]orb.Point) float64 {
	switch len(fps) {
	case 1:
		return clipArea(cell, area, fps[0])
	case 2:
		return clipArea(cell, area, fps[0]) + clipArea(cell, area, fps[1]) - clipArea(cell, area, fps[0], fps[1])
	}
	panic("unionPiece: one or two footprints")
}

// TestExactNeighbourGetsNothing is the 4×2-cell case of issue 11: a
// footprint wholly inside B, in cells B shares with A, gave A people and
// km² when the two coverage fractions were multiplied.
func TestExactNeighbourGetsNothing(t *testing.T) {
	const w, h = 4, 2
	a, b := box(0, 0, 2.3, 2), box(2.3, 0, 4, 2)
	// The A/B line runs diagonally in the second pair.
	da := []orb.Point{{0, 0}, {1.3, 0}, {2.9, 2}, {0, 2}}
	db := []orb.Point{{1.3, 0}, {4, 0}, {4, 2}, {2.9, 2}}
	on := func(t float64) orb.Point { return orb.Point{1.3 + 1.6*t, 2 * t} } // on the diagonal
	cases := []struct {
		name   string
		aa, bb []orb.Point
		fp     []orb.Point // convex
	}{
		{"inside B, clear of the line", a, b, box(2.5, 0.4, 3.7, 1.6)},
		{"sharing B's edge on the line", a, b, box(2.3, 0.2, 3.6, 1.7)},
		{"sharing the edge with extra vertices on it", a, b, []orb.Point{{2.3, 0.2}, {2.3, 0.9}, {2.3, 1.7}, {3.6, 1.7}, {3.6, 0.2}}},
		{"on a diagonal line", da, db, []orb.Point{on(0.2), on(0.45), on(0.8), {3.7, 1.2}}},
		{"touching the line at one corner", da, db, []orb.Point{on(0.5), {3.5, 0.3}, {3.8, 1.7}}},
		// Where a footprint copies a boundary, coordinate rounding leaves
		// slivers (GEOS leaves them too): under 1e-6 of a cell is not a hit.
		{"across the line by 1e-9 of a cell", a, b, box(2.3-1e-9, 0.2, 3.6, 1.7)},
		{"across the line by a ten-thousandth of a cell", a, b, box(2.3-1e-4, 0.2, 3.6, 1.7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runOracle(t, oracleCase{tc.name, w, h, []oracleArea{
				{"A", orb.Polygon{lonLat(tc.aa...)}, func(cell []orb.Point) float64 { return clipArea(cell, tc.aa, tc.fp) }},
				{"B", orb.Polygon{lonLat(tc.bb...)}, func(cell []orb.Point) float64 { return clipArea(cell, tc.bb, tc.fp) }},
			}, []orb.Geometry{orb.Polygon{lonLat(tc.fp...)}}})
		})
	}
}

// TestExactUntouchedAreaGetsZeroProperty: for random zig-zag boundaries
// between A and B and random footprints inside B, some following the
// boundary exactly (with their own vertices on it), A never gets an entry,
// and B gets everything the footprint covers.
func TestExactUntouchedAreaGetsZeroProperty(t *testing.T) {
	const w, h = 24, 16
	pop := oraclePop(w, h)
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 11))
		// Zig-zag from top to bottom around x ≈ 12.
		zig := []orb.Point{{8 + 8*rng.Float64(), 0}}
		for y := 0.0; ; {
			y += 0.3 + 2*rng.Float64()
			if y >= h {
				zig = append(zig, orb.Point{8 + 8*rng.Float64(), h})
				break
			}
			zig = append(zig, orb.Point{8 + 8*rng.Float64(), y})
		}
		aRing := []orb.Point{{0, 0}}
		aRing = append(aRing, zig...)
		aRing = append(aRing, orb.Point{0, h})
		bRing := []orb.Point{{w, 0}, {w, h}}
		for i := len(zig) - 1; i >= 0; i-- {
			bRing = append(bRing, zig[i])
		}
		// The footprint: part of the zig-zag (shifted right by 0 or a
		// little, with extra points on it), closed on the right.
		i := rng.IntN(len(zig) - 1)
		j := i + 1 + rng.IntN(len(zig)-1-i)
		shift := 0.0
		if rng.IntN(2) == 0 {
			shift = 0.3 * rng.Float64()
		}
		var fp []orb.Point
		for k := i; k <= j; k++ {
			p := orb.Point{zig[k][0] + shift, zig[k][1]}
			fp = append(fp, p)
			if k < j && rng.IntN(2) == 0 {
				t := rng.Float64()
				fp = append(fp, orb.Point{p[0] + t*(zig[k+1][0]-zig[k][0]), p[1] + t*(zig[k+1][1]-zig[k][1])})
			}
		}
		right := 16.5 + 7*rng.Float64()
		fp = append(fp, orb.Point{right, zig[j][1]}, orb.Point{right, zig[i][1]})
		fpGeom := orb.Polygon{lonLat(fp...)}

		areas := []indicators.Area{
			{Code: "A", Geometry: orb.Polygon{lonLat(aRing...)}},
			{Code: "B", Geometry: orb.Polygon{lonLat(bRing...)}},
		}
		e := NewEngineFromLayers(areas, oracleGeo, w, h, append([]float32(nil), pop...), nil)
		x, err := e.Expose([]orb.Geometry{fpGeom})
		require.NoError(t, err)
		cov := Rasterize(fpGeom, oracleGeo, w, h)
		var want float64
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				want += cov.At(r, c) * float64(pop[r*w+c])
			}
		}
		msg := fmt.Sprintf("seed %d: zig %v footprint %v", seed, zig, fp)
		for _, a := range x {
			require.NotEqual(t, "A", a.Code, "%s: A got %+v", msg, a)
		}
		require.Len(t, x, 1, msg)
		require.InDelta(t, want, x[0].Population, 1e-9*math.Max(1, want), msg)
	}
}

// TestCellFracRandomMatchesClipOracle: cell by cell, the slab sweep agrees
// with convex clipping for random concave areas (stars, any winding) and
// random convex footprints, one or two of them, to 1e-9 of a cell.
func TestCellFracRandomMatchesClipOracle(t *testing.T) {
	const w, h = 6, 6
	rng := rand.New(rand.NewPCG(7, 7))
	var sc clipScratch
	for it := 0; it < 400; it++ {
		area := star(1+4*rng.Float64(), 1+4*rng.Float64(), 0.3+2.5*rng.Float64(), 3+rng.IntN(6), rng.Float64()*6)
		if rng.IntN(2) == 0 {
			slices.Reverse(area) // winding must not matter
		}
		f1 := ngon(1+4*rng.Float64(), 1+4*rng.Float64(), 0.2+2.5*rng.Float64(), 3+rng.IntN(12), rng.Float64()*6)
		f2 := ngon(1+4*rng.Float64(), 1+4*rng.Float64(), 0.2+2.5*rng.Float64(), 3+rng.IntN(12), rng.Float64()*6)
		as := newEdgeSet(orb.Polygon{lonLat(area...)}, oracleGeo, h)
		s1, s2 := newEdgeSet(orb.Polygon{lonLat(f1...)}, oracleGeo, h), newEdgeSet(orb.Polygon{lonLat(f2...)}, oracleGeo, h)
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				cell := box(float64(c), float64(r), float64(c+1), float64(r+1))
				in := clipConvex(area, cell)
				one := 0.0
				if in != nil {
					one = clipArea(in, f1)
				}
				two := one
				if in != nil {
					two += clipArea(in, f2) - clipArea(in, f1, f2)
				}
				require.InDelta(t, one, cellFrac(r, c, as, []*edgeSet{s1}, &sc), 1e-9, "it %d cell %d,%d one footprint", it, r, c)
				require.InDelta(t, two, cellFrac(r, c, as, []*edgeSet{s1, s2}, &sc), 1e-9, "it %d cell %d,%d union", it, r, c)
				u := clipArea(cell, f1) + clipArea(cell, f2) - clipArea(cell, f1, f2)
				require.InDelta(t, u, cellFrac(r, c, nil, []*edgeSet{s1, s2}, &sc), 1e-9, "it %d cell %d,%d union, whole cell", it, r, c)
			}
		}
	}
}

// TestCellFracOnCellLines: vertices on cell corners and half-cells, edges
// along cell sides and along each other (exact in a 1°-cell grid): the
// degenerate cases of the slab sweep, against convex clipping.
func TestCellFracOnCellLines(t *testing.T) {
	const w, h = 6, 6
	geo := Geo{X0: 0, Y0: h, DX: 1, DY: 1}
	toGeo := func(pts []orb.Point) orb.Polygon {
		r := make(orb.Ring, 0, len(pts)+1)
		for _, p := range pts {
			r = append(r, orb.Point{p[0], h - p[1]})
		}
		return orb.Polygon{append(r, r[0])}
	}
	snapHalf := func(pts []orb.Point) []orb.Point {
		out := make([]orb.Point, len(pts))
		for i, p := range pts {
			out[i] = orb.Point{math.Round(2*p[0]) / 2, math.Round(2*p[1]) / 2}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(3, 5))
	var sc clipScratch
	cases := 0
	for it := 0; it < 600; it++ {
		// Axis-aligned boxes and diamonds on half-cell lines, sharing sides.
		x0, y0 := float64(rng.IntN(8))/2, float64(rng.IntN(8))/2
		area := box(x0, y0, x0+0.5+float64(rng.IntN(6))/2, y0+0.5+float64(rng.IntN(6))/2)
		var fp []orb.Point
		switch rng.IntN(3) {
		case 0: // a box sharing the area's west side, or part of it
			fp = box(x0, y0+float64(rng.IntN(3))/2, x0+float64(1+rng.IntN(4))/2, y0+2.5)
		case 1: // a box right of the area, touching its east side
			fp = box(area[1][0], y0, area[1][0]+1.5, y0+1)
		default: // a diamond with corners on cell corners
			fp = snapHalf(ngon(1+float64(rng.IntN(8))/2, 1+float64(rng.IntN(8))/2, float64(1+rng.IntN(4)), 4, 0))
		}
		if shoelace(fp) == 0 {
			continue
		}
		cases++
		as, fs := newEdgeSet(toGeo(area), geo, h), newEdgeSet(toGeo(fp), geo, h)
		for r := 0; r < h; r++ {
			for c := 0; c < w; c++ {
				cell := box(float64(c), float64(r), float64(c+1), float64(r+1))
				require.InDelta(t, clipArea(cell, area, fp), cellFrac(r, c, as, []*edgeSet{fs}, &sc), 1e-12,
					"it %d cell %d,%d area %v footprint %v", it, r, c, area, fp)
			}
		}
	}
	require.Greater(t, cases, 500)
}

// TestCellFracDetailedBoundary: an area whose northern boundary has 40
// vertices per cell, zig-zagging across a row line, against a circle: the
// edges left of each cell hand over to each other without adding slabs, and
// the fractions still match convex clipping.
func TestCellFracDetailedBoundary(t *testing.T) {
	const w, h = 8, 6
	area := []orb.Point{{0.3, 5.7}, {7.7, 5.7}}
	for i := 0; i <= 7*40; i++ {
		x := 7.7 - float64(i)/40
		area = append(area, orb.Point{x, 2 + 0.35*math.Sin(float64(i)*0.9) + 0.1*math.Sin(float64(i)*0.13)})
	}
	area = append(area, orb.Point{0.3, 2.1})
	fp := ngon(4.1, 2.6, 2.3, 200, 0.1)
	as, fs := newEdgeSet(orb.Polygon{lonLat(area...)}, oracleGeo, h), newEdgeSet(orb.Polygon{lonLat(fp...)}, oracleGeo, h)
	var sc clipScratch
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			cell := box(float64(c), float64(r), float64(c+1), float64(r+1))
			want := 0.0
			if in := clipConvex(area, cell); in != nil {
				want = clipArea(in, fp)
			}
			require.InDelta(t, want, cellFrac(r, c, as, []*edgeSet{fs}, &sc), 1e-9, "cell %d,%d", r, c)
		}
	}
}
