package grid

import "slices"

// A footprint much larger than the areas (a storm swath over a country)
// covers most areas it touches whole: for those the sum over the footprint
// is the area's zonal total, known since the precompute, and sweeping their
// cells again is the bulk of the work. insideZones finds them from the
// areas' per-row column extents; accumulate adds their totals and the sweep
// skips their segments. It is exact: every cell of such an area is covered
// whole, so its covered part is the area's own share of the cell.

// minSkipAreas is how many whole areas make skip ranges worth building
// (measured on the grid benchmark's 200 footprints and the storm's swaths).
const minSkipAreas = 16

// areaExtent is one area's columns per row: [lo[i], hi[i]) holds every cell
// of row row0+i the area covers at all (lo >= hi: none).
type areaExtent struct {
	row0         int
	lo, hi       []int32
	colLo, colHi int32 // over all rows
}

// extents returns every area's per-row extent from the zone segments.
func (e *Engine) extents() []areaExtent {
	e.extOnce.Do(func() {
		z := e.z
		ext := make([]areaExtent, len(e.areas))
		first, last := make([]int, len(e.areas)), make([]int, len(e.areas))
		for i := range first {
			first[i], last[i] = -1, -1
		}
		visit := func(fn func(r int, zi int32, a, b int32)) {
			for r := 0; r < z.Height; r++ {
				s0, s1 := z.RowStart[r], z.RowStart[r+1]
				for k := s0; k < s1; k++ {
					a, b := z.SegCol[k], int32(z.Width)
					if k+1 < s1 {
						b = z.SegCol[k+1]
					}
					for en := z.SegEnt[k]; en < z.SegEnt[k+1]; en++ {
						fn(r, z.EntZone[en], a, b)
					}
				}
			}
		}
		visit(func(r int, zi int32, _, _ int32) {
			if first[zi] < 0 {
				first[zi] = r
			}
			last[zi] = r
		})
		for zi := range ext {
			if first[zi] < 0 {
				continue
			}
			n := last[zi] - first[zi] + 1
			ext[zi] = areaExtent{row0: first[zi], lo: make([]int32, n), hi: make([]int32, n)}
		}
		visit(func(r int, zi int32, a, b int32) {
			x := &ext[zi]
			i := r - x.row0
			if x.lo[i] >= x.hi[i] {
				x.lo[i], x.hi[i] = a, b
				return
			}
			x.lo[i], x.hi[i] = min(x.lo[i], a), max(x.hi[i], b)
		})
		for zi := range ext {
			x := &ext[zi]
			x.colLo, x.colHi = int32(z.Width), 0
			for i := range x.lo {
				if x.lo[i] < x.hi[i] {
					x.colLo, x.colHi = min(x.colLo, x.lo[i]), max(x.colHi, x.hi[i])
				}
			}
		}
		// Per row, the areas there by the start of their extent.
		e.extRow = make([]int32, z.Height+1)
		for _, x := range ext {
			for i := range x.lo {
				if x.lo[i] < x.hi[i] {
					e.extRow[x.row0+i+1]++
				}
			}
		}
		for r := 1; r <= z.Height; r++ {
			e.extRow[r] += e.extRow[r-1]
		}
		e.extZone = make([]int32, e.extRow[z.Height])
		fill := slices.Clone(e.extRow[:z.Height])
		for zi, x := range ext {
			for i := range x.lo {
				if x.lo[i] < x.hi[i] {
					e.extZone[fill[x.row0+i]] = int32(zi)
					fill[x.row0+i]++
				}
			}
		}
		for r := 0; r < z.Height; r++ {
			slices.SortFunc(e.extZone[e.extRow[r]:e.extRow[r+1]], func(a, b int32) int {
				return int(ext[a].lo[r-ext[a].row0] - ext[b].lo[r-ext[b].row0])
			})
		}
		// The extents again in row order, read sequentially per member.
		e.extLo, e.extHi = make([]int32, len(e.extZone)), make([]int32, len(e.extZone))
		for r := 0; r < z.Height; r++ {
			for k := e.extRow[r]; k < e.extRow[r+1]; k++ {
				x := &ext[e.extZone[k]]
				e.extLo[k], e.extHi[k] = x.lo[r-x.row0], x.hi[r-x.row0]
				e.extMaxW = max(e.extMaxW, e.extHi[k]-e.extLo[k])
			}
		}
		e.ext = ext
	})
	return e.ext
}

// insideZones marks the areas c covers whole (every cell of theirs at
// value 1); nil when there are none.
func (e *Engine) insideZones(c *Coverage) []bool {
	ext := e.extents()
	// The coverage's column bounds: most areas fall outside them.
	cmin, cmax := int32(e.z.Width), int32(0)
	for r := c.Row0; r < c.Row0+c.Rows; r++ {
		if cols, _ := c.Row(r); len(cols) > 0 {
			cmin, cmax = min(cmin, cols[0]), max(cmax, cols[len(cols)-1])
		}
	}
	var in []bool
	for zi, x := range ext {
		if len(x.lo) == 0 || x.row0 < c.Row0 || x.row0+len(x.lo) > c.Row0+c.Rows ||
			x.colLo < cmin || x.colHi > cmax || !coversWhole(c, x) {
			continue
		}
		if in == nil {
			in = make([]bool, len(e.areas))
		}
		in[zi] = true
	}
	return in
}

// coversWhole reports whether c covers every cell of the extent whole.
func coversWhole(c *Coverage, x areaExtent) bool {
	for i := range x.lo {
		lo, hi := x.lo[i], x.hi[i]
		if lo >= hi {
			continue
		}
		cols, vals := c.Row(x.row0 + i)
		// The run holding lo, then on through runs of 1 until hi.
		k, found := slices.BinarySearch(cols, lo)
		if !found {
			k--
		}
		for ; ; k++ {
			if k < 0 || k+1 >= len(cols) || vals[k] != 1 {
				return false
			}
			if cols[k+1] >= hi {
				break
			}
		}
	}
	return true
}

// skipSpans lists per row of c the column ranges whose cells only areas
// marked in inside cover: the union of the inside areas' extents less the
// segments there that list another area. The sweep does not visit them.
func (e *Engine) skipSpans(inside []bool, c *Coverage) *rowRanges {
	n := 0
	for _, in := range inside {
		if in {
			n++
		}
	}
	// A footprint holding a few areas gains less than the ranges cost
	// (the sweep skips these areas' entries either way).
	if n < minSkipAreas {
		return nil
	}
	e.extents()
	rr := &rowRanges{row0: c.Row0, start: make([]int32, c.Rows+1)}
	z := e.z
	var ins, outs, bad, cut, tmp [][2]int32
	add := func(u [][2]int32, lo, hi int32) [][2]int32 {
		if n := len(u); n > 0 && lo <= u[n-1][1] {
			u[n-1][1] = max(u[n-1][1], hi)
			return u
		}
		return append(u, [2]int32{lo, hi})
	}
	for i := 0; i < c.Rows; i++ {
		r := c.Row0 + i
		ins, outs = ins[:0], outs[:0]
		// Only the areas that reach into the coverage's columns matter:
		// from the first that may (no extent is wider than extMaxW).
		cols, _ := c.Row(r)
		if len(cols) == 0 {
			rr.start[i+1] = int32(len(rr.lo))
			continue
		}
		cmin, cmax := cols[0], cols[len(cols)-1]
		k0, k1 := int(e.extRow[r]), int(e.extRow[r+1])
		k, _ := slices.BinarySearch(e.extLo[k0:k1], cmin-e.extMaxW)
		for k += k0; k < k1 && e.extLo[k] < cmax; k++ {
			zi, lo, hi := e.extZone[k], e.extLo[k], e.extHi[k]
			if hi <= cmin {
				continue
			}
			if inside[zi] {
				ins = add(ins, lo, hi)
			} else {
				outs = add(outs, lo, hi)
			}
		}
		// Where another area's extent overlaps, only the segments that
		// list an area not inside are swept (extents are hulls: where a
		// boundary runs along the row they overlap widely).
		bad = bad[:0]
		s0, s1 := int(z.RowStart[r]), int(z.RowStart[r+1])
		for _, o := range outs {
			for _, in := range ins {
				lo, hi := max(o[0], in[0]), min(o[1], in[1])
				if lo >= hi {
					continue
				}
				k, found := slices.BinarySearch(z.SegCol[s0:s1], lo)
				if k += s0; !found {
					k--
				}
				for ; k < s1 && z.SegCol[k] < hi; k++ {
					if zs := z.EntZone[z.SegEnt[k]:z.SegEnt[k+1]]; len(zs) > 0 && !allInside(inside, zs) {
						b := int32(z.Width)
						if k+1 < s1 {
							b = z.SegCol[k+1]
						}
						bad = add(bad, z.SegCol[k], b)
					}
				}
			}
		}
		cut = append(cut[:0], ins...)
		for _, o := range bad {
			cut, tmp = subtract(tmp[:0], cut, o[0], o[1]), cut
		}
		for _, p := range cut {
			rr.lo, rr.hi = append(rr.lo, p[0]), append(rr.hi, p[1])
		}
		rr.start[i+1] = int32(len(rr.lo))
	}
	if len(rr.lo) == 0 {
		return nil
	}
	return rr
}

// subtract appends to out the sorted disjoint ranges rs less [lo, hi).
func subtract(out, rs [][2]int32, lo, hi int32) [][2]int32 {
	for _, p := range rs {
		if hi <= p[0] || lo >= p[1] {
			out = append(out, p)
			continue
		}
		if p[0] < lo {
			out = append(out, [2]int32{p[0], lo})
		}
		if hi < p[1] {
			out = append(out, [2]int32{hi, p[1]})
		}
	}
	return out
}

// rowRanges are sorted disjoint column ranges per row from row0.
type rowRanges struct {
	row0   int
	start  []int32 // per row, offsets into lo/hi
	lo, hi []int32
}

// row returns row r's ranges.
func (rr *rowRanges) row(r int) ([]int32, []int32) {
	if rr == nil {
		return nil, nil
	}
	i := r - rr.row0
	if i < 0 || i+1 >= len(rr.start) {
		return nil, nil
	}
	a, b := rr.start[i], rr.start[i+1]
	return rr.lo[a:b], rr.hi[a:b]
}

// allInside reports whether every area of a segment is marked.
func allInside(inside []bool, zones []int32) bool {
	if inside == nil {
		return false
	}
	for _, zi := range zones {
		if !inside[zi] {
			return false
		}
	}
	return true
}
