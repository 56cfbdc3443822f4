package grid

import (
	"math"
	"slices"
	"sync"

	"github.com/paulmach/orb"
)

// Coverage is the exact fraction of each grid cell a polygon covers, kept
// sparse: per row, a list of breakpoints (col, value) where the value holds
// from that column up to the next breakpoint. Cells an edge crosses get their
// own breakpoint with a fractional value; the runs between are 0 or 1 (or a
// constant fraction where an edge runs along the row inside it). Each row's
// list ends with value 0.
type Coverage struct {
	Row0, Rows int
	start      []int32 // Rows+1 offsets into col/val
	col        []int32
	val        []float64
}

// Row returns row r's breakpoints (r in grid rows); empty when not covered.
func (c *Coverage) Row(r int) ([]int32, []float64) {
	i := r - c.Row0
	if c == nil || i < 0 || i >= c.Rows {
		return nil, nil
	}
	a, b := c.start[i], c.start[i+1]
	return c.col[a:b], c.val[a:b]
}

// At is the covered fraction of cell (row, col).
func (c *Coverage) At(row, col int) float64 {
	cols, vals := c.Row(row)
	k, found := slices.BinarySearch(cols, int32(col))
	if found {
		return vals[k]
	}
	if k == 0 {
		return 0
	}
	return vals[k-1]
}

// CellSum is Σ coverage over every cell, in cells (area in cell units).
func (c *Coverage) CellSum(width int) float64 {
	var s float64
	for r := c.Row0; r < c.Row0+c.Rows; r++ {
		cols, vals := c.Row(r)
		for k := range cols {
			end := int32(width)
			if k+1 < len(cols) {
				end = cols[k+1]
			}
			s += vals[k] * float64(end-cols[k])
		}
	}
	return s
}

// Bytes is the memory the coverage holds.
func (c *Coverage) Bytes() int { return 4*len(c.start) + 12*len(c.col) }

type covEvent struct {
	row, col int32
	d        float64
	// part is the polygon of a multi-part geometry the event belongs to.
	part int32
}

// rasterizer turns polygon edges into coverage events: for every piece of an
// edge inside one cell, the signed area between the piece and the cell's
// right side goes to that cell and the rest of the piece's height to the next
// column, so a running sum along the row is the exact covered fraction (the
// signed-area accumulation exactextract and font rasterisers use).
type rasterizer struct {
	geo           Geo
	width, height int
	ev            []covEvent
	// g and part: the geometry and the polygon being added. A geometry of
	// several polygons (a storm swath is overlapping convex pieces) may
	// overlap itself: summed signed areas would count the overlap twice in
	// a cell two parts cover partly, so those cells are clipped exactly
	// (nonzero winding, cellFrac) instead.
	g     orb.Geometry
	part  int32
	multi bool
	nPart int
	edges *edgeSet // g's, built for the first exact cell
	clip  clipScratch
	// partSum is each part's running sum along a row (multi only).
	partSum      []float64
	rowLo, rowHi int
	sorted       []covEvent // build's scratch
	cnt, pos     []int32
	dense        []float64
}

// denseRow sums a long row's events per column into rz.dense when their
// columns span at most four times their count; it returns the first column
// and the span.
func (rz *rasterizer) denseRow(row []covEvent) (lo int32, n int, ok bool) {
	if len(row) <= 24 {
		return 0, 0, false
	}
	lo, hi := row[0].col, row[0].col
	for _, e := range row[1:] {
		lo, hi = min(lo, e.col), max(hi, e.col)
	}
	n = int(hi-lo) + 1
	if n > 4*len(row) {
		return 0, 0, false
	}
	rz.dense = grow(rz.dense, n)
	clear(rz.dense)
	for _, e := range row {
		rz.dense[e.col-lo] += e.d
	}
	return lo, n, true
}

// Rasterize computes the exact coverage of a polygonal geometry (Polygon,
// MultiPolygon, Ring or a Collection of them) on a width×height grid with
// the given geotransform. Ring orientation does not matter: the first ring
// of each polygon is its shell, the rest are holes. Parts outside the grid
// are clipped; overlapping parts count once (values are clamped to 1).
func Rasterize(g orb.Geometry, geo Geo, width, height int) *Coverage {
	rz, _ := rasterizerPool.Get().(*rasterizer)
	if rz == nil {
		rz = &rasterizer{}
	}
	c := &Coverage{}
	rz.rasterize(g, geo, width, height, c)
	rasterizerPool.Put(rz)
	return c
}

// Rasterizers keep their event buffers between calls: a cycle rasterises
// hundreds of polygons and the buffers would otherwise be regrown each time.
var rasterizerPool sync.Pool

// rasterize computes g's coverage into c, reusing c's slices.
func (rz *rasterizer) rasterize(g orb.Geometry, geo Geo, width, height int, c *Coverage) {
	rz.geo, rz.width, rz.height, rz.rowLo, rz.rowHi = geo, width, height, math.MaxInt, -1
	rz.ev = rz.ev[:0]
	rz.g, rz.part, rz.multi = g, 0, false
	parts := polygonsOf(g, nil)
	if len(parts) > 1 {
		rz.multi, rz.nPart = true, len(parts)
		for i, p := range parts {
			rz.part = int32(i)
			forEachEdge(p, rz.geo, rz.addEdge)
		}
	} else {
		forEachEdge(g, rz.geo, rz.addEdge)
	}
	rz.build(c)
	rz.g, rz.edges = nil, nil
}

// polygonsOf appends g's polygons (a Ring is one) to out.
func polygonsOf(g orb.Geometry, out []orb.Polygon) []orb.Polygon {
	switch t := g.(type) {
	case orb.Polygon:
		out = append(out, t)
	case orb.Ring:
		out = append(out, orb.Polygon{t})
	case orb.MultiPolygon:
		out = append(out, t...)
	case orb.Collection:
		for _, c := range t {
			out = polygonsOf(c, out)
		}
	}
	return out
}

func ringArea(r orb.Ring) float64 {
	var s float64
	n := len(r)
	for i := 0; i < n; i++ {
		a, b := r[i], r[(i+1)%n]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

// addEdge adds the events of the edge (x0,y0)→(x1,y1) in grid coordinates.
func (rz *rasterizer) addEdge(x0, y0, x1, y1, sign float64) {
	if y0 == y1 {
		return // horizontal edges bound no area of their own
	}
	s := sign
	if y0 > y1 {
		x0, y0, x1, y1 = x1, y1, x0, y0
		s = -s
	}
	lo, hi := max(y0, 0), min(y1, float64(rz.height))
	if lo >= hi {
		return
	}
	slope := (x1 - x0) / (y1 - y0)
	r0, r1 := int(math.Floor(lo)), int(math.Ceil(hi))-1
	if r0 < rz.rowLo {
		rz.rowLo = r0
	}
	if r1 > rz.rowHi {
		rz.rowHi = r1
	}
	for r := r0; r <= r1; r++ {
		ya, yb := max(lo, float64(r)), min(hi, float64(r+1))
		if yb <= ya {
			continue
		}
		xa, xb := x0+(ya-y0)*slope, x0+(yb-y0)*slope
		rz.addRowPiece(int32(r), xa, xb, (yb-ya)*s)
	}
}

// addRowPiece adds a straight piece spanning x from xa to xb inside one row,
// with signed height dy, split at column boundaries.
func (rz *rasterizer) addRowPiece(r int32, xa, xb, dy float64) {
	xl, xr := min(xa, xb), max(xa, xb)
	cl := math.Floor(xl)
	if xr <= cl+1 {
		xm := (xa + xb) / 2
		rz.push(r, cl, dy*(cl+1-xm), dy*(xm-cl))
		return
	}
	w := xr - xl
	for c := cl; c < xr; c++ {
		a, b := max(xl, c), min(xr, c+1)
		if b <= a {
			continue
		}
		d := dy * (b - a) / w
		xm := (a + b) / 2
		rz.push(r, c, d*(c+1-xm), d*(xm-c))
	}
}

// push records the events of one piece in column c: here to the cell, next
// to every cell right of it.
func (rz *rasterizer) push(r int32, c, here, next float64) {
	switch {
	case c >= float64(rz.width):
		return
	case c < 0:
		// Left of the grid: the whole height carries into column 0.
		rz.ev = append(rz.ev, covEvent{r, 0, here + next, rz.part})
		return
	}
	ci := int32(c)
	rz.ev = append(rz.ev, covEvent{r, ci, here, rz.part})
	if ci+1 < int32(rz.width) {
		rz.ev = append(rz.ev, covEvent{r, ci + 1, next, rz.part})
	}
}

// snap removes the rounding noise of the running sums so interior runs are
// exactly 0 or 1.
func snap(v float64) float64 {
	switch {
	case v < 1e-12:
		return 0
	case v > 1-1e-12:
		return 1
	}
	return v
}

func (rz *rasterizer) build(c *Coverage) {
	c.col, c.val = c.col[:0], c.val[:0]
	if rz.rowHi < rz.rowLo {
		c.Row0, c.Rows = 0, 0
		c.start = append(c.start[:0], 0)
		return
	}
	c.Row0, c.Rows = rz.rowLo, rz.rowHi-rz.rowLo+1
	// Counting sort by row, then each row by column.
	cnt := grow(rz.cnt, c.Rows+1)
	clear(cnt)
	for _, e := range rz.ev {
		cnt[int(e.row)-c.Row0+1]++
	}
	for i := 1; i <= c.Rows; i++ {
		cnt[i] += cnt[i-1]
	}
	sorted := grow(rz.sorted, len(rz.ev))
	pos := grow(rz.pos, c.Rows)
	copy(pos, cnt[:c.Rows])
	for _, e := range rz.ev {
		i := int(e.row) - c.Row0
		sorted[pos[i]] = e
		pos[i]++
	}
	rz.cnt, rz.sorted, rz.pos = cnt, sorted, pos
	c.start = grow(c.start, c.Rows+1)
	c.start[0] = 0
	if cap(c.col) == 0 {
		c.col = make([]int32, 0, len(sorted)/2+2)
		c.val = make([]float64, 0, len(sorted)/2+2)
	}
	for i := 0; i < c.Rows; i++ {
		row := sorted[cnt[i]:cnt[i+1]]
		var sum, last float64
		if lo, n, ok := rz.denseRow(row); ok && !rz.multi {
			// Many events over few columns (an edge running along the row):
			// per-column sums instead of a sort.
			for j, d := range rz.dense[:n] {
				if d == 0 {
					continue
				}
				sum += d
				v := snap(sum)
				if v != last {
					c.col = append(c.col, lo+int32(j))
					c.val = append(c.val, v)
					last = v
				}
			}
			if last != 0 {
				c.col = append(c.col, int32(rz.width))
				c.val = append(c.val, 0)
			}
			c.start[i+1] = int32(len(c.col))
			continue
		}
		sortByCol(row)
		if rz.multi {
			rz.multiRow(c, i, row)
			continue
		}
		for k := 0; k < len(row); {
			col := row[k].col
			for ; k < len(row) && row[k].col == col; k++ {
				sum += row[k].d
			}
			v := snap(sum)
			if v != last {
				c.col = append(c.col, col)
				c.val = append(c.val, v)
				last = v
			}
		}
		if last != 0 { // rows clipped on the right end open: close them
			c.col = append(c.col, int32(rz.width))
			c.val = append(c.val, 0)
		}
		c.start[i+1] = int32(len(c.col))
	}
}

// multiRow builds row i of a geometry of several parts from its events
// (sorted by column): where at most one part covers a cell partly, the
// clamped running sum is the union's share, as for one polygon; where two
// or more do, the cell is clipped exactly. Between events nothing crosses a
// cell, so a run of cells has one value, taken from its first cell.
func (rz *rasterizer) multiRow(c *Coverage, i int, row []covEvent) {
	if len(row) == 0 {
		c.start[i+1] = int32(len(c.col))
		return
	}
	rz.partSum = grow(rz.partSum, rz.nPart)
	clear(rz.partSum)
	r := int(row[0].row)
	frac := func(v float64) bool { return v > 1e-12 && v < 1-1e-12 }
	var sum, last float64
	nFrac := 0
	put := func(col int32, v float64) {
		if n := len(c.col); n > int(c.start[i]) && c.col[n-1] == col {
			c.val[n-1] = v
			if n-1 > int(c.start[i]) && c.val[n-2] == v {
				c.col, c.val = c.col[:n-1], c.val[:n-1]
			}
		} else if v != last {
			c.col = append(c.col, col)
			c.val = append(c.val, v)
		}
		last = v
	}
	for k := 0; k < len(row); {
		col := row[k].col
		for ; k < len(row) && row[k].col == col; k++ {
			e := row[k]
			sum += e.d
			before := frac(rz.partSum[e.part])
			rz.partSum[e.part] += e.d
			if after := frac(rz.partSum[e.part]); after != before {
				if after {
					nFrac++
				} else {
					nFrac--
				}
			}
		}
		if nFrac < 2 {
			put(col, snap(sum))
			continue
		}
		put(col, rz.exactCell(r, int(col)))
		next := int32(rz.width)
		if k < len(row) {
			next = row[k].col
		}
		if col+1 < next {
			put(col+1, rz.exactCell(r, int(col)+1))
		}
	}
	if last != 0 { // rows clipped on the right end open: close them
		c.col = append(c.col, int32(rz.width))
		c.val = append(c.val, 0)
	}
	c.start[i+1] = int32(len(c.col))
}

// exactCell is the covered fraction of cell (r, c) under the nonzero
// winding rule over all of the geometry's parts.
func (rz *rasterizer) exactCell(r, c int) float64 {
	if rz.edges == nil {
		rz.edges = newEdgeSet(rz.g, rz.geo, rz.height)
	}
	return cellFrac(r, c, nil, []*edgeSet{rz.edges}, &rz.clip)
}

// grow returns s resized to n, reallocating only when it is too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// sortByCol sorts one row's events by column. Most rows hold a handful of
// events (two edges crossing), where an inlined insertion sort beats the
// generic sort's call per comparison. Equal columns need no stable order:
// their events are summed.
func sortByCol(row []covEvent) {
	if len(row) > 24 {
		slices.SortFunc(row, func(a, b covEvent) int { return int(a.col - b.col) })
		return
	}
	for i := 1; i < len(row); i++ {
		e := row[i]
		j := i
		for ; j > 0 && row[j-1].col > e.col; j-- {
			row[j] = row[j-1]
		}
		row[j] = e
	}
}
