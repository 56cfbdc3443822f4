package grid

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// In a cell crossed by both an area boundary and a footprint boundary (or by
// two footprints' boundaries in a union) the covered part of the cell is not
// the product of the two coverage fractions: a footprint that stays in the
// eastern half of a cell split north–south by an area boundary covers none
// of the western area. These cells are few (O(boundary length)), so each is
// measured exactly: |cell ∩ area ∩ (F₁ ∪ … ∪ Fₖ)| by a slab sweep over the
// edges of all the polygons involved.

// gedge is a polygon edge in grid coordinates (x = column, y = row, y
// growing southwards), oriented so y0 < y1; s (±1) is what it adds to the
// winding number of every point right of it, the convention of the
// coverage events: +1 inside shells, 0 outside and in holes.
type gedge struct {
	x0, y0, y1, k, s float64 // k = dx/dy
}

// xAt is the edge's x at height y (y0 ≤ y ≤ y1).
func (e *gedge) xAt(y float64) float64 { return e.x0 + (y-e.y0)*e.k }

// edgeSet is a polygon's edges indexed by the grid rows they cross.
type edgeSet struct {
	row0  int
	start []int32 // rows+1 offsets into idx
	idx   []int32
	e     []gedge
}

// rowEdges are the edges crossing row r.
func (s *edgeSet) rowEdges(r int) []int32 {
	if s == nil {
		return nil
	}
	i := r - s.row0
	if i < 0 || i+1 >= len(s.start) {
		return nil
	}
	return s.idx[s.start[i]:s.start[i+1]]
}

// forEachEdge calls fn with every edge of g in grid coordinates and the sign
// that makes shells count +1 and holes −1 to their right, whatever the
// rings' winding (the first ring of a polygon is its shell, the rest holes).
// The coverage kernel and the exact clip read polygons through it alike.
func forEachEdge(g orb.Geometry, geo Geo, fn func(x0, y0, x1, y1, sign float64)) {
	switch t := g.(type) {
	case orb.Polygon:
		for i, r := range t {
			if len(r) < 3 {
				continue
			}
			a := ringArea(r)
			if a == 0 {
				continue
			}
			// A lon/lat counter-clockwise ring turns clockwise in grid
			// space (rows grow southwards).
			sign := 1.0
			if (a > 0) != (i == 0) {
				sign = -1
			}
			n := len(r)
			if r[0] == r[n-1] {
				n--
			}
			for k := 0; k < n; k++ {
				p0, p1 := r[k], r[(k+1)%n]
				fn((p0[0]-geo.X0)/geo.DX, (geo.Y0-p0[1])/geo.DY, (p1[0]-geo.X0)/geo.DX, (geo.Y0-p1[1])/geo.DY, sign)
			}
		}
	case orb.MultiPolygon:
		for _, p := range t {
			forEachEdge(p, geo, fn)
		}
	case orb.Ring:
		forEachEdge(orb.Polygon{t}, geo, fn)
	case orb.Collection:
		for _, c := range t {
			forEachEdge(c, geo, fn)
		}
	}
}

// newEdgeSet indexes g's edges by row on a grid of the given height.
// Horizontal edges are left out: they change no winding number along a row.
func newEdgeSet(g orb.Geometry, geo Geo, height int) *edgeSet {
	// Sized up front (vertices bound the edges): the area sets are kept for
	// the engine's life, so append's spare capacity would be kept too.
	s := &edgeSet{e: make([]gedge, 0, edgeBound(g))}
	forEachEdge(g, geo, func(x0, y0, x1, y1, sign float64) {
		if y0 == y1 {
			return
		}
		if y0 > y1 {
			x0, y0, x1, y1, sign = x1, y1, x0, y0, -sign
		}
		if y1 <= 0 || y0 >= float64(height) {
			return
		}
		s.e = append(s.e, gedge{x0, y0, y1, (x1 - x0) / (y1 - y0), sign})
	})
	if len(s.e) == 0 {
		s.start = []int32{0}
		return s
	}
	rows := func(e *gedge) (int, int) {
		return max(0, int(math.Floor(e.y0))), min(height, int(math.Ceil(e.y1))) - 1
	}
	lo, hi := height, -1
	for i := range s.e {
		a, b := rows(&s.e[i])
		lo, hi = min(lo, a), max(hi, b)
	}
	s.row0 = lo
	s.start = make([]int32, hi-lo+2)
	for i := range s.e {
		a, b := rows(&s.e[i])
		for r := a; r <= b; r++ {
			s.start[r-lo+1]++
		}
	}
	for i := 1; i < len(s.start); i++ {
		s.start[i] += s.start[i-1]
	}
	s.idx = make([]int32, s.start[len(s.start)-1])
	pos := slices.Clone(s.start[:len(s.start)-1])
	for i := range s.e {
		a, b := rows(&s.e[i])
		for r := a; r <= b; r++ {
			s.idx[pos[r-lo]] = int32(i)
			pos[r-lo]++
		}
	}
	return s
}

// edgeBound is at least the number of edges forEachEdge gives for g.
func edgeBound(g orb.Geometry) int {
	switch t := g.(type) {
	case orb.Polygon:
		n := 0
		for _, r := range t {
			n += len(r)
		}
		return n
	case orb.MultiPolygon:
		n := 0
		for _, p := range t {
			n += edgeBound(p)
		}
		return n
	case orb.Ring:
		return len(t)
	case orb.Collection:
		n := 0
		for _, c := range t {
			n += edgeBound(c)
		}
		return n
	}
	return 0
}

// Bytes is the memory the edge set holds.
func (s *edgeSet) Bytes() int { return 4*len(s.start) + 4*len(s.idx) + 40*cap(s.e) }

// cellEdge is an edge's piece inside one row that reaches into the cell's
// columns, in cell-local coordinates (the cell is [0,1]²), tagged with its
// polygon: 0 the area, 1.. footprints.
type cellEdge struct {
	x0, y0, x1, y1, k, s float64 // k = dx/dy
	poly                 int
}

func (e *cellEdge) xAt(y float64) float64 { return e.x0 + (y-e.y0)*e.k }

// leftStep is where an edge wholly left of the cell starts (ds = s) or ends
// (ds = −s) adding to its polygon's winding number along the cell's left side.
type leftStep struct {
	y    float64
	poly int
	ds   float64
}

// clipScratch holds one worker's buffers for cellFrac.
type clipScratch struct {
	edges []cellEdge
	left  []leftStep
	ys    []float64
	xs    []xCross
	base  []float64
	wind  []float64
}

type xCross struct {
	x    float64
	poly int
	s    float64
}

// cellFrac is the exact fraction of cell (r, c) inside area ∩ (fps[0] ∪ …),
// in [0,1]; area nil means the whole cell. The row is cut into horizontal
// slabs at every end of an edge reaching into the cell, every crossing of
// the cell's sides and every crossing of two such edges inside the cell;
// within a slab no edge bends or passes another, so the covered width is
// linear in y and its value at mid-height times the slab height is exact.
// Winding numbers along the cell's left side come from the edges wholly left
// of it, as a step function of y: where one edge of a chain hands over to
// the next the step cancels, so a detailed boundary left of the cell adds
// slabs only where it turns back. No polygon is clipped, and shared or
// collinear boundaries simply give zero-width intervals.
func cellFrac(r, c int, area *edgeSet, fps []*edgeSet, sc *clipScratch) float64 {
	fr, fc := float64(r), float64(c)
	sc.edges, sc.left = sc.edges[:0], sc.left[:0]
	add := func(set *edgeSet, poly int) {
		for _, i := range set.rowEdges(r) {
			e := &set.e[i]
			ya, yb := max(e.y0, fr), min(e.y1, fr+1)
			if yb <= ya {
				continue
			}
			xa, xb := e.xAt(ya)-fc, e.xAt(yb)-fc
			switch {
			case xa >= 1 && xb >= 1:
				// Right of the cell: no winding number inside it.
			case xa <= 0 && xb <= 0:
				sc.left = append(sc.left, leftStep{ya - fr, poly, e.s}, leftStep{yb - fr, poly, -e.s})
			default:
				sc.edges = append(sc.edges, cellEdge{xa, ya - fr, xb, yb - fr, e.k, e.s, poly})
			}
		}
	}
	if area != nil {
		add(area, 0)
	}
	for i, f := range fps {
		add(f, i+1)
	}
	nPoly := len(fps) + 1
	sc.ys = append(sc.ys[:0], 0, 1)
	in01 := func(y float64) {
		if y > 0 && y < 1 {
			sc.ys = append(sc.ys, y)
		}
	}
	slices.SortFunc(sc.left, func(a, b leftStep) int {
		switch {
		case a.y < b.y:
			return -1
		case a.y > b.y:
			return 1
		}
		return a.poly - b.poly
	})
	for k := 0; k < len(sc.left); {
		y, p, net := sc.left[k].y, sc.left[k].poly, 0.0
		for ; k < len(sc.left) && sc.left[k].y == y && sc.left[k].poly == p; k++ {
			net += sc.left[k].ds
		}
		if net != 0 {
			in01(y)
		}
	}
	for i := range sc.edges {
		e := &sc.edges[i]
		in01(e.y0)
		in01(e.y1)
		// Crossings of the cell's sides.
		for _, side := range [2]float64{0, 1} {
			if (e.x0 < side) != (e.x1 < side) {
				in01(e.y0 + (side-e.x0)/e.k)
			}
		}
		// Crossings with the other edges reaching into the cell.
		for j := i + 1; j < len(sc.edges); j++ {
			f := &sc.edges[j]
			lo, hi := max(e.y0, f.y0), min(e.y1, f.y1)
			if hi <= lo {
				continue
			}
			// Signed gap between the two at both ends of the common range.
			d0, d1 := e.xAt(lo)-f.xAt(lo), e.xAt(hi)-f.xAt(hi)
			if (d0 < 0 && d1 > 0) || (d0 > 0 && d1 < 0) {
				in01(lo + (hi-lo)*d0/(d0-d1))
			}
		}
	}
	slices.Sort(sc.ys)
	sc.base = grow(sc.base, nPoly)
	sc.wind = grow(sc.wind, nPoly)
	clear(sc.base)
	li := 0
	var covered float64
	for k := 0; k+1 < len(sc.ys); k++ {
		y0, y1 := sc.ys[k], sc.ys[k+1]
		if y1 <= y0 {
			continue
		}
		ym := (y0 + y1) / 2
		for ; li < len(sc.left) && sc.left[li].y < ym; li++ {
			sc.base[sc.left[li].poly] += sc.left[li].ds
		}
		copy(sc.wind, sc.base)
		sc.xs = sc.xs[:0]
		for i := range sc.edges {
			e := &sc.edges[i]
			if ym <= e.y0 || ym >= e.y1 {
				continue
			}
			x := e.xAt(ym)
			switch {
			case x <= 0:
				sc.wind[e.poly] += e.s
			case x < 1:
				sc.xs = append(sc.xs, xCross{x, e.poly, e.s})
			}
		}
		// Few crossings: an insertion sort.
		for i := 1; i < len(sc.xs); i++ {
			for j := i; j > 0 && sc.xs[j-1].x > sc.xs[j].x; j-- {
				sc.xs[j-1], sc.xs[j] = sc.xs[j], sc.xs[j-1]
			}
		}
		inside := func() bool {
			if area != nil && sc.wind[0] <= 0 {
				return false
			}
			for p := 1; p < nPoly; p++ {
				if sc.wind[p] > 0 {
					return true
				}
			}
			return false
		}
		var width, x float64
		for _, xc := range sc.xs {
			if inside() {
				width += xc.x - x
			}
			x = xc.x
			sc.wind[xc.poly] += xc.s
		}
		if inside() {
			width += 1 - x
		}
		covered += width * (y1 - y0)
	}
	return snap(covered)
}
