package grid

import (
	"math"
	"slices"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/internal/parallel"
)

// A single footprint is summed per area rather than per segment
// (sumsOne): for every area whose column extent in a row reaches into the
// footprint's columns, the row's coverage runs inside the extent decide.
// A footprint much larger than the areas (a storm swath over a country)
// covers most of the area-rows it touches whole: those add the area-row's
// precomputed sums, without reading segments. Where the footprint's
// boundary crosses an area-row, the covered runs of value 1 are summed over
// the area's segments there, or, when they hold most of the extent, the
// area-row's sums less the uncovered rest (whichever is shorter); cells the
// footprint covers partly go through the same per-segment product or exact
// clip as the union sweep. Exact: every term is the full sweep's (equal to
// it to 1e-9, inside_test.go).

// areaExtent is one area's columns per row: [lo[i], hi[i]) holds every cell
// of row row0+i the area covers at all (lo >= hi: none).
type areaExtent struct {
	row0   int
	lo, hi []int32
	// Each area-row's people, under-18 and km² over the area's segments,
	// and the segment holding its first cell.
	pop, u18, km2 []float64
	seg           []int32
	colLo, colHi  int32 // over all rows
	// minKm2 is the smallest piece reported for the area: a millionth of
	// its largest cell (+Inf without cells).
	minKm2 float64
}

// extents builds, once, every area's per-row extent from the zone segments
// and each area-row's sums over its segments.
func (e *Engine) extents() []areaExtent {
	e.extOnce.Do(func() {
		z := e.z
		ext := make([]areaExtent, len(e.areas))
		first, last := make([]int, len(e.areas)), make([]int, len(e.areas))
		for i := range first {
			first[i], last[i] = -1, -1
		}
		for r := 0; r < z.Height; r++ {
			for en := z.SegEnt[z.RowStart[r]]; en < z.SegEnt[z.RowStart[r+1]]; en++ {
				zi := z.EntZone[en]
				if first[zi] < 0 {
					first[zi] = r
				}
				last[zi] = r
			}
		}
		// One array per field for all areas, in the precompute's arena:
		// built once and kept, like the precompute (~36 B per area-row).
		total := 0
		for zi := range ext {
			if first[zi] >= 0 {
				total += last[zi] - first[zi] + 1
			}
		}
		lo, hi, seg := arenaAlloc[int32](z.mem, total), arenaAlloc[int32](z.mem, total), arenaAlloc[int32](z.mem, total)
		pop, u18, km2 := arenaAlloc[float64](z.mem, total), arenaAlloc[float64](z.mem, total), arenaAlloc[float64](z.mem, total)
		for i := range seg {
			seg[i] = -1
		}
		off := 0
		for zi := range ext {
			if first[zi] < 0 {
				continue
			}
			a, b := off, off+last[zi]-first[zi]+1
			ext[zi] = areaExtent{row0: first[zi], lo: lo[a:b:b], hi: hi[a:b:b],
				pop: pop[a:b:b], u18: u18[a:b:b], km2: km2[a:b:b], seg: seg[a:b:b]}
			off = b
		}
		// Rows in parallel: each area-row is written by its row's worker.
		const chunk = 64
		parallel.Each((z.Height+chunk-1)/chunk, func(_, ci int) {
			for r := ci * chunk; r < min(z.Height, (ci+1)*chunk); r++ {
				e.areaRowSums(ext, r)
			}
		})
		for zi := range ext {
			x := &ext[zi]
			x.colLo, x.colHi = int32(z.Width), 0
			cellKm2 := 0.0
			for i := range x.lo {
				if x.lo[i] < x.hi[i] {
					x.colLo, x.colHi = min(x.colLo, x.lo[i]), max(x.colHi, x.hi[i])
					cellKm2 = max(cellKm2, z.CellKm2[x.row0+i])
				}
			}
			x.minKm2 = math.Inf(1)
			if cellKm2 > 0 {
				x.minKm2 = minPieceCells * cellKm2
			}
		}
		e.ext = ext
	})
	return e.ext
}

// areaRowSums fills row r of every area's extent (columns, first segment)
// and sums: the terms the sweep would add for the area when a footprint
// covers the row's extent whole.
func (e *Engine) areaRowSums(ext []areaExtent, r int) {
	z := e.z
	s0, s1 := int(z.RowStart[r]), int(z.RowStart[r+1])
	for seg := s0; seg < s1; seg++ {
		e0, e1 := z.SegEnt[seg], z.SegEnt[seg+1]
		if e0 == e1 {
			continue
		}
		sa, sb := z.SegCol[seg], int32(z.Width)
		if seg+1 < s1 {
			sb = z.SegCol[seg+1]
		}
		pb, ub := z.segEnd(r, seg, s1)
		ps := pb - z.SegPre[seg]
		var us float64
		if z.U18 != nil {
			us = ub - z.SegU18Pre[seg]
		}
		km := float64(sb-sa) * z.CellKm2[r]
		for en := e0; en < e1; en++ {
			zi, f := z.EntZone[en], z.EntFrac[en]
			x := &ext[zi]
			i := r - x.row0
			if x.seg[i] < 0 {
				x.seg[i], x.lo[i], x.hi[i] = int32(seg), sa, sb
			} else {
				x.hi[i] = sb
			}
			x.pop[i] += f * ps
			x.km2[i] += f * km
			if z.U18 != nil {
				x.u18[i] += f * us
			} else {
				x.u18[i] += f * ps * e.shares[zi]
			}
		}
	}
}

// Area classes for one footprint (classify).
const (
	clsMaybe int8 = iota
	clsWhole
	clsNone
)

// classify sorts the areas against a footprint made only of convex
// polygons (a storm swath's pieces, a circle): an area whose cell box (the
// cells of its extents) lies inside one piece is covered whole, every cell
// at value 1; one whose box lies outside every piece gets nothing; the
// rest are swept. A piece is convex in lon/lat exactly when it is on the
// grid. nil (sweep every area) for any other footprint. A margin of 1e-9
// cells keeps boxes touching a piece's edge out of the two sure classes.
func (e *Engine) classify(g orb.Geometry) []int8 {
	var pieces []orb.Polygon
	switch t := g.(type) {
	case orb.Polygon:
		pieces = []orb.Polygon{t}
	case orb.MultiPolygon:
		pieces = t
	default:
		return nil
	}
	type halfPlane struct{ a, b, c float64 } // inside: a·x + b·y + c ≥ 0, (a, b) a unit normal
	type piece struct {
		hp                     []halfPlane
		xmin, xmax, ymin, ymax float64
	}
	geo := e.z.Geo
	ps := make([]piece, 0, len(pieces))
	for _, p := range pieces {
		if len(p) != 1 {
			return nil
		}
		pts := make([][2]float64, 0, len(p[0]))
		for _, q := range p[0] {
			v := [2]float64{(q[0] - geo.X0) / geo.DX, (geo.Y0 - q[1]) / geo.DY}
			if n := len(pts); n > 0 && pts[n-1] == v {
				continue
			}
			pts = append(pts, v)
		}
		if n := len(pts); n > 1 && pts[0] == pts[n-1] {
			pts = pts[:n-1]
		}
		hp, ok := convexHalfPlanes(pts)
		if !ok {
			return nil
		}
		pc := piece{hp: make([]halfPlane, len(hp)), xmin: math.Inf(1), xmax: math.Inf(-1), ymin: math.Inf(1), ymax: math.Inf(-1)}
		for i, h := range hp {
			pc.hp[i] = halfPlane{h[0], h[1], h[2]}
		}
		for _, v := range pts {
			pc.xmin, pc.xmax = min(pc.xmin, v[0]), max(pc.xmax, v[0])
			pc.ymin, pc.ymax = min(pc.ymin, v[1]), max(pc.ymax, v[1])
		}
		ps = append(ps, pc)
	}
	const margin = 1e-9
	ext := e.extents()
	cls := make([]int8, len(e.areas))
	for zi, x := range ext {
		if len(x.lo) == 0 {
			cls[zi] = clsNone
			continue
		}
		x0, x1 := float64(x.colLo), float64(x.colHi)
		y0, y1 := float64(x.row0), float64(x.row0+len(x.lo))
		c := clsNone
	pieces:
		for _, p := range ps {
			if x1 <= p.xmin || x0 >= p.xmax || y1 <= p.ymin || y0 >= p.ymax {
				continue
			}
			in := true
			for _, h := range p.hp {
				// The box's corners nearest to and farthest from the
				// edge's inside.
				lo, hi := h.c, h.c
				if h.a >= 0 {
					lo, hi = lo+h.a*x0, hi+h.a*x1
				} else {
					lo, hi = lo+h.a*x1, hi+h.a*x0
				}
				if h.b >= 0 {
					lo, hi = lo+h.b*y0, hi+h.b*y1
				} else {
					lo, hi = lo+h.b*y1, hi+h.b*y0
				}
				if hi < -margin {
					continue pieces // wholly outside this piece
				}
				if lo < margin {
					in = false
				}
			}
			if in {
				c = clsWhole
				break
			}
			c = clsMaybe
		}
		cls[zi] = c
	}
	return cls
}

// convexHalfPlanes returns the inside half-planes (a, b, c: a·x + b·y + c
// ≥ 0 inside, (a, b) of unit length) of a simple convex ring given without
// its closing point, or false when it is not one: every turn the same way
// (collinear points allowed) and one turn around in all.
func convexHalfPlanes(pts [][2]float64) ([][3]float64, bool) {
	n := len(pts)
	if n < 3 {
		return nil, false
	}
	var sign, turn float64
	for i := 0; i < n; i++ {
		p, q, r := pts[i], pts[(i+1)%n], pts[(i+2)%n]
		ux, uy, vx, vy := q[0]-p[0], q[1]-p[1], r[0]-q[0], r[1]-q[1]
		cr := ux*vy - uy*vx
		if cr != 0 {
			if sign == 0 {
				sign = math.Copysign(1, cr)
			} else if math.Signbit(cr) != math.Signbit(sign) {
				return nil, false
			}
		}
		turn += math.Atan2(cr, ux*vx+uy*vy)
	}
	if sign == 0 || math.Abs(math.Abs(turn)-2*math.Pi) > 1e-6 {
		return nil, false
	}
	hp := make([][3]float64, n)
	for i := 0; i < n; i++ {
		p, q := pts[i], pts[(i+1)%n]
		dx, dy := q[0]-p[0], q[1]-p[1]
		l := math.Hypot(dx, dy)
		// Left of p→q is inside for a positive turn: (−dy, dx)·(x − p).
		a, b := -dy/l*sign, dx/l*sign
		hp[i] = [3]float64{a, b, -(a*p[0] + b*p[1])}
	}
	return hp, true
}

// sumsOne is the sweep for one footprint's coverage c (set: its edges),
// area by area and row by row (see the top of this file). Areas cls marks
// whole add their totals; those it marks none, nothing; without cls every
// area whose cell box meets the coverage's is swept.
func (e *Engine) sumsOne(c *Coverage, set *edgeSet, cls []int8) zoneTotals {
	return e.sumsEach([]*Coverage{c}, []*edgeSet{set}, [][]int8{cls})[0]
}

// sumsEach is sumsOne for many footprints at once, each on its own (not
// their union): area by area, and in each of the area's rows every
// footprint that reaches it, so the area-row's segments, cells and
// prefixes are read from memory once for all of them rather than once per
// footprint (an ensemble's member swaths cross the same areas). Each
// footprint's sums for an area add the same terms in the same order as
// sumsOne would on its own: results are bit-for-bit those of one call per
// footprint.
func (e *Engine) sumsEach(covs []*Coverage, sets []*edgeSet, cls [][]int8) []zoneTotals {
	z := e.z
	nA := len(e.areas)
	ext := e.extents()
	ts := make([]zoneTotals, len(covs))
	// The (area, footprint) pairs to sweep, grouped by area: byArea[at[zi]:at[zi+1]].
	type pair struct{ zi, f int32 }
	var pairs []pair
	for f, c := range covs {
		t := zoneTotals{pop: make([]float64, nA), u18: make([]float64, nA), km2: make([]float64, nA)}
		ts[f] = t
		cmin, cmax := int32(z.Width), int32(0)
		for r := c.Row0; r < c.Row0+c.Rows; r++ {
			if cols, _ := c.Row(r); len(cols) > 0 {
				cmin, cmax = min(cmin, cols[0]), max(cmax, cols[len(cols)-1])
			}
		}
		for zi, x := range ext {
			if cls[f] != nil {
				switch cls[f][zi] {
				case clsWhole:
					t.pop[zi], t.u18[zi], t.km2[zi] = z.TotPop[zi], z.TotU18[zi], z.TotKm2[zi]
					continue
				case clsNone:
					continue
				}
			}
			if len(x.lo) == 0 || x.row0 >= c.Row0+c.Rows || x.row0+len(x.lo) <= c.Row0 || x.colHi <= cmin || x.colLo >= cmax {
				continue
			}
			pairs = append(pairs, pair{int32(zi), int32(f)})
		}
	}
	at := make([]int32, nA+1)
	for _, p := range pairs {
		at[p.zi+1]++
	}
	var todo []int32
	maxPer := int32(0)
	for zi := 0; zi < nA; zi++ {
		if n := at[zi+1]; n > 0 {
			todo = append(todo, int32(zi))
			maxPer = max(maxPer, n)
		}
		at[zi+1] += at[zi]
	}
	byArea := make([]int32, len(pairs))
	fill := slices.Clone(at[:nA])
	for _, p := range pairs { // footprints stay in order within an area
		byArea[fill[p.zi]] = p.f
		fill[p.zi]++
	}
	fsets := make([][]*edgeSet, len(sets))
	for f, s := range sets {
		fsets[f] = []*edgeSet{s}
	}
	nw := workers()
	// Each worker's sums for the area in hand, one slot per footprint
	// reaching it.
	accs := make([]*zoneAcc, nw)
	for i := range accs {
		accs[i] = newAcc(int(maxPer))
	}
	scs := make([]clipScratch, nw)
	const chunk = 8
	parallel.Each((len(todo)+chunk-1)/chunk, func(w, ci int) {
		a := accs[w]
		rs := rowSweep{e: e, z: z, a: a, sc: &scs[w]}
		for _, zi := range todo[ci*chunk : min(len(todo), (ci+1)*chunk)] {
			x := &ext[zi]
			fl := byArea[at[zi]:at[zi+1]]
			i0, i1 := len(x.lo), 0
			for _, f := range fl {
				c := covs[f]
				i0, i1 = min(i0, max(0, c.Row0-x.row0)), max(i1, min(len(x.lo), c.Row0+c.Rows-x.row0))
			}
			for i := i0; i < i1; i++ {
				lo, hi := x.lo[i], x.hi[i]
				if lo >= hi {
					continue
				}
				r := x.row0 + i
				rowSet := false
				for slot, f := range fl {
					c := covs[f]
					if r < c.Row0 || r >= c.Row0+c.Rows {
						continue
					}
					cols, vals := c.Row(r)
					if len(cols) == 0 || hi <= cols[0] || lo >= cols[len(cols)-1] {
						continue
					}
					j, found := slices.BinarySearch(cols, lo)
					if !found && j > 0 {
						j--
					}
					if cols[j] <= lo && vals[j] == 1 && cols[j+1] >= hi {
						// The footprint covers the area-row whole.
						a.pop[slot] += x.pop[i]
						a.u18[slot] += x.u18[i]
						a.km2[slot] += x.km2[i]
						continue
					}
					if !rowSet {
						rs.reset(r)
						rowSet = true
					}
					rs.seg = int(x.seg[i])
					rs.slot, rs.fsets = int32(slot), fsets[f]
					rs.areaRow(zi, x, i, lo, hi, cols[j:], vals[j:])
				}
			}
			// One worker sums each area, in row order: reproducible.
			for slot, f := range fl {
				t := ts[f]
				t.pop[zi], t.u18[zi], t.km2[zi] = a.pop[slot], a.u18[slot], a.km2[slot]
				a.pop[slot], a.u18[slot], a.km2[slot] = 0, 0, 0
			}
		}
	})
	return ts
}

// rowSweep is sumsEach's state for one row and footprint.
type rowSweep struct {
	e      *Engine
	z      *zones
	a      *zoneAcc
	slot   int32 // where in a the footprint's sums for the area go
	sc     *clipScratch
	fsets  []*edgeSet
	r      int
	s0, s1 int
	seg    int // segment cursor: the last one starting at or before a range
	// The row's cells and block prefixes of both layers (u18 nil: none).
	pop, u18   []float32
	ppre, upre []float64
}

func (rs *rowSweep) reset(r int) {
	z := rs.z
	rs.r, rs.s0, rs.s1, rs.seg = r, int(z.RowStart[r]), int(z.RowStart[r+1]), -1
	nb := z.nb()
	rs.pop, rs.ppre = z.Pop[r*z.Width:(r+1)*z.Width], z.PopPre[r*nb:(r+1)*nb]
	if z.U18 != nil {
		rs.u18, rs.upre = z.U18[r*z.Width:(r+1)*z.Width], z.U18Pre[r*nb:(r+1)*nb]
	}
}

// seek moves the segment cursor to the last segment starting at or before
// x: a few steps forward when x is near, else a binary search.
func (rs *rowSweep) seek(x int32) {
	col := rs.z.SegCol
	k := rs.seg
	if k < rs.s0 || k >= rs.s1 || col[k] > x {
		k = rs.s0
	}
	for n := 0; n < 4 && k+1 < rs.s1 && col[k+1] <= x; n++ {
		k++
	}
	if k+1 < rs.s1 && col[k+1] <= x {
		j, found := slices.BinarySearch(col[k:rs.s1], x)
		if k += j; !found {
			k--
		}
	}
	rs.seg = k
}

// prefix is Σ cells [0, c) of the row in both layers, given the prefixes
// at segment start sa (pa, ua): a direct sum when c is near sa.
func (rs *rowSweep) prefix(c, sa int, pa, ua float64) (float64, float64) {
	if c-sa <= blockSize/2 {
		pa += sumCells(rs.pop[sa:c])
		if rs.u18 != nil {
			ua += sumCells(rs.u18[sa:c])
		}
		return pa, ua
	}
	pa = prefixNear(rs.pop, rs.ppre, c)
	if rs.u18 != nil {
		ua = prefixNear(rs.u18, rs.upre, c)
	}
	return pa, ua
}

// areaRow adds area zi's part of the coverage runs (cols, vals: from the
// run holding lo) over its extent [lo, hi) in the row, row i of x.
func (rs *rowSweep) areaRow(zi int32, x *areaExtent, i int, lo, hi int32, cols []int32, vals []float64) {
	// Columns in whole runs and elsewhere (partly covered or not at all).
	var whole int32
	for j := 0; j+1 < len(cols) && cols[j] < hi; j++ {
		if x0, x1 := max(cols[j], lo), min(cols[j+1], hi); x0 < x1 && vals[j] == 1 {
			whole += x1 - x0
		}
	}
	a := rs.a
	// Mostly covered: the area-row's sums less the cells not covered
	// whole, and the partly covered ones' part back.
	var base float64
	if whole > hi-lo-whole {
		a.pop[rs.slot] += x.pop[i]
		a.u18[rs.slot] += x.u18[i]
		a.km2[rs.slot] += x.km2[i]
		base = 1
		if lo < cols[0] {
			rs.zoneRange(zi, int(lo), int(min(hi, cols[0])), 0, nil, base)
		}
	}
	j := 0
	for ; j+1 < len(cols) && cols[j] < hi; j++ {
		x0, x1 := max(cols[j], lo), min(cols[j+1], hi)
		if x0 >= x1 {
			continue
		}
		switch v := vals[j]; {
		case v == 1:
			if base == 0 {
				rs.zoneRange(zi, int(x0), int(x1), 1, nil, 0)
			}
		case v == 0:
			if base != 0 {
				rs.zoneRange(zi, int(x0), int(x1), 0, nil, base)
			}
		default:
			rs.zoneRange(zi, int(x0), int(x1), v, rs.fsets, base)
		}
	}
	// Past the last breakpoint (value 0).
	if last := cols[len(cols)-1]; base != 0 && last < hi {
		rs.zoneRange(zi, int(max(lo, last)), int(hi), 0, nil, base)
	}
}

// zoneRange adds area zi's part of cells [x0, x1) of the row covered at
// u, less base × its part of the cells whole (base 1: these cells were
// counted whole already). part are the footprints covering these cells
// partly (nil: u is exact); with an area fraction below 1 too, the cells
// are clipped exactly, as in the union sweep.
func (rs *rowSweep) zoneRange(zi int32, x0, x1 int, u float64, part []*edgeSet, base float64) {
	z, r, a := rs.z, rs.r, rs.a
	s1 := rs.s1
	rs.seek(int32(x0))
	for k := rs.seg; k < s1 && int(z.SegCol[k]) < x1; k++ {
		sa, sb := int(z.SegCol[k]), z.Width
		if k+1 < s1 {
			sb = int(z.SegCol[k+1])
		}
		lo, hi := max(x0, sa), min(x1, sb)
		if lo >= hi {
			continue
		}
		rs.seg = k
		f := -1.0
		for en := z.SegEnt[k]; en < z.SegEnt[k+1]; en++ {
			if z.EntZone[en] == zi {
				f = z.EntFrac[en]
				break
			}
		}
		if f < 0 {
			continue
		}
		w := u - base // the cells' weight
		if part != nil && f < 1 {
			rs.e.exactCells(a, rs.slot, r, lo, hi, zi, f, part, rs.sc)
			if base == 0 {
				continue
			}
			w = -base
		}
		var ps, us float64
		switch {
		case lo == sa && hi == sb:
			pb, ub := z.segEnd(r, k, s1)
			ps = pb - z.SegPre[k]
			if rs.u18 != nil {
				us = ub - z.SegU18Pre[k]
			}
		case hi-lo <= blockSize/2:
			ps = sumCells(rs.pop[lo:hi])
			if rs.u18 != nil {
				us = sumCells(rs.u18[lo:hi])
			}
		default:
			var pa, ua float64
			if rs.u18 != nil {
				ua = z.SegU18Pre[k]
			}
			pa, ua = rs.prefix(lo, sa, z.SegPre[k], ua)
			pb, ub := z.segEnd(r, k, s1)
			if hi < sb {
				pb, ub = rs.prefix(hi, lo, pa, ua)
			}
			ps, us = pb-pa, ub-ua
		}
		ps *= w * f
		a.pop[rs.slot] += ps
		a.km2[rs.slot] += w * f * float64(hi-lo) * z.CellKm2[r]
		if rs.u18 != nil {
			a.u18[rs.slot] += w * f * us
		} else {
			a.u18[rs.slot] += ps * rs.e.shares[zi]
		}
	}
}
