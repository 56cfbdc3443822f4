package grid

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/parallel"
)

// blockShift sets the prefix-sum block: one float64 prefix per 32 cells of a
// row, and the float32 cells themselves for the ends of a range. That keeps
// the layers at 4 B/cell + 0.25 B/cell per value layer while range sums stay
// float64-exact (the source values are float32).
const (
	blockShift = 5
	blockSize  = 1 << blockShift
)

// zones is the per (areas × grid) precompute: for every row, the segments of
// constant area membership with each area's exact covered fraction, plus the
// value layers and their block prefix sums.
type zones struct {
	Geo           Geo
	Width, Height int
	Pop, U18      []float32 // U18 nil: under-18 = pop × the area's baseline share
	PopPre        []float64 // Height × (nb+1) block prefixes
	U18Pre        []float64
	CellKm2       []float64 // geodesic cell area per row
	RowStart      []int32   // Height+1 offsets into SegCol/SegEnt
	SegCol        []int32   // segment start column; it runs to the next one
	SegEnt        []int32   // len(SegCol)+1 offsets into EntZone/EntFrac
	EntZone       []int32
	EntFrac       []float64
	TotPop        []float64 // per area, over the grid
	TotU18        []float64
	TotKm2        []float64
	// Each value layer's row prefix at every segment start (not persisted:
	// rebuilt from the block prefixes on load), so a cycle gets a whole
	// segment's sum, or its way to a segment boundary, without reading
	// cells: only where a footprint edge falls inside a segment.
	SegPre, SegU18Pre []float64
	// mem holds the big arrays (arena.go); nil keeps them on the heap.
	mem *arena
}

func (z *zones) nb() int { return (z.Width+blockSize-1)>>blockShift + 1 }

func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

type rowEnt struct {
	col  int32
	zone int32
	val  float64
}

type zoneFrac struct {
	zone int32
	val  float64
}

// sweepRow walks one row's area breakpoints (sorted by column) and calls
// seg for every segment start with the areas covering it and their
// fractions.
func sweepRow(row []rowEnt, active *[]zoneFrac, seg func(col int32, act []zoneFrac)) {
	act := (*active)[:0]
	for k := 0; k < len(row); {
		col := row[k].col
		for ; k < len(row) && row[k].col == col; k++ {
			e := row[k]
			found := false
			for i := range act {
				if act[i].zone == e.zone {
					act[i].val, found = e.val, true
					break
				}
			}
			if !found {
				act = append(act, zoneFrac{e.zone, e.val})
			}
		}
		// Drop areas that ended here.
		j := 0
		for _, a := range act {
			if a.val != 0 {
				act[j] = a
				j++
			}
		}
		act = act[:j]
		seg(col, act)
	}
	*active = act
}

// buildZones rasterises every area (index = zone id; nil geometry = not on
// the grid) and lays out the row segments, prefix sums and totals. shares
// gives each area's under-18 share (NaN = unknown) for grids without an
// under-18 layer. The arrays it allocates go in mem (which the zones then
// own, as they own pop and u18 if they were allocated there).
func buildZones(mem *arena, areas []indicators.Area, onGrid []bool, geo Geo, width, height int, pop, u18 []float32, shares []float64) *zones {
	z := &zones{Geo: geo, Width: width, Height: height, Pop: pop, U18: u18, mem: mem}
	z.track()
	covs := make([]*Coverage, len(areas))
	parallel.Each(len(areas), func(_, i int) {
		if onGrid[i] {
			covs[i] = Rasterize(areas[i].Geometry, geo, width, height)
		}
	})
	// Bucket every area's breakpoints by row (counting sort).
	cnt := make([]int64, height+1)
	for _, c := range covs {
		if c == nil {
			continue
		}
		for r := 0; r < c.Rows; r++ {
			cnt[c.Row0+r+1] += int64(c.start[r+1] - c.start[r])
		}
	}
	for r := 1; r <= height; r++ {
		cnt[r] += cnt[r-1]
	}
	ents := make([]rowEnt, cnt[height])
	pos := slices.Clone(cnt[:height])
	for zi, c := range covs {
		if c == nil {
			continue
		}
		for r := 0; r < c.Rows; r++ {
			cols, vals := c.Row(c.Row0 + r)
			p := pos[c.Row0+r]
			for k := range cols {
				ents[p+int64(k)] = rowEnt{cols[k], int32(zi), vals[k]}
			}
			pos[c.Row0+r] += int64(len(cols))
		}
	}
	covs = nil
	runtime.GC()
	// Sweep each row twice: once to count segments and entries, once to
	// write them in place, so no per-chunk copies are held (and then
	// concatenated) at the build's memory peak. Rows run in parallel.
	const chunk = 256
	nch := (height + chunk - 1) / chunk
	segN := make([]int32, height+1) // per row, then offsets
	entN := make([]int64, height+1)
	parallel.Each(nch, func(_, ci int) {
		var active []zoneFrac
		for r := ci * chunk; r < min(height, (ci+1)*chunk); r++ {
			row := ents[cnt[r]:cnt[r+1]]
			slices.SortFunc(row, func(a, b rowEnt) int { return int(a.col - b.col) })
			sweepRow(row, &active, func(_ int32, act []zoneFrac) {
				segN[r+1]++
				entN[r+1] += int64(len(act))
			})
		}
	})
	for r := 1; r <= height; r++ {
		segN[r] += segN[r-1]
		entN[r] += entN[r-1]
	}
	nSeg, nEnt := int(segN[height]), int(entN[height])
	z.RowStart = segN
	z.SegCol = arenaAlloc[int32](mem, nSeg)
	z.SegEnt = arenaAlloc[int32](mem, nSeg+1)
	z.EntZone = arenaAlloc[int32](mem, nEnt)
	z.EntFrac = arenaAlloc[float64](mem, nEnt)
	z.SegEnt[nSeg] = int32(nEnt)
	parallel.Each(nch, func(_, ci int) {
		var active []zoneFrac
		for r := ci * chunk; r < min(height, (ci+1)*chunk); r++ {
			si, ei := int(segN[r]), entN[r]
			sweepRow(ents[cnt[r]:cnt[r+1]], &active, func(col int32, act []zoneFrac) {
				z.SegCol[si], z.SegEnt[si] = col, int32(ei)
				for _, a := range act {
					z.EntZone[ei], z.EntFrac[ei] = a.zone, a.val
					ei++
				}
				si++
			})
		}
	})
	ents = nil
	// The build's scratch (row entries) is garbage now;
	// collect it before the prefix arrays are allocated so the peak stays
	// near what the engine keeps. Cheap: the big arrays hold no pointers.
	runtime.GC()
	z.prefixes()
	z.CellKm2 = make([]float64, height)
	for r := range z.CellKm2 {
		top := geo.Y0 - float64(r)*geo.DY
		z.CellKm2[r] = indicators.BandAreaKm2(top-geo.DY, top, geo.DX)
	}
	z.segmentSums()
	z.totals(len(areas), shares)
	return z
}

// segmentSums fills SegPre/SegU18Pre from the value layers.
func (z *zones) segmentSums() {
	z.SegPre = arenaAlloc[float64](z.mem, len(z.SegCol))
	z.SegU18Pre = nil
	if z.U18 != nil {
		z.SegU18Pre = arenaAlloc[float64](z.mem, len(z.SegCol))
	}
	nb := z.nb()
	parallel.Each(z.Height, func(_, r int) {
		s0, s1 := int(z.RowStart[r]), int(z.RowStart[r+1])
		w := z.Width
		for k := s0; k < s1; k++ {
			c := int(z.SegCol[k])
			z.SegPre[k] = prefixNear(z.Pop[r*w:(r+1)*w], z.PopPre[r*nb:(r+1)*nb], c)
			if z.U18 != nil {
				z.SegU18Pre[k] = prefixNear(z.U18[r*w:(r+1)*w], z.U18Pre[r*nb:(r+1)*nb], c)
			}
		}
	})
}

// segEnd is the prefix of both layers where segment k of row r ends.
func (z *zones) segEnd(r, k, s1 int) (p, u float64) {
	if k+1 < s1 {
		p = z.SegPre[k+1]
		if z.U18 != nil {
			u = z.SegU18Pre[k+1]
		}
		return p, u
	}
	nb := z.nb()
	p = z.PopPre[(r+1)*nb-1] // the row's total
	if z.U18 != nil {
		u = z.U18Pre[(r+1)*nb-1]
	}
	return p, u
}

// prefixes computes the block prefix sums of the value layers.
func (z *zones) prefixes() {
	nb := z.nb()
	layer := func(v []float32) []float64 {
		pre := arenaAlloc[float64](z.mem, z.Height*nb)
		parallel.Each(z.Height, func(_, r int) {
			row := v[r*z.Width : (r+1)*z.Width]
			out := pre[r*nb : (r+1)*nb]
			var s float64
			for b := 0; b < nb-1; b++ {
				out[b] = s
				for _, x := range row[b*blockSize : min(len(row), (b+1)*blockSize)] {
					s += float64(x)
				}
			}
			out[nb-1] = s
		})
		return pre
	}
	z.PopPre = layer(z.Pop)
	if z.U18 != nil {
		z.U18Pre = layer(z.U18)
	}
}

// totals are the zonal sums per area over the whole grid.
func (z *zones) totals(nAreas int, shares []float64) {
	z.TotPop, z.TotU18, z.TotKm2 = make([]float64, nAreas), make([]float64, nAreas), make([]float64, nAreas)
	for r := 0; r < z.Height; r++ {
		s0, s1 := z.RowStart[r], z.RowStart[r+1]
		for k := s0; k < s1; k++ {
			e0, e1 := z.SegEnt[k], z.SegEnt[k+1]
			if e0 == e1 {
				continue
			}
			a, b := int(z.SegCol[k]), z.Width
			if k+1 < s1 {
				b = int(z.SegCol[k+1])
			}
			pe, ue := z.segEnd(r, int(k), int(s1))
			ps := pe - z.SegPre[k]
			var us float64
			if z.U18 != nil {
				us = ue - z.SegU18Pre[k]
			}
			km := float64(b-a) * z.CellKm2[r]
			for e := e0; e < e1; e++ {
				zi, f := z.EntZone[e], z.EntFrac[e]
				z.TotPop[zi] += f * ps
				z.TotKm2[zi] += f * km
				if z.U18 != nil {
					z.TotU18[zi] += f * us
				} else {
					z.TotU18[zi] += f * ps * shares[zi]
				}
			}
		}
	}
	for i := range z.TotPop {
		if z.U18 == nil && math.IsNaN(shares[i]) {
			z.TotU18[i] = math.NaN()
		}
	}
}

// rowWalker walks one row of the value layers left to right, keeping the
// prefix of both layers at its column: a range sum is then a short direct sum
// or one block-prefix jump, and adjacent segments share their boundary.
type rowWalker struct {
	pop, u18   []float32 // the row's cells
	ppre, upre []float64 // the row's block prefixes
	x          int
	p, u       float64 // prefixes at x
}

func (w *rowWalker) reset(z *zones, r int) {
	nb := z.nb()
	w.pop, w.ppre = z.Pop[r*z.Width:(r+1)*z.Width], z.PopPre[r*nb:(r+1)*nb]
	w.u18, w.upre = nil, nil
	if z.U18 != nil {
		w.u18, w.upre = z.U18[r*z.Width:(r+1)*z.Width], z.U18Pre[r*nb:(r+1)*nb]
	}
	w.x, w.p, w.u = 0, 0, 0
}

// set moves to column c whose prefixes are known.
func (w *rowWalker) set(c int, p, u float64) { w.x, w.p, w.u = c, p, u }

// advance moves to column c and returns the sums over [x, c) (c ≥ x).
func (w *rowWalker) advance(c int) (ps, us float64) {
	if c-w.x <= blockSize/2 && c >= w.x {
		ps = sumCells(w.pop[w.x:c])
		if w.u18 != nil {
			us = sumCells(w.u18[w.x:c])
		}
		w.p += ps
		w.u += us
	} else {
		np := prefixNear(w.pop, w.ppre, c)
		ps, w.p = np-w.p, np
		if w.u18 != nil {
			nu := prefixNear(w.u18, w.upre, c)
			us, w.u = nu-w.u, nu
		}
	}
	w.x = c
	return ps, us
}

// prefixNear is Σ rv[0..c) from the nearer of the two block prefixes
// around c: at most 16 cell reads.
func prefixNear(rv []float32, pre []float64, c int) float64 {
	b := c >> blockShift
	lo := b << blockShift
	hi := min(lo+blockSize, len(rv))
	if c-lo <= hi-c {
		return pre[b] + sumCells(rv[lo:c])
	}
	return pre[b+1] - sumCells(rv[c:hi])
}

// sumCells is Σ v, with four independent sums so the adds do not wait on
// each other (the sweeps' hottest loop).
func sumCells(v []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += float64(v[i])
		s1 += float64(v[i+1])
		s2 += float64(v[i+2])
		s3 += float64(v[i+3])
	}
	for ; i < len(v); i++ {
		s0 += float64(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// zoneAcc is one worker's per-area sums over one chunk of rows; pooled so a
// cycle of one-footprint calls does not allocate and clear them each time.
type zoneAcc struct {
	pop, u18, km2 []float64
	seen          []bool
	touched       []int32
}

type zoneSum struct {
	zone          int32
	pop, u18, km2 float64
}

func (a *zoneAcc) touch(zi int32) {
	if !a.seen[zi] {
		a.seen[zi] = true
		a.touched = append(a.touched, zi)
	}
}

// flush returns the chunk's sums in first-touched order and clears them.
func (a *zoneAcc) flush() []zoneSum {
	out := make([]zoneSum, len(a.touched))
	for i, zi := range a.touched {
		out[i] = zoneSum{zi, a.pop[zi], a.u18[zi], a.km2[zi]}
		a.pop[zi], a.u18[zi], a.km2[zi], a.seen[zi] = 0, 0, 0, false
	}
	a.touched = a.touched[:0]
	return out
}

var accPool sync.Pool

func getAcc(n int) *zoneAcc {
	a, _ := accPool.Get().(*zoneAcc)
	if a == nil || len(a.pop) != n {
		// Pooled accumulators are always left clean by flush.
		return newAcc(n)
	}
	return a
}

func newAcc(n int) *zoneAcc {
	return &zoneAcc{pop: make([]float64, n), u18: make([]float64, n), km2: make([]float64, n), seen: make([]bool, n)}
}
