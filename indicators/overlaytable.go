package indicators

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"github.com/hazardsync/hazardsync/internal/parallel"
)

// The overlay: once per sync, every (area, footprint) pair whose bounds meet
// is measured exactly (km², share of the area, people and under-18s), and
// every recipe reads that table. No recipe tests geometry itself. Results
// are kept per footprint geometry hash in the Overlay, which lives as long
// as its area set, so a footprint that did not change costs a hash and a
// map lookup.

// OverlayOptions decide when an (area, footprint) pair is a hit. A polygon
// footprint hits an area only when their intersection has positive area
// (touching along an edge or at a corner is not hitting) and reaches both
// minimums; points and lines, which have no area, hit where they lie in the
// area's interior.
type OverlayOptions struct {
	// MinShare is the smallest share (0..1) of the area's surface a
	// footprint must cover to hit it; 0 = any positive area.
	MinShare float64
	// MinKm2 is the smallest intersection, in km², that hits; 0 = any.
	MinKm2 float64
}

// noiseShare is the intersection, relative to the smaller of the two
// shapes, below which an overlap is floating-point noise of a shared edge
// (about a square metre on a 1,000 km² area), not a hit.
const noiseShare = 1e-9

// Pair is one footprint's exact overlay with one area.
type Pair struct {
	// Area is the index of the area in the sync's areas.
	Area int
	// Km2 is the geodesic area of area ∩ footprint; Share is Km2 over the
	// area's own area. Both are 0 for point and line footprints.
	Km2, Share float64
	// Population and Under18 inside the intersection: from the exposure
	// engine when it has a grid, else the area's baseline × Share.
	Population, Under18           float64
	KnownPopulation, KnownUnder18 bool
}

// OverlayStats describe the last overlay built: how many distinct footprint
// geometries it saw, how many it measured and how many came from the cache.
type OverlayStats struct {
	Footprints, Computed, Reused, Pairs int
	// Restored is how many of the reused came from measures an earlier
	// process kept (RestoreMeasures).
	Restored int
	Duration time.Duration
	// PeopleErr is the exposure engine's error, if it failed: the pairs
	// then carry no people (geometry is unaffected).
	PeopleErr error
}

// Overlay measures footprints against one area set and remembers the
// results per footprint geometry. It is safe for concurrent use; builds are
// serialised.
type Overlay struct {
	areas  []Area
	key    [2]uint64
	opts   OverlayOptions
	tree   rtree.RTreeG[int]
	prep   []areaPrep
	byCode map[string]int
	// Workers overlays footprints on that many goroutines (default
	// GOMAXPROCS); results do not depend on it.
	workers int

	mu    sync.Mutex
	gen   uint64
	cache map[[2]uint64]*fpEntry
	stats OverlayStats
	// keepPrepared keeps the prepared areas after a build (SetKeepPrepared).
	keepPrepared bool
	// restored are measures an earlier process kept (RestoreMeasures), by
	// strong key, until the next build takes what it needs.
	restored   map[[32]byte][]Pair
	lastEngine ExposureEngine // the people engine of the last build
}

type areaPrep struct {
	once sync.Once
	ix   *ringIndex
	km2  float64
}

type fpEntry struct {
	pairs  []Pair
	engine ExposureEngine // the engine that filled people, nil = baseline
	used   uint64
	strong [32]byte // StrongGeometryKey of the footprint
}

// KeptMeasure is one footprint's measures (its pairs, people included)
// under its StrongGeometryKey, kept beyond the process: the runner stores
// the current ones in the state dir after a sync that is not a dry run,
// and the next process restores them (KeptMeasures, RestoreMeasures), so a
// `once` run from cron measures only footprints that changed.
type KeptMeasure struct {
	Key   [32]byte
	Pairs []Pair
}

// NewOverlay indexes an area set's bounds. Areas are prepared for exact
// measures only when a footprint first meets them.
func NewOverlay(areas []Area, opts OverlayOptions) *Overlay {
	o := &Overlay{areas: areas, opts: opts, prep: make([]areaPrep, len(areas)), byCode: make(map[string]int, len(areas)),
		cache: map[[2]uint64]*fpEntry{}, workers: runtime.GOMAXPROCS(0)}
	// The area set's key: each area's geometry key (on every core: every
	// vertex is hashed), then codes and baselines, in order.
	geoms := make([][2]uint64, len(areas))
	parallel.Each((len(areas)+63)/64, func(_, c int) {
		for i := c * 64; i < min(len(areas), (c+1)*64); i++ {
			geoms[i] = AreaGeometryKey(areas[i].Geometry)
		}
	})
	var h hasher
	h.init(areaSeeds)
	for i, a := range areas {
		o.byCode[a.Code] = i
		h.str(a.Code)
		h.u64(geoms[i][0])
		h.u64(geoms[i][1])
		h.opt(a.Baseline.Population)
		h.opt(a.Baseline.Under18)
		if a.Geometry == nil || !IsPolygonal(a.Geometry) {
			continue
		}
		b := projectedBound(GeometryBound(a.Geometry))
		o.tree.Insert(b.Min, b.Max, i)
	}
	o.key = h.sum()
	return o
}

// AreaSetKey identifies the area set (codes, geometries, baselines, in
// order), the same in every process: kept measures are only valid for it.
func (o *Overlay) AreaSetKey() [16]byte {
	var k [16]byte
	binary.LittleEndian.PutUint64(k[:8], o.key[0])
	binary.LittleEndian.PutUint64(k[8:], o.key[1])
	return k
}

// KeptMeasures returns the measures of the footprints the last build saw,
// with people from the engine it was given; nil before any build.
func (o *Overlay) KeptMeasures() []KeptMeasure {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []KeptMeasure
	for _, e := range o.cache {
		if e.used == o.gen && e.engine == o.lastEngine {
			out = append(out, KeptMeasure{Key: e.strong, Pairs: e.pairs})
		}
	}
	slices.SortFunc(out, func(a, b KeptMeasure) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return out
}

// RestoreMeasures offers measures an earlier process kept for this area
// set, with people from an engine equal to the one the next build gets
// (the caller checks both): a footprint of the next build found among them
// is not measured again. Those the next build does not use are dropped.
func (o *Overlay) RestoreMeasures(ms []KeptMeasure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.restored = make(map[[32]byte][]Pair, len(ms))
	for _, m := range ms {
		o.restored[m.Key] = m.Pairs
	}
}

// SameAreas reports whether another overlay is over the same area set
// (codes, geometries, baselines): its cache can then be kept.
func (o *Overlay) SameAreas(p *Overlay) bool { return o != nil && p != nil && o.key == p.key }

// KeepFrom takes over an older overlay's prepared areas and cached
// measures when it is over the same area set (a config reload that did not
// change the geographies), so the next sync recomputes nothing.
func (o *Overlay) KeepFrom(old *Overlay) {
	if old == nil || old == o || !o.SameAreas(old) {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.prep, o.cache, o.gen = old.prep, old.cache, old.gen
}

// SetKeepPrepared says whether the areas prepared for exact measures (each
// one's projected outline and edge index) are kept after a build that
// measured new footprints, or dropped and prepared again when a later
// footprint reaches them: memory (~37 MB at 5,130 areas of ~300 vertices)
// against the CPU of re-preparing. Measures are identical either way.
func (o *Overlay) SetKeepPrepared(keep bool) {
	o.mu.Lock()
	o.keepPrepared = keep
	o.mu.Unlock()
}

// SetOptions changes the hit thresholds; cached measures stay valid.
func (o *Overlay) SetOptions(opts OverlayOptions) {
	o.mu.Lock()
	o.opts = opts
	o.mu.Unlock()
}

// IndexBytes is the memory held by the areas prepared so far (their
// projected vertices and edge index): until the next build that measures
// new footprints, or for the overlay's life with SetKeepPrepared.
// Not to be called while Measure runs (syncs' builds are serialised with
// it).
func (o *Overlay) IndexBytes() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for i := range o.prep {
		if ix := o.prep[i].ix; ix != nil {
			n += ix.bytes()
		}
	}
	return n
}

// Stats returns the figures of the last build.
func (o *Overlay) Stats() OverlayStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

func (o *Overlay) fits(areas []Area) bool {
	return len(areas) == len(o.areas) && (len(areas) == 0 || &areas[0] == &o.areas[0])
}

func projectedBound(b orb.Bound) orb.Bound {
	return orb.Bound{Min: equalArea(b.Min), Max: equalArea(b.Max)}
}

// area is area i prepared; sc holds buffers for the build.
func (o *Overlay) area(i int, sc *bandScratch) *areaPrep {
	p := &o.prep[i]
	p.once.Do(func() {
		rings := projectedRings(o.areas[i].Geometry)
		p.ix = indexRings(rings, sc)
		var s float64
		for _, r := range rings {
			s += ringSignedArea(r)
		}
		p.km2 = math.Abs(s) * wgs84A * wgs84A / 2 / 1e6
	})
	return p
}

// preparedFootprint is a footprint split by kind and projected.
type preparedFootprint struct {
	g     orb.Geometry
	poly  *ringIndex
	km2   float64
	pts   []orb.Point
	lines [][]orb.Point
	b     orb.Bound // projected
}

func prepareFootprint(g orb.Geometry) *preparedFootprint {
	f := &preparedFootprint{g: g, b: orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}}
	var rings []orb.Ring
	var walk func(g orb.Geometry)
	walk = func(g orb.Geometry) {
		switch t := g.(type) {
		case orb.Polygon, orb.MultiPolygon, orb.Ring:
			rings = append(rings, projectedRings(t)...)
		case orb.Point:
			f.pts = append(f.pts, equalArea(t))
		case orb.MultiPoint:
			for _, p := range t {
				f.pts = append(f.pts, equalArea(p))
			}
		case orb.LineString:
			f.addLine(t)
		case orb.MultiLineString:
			for _, l := range t {
				f.addLine(l)
			}
		case orb.Collection:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(g)
	if len(rings) > 0 {
		f.poly = newRingIndex(rings)
		var s float64
		for _, r := range rings {
			s += ringSignedArea(r)
		}
		f.km2 = math.Abs(s) * wgs84A * wgs84A / 2 / 1e6
		f.b = f.b.Union(f.poly.b)
	}
	for _, p := range f.pts {
		f.b = f.b.Extend(p)
	}
	for _, l := range f.lines {
		for _, p := range l {
			f.b = f.b.Extend(p)
		}
	}
	return f
}

func (f *preparedFootprint) addLine(l orb.LineString) {
	pl := make([]orb.Point, len(l))
	for i, p := range l {
		pl[i] = equalArea(p)
	}
	f.lines = append(f.lines, pl)
}

// measure overlays one footprint on every area whose bounds it meets and
// returns the pairs with something in common, by area index. People are
// not filled in here.
func (o *Overlay) measure(f *preparedFootprint) []Pair {
	if f.b.Min[0] > f.b.Max[0] {
		return nil
	}
	var cand []int
	o.tree.Search(f.b.Min, f.b.Max, func(_, _ [2]float64, i int) bool {
		cand = append(cand, i)
		return true
	})
	slices.Sort(cand)
	var out []Pair
	var c clipper
	for _, ai := range cand {
		a := o.area(ai, &c.bands)
		if a.ix.n == 0 || a.km2 == 0 {
			continue
		}
		var km2 float64
		if f.poly != nil {
			km2 = c.intersectionKm2(a.ix, f.poly)
			if km2 <= noiseShare*min(a.km2, f.km2) {
				km2 = 0
			}
		}
		hit := km2 > 0
		if !hit {
			hit, c.ts = a.ix.pointsOrLinesInside(f, c.ts)
		}
		if hit {
			out = append(out, Pair{Area: ai, Km2: km2, Share: min(1, km2/a.km2)})
		}
	}
	return out
}

// Measure overlays one geometry on the areas, without the cache and
// without people: its hits (any positive area; points and lines inside) by
// area index. For tools and benchmarks; syncs go through the Input.
func (o *Overlay) Measure(g orb.Geometry) []Pair {
	return o.measure(prepareFootprint(g))
}

// pointsOrLinesInside reports whether any point or line piece of f lies in
// the interior of the rings (not on their boundary).
func (ix *ringIndex) pointsOrLinesInside(f *preparedFootprint, ts []float64) (bool, []float64) {
	if len(f.pts) == 0 && len(f.lines) == 0 {
		return false, ts
	}
	eps := max(ix.b.Max[0]-ix.b.Min[0], ix.b.Max[1]-ix.b.Min[1]) * 1e-9
	tol2 := eps * eps * 100
	for _, p := range f.pts {
		if ix.interior(p, tol2) {
			return true, ts
		}
	}
	for _, l := range f.lines {
		for i := 0; i+1 < len(l); i++ {
			p1, p2 := l[i], l[i+1]
			if p1 == p2 {
				if ix.interior(p1, tol2) {
					return true, ts
				}
				continue
			}
			found := false
			ts = pieces(p1, p2, ix, nil, ts, func(t0, t1 float64) {
				m := orb.Point{p1[0] + (p2[0]-p1[0])*(t0+t1)/2, p1[1] + (p2[1]-p1[1])*(t0+t1)/2}
				found = found || ix.interior(m, tol2)
			})
			if found {
				return true, ts
			}
		}
	}
	return false, ts
}

// fillPeople puts people on footprints' pairs (es[i] is gs[i]'s): the
// engine's figures for each footprint alone where it has a grid, else the
// baseline × share. The engine gets them all in one batch.
func (o *Overlay) fillPeople(es []*fpEntry, gs []orb.Geometry, eng ExposureEngine) error {
	byCode := make([]map[string]AreaExposure, len(es))
	if eng != nil {
		var sets [][]orb.Geometry
		var at []int
		for i, e := range es {
			e.engine = nil
			if IsPolygonal(gs[i]) && len(e.pairs) > 0 {
				sets, at = append(sets, []orb.Geometry{gs[i]}), append(at, i)
			}
		}
		exps, err := ExposeEach(eng, sets)
		if err != nil {
			return err
		}
		for k, i := range at {
			byCode[i] = make(map[string]AreaExposure, len(exps[k]))
			for _, x := range exps[k] {
				byCode[i][x.Code] = x
			}
		}
	}
	for i, e := range es {
		o.fillPairs(e, byCode[i])
		e.engine = eng
	}
	return nil
}

// fillPairs sets one footprint's pairs' people from the engine's figures
// (byCode; nil: none) or the baseline × share.
func (o *Overlay) fillPairs(e *fpEntry, byCode map[string]AreaExposure) {
	for i := range e.pairs {
		p := &e.pairs[i]
		a := o.areas[p.Area]
		p.Population, p.Under18, p.KnownPopulation, p.KnownUnder18 = 0, 0, false, false
		if byCode != nil {
			x := byCode[a.Code]
			// An area the footprint hits but the engine's cells do not
			// reach has no people inside: known zero, not unknown.
			p.Population, p.Under18 = x.Population, x.Under18
			p.KnownPopulation = x.KnownPopulation || x.Code == ""
			p.KnownUnder18 = x.KnownUnder18 || x.Code == ""
			continue
		}
		if v := a.Baseline.Population; v != nil {
			p.Population, p.KnownPopulation = *v*p.Share, true
		}
		if v := a.Baseline.Under18; v != nil {
			p.Under18, p.KnownUnder18 = *v*p.Share, true
		}
	}
}

// overlayTable is one sync's overlay: the hits of every footprint of the
// sync's events, thresholds applied, keyed by the footprint's address in
// the events' shared slices (which do not change during a sync).
type overlayTable struct {
	hits map[*Footprint][]Pair
	err  error
}

// Build overlays every footprint of the events on the areas, measuring
// only geometries not seen in the previous syncs, on o.workers goroutines.
// The result does not depend on the scheduling: each footprint's pairs are
// computed from its geometry alone and kept in area order.
func (o *Overlay) build(events []Event, eng ExposureEngine) *overlayTable {
	start := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	t := &overlayTable{hits: map[*Footprint][]Pair{}}
	type job struct {
		key      [2]uint64
		g        orb.Geometry
		entry    *fpEntry
		computed bool
	}
	var jobs []*job
	byKey := map[[2]uint64]*job{}
	keys := map[*Footprint][2]uint64{}
	st := OverlayStats{}
	want := peopleEngine(eng)
	for ei := range events {
		for fi := range events[ei].Footprints {
			fp := &events[ei].Footprints[fi]
			if fp.Geometry == nil {
				continue
			}
			k := geometryKey(fp.Geometry)
			keys[fp] = k
			if _, ok := byKey[k]; ok {
				continue
			}
			j := &job{key: k, g: fp.Geometry, entry: o.cache[k]}
			byKey[k] = j
			if j.entry == nil {
				j.computed = true
				jobs = append(jobs, j)
			} else {
				st.Reused++
			}
		}
	}
	// Footprints an earlier process measured (RestoreMeasures) are taken
	// as they were kept; the others are measured, on every core.
	parallel.EachOn(o.workers, len(jobs), func(_, i int) {
		j := jobs[i]
		strong := StrongGeometryKey(j.g)
		if ps, ok := o.restored[strong]; ok {
			j.entry, j.computed = &fpEntry{pairs: ps, strong: strong, engine: want}, false
			return
		}
		j.entry = &fpEntry{pairs: o.measure(prepareFootprint(j.g)), strong: strong}
	})
	o.restored = nil
	measured := jobs[:0:0]
	for _, j := range jobs {
		if j.computed {
			measured = append(measured, j)
		} else {
			st.Restored++
		}
	}
	jobs = measured
	st.Footprints, st.Computed, st.Reused = len(byKey), len(jobs), st.Reused+st.Restored
	if len(jobs) > 0 && !o.keepPrepared {
		// The measures are cached per footprint; the prepared areas are
		// only needed again for footprints not seen yet.
		o.prep = make([]areaPrep, len(o.areas))
	}
	// People: one batch for the engine, which runs its own workers. A
	// cached entry is refilled only when the engine changed.
	o.lastEngine = want
	var refill []*job
	for _, j := range byKey {
		if j.computed || j.entry.engine != want {
			refill = append(refill, j)
		}
	}
	slices.SortFunc(refill, func(a, b *job) int { return cmp.Or(cmp.Compare(a.key[0], b.key[0]), cmp.Compare(a.key[1], b.key[1])) })
	es, gs := make([]*fpEntry, len(refill)), make([]orb.Geometry, len(refill))
	for i, j := range refill {
		es[i], gs[i] = j.entry, j.g
	}
	if err := o.fillPeople(es, gs, want); err != nil {
		t.err = err
	}
	for _, j := range byKey {
		j.entry.used = o.gen
		o.cache[j.key] = j.entry
	}
	// Keep what the last few syncs used; a footprint that moved away is
	// dropped after that.
	for k, e := range o.cache {
		if e.used+2 < o.gen {
			delete(o.cache, k)
		}
	}
	for fp, k := range keys {
		ps := byKey[k].entry.pairs
		var keep []Pair
		for _, p := range ps {
			if o.opts.passes(p) || p.Km2 == 0 {
				keep = append(keep, p)
			}
		}
		t.hits[fp] = keep
		st.Pairs += len(keep)
	}
	st.Duration, st.PeopleErr = time.Since(start), t.err
	o.stats = st
	return t
}

// peopleEngine is the engine whose per-footprint figures the pairs carry:
// nil where there is no grid (the area-weighted method is the baseline ×
// share, computed here without another overlay).
func peopleEngine(eng ExposureEngine) ExposureEngine {
	if _, weighted := eng.(*AreaWeighted); weighted {
		return nil
	}
	return eng
}

// passes applies the thresholds to a polygon pair (points and lines have no
// area and are hits by construction).
func (opts OverlayOptions) passes(p Pair) bool {
	return p.Km2 > 0 && p.Km2 >= opts.MinKm2 && p.Share >= opts.MinShare
}

// hitsOf is the pairs a footprint hits.
func (t *overlayTable) hitsOf(fp *Footprint) []Pair { return t.hits[fp] }

// hit reports whether the footprint hits area ai.
func (t *overlayTable) hit(fp *Footprint, ai int) bool {
	ps := t.hits[fp]
	_, ok := slices.BinarySearchFunc(ps, ai, func(p Pair, ai int) int { return p.Area - ai })
	return ok
}

// OverlayStats returns the figures of this Input's overlay, and false when
// no recipe needed one.
func (in *Input) OverlayStats() (OverlayStats, bool) {
	if in.table == nil {
		return OverlayStats{}, false
	}
	return in.Overlay.Stats(), true
}

// areaIndex is the index of the area with this code (-1 if none), from a
// map built once per Input.
func (in *Input) areaIndex(code string) int {
	in.byCodeOnce.Do(func() {
		in.byCode = make(map[string]int, len(in.Areas))
		for i, a := range in.Areas {
			if _, dup := in.byCode[a.Code]; !dup {
				in.byCode[a.Code] = i
			}
		}
	})
	if i, ok := in.byCode[code]; ok {
		return i
	}
	return -1
}

// eventsAt returns, in their order, the events that can reach area ai:
// those with a footprint that hits it and those that name it (or a
// parent) by code. A per-area evaluation needs to look at no others.
func (in *Input) eventsAt(ai int) []Event {
	in.reachedOnce.Do(func() {
		tab := in.overlay()
		idx := make([][]int32, len(in.Areas))
		add := func(ai, ei int) {
			if l := idx[ai]; len(l) == 0 || l[len(l)-1] != int32(ei) {
				idx[ai] = append(l, int32(ei))
			}
		}
		for ei := range in.Events {
			e := &in.Events[ei]
			if len(e.Areas) > 0 {
				for ai, a := range in.Areas {
					if namesArea(e.Areas, a) {
						add(ai, ei)
					}
				}
			}
			for fi := range e.Footprints {
				for _, p := range tab.hitsOf(&e.Footprints[fi]) {
					add(p.Area, ei)
				}
			}
		}
		in.reached = make([][]Event, len(in.Areas))
		for ai, l := range idx {
			for _, ei := range l {
				in.reached[ai] = append(in.reached[ai], in.Events[ei])
			}
		}
	})
	return in.reached[ai]
}

// hitsArea returns the test "does this footprint hit area ai" on the sync's
// overlay.
func (in *Input) hitsArea(ai int) func(*Footprint) bool {
	tab := in.overlay()
	return func(fp *Footprint) bool { return tab.hit(fp, ai) }
}

// overlay returns the sync's overlay table, building it on first use with
// the Overlay the daemon keeps across syncs (or a fresh one in tests).
func (in *Input) overlay() *overlayTable {
	in.overlayOnce.Do(func() {
		if in.Overlay == nil || !in.Overlay.fits(in.Areas) {
			in.Overlay = NewOverlay(in.Areas, OverlayOptions{})
		}
		in.table = in.Overlay.build(in.Events, in.Exposure)
	})
	return in.table
}

// hasher is a 128-bit hash of geometries and codes: two XXH64 streams,
// seeded per process for footprints (keys of this process's cache, which
// a feed cannot aim collisions at) or with fixed seeds for the area set
// (its key names files in the state dir). With strong set, it is SHA-256
// instead (StrongGeometryKey).
type hasher struct {
	h      [2]xxhash.Digest
	strong hash.Hash
	buf    []byte
}

// footprintSeeds are this process's; areaSeeds are fixed.
var (
	footprintSeeds = [2]uint64{randomSeed(), randomSeed()}
	areaSeeds      = [2]uint64{0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f}
)

func randomSeed() uint64 {
	var h maphash.Hash // seeded at random
	return h.Sum64()
}

func (h *hasher) init(seeds [2]uint64) {
	h.h[0].ResetWithSeed(seeds[0])
	h.h[1].ResetWithSeed(seeds[1])
}

func (h *hasher) write(b []byte) {
	if h.strong != nil {
		h.strong.Write(b)
		return
	}
	h.h[0].Write(b)
	h.h[1].Write(b)
}

func (h *hasher) f(v float64) { h.u64(math.Float64bits(v)) }

func (h *hasher) u64(v uint64) {
	h.buf = binary.LittleEndian.AppendUint64(h.buf[:0], v)
	h.write(h.buf)
}

func (h *hasher) str(s string) {
	h.f(float64(len(s)))
	h.write([]byte(s))
}

func (h *hasher) opt(v *float64) {
	if v == nil {
		h.str("nil")
		return
	}
	h.f(*v)
}

func (h *hasher) points(tag string, ps []orb.Point) {
	h.str(tag)
	h.f(float64(len(ps)))
	// Sized once per ring, filled in place: appending grew it point by
	// point (most of what hashing an area set cost).
	n := 16 * len(ps)
	if cap(h.buf) < n {
		h.buf = make([]byte, n)
	}
	b := h.buf[:n]
	for i, p := range ps {
		binary.LittleEndian.PutUint64(b[16*i:], math.Float64bits(p[0]))
		binary.LittleEndian.PutUint64(b[16*i+8:], math.Float64bits(p[1]))
	}
	h.write(b)
}

func (h *hasher) geom(g orb.Geometry) {
	switch t := g.(type) {
	case nil:
		h.str("nil")
	case orb.Point:
		h.points("pt", []orb.Point{t})
	case orb.MultiPoint:
		h.points("mpt", t)
	case orb.LineString:
		h.points("ls", t)
	case orb.MultiLineString:
		h.str("mls")
		for _, l := range t {
			h.points("ls", l)
		}
	case orb.Ring:
		h.points("ring", t)
	case orb.Polygon:
		h.str("poly")
		h.f(float64(len(t)))
		for _, r := range t {
			h.points("ring", r)
		}
	case orb.MultiPolygon:
		h.str("mpoly")
		h.f(float64(len(t)))
		for _, p := range t {
			h.geom(p)
		}
	case orb.Collection:
		h.str("coll")
		h.f(float64(len(t)))
		for _, c := range t {
			h.geom(c)
		}
	default:
		h.str(g.GeoJSONType())
	}
}

func (h *hasher) sum() [2]uint64 { return [2]uint64{h.h[0].Sum64(), h.h[1].Sum64()} }

// geometryKey is a footprint's key in this process's overlay cache.
func geometryKey(g orb.Geometry) [2]uint64 {
	var h hasher
	h.init(footprintSeeds)
	h.geom(g)
	return h.sum()
}

// AreaGeometryKey is a 128-bit hash of an area's geometry (structure and
// coordinates' bits), the same in every process: the area set's key here,
// the areas' part of the grid precompute's key. It only has to notice a
// change; keys a feed could aim at use StrongGeometryKey.
func AreaGeometryKey(g orb.Geometry) [2]uint64 {
	var h hasher
	h.init(areaSeeds)
	h.geom(g)
	return h.sum()
}

// StrongGeometryKey is the SHA-256 of g's structure and coordinates (as
// little-endian bits): the key of measures and results kept beyond this
// process (KeptMeasure, KeptResult), where a footprint from a feed must
// not be able to pose as another.
func StrongGeometryKey(g orb.Geometry) (k [32]byte) {
	h := hasher{strong: sha256.New()}
	h.geom(g)
	copy(k[:], h.strong.Sum(nil))
	return k
}
