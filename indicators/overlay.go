package indicators

import (
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"
)

// This file holds the planar overlay primitives the recipes share: ring
// extraction with orientation, point-in-polygon, intersection tests and the
// exact area of a polygon intersection. They run in an equal-area projection
// (longitude, authalic q) so area ratios are exact on the ellipsoid.

const (
	wgs84A = 6378137.0
	wgs84F = 1 / 298.257223563
)

var (
	wgs84E2 = wgs84F * (2 - wgs84F)
	wgs84E  = math.Sqrt(wgs84E2)
)

// authalicQ is the q(φ) of the authalic latitude: the area of the ellipsoid
// between the equator and latitude φ, per radian of longitude, is a²/2·q(φ).
func authalicQ(latDeg float64) float64 {
	s := math.Sin(latDeg * math.Pi / 180)
	es := wgs84E * s
	return (1 - wgs84E2) * (s/(1-es*es) - (1/(2*wgs84E))*math.Log((1-es)/(1+es)))
}

// BandAreaKm2 is the geodesic area of the lon/lat rectangle between two
// latitudes over dLonDeg degrees of longitude, on the WGS84 ellipsoid.
func BandAreaKm2(lat1, lat2, dLonDeg float64) float64 {
	return math.Abs(authalicQ(lat2)-authalicQ(lat1)) * wgs84A * wgs84A / 2 * (dLonDeg * math.Pi / 180) / 1e6
}

// equalArea projects lon/lat degrees to (λ radians, q): a cylindrical
// equal-area projection in which planar area × a²/2 is ellipsoidal area.
func equalArea(p orb.Point) orb.Point {
	return orb.Point{p[0] * math.Pi / 180, authalicQ(p[1])}
}

// GeodesicAreaKm2 is the ellipsoidal area of a polygonal geometry in km², with
// edges straight in lon/lat as GeoJSON defines them (long edges densified,
// see maxEdgeDeg).
func GeodesicAreaKm2(g orb.Geometry) float64 {
	var sum float64
	for _, r := range projectedRings(g) {
		sum += ringSignedArea(r)
	}
	return math.Abs(sum) * wgs84A * wgs84A / 2 / 1e6
}

// maxEdgeDeg is the longest edge projected as it is. GeoJSON edges are
// straight in lon/lat (RFC 7946, and GEOS, geopandas and the grid engine
// read them so); in the equal-area projection such an edge bends, by
// about tanφ·Δφ²/8: 0.8 km for a 4.5° cone edge at 10°N, which moved a
// 0.1 km² sliver's area by 94% in make bench-e2e's comparison with
// geopandas. Longer edges get points every maxEdgeDeg (then ≤ 4 mm off at
// 10°, 4 cm at 60°).
const maxEdgeDeg = 0.01

// densify appends the projected interior points of a lon/lat-straight edge
// a→b longer than maxEdgeDeg. Points are interpolated from the smaller end
// so an edge shared by two rings, walked in opposite directions, gets the
// same points on both.
func densify(pr orb.Ring, a, b orb.Point) orb.Ring {
	n := int(math.Ceil(max(math.Abs(b[0]-a[0]), math.Abs(b[1]-a[1])) / maxEdgeDeg))
	if n <= 1 {
		return pr
	}
	lo, hi, rev := a, b, false
	if b[0] < a[0] || (b[0] == a[0] && b[1] < a[1]) {
		lo, hi, rev = b, a, true
	}
	for k := 1; k < n; k++ {
		j := k
		if rev {
			j = n - k
		}
		f := float64(j) / float64(n)
		pr = append(pr, equalArea(orb.Point{lo[0] + (hi[0]-lo[0])*f, lo[1] + (hi[1]-lo[1])*f}))
	}
	return pr
}

// projectedRings returns the rings of a Polygon/MultiPolygon in the equal-area
// projection, closed, shells counter-clockwise and holes clockwise.
func projectedRings(g orb.Geometry) []orb.Ring {
	var out []orb.Ring
	addPoly := func(p orb.Polygon) {
		for i, r := range p {
			if len(r) < 3 {
				continue
			}
			pr := make(orb.Ring, 0, len(r)+1)
			for k, pt := range r {
				if k > 0 {
					pr = densify(pr, r[k-1], pt)
				}
				pr = append(pr, equalArea(pt))
			}
			if r[0] != r[len(r)-1] {
				pr = densify(pr, r[len(r)-1], r[0])
				pr = append(pr, pr[0])
			}
			a := ringSignedArea(pr)
			if a == 0 {
				continue
			}
			if (i == 0) != (a > 0) {
				pr.Reverse()
			}
			out = append(out, pr)
		}
	}
	switch t := g.(type) {
	case orb.Polygon:
		addPoly(t)
	case orb.MultiPolygon:
		for _, p := range t {
			addPoly(p)
		}
	case orb.Ring:
		addPoly(orb.Polygon{t})
	case orb.Collection:
		for _, c := range t {
			out = append(out, projectedRings(c)...)
		}
	}
	return out
}

// ringSignedArea is the shoelace area of a closed ring (positive when CCW).
func ringSignedArea(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

// IsPolygonal reports whether g has area (Polygon, MultiPolygon, or a
// collection holding one).
func IsPolygonal(g orb.Geometry) bool {
	switch t := g.(type) {
	case orb.Polygon, orb.MultiPolygon, orb.Ring:
		return true
	case orb.Collection:
		for _, c := range t {
			if IsPolygonal(c) {
				return true
			}
		}
	}
	return false
}

// ringIndex holds projected rings with their edges bucketed into horizontal
// bands (yBands), so a point-in-polygon test or a segment query looks at
// the few edges near it instead of every edge: what makes one overlay of
// thousands of 300-vertex areas with hundreds of footprints take
// milliseconds, not minutes.
//
// The rings' points are kept once, end to end (a single ring is kept as
// it is, not copied); edge id i runs from pts[i] to pts[i+1], and only ids
// of real edges (not the step from one ring's last point to the next
// ring's first, nor zero-length ones) are listed. The overlay keeps one of
// these per area for the daemon's life: 16 bytes a vertex instead of 32 for
// a copy of both ends of every edge, and 2-byte band entries.
type ringIndex struct {
	pts []orb.Point
	n   int // number of edges listed
	b   orb.Bound
	yBands
	// whole is boundaryInside's sum when every edge counts whole: the
	// index's own doubled signed area, added in the order each visits the
	// edges, so a shortcut that uses it gives the sum bit for bit.
	whole float64
}

type seg struct{ a, b orb.Point }

// seg is edge id.
func (ix *ringIndex) seg(id int32) seg { return seg{ix.pts[id], ix.pts[id+1]} }

func newRingIndex(rings []orb.Ring) *ringIndex { return indexRings(rings, nil) }

// indexRings is newRingIndex with scratch buffers for the build (nil:
// allocated).
func indexRings(rings []orb.Ring, sc *bandScratch) *ringIndex {
	if sc == nil {
		sc = &bandScratch{}
	}
	ix := &ringIndex{b: ringsBound(rings)}
	switch len(rings) {
	case 0:
	case 1:
		ix.pts = rings[0]
	default:
		n := 0
		for _, r := range rings {
			n += len(r)
		}
		ix.pts = make([]orb.Point, 0, n)
		for _, r := range rings {
			ix.pts = append(ix.pts, r...)
		}
	}
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			if r[i] != r[i+1] {
				ix.n++
			}
		}
	}
	if ix.n == 0 {
		return ix
	}
	ix.setBox(ix.n, ix.b)
	// Every real edge, in ring order.
	sc.spans = sc.spans[:0]
	off := 0
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			if r[i] != r[i+1] {
				sc.spans = append(sc.spans, ix.span(int32(off+i), r[i][1], r[i+1][1]))
			}
		}
		off += len(r)
	}
	ix.build(sc, len(ix.pts)-2)
	if ix.w16 != nil {
		ix.whole = wholeSum(ix, ix.w16)
	} else {
		ix.whole = wholeSum(ix, ix.w32)
	}
	return ix
}

// wholeSum is the sum of wholePiece over every edge in the order
// ix.each(ix.b) visits them: band by band, each edge in its first.
func wholeSum[T bandWord](ix *ringIndex, w []T) float64 {
	var sum float64
	for k := 0; k < ix.nb; k++ {
		for _, e := range w[w[k]:w[k+1]] {
			if k > 0 && e&firstBand == 0 {
				continue
			}
			id := e >> 1
			sum += wholePiece(ix.pts[id], ix.pts[id+1])
		}
	}
	return sum
}

// yBands lists edge ids by horizontal band (n/2+1 bands over a box's
// height, clamped at its ends): an edge is in every band its y range meets.
//
// Band k's entries are w[w[k]:w[k+1]] in w16 or w32 (one is nil): the
// band starts come first, then the entries, each an edge id shifted left
// by one with the low bit set in the edge's first band, so a query over
// several bands skips the repeats without reading the edge. 16 bits hold
// most indexes (an area of a few thousand vertices), half the memory.
type yBands struct {
	y0  float64
	inv float64 // bands per unit of y
	nb  int
	w16 []uint16
	w32 []uint32
}

// bandWord is the width of a yBands' starts and entries.
type bandWord interface{ ~uint16 | ~uint32 }

// firstBand marks the entry in an edge's first band.
const firstBand = 1

// bandSpan is an edge's id and the first and last bands it is listed in.
type bandSpan struct{ id, lo, hi int32 }

// bandScratch holds the buffers of a yBands build.
type bandScratch struct {
	spans []bandSpan
	fill  []uint32
}

// setBox sets n/2+1 bands over b's height: what build's spans are in.
func (yb *yBands) setBox(n int, b orb.Bound) {
	yb.y0, yb.inv, yb.nb = b.Min[1], 0, n/2+1
	if h := b.Max[1] - b.Min[1]; h > 0 {
		yb.inv = float64(yb.nb) / h
	}
}

// span is edge id's bandSpan, its ends' y being y1 and y2.
func (yb *yBands) span(id int32, y1, y2 float64) bandSpan {
	lo, hi := yb.bandRange(y1, y2)
	return bandSpan{id, int32(lo), int32(hi)}
}

// build lists sc.spans' edges (ids up to maxID, in the order they are to
// be listed in each band) in their bands, reusing yb's slices when large
// enough.
func (yb *yBands) build(sc *bandScratch, maxID int) {
	nb := yb.nb
	// Entries per band (from the differences at each span's ends), then
	// their offsets: band k's entries start at fill[k].
	fill := grown(sc.fill, nb+1)
	sc.fill = fill
	clear(fill)
	for _, s := range sc.spans {
		fill[s.lo]++
		fill[s.hi+1]--
	}
	var in, at uint32 = 0, uint32(nb + 1) // entries follow the starts
	for k := 0; k <= nb; k++ {
		in += fill[k] // wraps back at each span's end: exact in uint32
		fill[k], at = at, at+in
	}
	size := int(fill[nb])
	if size <= math.MaxUint16 && maxID <= math.MaxUint16>>1 {
		yb.w32 = nil
		yb.w16 = grown(yb.w16, size)
		fillBands(yb.w16, fill, sc.spans)
	} else {
		yb.w16 = nil
		yb.w32 = grown(yb.w32, size)
		fillBands(yb.w32, fill, sc.spans)
	}
}

func fillBands[T bandWord](w []T, fill []uint32, spans []bandSpan) {
	for k, f := range fill {
		w[k] = T(f)
	}
	for _, s := range spans {
		e := T(s.id) << 1
		w[fill[s.lo]] = e | firstBand
		fill[s.lo]++
		for k := s.lo + 1; k <= s.hi; k++ {
			w[fill[k]] = e
			fill[k]++
		}
	}
}

// grown is s with length n, reallocated (exactly n) only when too small.
func grown[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// bytes is what the index holds: vertices, band starts and entries.
func (ix *ringIndex) bytes() int { return 16*cap(ix.pts) + 2*cap(ix.w16) + 4*cap(ix.w32) }

func (yb *yBands) band(y float64) int {
	k := int((y - yb.y0) * yb.inv)
	return max(0, min(k, yb.nb-1))
}

func (yb *yBands) bandRange(y1, y2 float64) (int, int) {
	return yb.band(min(y1, y2)), yb.band(max(y1, y2))
}

// entries is how many band entries cover box qb's height: at least the
// number of edges meeting qb (an estimate of a search's cost).
func (yb *yBands) entries(qb orb.Bound) int {
	lo, hi := yb.bandRange(qb.Min[1], qb.Max[1])
	switch {
	case yb.w16 != nil:
		return int(yb.w16[hi+1]) - int(yb.w16[lo])
	case yb.w32 != nil:
		return int(yb.w32[hi+1]) - int(yb.w32[lo])
	}
	return 0
}

// each calls fn once for every edge whose box meets qb (an edge listed
// in several bands is visited in the first of them only), in band order.
func (ix *ringIndex) each(qb orb.Bound, fn func(s seg) bool) {
	ix.eachID(qb, func(id int32) bool { return fn(ix.seg(id)) })
}

// eachID is each with the edges' ids.
func (ix *ringIndex) eachID(qb orb.Bound, fn func(id int32) bool) {
	if ix.n == 0 || !ix.b.Intersects(qb) {
		return
	}
	if ix.w16 != nil {
		eachIn(ix, ix.w16, qb, fn)
	} else {
		eachIn(ix, ix.w32, qb, fn)
	}
}

func eachIn[T bandWord](ix *ringIndex, w []T, qb orb.Bound, fn func(id int32) bool) {
	lo, hi := ix.bandRange(qb.Min[1], qb.Max[1])
	// When qb spans the index's width, every edge meets it in x; in the
	// bands strictly between qb's first and last, or in all when qb spans
	// the index's height, every edge listed meets it in y (band is
	// monotone in y). Those edges need not be read.
	inX := qb.Min[0] <= ix.b.Min[0] && ix.b.Max[0] <= qb.Max[0]
	inY := qb.Min[1] <= ix.b.Min[1] && ix.b.Max[1] <= qb.Max[1]
	for k := lo; k <= hi; k++ {
		inside := inX && (inY || k > lo && k < hi)
		for _, e := range w[w[k]:w[k+1]] {
			if k > lo && e&firstBand == 0 {
				continue // seen in an earlier band
			}
			id := int32(e >> 1)
			if !inside {
				a, b := ix.pts[id], ix.pts[id+1]
				if max(a[0], b[0]) < qb.Min[0] || min(a[0], b[0]) > qb.Max[0] ||
					max(a[1], b[1]) < qb.Min[1] || min(a[1], b[1]) > qb.Max[1] {
					continue
				}
			}
			if !fn(id) {
				return
			}
		}
	}
}

// contains is the even-odd point-in-polygon test over all rings; points
// exactly on an edge may go either way, as in every ray-casting test.
func (ix *ringIndex) contains(p orb.Point) bool {
	if ix.n == 0 || !ix.b.Contains(p) {
		return false
	}
	if ix.w16 != nil {
		return containsIn(ix, ix.w16, p)
	}
	return containsIn(ix, ix.w32, p)
}

func containsIn[T bandWord](ix *ringIndex, w []T, p orb.Point) bool {
	k := ix.band(p[1])
	in := false
	for _, e := range w[w[k]:w[k+1]] {
		id := e >> 1
		a, b := ix.pts[id], ix.pts[id+1]
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in
}

// near reports whether p lies within √tol2 of an edge.
func (ix *ringIndex) near(p orb.Point, tol2 float64) bool {
	t := math.Sqrt(tol2)
	found := false
	ix.each(orb.Bound{Min: orb.Point{p[0] - t, p[1] - t}, Max: orb.Point{p[0] + t, p[1] + t}}, func(s seg) bool {
		found = distToSegSq(p, s.a, s.b) <= tol2
		return !found
	})
	return found
}

// interior reports whether p is inside and not on the boundary (within tol).
func (ix *ringIndex) interior(p orb.Point, tol2 float64) bool {
	return ix.contains(p) && !ix.near(p, tol2)
}

// segIntersectT returns the parameters along p1→p2 where it meets q1→q2
// (one for a crossing, the overlap ends for collinear overlap).
func segIntersectT(p1, p2, q1, q2 orb.Point, ts []float64) []float64 {
	r := orb.Point{p2[0] - p1[0], p2[1] - p1[1]}
	s := orb.Point{q2[0] - q1[0], q2[1] - q1[1]}
	den := r[0]*s[1] - r[1]*s[0]
	qp := orb.Point{q1[0] - p1[0], q1[1] - p1[1]}
	rr := r[0]*r[0] + r[1]*r[1]
	if rr == 0 {
		return ts
	}
	if den == 0 {
		// Parallel: only collinear overlaps matter, split at q's ends.
		if qp[0]*r[1]-qp[1]*r[0] != 0 {
			return ts
		}
		for _, q := range []orb.Point{q1, q2} {
			t := ((q[0]-p1[0])*r[0] + (q[1]-p1[1])*r[1]) / rr
			if t > 0 && t < 1 {
				ts = append(ts, t)
			}
		}
		return ts
	}
	t := (qp[0]*s[1] - qp[1]*s[0]) / den
	u := (qp[0]*r[1] - qp[1]*r[0]) / den
	if t > 0 && t < 1 && u >= 0 && u <= 1 {
		ts = append(ts, t)
	}
	return ts
}

// distToSegSq is the squared distance from p to segment ab.
func distToSegSq(p, a, b orb.Point) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l := dx*dx + dy*dy
	t := 0.0
	if l > 0 {
		t = max(0, min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l))
	}
	ex, ey := a[0]+t*dx-p[0], a[1]+t*dy-p[1]
	return ex*ex + ey*ey
}

// ringsBound is the bound of the rings' points, orb's Bound.Extend point
// by point without its calls: the same for every finite coordinate (NaN
// and infinities are rejected before, by NormalizeGeometry).
func ringsBound(rings []orb.Ring) orb.Bound {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, r := range rings {
		for _, p := range r {
			x0, y0, x1, y1 = min(x0, p[0]), min(y0, p[1]), max(x1, p[0]), max(y1, p[1])
		}
	}
	return orb.Bound{Min: orb.Point{x0, y0}, Max: orb.Point{x1, y1}}
}

// nearEdges are some edges banded by y over a box, like a ringIndex's.
type nearEdges struct {
	segs []seg
	yBands
}

// reset bands segs over b, reusing n's slices.
func (n *nearEdges) reset(segs []seg, b orb.Bound, sc *bandScratch) {
	n.segs = segs
	n.setBox(len(segs), b)
	sc.spans = sc.spans[:0]
	for i, s := range segs {
		sc.spans = append(sc.spans, n.span(int32(i), s.a[1], s.b[1]))
	}
	n.build(sc, len(segs)-1)
}

// each calls fn once for every edge whose box meets qb.
func (n *nearEdges) each(qb orb.Bound, fn func(s seg)) {
	if n.w16 != nil {
		nearIn(n, n.w16, qb, fn)
	} else {
		nearIn(n, n.w32, qb, fn)
	}
}

func nearIn[T bandWord](n *nearEdges, w []T, qb orb.Bound, fn func(s seg)) {
	lo, hi := n.bandRange(qb.Min[1], qb.Max[1])
	for k := lo; k <= hi; k++ {
		for _, e := range w[w[k]:w[k+1]] {
			if k > lo && e&firstBand == 0 {
				continue // seen in an earlier band
			}
			q := n.segs[e>>1]
			if max(q.a[0], q.b[0]) < qb.Min[0] || min(q.a[0], q.b[0]) > qb.Max[0] ||
				max(q.a[1], q.b[1]) < qb.Min[1] || min(q.a[1], q.b[1]) > qb.Max[1] {
				continue
			}
			fn(q)
		}
	}
}

// pieces splits p1→p2 at every edge of b it meets and calls fn with each
// piece's ends (parameters along p1→p2).
// With local (b's edges near p1→p2's box, when the caller has them) the
// index is not searched.
func pieces(p1, p2 orb.Point, b *ringIndex, local *nearEdges, ts []float64, fn func(t0, t1 float64)) []float64 {
	ts = append(ts[:0], 0, 1)
	qb := segBound(p1, p2)
	if local != nil {
		local.each(qb, func(q seg) {
			ts = segIntersectT(p1, p2, q.a, q.b, ts)
		})
	} else {
		b.each(qb, func(q seg) bool {
			ts = segIntersectT(p1, p2, q.a, q.b, ts)
			return true
		})
	}
	sort.Float64s(ts)
	for k := 0; k+1 < len(ts); k++ {
		if ts[k+1]-ts[k] > 1e-15 {
			fn(ts[k], ts[k+1])
		}
	}
	return ts
}

// segBound is the box of segment p1→p2.
func segBound(p1, p2 orb.Point) orb.Bound {
	return orb.Bound{Min: orb.Point{min(p1[0], p2[0]), min(p1[1], p2[1])}, Max: orb.Point{max(p1[0], p2[0]), max(p1[1], p2[1])}}
}

// grow is b grown by d on every side.
func grow(b orb.Bound, d float64) orb.Bound {
	return orb.Bound{Min: orb.Point{b.Min[0] - d, b.Min[1] - d}, Max: orb.Point{b.Max[0] + d, b.Max[1] + d}}
}

// clipper is the scratch of intersectionKm2, reused from pair to pair by
// one goroutine (an overlay's measure of one footprint): a pair allocates
// nothing once the buffers have grown.
type clipper struct {
	ts    []float64
	order []int32 // a's edges meeting b's box, in the order a.each visits them
	state []edgeState
	// b's edges near a's box (splitMarks), their ids, and whether an
	// edge of a comes near each; marked says the last pass collected them.
	segs    []seg
	segIDs  []int32
	segNear []bool
	marked  bool
	keys    []uint64
	local   nearEdges
	bands   bandScratch
}

// edgeState is what boundaryInside knows of one of a's edges.
type edgeState uint8

const (
	edgeUnseen edgeState = iota
	// edgeNear: an edge of b comes within clearMargin of its box; it is
	// split into pieces and each piece tested.
	edgeNear
	// edgeClear: no edge of b within clearMargin, so the edge is one
	// piece, wholly on one side of b, the side of its clear neighbours.
	edgeClear
	edgeIn  // clear, and inside b
	edgeOut // clear, and outside b
)

// clearMargin, in units of eps, is the distance from b's edges beyond
// which one of a's edges is clear: well beyond the offset (eps) at which
// pieces are tested and the near test (10 eps) of strict, as in
// disjointBoundaries.
const clearMargin = 20

// splitMode is how boundaryInside finds the edges of a that b's edges
// come near; all give the same sum.
type splitMode uint8

const (
	// splitAuto chooses from the sizes: splitMarks when few of b's edges
	// are near a's box (an area on a footprint's boundary), splitSearch
	// when many are (a footprint edge across a small area).
	splitAuto splitMode = iota
	// splitMarks collects b's edges near a's box once, marks the edges
	// of a near each, and splits against them (banded over a's box).
	splitMarks
	// splitSearch searches b's index for each of a's edges.
	splitSearch
)

// boundaryInside integrates x·dy−y·dx over the parts of a's directed edges
// that bound a∩b: a part is kept when the point just to its left (inside a)
// is inside b. With strict, parts lying on b's own boundary are dropped so a
// shared edge is counted once, from one side only.
//
// It adds, in the order a.each visits the edges, the terms the plain walk
// does (each edge split at every edge of b it meets, each piece kept or not
// on its own point test; kept in the tests as boundaryInsidePlain), bit
// for bit. But an edge no edge of b comes near is one whole piece, and a
// run of such edges along a ring cannot cross b's boundary, so one point
// test decides them all: on a 300-vertex area crossed by a few footprint
// edges, a few tests instead of 300 searches, splits and tests.
func (c *clipper) boundaryInside(a, b *ringIndex, scale float64, strict bool, mode splitMode) float64 {
	eps := scale * 1e-9
	margin := eps * clearMargin
	c.marked = false
	c.order = c.order[:0]
	a.eachID(b.b, func(id int32) bool {
		c.order = append(c.order, id)
		return true
	})
	if len(c.order) == 0 {
		return 0
	}
	c.state = grown(c.state, len(a.pts))
	state := c.state
	clear(state)
	if mode == splitAuto {
		mode = splitSearch
		if b.entries(a.b) <= len(c.order) {
			mode = splitMarks
		}
	}
	var local *nearEdges
	if mode == splitMarks {
		c.segIDs, c.segs = c.segIDs[:0], c.segs[:0]
		b.eachID(grow(a.b, margin), func(id int32) bool {
			c.segIDs, c.segs = append(c.segIDs, id), append(c.segs, b.seg(id))
			return true
		})
		c.segNear = grown(c.segNear, len(c.segs))
		for i, s := range c.segs {
			near := false
			a.eachID(grow(segBound(s.a, s.b), margin), func(id int32) bool {
				state[id], near = edgeNear, true
				return true
			})
			c.segNear[i] = near
		}
		c.marked = true
		for _, id := range c.order {
			if state[id] == edgeUnseen {
				state[id] = edgeClear
			}
		}
		// Every edge of b meeting one of a's is among segs: the splits
		// are the same as through b's bands.
		c.local.reset(c.segs, a.b, &c.bands)
		local = &c.local
	} else {
		for _, id := range c.order {
			state[id] = edgeClear
			if b.edgeNear(segBound(a.pts[id], a.pts[id+1]), margin) {
				state[id] = edgeNear
			}
		}
	}
	return c.sumRuns(a, b, eps, strict, local)
}

// boundaryInsideMarked is boundaryInside(a, b, scale, true, ·) right
// after boundaryInside(b, a, scale, false, splitMarks), which collected
// a's edges near b's box and found whether each has an edge of b near it:
// all this pass must visit and classify, without searching the indexes
// again. They are put in the order a.each visits them.
func (c *clipper) boundaryInsideMarked(a, b *ringIndex, scale float64) float64 {
	if !a.b.Intersects(b.b) {
		return 0
	}
	c.state = grown(c.state, len(a.pts))
	state := c.state
	clear(state)
	// a.each(b.b) visits an edge in its first band or b's box's first
	// band, whichever is later, and by id within a band.
	lo := a.band(b.b.Min[1])
	c.keys = c.keys[:0]
	qb := b.b
	for i, s := range c.segs {
		if max(s.a[0], s.b[0]) < qb.Min[0] || min(s.a[0], s.b[0]) > qb.Max[0] ||
			max(s.a[1], s.b[1]) < qb.Min[1] || min(s.a[1], s.b[1]) > qb.Max[1] {
			continue
		}
		id := c.segIDs[i]
		k := max(a.band(min(s.a[1], s.b[1])), lo)
		c.keys = append(c.keys, uint64(k)<<32|uint64(id))
		state[id] = edgeClear
		if c.segNear[i] {
			state[id] = edgeNear
		}
	}
	slices.Sort(c.keys)
	c.order = c.order[:0]
	for _, k := range c.keys {
		c.order = append(c.order, int32(uint32(k)))
	}
	return c.sumRuns(a, b, scale*1e-9, true, nil)
}

// sumRuns adds the terms of c.order's edges of a, classified in c.state
// (edgeNear or edgeClear each), in that order: boundaryInside's sum.
func (c *clipper) sumRuns(a, b *ringIndex, eps float64, strict bool, local *nearEdges) float64 {
	tol2 := eps * eps * 100
	state := c.state
	var sum float64
	for _, id := range c.order {
		p1, p2 := a.pts[id], a.pts[id+1]
		dx, dy := p2[0]-p1[0], p2[1]-p1[1]
		switch state[id] {
		case edgeIn:
			sum += pieceTerm(p1, dx, dy, 0, 1)
		case edgeClear:
			// The first of its run: its test decides the run's edges
			// that follow and precede it along the ring (consecutive
			// ids of real edges share a vertex).
			s := edgeOut
			nx, ny := leftNormal(dx, dy, eps)
			if b.contains(pieceProbe(p1, dx, dy, nx, ny, 0, 1)) {
				s = edgeIn
				sum += pieceTerm(p1, dx, dy, 0, 1)
			}
			state[id] = s
			for j := int(id) + 1; j < len(state) && state[j] == edgeClear; j++ {
				state[j] = s
			}
			for j := int(id) - 1; j >= 0 && state[j] == edgeClear; j-- {
				state[j] = s
			}
		case edgeNear:
			nx, ny := leftNormal(dx, dy, eps)
			c.ts = pieces(p1, p2, b, local, c.ts, func(t0, t1 float64) {
				if !b.contains(pieceProbe(p1, dx, dy, nx, ny, t0, t1)) {
					return
				}
				if strict && b.near(pieceMid(p1, dx, dy, t0, t1), tol2) {
					return
				}
				sum += pieceTerm(p1, dx, dy, t0, t1)
			})
		}
	}
	return sum
}

// pieceMid is the middle of the piece [t0, t1] of the edge from p1 along
// (dx, dy).
func pieceMid(p1 orb.Point, dx, dy, t0, t1 float64) orb.Point {
	return orb.Point{p1[0] + dx*(t0+t1)/2, p1[1] + dy*(t0+t1)/2}
}

// leftNormal is the normal of length eps to the left of direction (dx, dy).
func leftNormal(dx, dy, eps float64) (float64, float64) {
	l := math.Hypot(dx, dy)
	return -dy / l * eps, dx / l * eps
}

// pieceProbe is the point (nx, ny) (leftNormal) off the piece's middle:
// inside a, so inside a∩b exactly when inside b.
func pieceProbe(p1 orb.Point, dx, dy, nx, ny, t0, t1 float64) orb.Point {
	m := pieceMid(p1, dx, dy, t0, t1)
	return orb.Point{m[0] + nx, m[1] + ny}
}

// pieceTerm is x·dy−y·dx over the piece [t0, t1] of the edge from p1 along
// (dx, dy).
func pieceTerm(p1 orb.Point, dx, dy, t0, t1 float64) float64 {
	s := orb.Point{p1[0] + dx*t0, p1[1] + dy*t0}
	e := orb.Point{p1[0] + dx*t1, p1[1] + dy*t1}
	return s[0]*e[1] - e[0]*s[1]
}

// wholePiece is pieceTerm of a whole edge, computed the same way.
func wholePiece(p1, p2 orb.Point) float64 {
	return pieceTerm(p1, p2[0]-p1[0], p2[1]-p1[1], 0, 1)
}

// edgeNear reports whether some edge of ix meets box b grown by d.
func (ix *ringIndex) edgeNear(b orb.Bound, d float64) bool {
	found := false
	ix.eachID(grow(b, d), func(int32) bool {
		found = true
		return false
	})
	return found
}

// scaleOf is the larger extent of two indexes: the unit of the tolerances.
func scaleOf(a, b *ringIndex) float64 {
	return max(max(a.b.Max[0]-a.b.Min[0], a.b.Max[1]-a.b.Min[1]), max(b.b.Max[0]-b.b.Min[0], b.b.Max[1]-b.b.Min[1]))
}

// intersectionKm2 is the exact area of a∩b from the boundary of the
// intersection: parts of a's edges inside b plus parts of b's edges inside a.
func (c *clipper) intersectionKm2(a, b *ringIndex) float64 {
	if a.n == 0 || b.n == 0 || !a.b.Intersects(b.b) {
		return 0
	}
	scale := scaleOf(a, b)
	sum, ok := disjointBoundaries(a, b, scale)
	if !ok {
		sum = c.boundariesSum(a, b, scale, splitAuto)
	}
	return max(0, sum/2*wgs84A*wgs84A/2/1e6)
}

// boundariesSum is twice the signed area of a∩b (projected): the parts of
// a's edges inside b plus the parts of b's edges inside a.
func (c *clipper) boundariesSum(a, b *ringIndex, scale float64, mode splitMode) float64 {
	in := c.boundaryInside(a, b, scale, false, mode)
	if c.marked {
		return in + c.boundaryInsideMarked(b, a, scale)
	}
	return in + c.boundaryInside(b, a, scale, true, mode)
}

// disjointBoundaries is the shortcut for the common pairs — an area deep
// inside a footprint or clear of it, a small footprint inside one area:
// when no edge of one comes near the other's bounds, the boundaries do not
// meet, so the one is wholly inside the other or outside it, decided by one
// point. The sum is then what boundaryInside would add up (no edge is split,
// the offset and near tests all answer alike), read from the index, without
// visiting every edge and searching the other index for each.
func disjointBoundaries(a, b *ringIndex, scale float64) (float64, bool) {
	// Clear of the offsets (eps) and near tests (10 eps) boundaryInside makes.
	d := scale * 1e-9 * 20
	switch {
	case !b.edgeNear(a.b, d):
		if b.contains(a.pts[0]) {
			return a.whole, true
		}
		return 0, true
	case !a.edgeNear(b.b, d):
		if a.contains(b.pts[0]) {
			return b.whole, true
		}
		return 0, true
	}
	return 0, false
}

// IntersectionAreaKm2 is the exact geodesic area of a∩b for two polygonal
// geometries (each a valid Polygon or MultiPolygon).
func IntersectionAreaKm2(a, b orb.Geometry) float64 {
	var c clipper
	return c.intersectionKm2(newRingIndex(projectedRings(a)), newRingIndex(projectedRings(b)))
}

// Contains reports whether polygonal g contains point p (lon/lat).
func Contains(g orb.Geometry, p orb.Point) bool {
	if !g.Bound().Contains(p) {
		return false
	}
	return newRingIndex(projectedRings(g)).contains(equalArea(p))
}

// Intersects reports whether footprint f hits area geometry a: a polygon
// when a∩f has positive area (touching along an edge or at a corner is not
// hitting), a point or line when some of it lies in a's interior.
func Intersects(a orb.Geometry, f orb.Geometry) bool {
	o := NewOverlay([]Area{{Code: "a", Geometry: a}}, OverlayOptions{})
	return len(o.measure(prepareFootprint(f))) > 0
}
