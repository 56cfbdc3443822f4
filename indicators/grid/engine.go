package grid

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/parallel"
)

// Method is the value attribute "method" of grid-based exposure.
const Method = "grid-exact"

// Options configures NewEngine. The engine does no file I/O of its own: the
// caller opens the GeoTIFFs and provides the precompute's store.
type Options struct {
	// Grid is the population GeoTIFF (people per cell).
	Grid Layer
	// Under18 is an optional under-18 population GeoTIFF on the same grid
	// (zero Layer = none); without it under-18 = population × the area's
	// baseline share.
	Under18 Layer
	// Cache keeps the precompute between runs (the daemon's state dir:
	// adapter/state.FileCache); nil = no persistence.
	Cache  Cache
	Logger *slog.Logger
}

// Layer is a GeoTIFF the caller opened. The engine reads it through R only
// while NewEngine runs and never closes it.
type Layer struct {
	// Name says which layer it is in errors and logs (the file's path).
	Name string
	R    io.ReaderAt
	Size int64
	// Digest is LayerDigest of these bytes when the caller already knows
	// it (a memo of the file's identity): NewEngine then reads only the
	// TIFF's header and the window it needs, not the whole file for the
	// precompute key. nil: NewEngine computes it.
	Digest []byte
}

// Engine is the exact grid exposure engine. It implements
// indicators.ExposureEngine and is safe for concurrent use.
type Engine struct {
	areas    []indicators.Area
	onGrid   []bool
	shares   []float64
	z        *zones
	key      [32]byte
	fallback *indicators.AreaWeighted
	fbAreas  []indicators.Area
	coverage GridCoverage // how much of the areas the grid covers (coverage_share.go)
	log      *slog.Logger
	// Each area's edges by row, built the first time a footprint edge
	// crosses one of its boundary cells (exact clip, exact.go).
	areaSets []atomic.Pointer[edgeSet]
	// Each area's column extent and sums per row (inside.go), built on
	// first use.
	extOnce sync.Once
	ext     []areaExtent

	mu  sync.Mutex
	gen uint64
	// syncs counts EndSync calls: cache entries not used in the last
	// keepSyncs syncs are dropped, so the caches hold what current hazards
	// need, not every footprint a long-running daemon ever saw.
	syncs    uint64
	covCache map[[32]byte]*cachedCov
	resCache map[[32]byte]*cachedRes
	unions   []*unionEntry // recent unions' results, to update (union.go)
	// restored are results an earlier process kept (RestoreResults), by
	// strongSetKey, until the end of the next sync.
	restored map[[32]byte][]indicators.AreaExposure
	// unionUpdates counts unions updated from a kept one (tests).
	unionUpdates int
}

type cachedCov struct {
	cov      *Coverage
	edges    *edgeSet
	used     uint64
	lastSync uint64 // the last sync that used it
}

type cachedRes struct {
	res      []indicators.AreaExposure
	used     uint64
	lastSync uint64
	strong   [32]byte // strongSetKey of its footprints
}

// keepSyncs: a cache entry no sync used in this many syncs is dropped.
const keepSyncs = 2

// EndSync ends a sync (indicators.CacheAger): coverages, results and kept
// unions that neither it nor the sync before used are dropped. A footprint
// that is still current is used every sync (its union's cached result
// marks its coverage), so only hazards that went away are forgotten.
func (e *Engine) EndSync() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.syncs++
	stale := func(s uint64) bool { return s+keepSyncs < e.syncs }
	for k, c := range e.covCache {
		if stale(c.lastSync) {
			delete(e.covCache, k)
		}
	}
	for k, r := range e.resCache {
		if stale(r.lastSync) {
			delete(e.resCache, k)
		}
	}
	e.unions = slices.DeleteFunc(e.unions, func(u *unionEntry) bool { return stale(u.lastSync) })
	e.restored = nil // what the first sync after a restore did not use
}

// KeptResults returns the results the last sync used
// (indicators.ResultKeeper).
func (e *Engine) KeptResults() []indicators.KeptResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []indicators.KeptResult
	for _, r := range e.resCache {
		if r.lastSync+1 >= e.syncs {
			out = append(out, indicators.KeptResult{Key: r.strong, Res: r.res})
		}
	}
	slices.SortFunc(out, func(a, b indicators.KeptResult) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return out
}

// RestoreResults offers results an earlier process over an engine of the
// same Version kept (indicators.ResultKeeper): a footprint set found among
// them is served as it was kept.
func (e *Engine) RestoreResults(rs []indicators.KeptResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restored = make(map[[32]byte][]indicators.AreaExposure, len(rs))
	for _, r := range rs {
		e.restored[r.Key] = r.Res
	}
}

// strongSetKey is a footprint set's key beyond this process: the SHA-256
// of its footprints' distinct StrongGeometryKeys, sorted (order and
// repeats do not change a union).
func strongSetKey(polys []orb.Geometry) [32]byte {
	ks := make([][32]byte, len(polys))
	for i, g := range polys {
		ks[i] = indicators.StrongGeometryKey(g)
	}
	slices.SortFunc(ks, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	ks = slices.Compact(ks)
	h := sha256.New()
	for _, k := range ks {
		h.Write(k[:])
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// minPieceCells is the smallest (area, footprint) piece reported, in cells.
const minPieceCells = 1e-6

// Cache bounds: enough for every footprint of a busy cycle and every
// indicator's filter, small enough to never matter for memory.
const (
	maxCovCache = 4096
	maxResCache = 256
)

// NewEngine opens the population grid(s) and builds or reloads the
// precompute for these areas. Areas not wholly inside the grid fall back to
// area-weighting and are flagged method=area-weighted.
func NewEngine(areas []indicators.Area, opts Options) (*Engine, error) {
	if opts.Grid.R == nil {
		return nil, errors.New("grid: no population grid")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pt, err := NewTiff(opts.Grid.R, opts.Grid.Size)
	if err != nil {
		return nil, fmt.Errorf("grid: population grid %s: %w", opts.Grid.Name, err)
	}
	var ut *Tiff
	if opts.Under18.R != nil {
		if ut, err = NewTiff(opts.Under18.R, opts.Under18.Size); err != nil {
			return nil, fmt.Errorf("grid: under-18 grid %s: %w", opts.Under18.Name, err)
		}
		if ut.Width != pt.Width || ut.Height != pt.Height || !sameGeo(ut.Geo, pt.Geo) {
			return nil, fmt.Errorf("grid: under-18 grid %s (%d×%d, %+v) is not on the population grid %s (%d×%d, %+v)",
				opts.Under18.Name, ut.Width, ut.Height, ut.Geo, opts.Grid.Name, pt.Width, pt.Height, pt.Geo)
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "hazardsync grid precompute v%d %s %s\n", cacheVersion, LayerDigestName, areasDigestName)
	for _, l := range []Layer{opts.Grid, opts.Under18} {
		if l.R == nil {
			io.WriteString(h, "-\n")
			continue
		}
		d := l.Digest
		if d == nil {
			if d, err = LayerDigest(l.R, l.Size); err != nil {
				return nil, fmt.Errorf("grid: hashing %s: %w", l.Name, err)
			}
		}
		h.Write(d)
	}
	e := prepareEngine(areas, pt.Geo, pt.Width, pt.Height, log)
	hashAreas(h, areas, e.shares)
	copy(e.key[:], h.Sum(nil))

	if opts.Cache != nil {
		t0 := time.Now()
		z, found, err := loadCache(opts.Cache, e.key)
		switch {
		case err != nil:
			log.Warn("grid precompute cache unusable, rebuilding", "err", err)
		case found && len(z.TotPop) != len(areas):
			log.Warn("grid precompute cache unusable, rebuilding", "err", fmt.Sprintf("%d areas, want %d", len(z.TotPop), len(areas)))
		case found:
			e.z = z
			log.Info("grid precompute reloaded", "key", cacheKey(e.key), "took", time.Since(t0).Round(time.Millisecond))
			return e, nil
		}
	}
	t0 := time.Now()
	c0, r0, w, hgt := e.window(pt.Geo, pt.Width, pt.Height)
	if w == 0 {
		e.z = &zones{Geo: pt.Geo, RowStart: []int32{0}, SegEnt: []int32{0},
			TotPop: make([]float64, len(areas)), TotU18: make([]float64, len(areas)), TotKm2: make([]float64, len(areas))}
		return e, nil
	}
	mem := &arena{}
	pop, err := readLayer(pt, mem, c0, r0, w, hgt)
	if err != nil {
		mem.free()
		return nil, fmt.Errorf("grid: reading %s: %w", opts.Grid.Name, err)
	}
	var u18 []float32
	if ut != nil {
		if u18, err = readLayer(ut, mem, c0, r0, w, hgt); err != nil {
			mem.free()
			return nil, fmt.Errorf("grid: reading %s: %w", opts.Under18.Name, err)
		}
	}
	wg := Geo{X0: pt.Geo.X0 + float64(c0)*pt.Geo.DX, Y0: pt.Geo.Y0 - float64(r0)*pt.Geo.DY, DX: pt.Geo.DX, DY: pt.Geo.DY}
	e.z = buildZones(mem, areas, e.onGrid, wg, w, hgt, pop, u18, e.shares)
	log.Info("grid precompute built", "cells", w*hgt, "areas_on_grid", len(areas)-len(e.fbAreas),
		"areas_area_weighted", len(e.fbAreas), "took", time.Since(t0).Round(time.Millisecond))
	if opts.Cache != nil {
		if err := saveCache(opts.Cache, e.key, e.z); err != nil {
			log.Warn("grid precompute not persisted", "err", err)
		}
	}
	return e, nil
}

// NewEngineFromLayers builds the engine from grids already in memory (the
// benchmark workload, tests). u18 may be nil. The layers are kept, not
// copied; NaN cells count as zero people.
func NewEngineFromLayers(areas []indicators.Area, geo Geo, width, height int, pop, u18 []float32) *Engine {
	e := prepareEngine(areas, geo, width, height, nil)
	e.key = layersKey(e, geo, width, height)
	clean := func(v []float32) {
		for i, x := range v {
			if x != x || x < 0 {
				v[i] = 0
			}
		}
	}
	clean(pop)
	if u18 != nil {
		clean(u18)
	}
	e.z = buildZones(&arena{}, areas, e.onGrid, geo, width, height, pop, u18, e.shares)
	return e
}

func prepareEngine(areas []indicators.Area, geo Geo, width, height int, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{areas: areas, onGrid: make([]bool, len(areas)), shares: make([]float64, len(areas)), log: log,
		areaSets: make([]atomic.Pointer[edgeSet], len(areas)),
		covCache: map[[32]byte]*cachedCov{}, resCache: map[[32]byte]*cachedRes{}}
	gb := geo.Bounds(width, height)
	e.coverage = AreaShare(areas, gb)
	for i, a := range areas {
		if s, ok := a.Baseline.Under18Share(); ok {
			e.shares[i] = s
		} else {
			e.shares[i] = math.NaN()
		}
		if a.Geometry != nil && indicators.IsPolygonal(a.Geometry) {
			b := a.Bound()
			e.onGrid[i] = b.Min[0] >= gb.Min[0] && b.Max[0] <= gb.Max[0] && b.Min[1] >= gb.Min[1] && b.Max[1] <= gb.Max[1]
		}
		if !e.onGrid[i] {
			e.fbAreas = append(e.fbAreas, a)
		}
	}
	if len(e.fbAreas) > 0 {
		e.fallback = indicators.NewAreaWeighted(e.fbAreas)
		codes := make([]string, 0, len(e.fbAreas))
		for _, a := range e.fbAreas {
			codes = append(codes, a.Code)
		}
		log.Warn("areas outside the population grid use area-weighting", "count", len(codes), "codes", strings.Join(codes[:min(len(codes), 10)], ","))
	}
	return e
}

// window is the cell window covering every on-grid area.
func (e *Engine) window(g Geo, width, height int) (c0, r0, w, h int) {
	b := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	any := false
	for i, a := range e.areas {
		if e.onGrid[i] {
			b = b.Union(a.Bound())
			any = true
		}
	}
	if !any {
		return 0, 0, 0, 0
	}
	c0 = max(0, int(math.Floor((b.Min[0]-g.X0)/g.DX)))
	c1 := min(width, int(math.Ceil((b.Max[0]-g.X0)/g.DX)))
	r0 = max(0, int(math.Floor((g.Y0-b.Max[1])/g.DY)))
	r1 := min(height, int(math.Ceil((g.Y0-b.Min[1])/g.DY)))
	if c1 <= c0 || r1 <= r0 {
		return 0, 0, 0, 0
	}
	return c0, r0, c1 - c0, r1 - r0
}

func readLayer(t *Tiff, mem *arena, c0, r0, w, h int) ([]float32, error) {
	v, err := t.readWindow(mem, c0, r0, w, h)
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if x != x || x < 0 {
			v[i] = 0 // nodata (lakes, sea) holds nobody
		}
	}
	return v, nil
}

func sameGeo(a, b Geo) bool {
	eq := func(x, y, tol float64) bool { return math.Abs(x-y) <= tol }
	return eq(a.DX, b.DX, 1e-12) && eq(a.DY, b.DY, 1e-12) && eq(a.X0, b.X0, a.DX*1e-6) && eq(a.Y0, b.Y0, a.DY*1e-6)
}

// areasDigestName tags hashAreas' method in the precompute key: keys of
// an older method are simply not found (the precompute is rebuilt).
const areasDigestName = "areas-geomkey128"

// hashAreas writes the areas' digest to w: per area its code, share and
// indicators.AreaGeometryKey, in area order. The geometry keys are
// computed on every core: one SHA-256 stream over every vertex took 0.08 s
// of a start's critical path at country size.
func hashAreas(w io.Writer, areas []indicators.Area, shares []float64) {
	geoms := make([][2]uint64, len(areas))
	const per = 64
	parallel.Each((len(areas)+per-1)/per, func(_, c int) {
		for i := c * per; i < min(len(areas), (c+1)*per); i++ {
			geoms[i] = indicators.AreaGeometryKey(areas[i].Geometry)
		}
	})
	b := make([]byte, 0, len(areas)*48)
	for i, a := range areas {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(a.Code)))
		b = append(b, a.Code...)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(shares[i]))
		b = binary.LittleEndian.AppendUint64(b, geoms[i][0])
		b = binary.LittleEndian.AppendUint64(b, geoms[i][1])
	}
	w.Write(b)
}

// Method is "grid-exact".
func (e *Engine) Method() string { return Method }

// Version identifies the precompute (its inputs' hash); exposure results are
// cached under it.
func (e *Engine) Version() string { return hex.EncodeToString(e.key[:8]) }

// Totals returns an area's population, under-18 population and area (km²)
// on the grid, and whether the area is on the grid.
func (e *Engine) Totals(code string) (pop, u18, km2 float64, ok bool) {
	defer runtime.KeepAlive(e)
	for i, a := range e.areas {
		if a.Code == code && e.onGrid[i] {
			return e.z.TotPop[i], e.z.TotU18[i], e.z.TotKm2[i], true
		}
	}
	return 0, 0, 0, false
}

// Expose returns the exposure of the union of the footprints: a cell covered
// by several footprints counts once. Coverages are cached per footprint
// geometry and whole results per footprint set, so unchanged hazards cost
// nothing.
func (e *Engine) Expose(footprints []orb.Geometry) ([]indicators.AreaExposure, error) {
	res, err := e.ExposeEach([][]orb.Geometry{footprints})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// exposeUnion is the exposure of a set of several footprints' union: one
// footprint (the others were repeats) summed area by area (sumsOne, with
// the areas classify already knows), several as a union (union.go).
func (e *Engine) exposeUnion(fs fpSet, gen uint64) ([]indicators.AreaExposure, error) {
	use, useSets, useGeoms, useHashes := e.coverages(fs, gen)
	var res []indicators.AreaExposure
	switch {
	case len(use) == 0 || e.z.Height == 0:
	case len(use) == 1:
		res = e.finish(e.sumsOne(use[0], useSets[0], e.classify(useGeoms[0])))
	default:
		res = e.unionOnGrid(fs.key, use, useSets, useHashes, gen)
	}
	return e.withFallback(res, fs.polys)
}

// fpSet is one Expose call's polygonal footprints, their geometry hashes
// and the key of their union (order and duplicates ignored).
type fpSet struct {
	polys  []orb.Geometry
	hashes [][32]byte
	key    [32]byte
}

func footprintSet(footprints []orb.Geometry) fpSet {
	var fs fpSet
	for _, f := range footprints {
		if f == nil || !indicators.IsPolygonal(f) {
			continue
		}
		fs.polys = append(fs.polys, f)
		fs.hashes = append(fs.hashes, geomKey(f))
	}
	// The union does not depend on order or duplicates.
	set := slices.Clone(fs.hashes)
	slices.SortFunc(set, func(a, b [32]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	set = slices.Compact(set)
	fs.key = keyOf(asBytes(set))
	return fs
}

// coverages returns the non-empty coverages (and edge sets, geometries and
// their hashes) of the set's footprints, from the cache or rasterised now
// and cached; a footprint given twice counts once.
func (e *Engine) coverages(fs fpSet, gen uint64) ([]*Coverage, []*edgeSet, []orb.Geometry, [][32]byte) {
	covs, sets := e.coverageEach(fs, gen)
	var use []*Coverage
	var useSets []*edgeSet
	var useGeoms []orb.Geometry
	var useHashes [][32]byte
	seen := map[[32]byte]bool{}
	for i, c := range covs {
		if seen[fs.hashes[i]] {
			continue // duplicate footprint: the union counts it once
		}
		seen[fs.hashes[i]] = true
		if c.Rows > 0 {
			use = append(use, c)
			useSets = append(useSets, sets[i])
			useGeoms = append(useGeoms, fs.polys[i])
			useHashes = append(useHashes, fs.hashes[i])
		}
	}
	return use, useSets, useGeoms, useHashes
}

// coverageEach returns every footprint's coverage and edge set, in order
// (a repeated footprint gets the same ones), from the cache or rasterised
// now on every core and cached.
func (e *Engine) coverageEach(fs fpSet, gen uint64) ([]*Coverage, []*edgeSet) {
	covs := make([]*Coverage, len(fs.polys))
	sets := make([]*edgeSet, len(fs.polys))
	first := map[[32]byte]int{}
	var missing []int
	e.mu.Lock()
	for i, k := range fs.hashes {
		if _, ok := first[k]; ok {
			continue
		}
		first[k] = i
		if c, ok := e.covCache[k]; ok {
			c.used, c.lastSync = gen, e.syncs
			covs[i], sets[i] = c.cov, c.edges
		} else {
			missing = append(missing, i)
		}
	}
	e.mu.Unlock()

	parallel.Each(len(missing), func(_, j int) {
		i := missing[j]
		covs[i] = Rasterize(fs.polys[i], e.z.Geo, e.z.Width, e.z.Height)
		sets[i] = newEdgeSet(fs.polys[i], e.z.Geo, e.z.Height)
	})
	e.mu.Lock()
	for _, i := range missing {
		e.covCache[fs.hashes[i]] = &cachedCov{cov: covs[i], edges: sets[i], used: gen, lastSync: e.syncs}
	}
	evict(e.covCache, maxCovCache, func(c *cachedCov) uint64 { return c.used })
	e.mu.Unlock()
	for i, k := range fs.hashes {
		if j := first[k]; j != i {
			covs[i], sets[i] = covs[j], sets[j]
		}
	}
	return covs, sets
}

// ExposeEach returns each footprint set's exposure on its own, as Expose
// would for each (the same numbers, bit for bit, and the same caches), in
// one pass: the sets of a single polygonal footprint — an ensemble's
// member swaths — are rasterised on every core and swept together
// (sumsEach), so the areas they share are read once. Other sets go
// through Expose.
func (e *Engine) ExposeEach(sets [][]orb.Geometry) ([][]indicators.AreaExposure, error) {
	defer runtime.KeepAlive(e) // the precompute's arrays are in e.z's arena
	out := make([][]indicators.AreaExposure, len(sets))
	fss := make([]fpSet, len(sets))
	parallel.Each(len(sets), func(_, i int) { fss[i] = footprintSet(sets[i]) })
	var batch []int  // sets of one footprint not in the result cache
	var one fpSet    // their footprints
	var unions []int // sets of several, not in the cache
	e.mu.Lock()
	e.gen++
	gen := e.gen
	for i, fs := range fss {
		if len(fs.polys) == 0 {
			continue
		}
		if r, ok := e.resCache[fs.key]; ok {
			r.used, r.lastSync = gen, e.syncs
			// Its footprints are current: their coverages and the
			// kept union stay for the next union that changes a few.
			for _, h := range fs.hashes {
				if c, ok := e.covCache[h]; ok {
					c.lastSync = e.syncs
				}
			}
			for _, u := range e.unions {
				if u.key == fs.key {
					u.lastSync = e.syncs
				}
			}
			out[i] = slices.Clone(r.res)
			continue
		}
		if len(fs.polys) > 1 {
			unions = append(unions, i)
			continue
		}
		batch = append(batch, i)
		one.polys, one.hashes = append(one.polys, fs.polys[0]), append(one.hashes, fs.hashes[0])
	}
	restored := e.restored
	e.mu.Unlock()
	// Every set computed now gets its key beyond this process; a set an
	// earlier process kept (RestoreResults) is served as it was.
	strong := make([][32]byte, len(sets))
	parallel.Each(len(unions)+len(batch), func(_, k int) {
		i := 0
		if k < len(unions) {
			i = unions[k]
		} else {
			i = batch[k-len(unions)]
		}
		strong[i] = strongSetKey(fss[i].polys)
	})
	if len(restored) > 0 {
		served := func(i int) bool {
			r, ok := restored[strong[i]]
			if ok {
				e.storeResult(fss[i].key, strong[i], r, gen)
				out[i] = slices.Clone(r)
			}
			return ok
		}
		unions = slices.DeleteFunc(unions, served)
		kept := batch[:0]
		var keptOne fpSet
		for k, i := range batch {
			if !served(i) {
				kept = append(kept, i)
				keptOne.polys, keptOne.hashes = append(keptOne.polys, one.polys[k]), append(keptOne.hashes, one.hashes[k])
			}
		}
		batch, one = kept, keptOne
	}
	for _, i := range unions {
		res, err := e.exposeUnion(fss[i], gen)
		if err != nil {
			return nil, err
		}
		e.storeResult(fss[i].key, strong[i], res, gen)
		out[i] = slices.Clone(res)
	}
	// Batches of maxBatch bound the per-footprint sums held at once.
	for lo := 0; lo < len(batch); lo += maxBatch {
		hi := min(len(batch), lo+maxBatch)
		part := fpSet{polys: one.polys[lo:hi], hashes: one.hashes[lo:hi]}
		res, err := e.exposeBatch(part, gen)
		if err != nil {
			return nil, err
		}
		for j, i := range batch[lo:hi] {
			e.storeResult(fss[i].key, strong[i], res[j], gen)
			out[i] = slices.Clone(res[j])
		}
	}
	return out, nil
}

// maxBatch is how many footprints ExposeEach sweeps together: enough that
// an ensemble's members (52) go in one sweep, few enough that their
// per-area sums (24 B × areas each) stay small.
const maxBatch = 64

// exposeBatch is ExposeEach's work for footprints one by one.
func (e *Engine) exposeBatch(one fpSet, gen uint64) ([][]indicators.AreaExposure, error) {
	covs, edges := e.coverageEach(one, gen)
	var use []int // positions with a non-empty coverage
	for j, c := range covs {
		if c.Rows > 0 {
			use = append(use, j)
		}
	}
	cls := make([][]int8, len(use))
	parallel.Each(len(use), func(_, k int) { cls[k] = e.classify(one.polys[use[k]]) })
	ucovs, uedges := make([]*Coverage, len(use)), make([]*edgeSet, len(use))
	for k, j := range use {
		ucovs[k], uedges[k] = covs[j], edges[j]
	}
	var totals []zoneTotals
	if e.z.Height > 0 && len(use) > 0 {
		totals = e.sumsEach(ucovs, uedges, cls)
	}
	out := make([][]indicators.AreaExposure, len(covs))
	k := 0
	for j := range covs {
		var res []indicators.AreaExposure
		if k < len(use) && use[k] == j {
			if totals != nil {
				res = e.finish(totals[k])
			}
			k++
		}
		res, err := e.withFallback(res, one.polys[j:j+1])
		if err != nil {
			return nil, err
		}
		out[j] = res
	}
	return out, nil
}

// withFallback appends the area-weighted results of the areas off the grid.
func (e *Engine) withFallback(res []indicators.AreaExposure, polys []orb.Geometry) ([]indicators.AreaExposure, error) {
	if e.fallback == nil {
		return res, nil
	}
	fb, err := e.fallback.Expose(polys)
	if err != nil {
		return nil, err
	}
	for i := range fb {
		fb[i].Method = e.fallback.Method()
	}
	return append(res, fb...), nil
}

func (e *Engine) storeResult(key, strong [32]byte, res []indicators.AreaExposure, gen uint64) {
	e.mu.Lock()
	e.resCache[key] = &cachedRes{res: res, used: gen, lastSync: e.syncs, strong: strong}
	evict(e.resCache, maxResCache, func(c *cachedRes) uint64 { return c.used })
	e.mu.Unlock()
}

// evict drops the least recently used half when a cache is over its bound.
func evict[V any](m map[[32]byte]V, limit int, used func(V) uint64) {
	if len(m) <= limit {
		return
	}
	gens := make([]uint64, 0, len(m))
	for _, v := range m {
		gens = append(gens, used(v))
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i] < gens[j] })
	cut := gens[len(gens)/2]
	for k, v := range m {
		if used(v) < cut {
			delete(m, k)
		}
	}
}

// ExposeBands returns the exposure of each band's footprints (bands are
// cumulative: "MMI 6" covers everywhere MMI ≥ 6), keyed by band label.
func (e *Engine) ExposeBands(fps []indicators.Footprint) (map[string][]indicators.AreaExposure, error) {
	byBand := map[string][]orb.Geometry{}
	for _, f := range fps {
		if f.Geometry != nil {
			byBand[f.Band] = append(byBand[f.Band], f.Geometry)
		}
	}
	out := make(map[string][]indicators.AreaExposure, len(byBand))
	for b, gs := range byBand {
		x, err := e.Expose(gs)
		if err != nil {
			return nil, fmt.Errorf("band %q: %w", b, err)
		}
		out[b] = x
	}
	return out, nil
}

// zoneTotals are per-area sums over the whole grid, indexed like e.areas.
type zoneTotals struct{ pop, u18, km2 []float64 }

// sums is the sweep for a union: per-area sums of population, under-18
// and km² over the union of the coverages (sets are their edges). Per row,
// the footprints' breakpoints are merged and each interval is summed
// against the zone segments with the block prefixes, as covered fraction ×
// area fraction. That product is exact wherever one of the two is 0 or 1;
// in the cells where a footprint edge meets an area boundary, or two
// footprint edges meet, the covered part is clipped exactly instead
// (cellFrac). One coverage takes sumsOne (inside.go); this sweep is its
// reference in the tests.
func (e *Engine) sums(covs []*Coverage, sets []*edgeSet) zoneTotals {
	return e.sumsWithin(covs, sets, nil)
}

// colWindow is the columns [lo, hi) of one row that a sweep sums.
type colWindow struct{ lo, hi int32 }

// sumsWithin is sums over only the cells in each row's window (every cell
// when win is nil). The windows' ends must be segment boundaries (an
// area's first cell in a row, one past its last) so that the areas inside
// get every term they get in the whole sweep; others get parts.
func (e *Engine) sumsWithin(covs []*Coverage, sets []*edgeSet, win []colWindow) zoneTotals {
	z := e.z
	nA := len(e.areas)
	// Rows → coverages touching them.
	rowLo, rowHi := z.Height, -1
	for _, c := range covs {
		rowLo, rowHi = min(rowLo, c.Row0), max(rowHi, c.Row0+c.Rows-1)
	}
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
	// Enough chunks that both cores stay busy on small footprints too.
	rows := rowHi - rowLo + 1
	chunk := max(8, min(64, rows/(4*nw)))
	nch := (rows + chunk - 1) / chunk
	// Each chunk hands back its own sparse sums, added up in chunk order, so
	// results are bit-for-bit the same whichever worker ran which chunk.
	chunkSums := make([][]zoneSum, nch)
	one := []int32{0}
	scs := make([]clipScratch, nw) // per worker: buffers outlive chunks
	parallel.Each(nch, func(w, ci int) {
		a := accs[w]
		sc := &scs[w]
		defer func() { chunkSums[ci] = a.flush() }()
		type bp struct {
			col int32
			fp  int32
			val float64
		}
		var merged []bp
		cur := make([]float64, len(covs))
		var active, partial []int32
		var fsets []*edgeSet
		var rw rowWalker
		for r := rowLo + ci*chunk; r < min(rowHi+1, rowLo+(ci+1)*chunk); r++ {
			s0, s1 := int(z.RowStart[r]), int(z.RowStart[r+1])
			if s0 == s1 || (win != nil && win[r].lo >= win[r].hi) {
				continue
			}
			rw.reset(z, r)
			seg := s0 // segment cursor: intervals come left to right
			// emit adds the interval [x0,x1) covered by the union at u;
			// part lists the footprints covering it partly (none when u
			// is 0 or 1, i.e. exact).
			emit := func(x0, x1 int, u float64, part []int32) {
				if win != nil {
					if x0, x1 = max(x0, int(win[r].lo)), min(x1, int(win[r].hi)); x0 >= x1 {
						return
					}
				}
				fsets = fsets[:0]
				for _, fi := range part {
					fsets = append(fsets, sets[fi])
				}
				// Last segment starting at or before x0, searched from the
				// cursor: usually it is the cursor's or the next one.
				for n := 0; n < 4 && seg+1 < s1 && int(z.SegCol[seg+1]) <= x0; n++ {
					seg++
				}
				lo, hi := seg, s1
				if seg+1 >= s1 || int(z.SegCol[seg+1]) > x0 {
					hi = seg + 1
				}
				for lo < hi {
					m := int(uint(lo+hi) >> 1)
					if int(z.SegCol[m]) <= x0 {
						lo = m + 1
					} else {
						hi = m
					}
				}
				seg = max(s0, lo-1)
				for x := x0; x < x1 && seg < s1; seg++ {
					sa, sb := int(z.SegCol[seg]), z.Width
					if seg+1 < s1 {
						sb = int(z.SegCol[seg+1])
					}
					lo, hi := max(x, sa), min(x1, sb)
					x = sb
					if lo >= hi {
						continue
					}
					e0, e1 := z.SegEnt[seg], z.SegEnt[seg+1]
					if e0 == e1 {
						continue
					}
					var ps, us float64
					pa, ua := z.SegPre[seg], 0.0
					if z.U18 != nil {
						ua = z.SegU18Pre[seg]
					}
					if rw.x <= sa {
						rw.set(sa, pa, ua) // free jump to the segment start
					}
					if hi == sb {
						pb, ub := z.segEnd(r, seg, s1)
						if lo == sa {
							ps, us = pb-pa, ub-ua
						} else {
							rw.advance(lo)
							ps, us = pb-rw.p, ub-rw.u
						}
						rw.set(sb, pb, ub)
					} else {
						rw.advance(lo)
						ps, us = rw.advance(hi)
					}
					ps, us = u*ps, u*us
					km := u * float64(hi-lo) * z.CellKm2[r]
					for en := e0; en < e1; en++ {
						zi, f := z.EntZone[en], z.EntFrac[en]
						a.touch(zi)
						if len(fsets) > 1 || (len(fsets) == 1 && f < 1) {
							e.exactCells(a, zi, r, lo, hi, zi, f, fsets, sc)
							continue
						}
						a.pop[zi] += f * ps
						a.km2[zi] += f * km
						if z.U18 != nil {
							a.u18[zi] += f * us
						} else {
							a.u18[zi] += f * ps * e.shares[zi]
						}
					}
				}
				// The last segment may continue into the next interval.
				seg = max(s0, seg-1)
			}
			if len(covs) == 1 {
				cols, vals := covs[0].Row(r)
				for k := 0; k+1 < len(cols); k++ {
					switch v := vals[k]; {
					case v == 1:
						emit(int(cols[k]), int(cols[k+1]), v, nil)
					case v > 0:
						emit(int(cols[k]), int(cols[k+1]), v, one)
					}
				}
				continue
			}
			merged = merged[:0]
			for fi, c := range covs {
				cols, vals := c.Row(r)
				for k := range cols {
					merged = append(merged, bp{cols[k], int32(fi), vals[k]})
				}
			}
			if len(merged) == 0 {
				continue
			}
			slices.SortFunc(merged, func(a, b bp) int { return int(a.col - b.col) })
			active = active[:0]
			for k := 0; k < len(merged); {
				col := merged[k].col
				for ; k < len(merged) && merged[k].col == col; k++ {
					m := merged[k]
					if cur[m.fp] == 0 && m.val != 0 {
						active = append(active, m.fp)
					}
					cur[m.fp] = m.val
				}
				j := 0
				miss := 1.0
				partial = partial[:0]
				for _, fp := range active {
					if cur[fp] != 0 {
						active[j] = fp
						j++
						miss *= 1 - cur[fp]
						if cur[fp] < 1 {
							partial = append(partial, fp)
						}
					}
				}
				active = active[:j]
				if k < len(merged) && j > 0 {
					if miss == 0 {
						// A footprint covers the cells whole.
						emit(int(col), int(merged[k].col), 1, nil)
					} else {
						emit(int(col), int(merged[k].col), 1-miss, partial)
					}
				}
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

// finish turns per-area sums into results.
func (e *Engine) finish(t zoneTotals) []indicators.AreaExposure {
	out, _ := e.finishAreas(t, nil)
	return out
}

// finishAreas is finish for the areas in only (all when nil), with each
// result's area index. A piece under a millionth of a cell (of the area's
// largest) is the noise of coordinate rounding where a footprint follows an
// area's boundary (GEOS leaves the same slivers): the area is not hit.
func (e *Engine) finishAreas(t zoneTotals, only []bool) ([]indicators.AreaExposure, []int32) {
	z := e.z
	nA := len(e.areas)
	ext := e.extents()
	var out []indicators.AreaExposure
	var idx []int32
	for i := 0; i < nA; i++ {
		if !e.onGrid[i] || t.km2[i] < ext[i].minKm2 || (only != nil && !only[i]) {
			continue
		}
		a := e.areas[i]
		x := indicators.AreaExposure{Code: a.Code, AreaKm2: t.km2[i], Population: t.pop[i], KnownPopulation: true, Method: Method}
		if z.TotKm2[i] > 0 {
			x.Fraction = min(1, t.km2[i]/z.TotKm2[i])
		}
		if z.TotPop[i] > 0 {
			x.Share = min(1, t.pop[i]/z.TotPop[i])
		}
		if u := t.u18[i]; !math.IsNaN(u) {
			x.Under18, x.KnownUnder18 = u, true
		}
		out, idx = append(out, x), append(idx, int32(i))
	}
	return out, idx
}

var (
	_ indicators.ExposureEngine = (*Engine)(nil)
	_ indicators.EachExposer    = (*Engine)(nil)
)

// ResetCache forgets cached coverages and results (benchmarks measure cold
// cycles with it).
func (e *Engine) ResetCache() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.covCache = map[[32]byte]*cachedCov{}
	e.resCache = map[[32]byte]*cachedRes{}
	e.unions = nil
}

// EdgeBytes is the memory held by the areas' edge sets, built for the exact
// clip the first time a footprint edge crosses an area's boundary cells.
func (e *Engine) EdgeBytes() int {
	n := 0
	for i := range e.areaSets {
		if s := e.areaSets[i].Load(); s != nil {
			n += s.Bytes()
		}
	}
	return n
}

// PrecomputeBytes is the memory the precompute holds, value layers included.
func (e *Engine) PrecomputeBytes() int {
	n := 0
	for _, a := range e.z.arrays() {
		n += len(a.bytes())
	}
	return n
}

// ExtentBytes is the memory of the areas' per-row extents (inside.go),
// built from the precompute on the first sync and kept beside it: 36 bytes
// an area-row.
func (e *Engine) ExtentBytes() int {
	if e.ext == nil {
		return 0
	}
	n := 0
	for _, x := range e.ext {
		n += len(x.lo)
	}
	return 36 * n
}

// ZonalTotals is the exact population of each area over a grid held in
// memory, straight from the coverage kernel (no precompute): the startup and
// refresh figure, and the one compared with GDAL in bench-compare. Areas not
// on the grid get 0; NaN or negative cells count as nobody.
func ZonalTotals(areas []indicators.Area, geo Geo, width, height int, pop []float32) []float64 {
	out := make([]float64, len(areas))
	type scratch struct {
		rz  rasterizer
		cov Coverage
	}
	ws := make([]scratch, workers())
	parallel.Each(len(areas), func(w, i int) {
		if areas[i].Geometry == nil {
			return
		}
		cov := &ws[w].cov
		ws[w].rz.rasterize(areas[i].Geometry, geo, width, height, cov)
		var s float64
		for r := cov.Row0; r < cov.Row0+cov.Rows; r++ {
			cols, vals := cov.Row(r)
			row := pop[r*width:]
			for k := 0; k+1 < len(cols); k++ {
				if vals[k] == 0 {
					continue
				}
				s += vals[k] * sumPeople(row[cols[k]:cols[k+1]])
			}
		}
		out[i] = s
	})
	return out
}

// sumPeople is Σ of the positive cells (NaN and negative = nobody), with
// four independent sums so the adds do not wait on each other.
func sumPeople(v []float32) float64 {
	var s0, s1, s2, s3 float64
	pos := func(x float32) float64 {
		if x > 0 {
			return float64(x)
		}
		return 0
	}
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += pos(v[i])
		s1 += pos(v[i+1])
		s2 += pos(v[i+2])
		s3 += pos(v[i+3])
	}
	for ; i < len(v); i++ {
		s0 += pos(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func layersKey(e *Engine, geo Geo, width, height int) (k [32]byte) {
	h := sha256.New()
	fmt.Fprintf(h, "hazardsync grid precompute v%d %s in-memory %d×%d %v\n", cacheVersion, areasDigestName, width, height, geo)
	hashAreas(h, e.areas, e.shares)
	copy(k[:], h.Sum(nil))
	return k
}

// Persist stores the precompute in c (as NewEngine does with Options.Cache).
func (e *Engine) Persist(c Cache) error {
	defer runtime.KeepAlive(e) // the arrays are in e.z's arena
	return saveCache(c, e.key, e.z)
}

// LoadEngine reloads what Persist stored for an engine built by
// NewEngineFromLayers over the same areas and grid geometry.
func LoadEngine(areas []indicators.Area, geo Geo, width, height int, c Cache) (*Engine, error) {
	e := prepareEngine(areas, geo, width, height, nil)
	e.key = layersKey(e, geo, width, height)
	z, found, err := loadCache(c, e.key)
	switch {
	case err != nil:
		return nil, err
	case !found:
		return nil, fmt.Errorf("grid cache: no precompute stored under %s", cacheKey(e.key))
	case len(z.TotPop) != len(areas):
		return nil, fmt.Errorf("grid cache: %d areas, want %d", len(z.TotPop), len(areas))
	}
	e.z = z
	return e, nil
}

// Footprint keys only live in this process's caches, so a seeded 2×64-bit
// maphash is enough and far cheaper than SHA-256 on every call; the ring
// coordinates are hashed as the memory they are.
var keySeeds = [4]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed(), maphash.MakeSeed()}

type keyHasher struct{ h [4]maphash.Hash }

func (k *keyHasher) Write(b []byte) (int, error) {
	for i := range k.h {
		k.h[i].Write(b)
	}
	return len(b), nil
}

func newKeyHasher() *keyHasher {
	k := &keyHasher{}
	for i := range k.h {
		k.h[i].SetSeed(keySeeds[i])
	}
	return k
}

func (k *keyHasher) sum() (out [32]byte) {
	for i := range k.h {
		binary.LittleEndian.PutUint64(out[8*i:], k.h[i].Sum64())
	}
	return out
}

func keyOf(b []byte) [32]byte {
	k := newKeyHasher()
	k.Write(b)
	return k.sum()
}

func geomKey(g orb.Geometry) [32]byte {
	k := newKeyHasher()
	var walk func(g orb.Geometry)
	walk = func(g orb.Geometry) {
		switch t := g.(type) {
		case orb.Polygon:
			k.Write([]byte{'P', byte(len(t))})
			for _, r := range t {
				k.Write([]byte{'R'})
				k.Write(asBytes(r))
			}
		case orb.MultiPolygon:
			k.Write([]byte{'M'})
			for _, p := range t {
				walk(p)
			}
		case orb.Ring:
			walk(orb.Polygon{t})
		case orb.Collection:
			k.Write([]byte{'C'})
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(g)
	return k.sum()
}

// exactCells adds, for area zi over cells [lo,hi) of row r, the people,
// under-18 and km² inside area ∩ (union of the footprints fsets), clipped
// exactly per cell. f is the area's coverage of these cells: when it is 1
// the cells lie wholly inside the area and only the footprints are clipped.
// The sums go to a's slot.
func (e *Engine) exactCells(a *zoneAcc, slot int32, r, lo, hi int, zi int32, f float64, fsets []*edgeSet, sc *clipScratch) {
	z := e.z
	var area *edgeSet
	if f < 1 {
		area = e.areaEdges(zi)
	}
	row := r * z.Width
	for x := lo; x < hi; x++ {
		g := cellFrac(r, x, area, fsets, sc)
		if g == 0 {
			continue
		}
		p := float64(z.Pop[row+x])
		a.pop[slot] += g * p
		a.km2[slot] += g * z.CellKm2[r]
		if z.U18 != nil {
			a.u18[slot] += g * float64(z.U18[row+x])
		} else {
			a.u18[slot] += g * p * e.shares[zi]
		}
	}
}

// areaEdges is area zi's edge set, built on first use; concurrent first
// uses may both build it, and one wins.
func (e *Engine) areaEdges(zi int32) *edgeSet {
	if s := e.areaSets[zi].Load(); s != nil {
		return s
	}
	s := newEdgeSet(e.areas[zi].Geometry, e.z.Geo, e.z.Height)
	if e.areaSets[zi].CompareAndSwap(nil, s) {
		return s
	}
	return e.areaSets[zi].Load()
}
