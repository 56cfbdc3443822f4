package grid

import "slices"

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
	row0         int
	lo, hi       []int32
	colLo, colHi int32 // over all rows
}

// extents builds, once, every area's per-row extent from the zone segments,
// the per-row lists of areas sorted by extent start (extRow/extZone/extLo/
// extHi) and each area-row's sums over its segments (extPop/extU18/extKm2).
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
		// The extents again in row order, read sequentially per footprint.
		e.extLo, e.extHi = make([]int32, len(e.extZone)), make([]int32, len(e.extZone))
		for r := 0; r < z.Height; r++ {
			for k := e.extRow[r]; k < e.extRow[r+1]; k++ {
				x := &ext[e.extZone[k]]
				e.extLo[k], e.extHi[k] = x.lo[r-x.row0], x.hi[r-x.row0]
				e.extMaxW = max(e.extMaxW, e.extHi[k]-e.extLo[k])
			}
		}
		e.areaRowSums()
		e.ext = ext
	})
	return e.ext
}

// areaRowSums fills extPop/extU18/extKm2: each area-row's people,
// under-18 and km² over its segments, the terms the sweep would add for
// that area when a footprint covers the row's extent whole.
func (e *Engine) areaRowSums() {
	z := e.z
	n := len(e.extZone)
	e.extPop, e.extU18, e.extKm2 = make([]float64, n), make([]float64, n), make([]float64, n)
	const chunk = 64
	nw := workers()
	slots := make([][]int32, nw) // per worker: area → its index in the row
	for w := range slots {
		slots[w] = make([]int32, len(e.areas))
	}
	parallel((z.Height+chunk-1)/chunk, func(w, ci int) {
		slot := slots[w]
		for r := ci * chunk; r < min(z.Height, (ci+1)*chunk); r++ {
			for k := e.extRow[r]; k < e.extRow[r+1]; k++ {
				slot[e.extZone[k]] = k
			}
			s0, s1 := int(z.RowStart[r]), int(z.RowStart[r+1])
			for seg := s0; seg < s1; seg++ {
				e0, e1 := z.SegEnt[seg], z.SegEnt[seg+1]
				if e0 == e1 {
					continue
				}
				sb := z.Width
				if seg+1 < s1 {
					sb = int(z.SegCol[seg+1])
				}
				pb, ub := z.segEnd(r, seg, s1)
				ps := pb - z.SegPre[seg]
				var us float64
				if z.U18 != nil {
					us = ub - z.SegU18Pre[seg]
				}
				km := float64(sb-int(z.SegCol[seg])) * z.CellKm2[r]
				for en := e0; en < e1; en++ {
					zi, f := z.EntZone[en], z.EntFrac[en]
					k := slot[zi]
					e.extPop[k] += f * ps
					e.extKm2[k] += f * km
					if z.U18 != nil {
						e.extU18[k] += f * us
					} else {
						e.extU18[k] += f * ps * e.shares[zi]
					}
				}
			}
		}
	})
}

// sumsOne is the sweep for one footprint's coverage c (set: its edges),
// area by area along each row (see the top of this file).
func (e *Engine) sumsOne(c *Coverage, set *edgeSet) zoneTotals {
	z := e.z
	nA := len(e.areas)
	e.extents()
	nw := workers()
	accs := make([]*zoneAcc, nw)
	for i := range accs {
		accs[i] = getAcc(nA)
	}
	defer func() {
		for _, a := range accs {
			accPool.Put(a)
		}
	}()
	rowLo, rows := c.Row0, c.Rows
	chunk := max(8, min(64, rows/(4*nw)))
	nch := (rows + chunk - 1) / chunk
	chunkSums := make([][]zoneSum, nch)
	scs := make([]clipScratch, nw)
	fsets := []*edgeSet{set}
	parallel(nch, func(w, ci int) {
		a := accs[w]
		sc := &scs[w]
		defer func() { chunkSums[ci] = a.flush() }()
		for r := rowLo + ci*chunk; r < min(rowLo+rows, rowLo+(ci+1)*chunk); r++ {
			cols, vals := c.Row(r)
			if len(cols) == 0 || z.RowStart[r] == z.RowStart[r+1] {
				continue
			}
			rs := rowSweep{e: e, z: z, a: a, sc: sc, fsets: fsets, r: r,
				s0: int(z.RowStart[r]), s1: int(z.RowStart[r+1])}
			cmin, cmax := cols[0], cols[len(cols)-1] // the last breakpoint closes the row (value 0)
			k0, k1 := int(e.extRow[r]), int(e.extRow[r+1])
			k, _ := slices.BinarySearch(e.extLo[k0:k1], cmin-e.extMaxW)
			j := 0 // coverage run holding the extent's start (extents come by start)
			for k += k0; k < k1 && e.extLo[k] < cmax; k++ {
				lo, hi := e.extLo[k], e.extHi[k]
				if hi <= cmin {
					continue
				}
				for j+1 < len(cols) && cols[j+1] <= lo {
					j++
				}
				zi := e.extZone[k]
				if cols[j] <= lo && vals[j] == 1 && cols[j+1] >= hi {
					// The footprint covers the area-row whole.
					a.touch(zi)
					a.pop[zi] += e.extPop[k]
					a.u18[zi] += e.extU18[k]
					a.km2[zi] += e.extKm2[k]
					continue
				}
				rs.areaRow(zi, k, lo, hi, cols[j:], vals[j:])
			}
		}
	})
	t := zoneTotals{pop: make([]float64, nA), u18: make([]float64, nA), km2: make([]float64, nA)}
	for _, cs := range chunkSums {
		for _, v := range cs {
			t.pop[v.zone] += v.pop
			t.u18[v.zone] += v.u18
			t.km2[v.zone] += v.km2
		}
	}
	return t
}

// rowSweep is sumsOne's state for one row.
type rowSweep struct {
	e      *Engine
	z      *zones
	a      *zoneAcc
	sc     *clipScratch
	fsets  []*edgeSet
	r      int
	s0, s1 int
}

// areaRow adds area zi's part of the coverage runs (cols, vals: from the
// run holding lo) over its extent [lo, hi) in the row; k indexes the
// area-row's sums.
func (rs *rowSweep) areaRow(zi int32, k int, lo, hi int32, cols []int32, vals []float64) {
	// Columns in whole runs and elsewhere (partly covered or not at all).
	var whole, rest int32
	for j := 0; j+1 < len(cols) && cols[j] < hi; j++ {
		x0, x1 := max(cols[j], lo), min(cols[j+1], hi)
		if x0 >= x1 {
			continue
		}
		if vals[j] == 1 {
			whole += x1 - x0
		} else {
			rest += x1 - x0
		}
	}
	rest += hi - lo - whole - rest // before the first breakpoint: uncovered
	a, e := rs.a, rs.e
	a.touch(zi)
	sign := 1.0
	if whole > rest {
		// Mostly covered: the area-row's sums less the cells not covered
		// whole (the partly covered ones are added back below).
		a.pop[zi] += e.extPop[k]
		a.u18[zi] += e.extU18[k]
		a.km2[zi] += e.extKm2[k]
		sign = -1
		x := lo
		for j := 0; j+1 < len(cols) && cols[j] < hi; j++ {
			x0, x1 := max(cols[j], lo), min(cols[j+1], hi)
			if x0 >= x1 || vals[j] != 1 {
				continue
			}
			if x < x0 {
				rs.zoneRange(zi, int(x), int(x0), -1, nil)
			}
			x = x1
		}
		if x < hi {
			rs.zoneRange(zi, int(x), int(hi), -1, nil)
		}
	}
	for j := 0; j+1 < len(cols) && cols[j] < hi; j++ {
		x0, x1 := max(cols[j], lo), min(cols[j+1], hi)
		switch v := vals[j]; {
		case x0 >= x1 || v == 0:
		case v == 1:
			if sign > 0 {
				rs.zoneRange(zi, int(x0), int(x1), 1, nil)
			}
		default:
			rs.zoneRange(zi, int(x0), int(x1), v, rs.fsets)
		}
	}
}

// zoneRange adds u × area zi's part of cells [x0, x1) of the row (u = −1
// takes it away). part are the footprints covering these cells partly
// (nil: u is exact); with an area fraction below 1 too, the cells are
// clipped exactly, as in the union sweep.
func (rs *rowSweep) zoneRange(zi int32, x0, x1 int, u float64, part []*edgeSet) {
	z, r, a := rs.z, rs.r, rs.a
	s0, s1 := rs.s0, rs.s1
	k, found := slices.BinarySearch(z.SegCol[s0:s1], int32(x0))
	if k += s0; !found {
		k--
	}
	nb := z.nb()
	pop, ppre := z.Pop[r*z.Width:(r+1)*z.Width], z.PopPre[r*nb:(r+1)*nb]
	var u18 []float32
	var upre []float64
	if z.U18 != nil {
		u18, upre = z.U18[r*z.Width:(r+1)*z.Width], z.U18Pre[r*nb:(r+1)*nb]
	}
	for k = max(k, s0); k < s1 && int(z.SegCol[k]) < x1; k++ {
		sa, sb := int(z.SegCol[k]), z.Width
		if k+1 < s1 {
			sb = int(z.SegCol[k+1])
		}
		lo, hi := max(x0, sa), min(x1, sb)
		if lo >= hi {
			continue
		}
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
		if part != nil && f < 1 {
			rs.e.exactCells(a, r, lo, hi, zi, f, part, rs.sc)
			continue
		}
		pa, ua := z.SegPre[k], 0.0
		if u18 != nil {
			ua = z.SegU18Pre[k]
		}
		pb, ub := z.segEnd(r, k, s1)
		if lo > sa {
			pa = prefixNear(pop, ppre, lo)
			if u18 != nil {
				ua = prefixNear(u18, upre, lo)
			}
		}
		if hi < sb {
			pb = prefixNear(pop, ppre, hi)
			if u18 != nil {
				ub = prefixNear(u18, upre, hi)
			}
		}
		ps := u * f * (pb - pa)
		a.pop[zi] += ps
		a.km2[zi] += u * f * float64(hi-lo) * z.CellKm2[r]
		if u18 != nil {
			a.u18[zi] += u * f * (ub - ua)
		} else {
			a.u18[zi] += ps * rs.e.shares[zi]
		}
	}
}
