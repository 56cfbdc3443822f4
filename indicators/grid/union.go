package grid

import (
	"github.com/hazardsync/hazardsync/indicators"
)

// A union of many footprints (an indicator's "people in any flood") is
// swept over every row its footprints reach. When a sync moves a few of
// them, only the areas those few touch — where they were or where they are
// now — can change: the others keep the last result, and the sweep runs over
// just the footprints that reach the changed areas.

// cellBox is a footprint's or an area's cells: rows [r0, r1), cols [c0, c1).
type cellBox struct{ r0, r1, c0, c1 int32 }

func (b cellBox) meets(o cellBox) bool {
	return b.r0 < o.r1 && o.r0 < b.r1 && b.c0 < o.c1 && o.c0 < b.c1
}

// boxOf is the cells a coverage has breakpoints in (its last breakpoint in
// a row closes the row's covered run).
func boxOf(c *Coverage) cellBox {
	b := cellBox{r0: int32(c.Row0), r1: int32(c.Row0 + c.Rows), c0: 1<<31 - 1, c1: -1 << 31}
	for r := c.Row0; r < c.Row0+c.Rows; r++ {
		cols, _ := c.Row(r)
		if len(cols) > 0 {
			b.c0, b.c1 = min(b.c0, cols[0]), max(b.c1, cols[len(cols)-1]+1)
		}
	}
	return b
}

// unionEntry is a union's on-grid result kept for the next union that
// differs from it in a few footprints.
type unionEntry struct {
	key      [32]byte             // the footprint set's (fpSet.key)
	boxes    map[[32]byte]cellBox // its footprints' cells, by geometry hash
	res      []indicators.AreaExposure
	idx      []int32 // res[i] is area idx[i]'s
	used     uint64
	lastSync uint64 // the last sync that used it
}

const (
	// maxUnions bounds the kept results (a result is ~100 B per area hit).
	maxUnions = 8
	// A union is updated from a kept one only when at most this share of
	// its footprints differs; beyond that a full sweep costs about the same.
	maxChangedShare = 0.5
)

// unionOnGrid sums a union of two or more coverages (hashes are their
// geometries') over the areas on the grid, from the closest kept union when
// few footprints differ, and keeps the result.
func (e *Engine) unionOnGrid(key [32]byte, covs []*Coverage, sets []*edgeSet, hashes [][32]byte, gen uint64) []indicators.AreaExposure {
	boxes := make(map[[32]byte]cellBox, len(covs))
	for i, c := range covs {
		boxes[hashes[i]] = boxOf(c)
	}
	var res []indicators.AreaExposure
	var idx []int32
	if prev := e.closestUnion(boxes, gen); prev != nil {
		res, idx = e.updateUnion(prev, covs, sets, hashes, boxes)
	} else {
		res, idx = e.finishAreas(e.sums(covs, sets), nil)
	}
	e.mu.Lock()
	e.unions = append(e.unions, &unionEntry{key: key, boxes: boxes, res: res, idx: idx, used: gen, lastSync: e.syncs})
	if len(e.unions) > maxUnions {
		oldest := 0
		for i, u := range e.unions {
			if u.used < e.unions[oldest].used {
				oldest = i
			}
		}
		e.unions = append(e.unions[:oldest], e.unions[oldest+1:]...)
	}
	e.mu.Unlock()
	return res
}

// closestUnion is the kept union sharing the most footprints with boxes,
// if few enough differ.
func (e *Engine) closestUnion(boxes map[[32]byte]cellBox, gen uint64) *unionEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	var best *unionEntry
	bestChanged := int(maxChangedShare * float64(len(boxes)))
	for _, u := range e.unions {
		changed := 0
		for h := range boxes {
			if _, ok := u.boxes[h]; !ok {
				changed++
			}
		}
		for h := range u.boxes {
			if _, ok := boxes[h]; !ok {
				changed++
			}
		}
		if changed <= bestChanged {
			best, bestChanged = u, changed
		}
	}
	if best != nil {
		best.used, best.lastSync = gen, e.syncs
	}
	return best
}

// updateUnion is prev's result with the areas the changed footprints touch
// summed again, over the footprints reaching those areas (every footprint
// covering any cell of such an area reaches it).
func (e *Engine) updateUnion(prev *unionEntry, covs []*Coverage, sets []*edgeSet, hashes [][32]byte, boxes map[[32]byte]cellBox) ([]indicators.AreaExposure, []int32) {
	e.mu.Lock()
	e.unionUpdates++
	e.mu.Unlock()
	var changed []cellBox
	for h, b := range boxes {
		if _, ok := prev.boxes[h]; !ok {
			changed = append(changed, b)
		}
	}
	for h, b := range prev.boxes {
		if _, ok := boxes[h]; !ok {
			changed = append(changed, b)
		}
	}
	ext := e.extents()
	dirty := make([]bool, len(e.areas))
	var dirtyBoxes []cellBox
	for zi, x := range ext {
		if len(x.lo) == 0 {
			continue
		}
		ab := cellBox{r0: int32(x.row0), r1: int32(x.row0 + len(x.lo)), c0: x.colLo, c1: x.colHi}
		for _, c := range changed {
			if ab.meets(c) {
				dirty[zi] = true
				dirtyBoxes = append(dirtyBoxes, ab)
				break
			}
		}
	}
	var subCovs []*Coverage
	var subSets []*edgeSet
	for i, c := range covs {
		b := boxes[hashes[i]]
		for _, ab := range dirtyBoxes {
			if b.meets(ab) {
				subCovs, subSets = append(subCovs, c), append(subSets, sets[i])
				break
			}
		}
	}
	// Each row is summed between its changed areas' first and last cells
	// only: an area's first cell in a row and one past its last are
	// segment boundaries.
	win := make([]colWindow, e.z.Height)
	for zi, x := range ext {
		if !dirty[zi] {
			continue
		}
		for i := range x.lo {
			if x.lo[i] >= x.hi[i] {
				continue
			}
			w := &win[x.row0+i]
			if w.lo >= w.hi {
				*w = colWindow{x.lo[i], x.hi[i]}
			} else {
				w.lo, w.hi = min(w.lo, x.lo[i]), max(w.hi, x.hi[i])
			}
		}
	}
	var fresh []indicators.AreaExposure
	var freshIdx []int32
	if len(subCovs) > 0 {
		fresh, freshIdx = e.finishAreas(e.sumsWithin(subCovs, subSets, win), dirty)
	}
	// Merge by area: the kept result where nothing changed, the new one
	// where something did.
	res := make([]indicators.AreaExposure, 0, len(prev.res)+len(fresh))
	idx := make([]int32, 0, cap(res))
	i, j := 0, 0
	for i < len(prev.idx) || j < len(freshIdx) {
		if i < len(prev.idx) && dirty[prev.idx[i]] {
			i++
			continue
		}
		if j >= len(freshIdx) || (i < len(prev.idx) && prev.idx[i] < freshIdx[j]) {
			res, idx = append(res, prev.res[i]), append(idx, prev.idx[i])
			i++
			continue
		}
		res, idx = append(res, fresh[j]), append(idx, freshIdx[j])
		j++
	}
	return res, idx
}
