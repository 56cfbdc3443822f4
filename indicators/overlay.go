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
	qPole   = authalicQ(90)
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
	n := int(math.Ceil(math.Max(math.Abs(b[0]-a[0]), math.Abs(b[1]-a[1])) / maxEdgeDeg))
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
// bands (a CSR layout: start[k]..start[k+1] in ids are band k's edges), so a
// point-in-polygon test or a segment query looks at the few edges near it
// instead of every edge: what makes one overlay of thousands of 300-vertex
// areas with hundreds of footprints take milliseconds, not minutes.
//
// The rings' points are kept once, end to end (a single ring is kept as
// it is, not copied); edge id i runs from pts[i] to pts[i+1], and only ids
// of real edges (not the step from one ring's last point to the next
// ring's first, nor zero-length ones) are listed. The overlay keeps one of
// these per area for the daemon's life: 16 bytes a vertex instead of 32 for
// a copy of both ends of every edge.
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

func newRingIndex(rings []orb.Ring) *ringIndex {
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
	// edges calls fn with the id of every real edge, in ring order.
	edges := func(fn func(id int32)) {
		off := 0
		for _, r := range rings {
			for i := 0; i+1 < len(r); i++ {
				if r[i] != r[i+1] {
					fn(int32(off + i))
				}
			}
			off += len(r)
		}
	}
	edges(func(int32) { ix.n++ })
	if ix.n == 0 {
		return ix
	}
	ix.yBands = newYBands(ix.n, ix.b, func(fn func(id int32, y1, y2 float64)) {
		edges(func(id int32) { fn(id, ix.pts[id][1], ix.pts[id+1][1]) })
	})
	ix.each(ix.b, func(s seg) bool {
		ix.whole += wholePiece(s.a, s.b)
		return true
	})
	return ix
}

// yBands lists edge ids by horizontal band (n/2+1 bands over a box's
// height, clamped at its ends): an edge is in every band its y range meets.
type yBands struct {
	y0    float64
	inv   float64 // bands per unit of y
	start []int32
	ids   []int32
}

// newYBands bands the n edges edges gives (id and y range each, the same
// every call) over b.
func newYBands(n int, b orb.Bound, edges func(fn func(id int32, y1, y2 float64))) yBands {
	nb := n/2 + 1
	yb := yBands{y0: b.Min[1], start: make([]int32, nb+1)}
	if h := b.Max[1] - b.Min[1]; h > 0 {
		yb.inv = float64(nb) / h
	}
	edges(func(_ int32, y1, y2 float64) {
		lo, hi := yb.bandRange(y1, y2)
		for k := lo; k <= hi; k++ {
			yb.start[k+1]++
		}
	})
	for k := 0; k < nb; k++ {
		yb.start[k+1] += yb.start[k]
	}
	yb.ids = make([]int32, yb.start[nb])
	fill := slices.Clone(yb.start[:nb])
	edges(func(id int32, y1, y2 float64) {
		lo, hi := yb.bandRange(y1, y2)
		for k := lo; k <= hi; k++ {
			yb.ids[fill[k]] = id
			fill[k]++
		}
	})
	return yb
}

// bytes is what the index holds: vertices, band starts and edge ids.
func (ix *ringIndex) bytes() int { return 16*cap(ix.pts) + 4*(cap(ix.start)+cap(ix.ids)) }

func (yb *yBands) bands() int { return len(yb.start) - 1 }

func (yb *yBands) band(y float64) int {
	k := int((y - yb.y0) * yb.inv)
	return max(0, min(k, yb.bands()-1))
}

func (yb *yBands) bandRange(y1, y2 float64) (int, int) {
	return yb.band(math.Min(y1, y2)), yb.band(math.Max(y1, y2))
}

// each calls fn once for every edge whose band range meets [ylo, yhi] and
// whose box meets qb; an edge listed in several bands is visited in the
// first of them only.
func (ix *ringIndex) each(qb orb.Bound, fn func(s seg) bool) {
	if ix.n == 0 || !ix.b.Intersects(qb) {
		return
	}
	lo, hi := ix.bandRange(qb.Min[1], qb.Max[1])
	for k := lo; k <= hi; k++ {
		for _, id := range ix.ids[ix.start[k]:ix.start[k+1]] {
			s := ix.seg(id)
			if k > lo && ix.band(math.Min(s.a[1], s.b[1])) != k {
				continue // seen in an earlier band
			}
			if math.Max(s.a[0], s.b[0]) < qb.Min[0] || math.Min(s.a[0], s.b[0]) > qb.Max[0] ||
				math.Max(s.a[1], s.b[1]) < qb.Min[1] || math.Min(s.a[1], s.b[1]) > qb.Max[1] {
				continue
			}
			if !fn(s) {
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
	k := ix.band(p[1])
	in := false
	for _, id := range ix.ids[ix.start[k]:ix.start[k+1]] {
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
		t = math.Max(0, math.Min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l))
	}
	ex, ey := a[0]+t*dx-p[0], a[1]+t*dy-p[1]
	return ex*ex + ey*ey
}

func ringsBound(rings []orb.Ring) orb.Bound {
	b := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, r := range rings {
		for _, p := range r {
			b = b.Extend(p)
		}
	}
	return b
}

// nearEdges are some edges banded by y over a box, like a ringIndex's.
type nearEdges struct {
	segs []seg
	yBands
}

func newNearEdges(segs []seg, b orb.Bound) *nearEdges {
	return &nearEdges{segs: segs, yBands: newYBands(len(segs), b, func(fn func(id int32, y1, y2 float64)) {
		for i, s := range segs {
			fn(int32(i), s.a[1], s.b[1])
		}
	})}
}

// each calls fn once for every edge whose box meets qb.
func (n *nearEdges) each(qb orb.Bound, fn func(s seg)) {
	lo, hi := n.bandRange(qb.Min[1], qb.Max[1])
	for k := lo; k <= hi; k++ {
		for _, id := range n.ids[n.start[k]:n.start[k+1]] {
			q := n.segs[id]
			if k > lo && n.band(math.Min(q.a[1], q.b[1])) != k {
				continue // seen in an earlier band
			}
			if math.Max(q.a[0], q.b[0]) < qb.Min[0] || math.Min(q.a[0], q.b[0]) > qb.Max[0] ||
				math.Max(q.a[1], q.b[1]) < qb.Min[1] || math.Min(q.a[1], q.b[1]) > qb.Max[1] {
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
	qb := orb.Bound{Min: p1, Max: p1}.Extend(p2)
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

// boundaryInside integrates x·dy−y·dx over the parts of a's directed edges
// that bound a∩b: a part is kept when the point just to its left (inside a)
// is inside b. With strict, parts lying on b's own boundary are dropped so a
// shared edge is counted once, from one side only.
func boundaryInside(a, b *ringIndex, scale float64, strict, useLocal bool) float64 {
	eps := scale * 1e-9
	tol2 := eps * eps * 100
	var sum float64
	var ts []float64
	// b's edges near a (an area on a footprint's boundary: the few that
	// cross it), banded over a's height: each edge of a is split against
	// those sharing its band rather than through b's bands, which span all
	// of b's width. The splits are the same either way.
	var local *nearEdges
	if useLocal {
		var segs []seg
		b.each(a.b, func(s seg) bool {
			segs = append(segs, s)
			return true
		})
		local = newNearEdges(segs, a.b)
	}
	a.each(b.b, func(s seg) bool {
		p1, p2 := s.a, s.b
		dx, dy := p2[0]-p1[0], p2[1]-p1[1]
		l := math.Hypot(dx, dy)
		nx, ny := -dy/l*eps, dx/l*eps // left normal
		ts = pieces(p1, p2, b, local, ts, func(t0, t1 float64) {
			m := orb.Point{p1[0] + dx*(t0+t1)/2, p1[1] + dy*(t0+t1)/2}
			if !b.contains(orb.Point{m[0] + nx, m[1] + ny}) {
				return
			}
			if strict && b.near(m, tol2) {
				return
			}
			sum += pieceTerm(p1, dx, dy, t0, t1)
		})
		return true
	})
	return sum
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
	ix.each(orb.Bound{Min: orb.Point{b.Min[0] - d, b.Min[1] - d}, Max: orb.Point{b.Max[0] + d, b.Max[1] + d}}, func(seg) bool {
		found = true
		return false
	})
	return found
}

// scaleOf is the larger extent of two indexes: the unit of the tolerances.
func scaleOf(a, b *ringIndex) float64 {
	return math.Max(math.Max(a.b.Max[0]-a.b.Min[0], a.b.Max[1]-a.b.Min[1]), math.Max(b.b.Max[0]-b.b.Min[0], b.b.Max[1]-b.b.Min[1]))
}

// intersectionKm2 is the exact area of a∩b from the boundary of the
// intersection: parts of a's edges inside b plus parts of b's edges inside a.
func intersectionKm2(a, b *ringIndex) float64 {
	if a.n == 0 || b.n == 0 || !a.b.Intersects(b.b) {
		return 0
	}
	scale := scaleOf(a, b)
	sum, ok := disjointBoundaries(a, b, scale)
	if !ok {
		sum = boundariesSum(a, b, scale)
	}
	return math.Max(0, sum/2*wgs84A*wgs84A/2/1e6)
}

// boundariesSum is twice the signed area of a∩b (projected): the parts of
// a's edges inside b plus the parts of b's edges inside a.
func boundariesSum(a, b *ringIndex, scale float64) float64 {
	return boundaryInside(a, b, scale, false, true) + boundaryInside(b, a, scale, true, true)
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
	return intersectionKm2(newRingIndex(projectedRings(a)), newRingIndex(projectedRings(b)))
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

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// segmentsTouch reports whether two segments share any point (geomclean's
// self-intersection check).
func segmentsTouch(p1, p2, q1, q2 orb.Point) bool {
	d1, d2 := orient(q1, q2, p1), orient(q1, q2, p2)
	d3, d4 := orient(p1, p2, q1), orient(p1, p2, q2)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	on := func(a, b, c orb.Point) bool {
		return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
			math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
	}
	return (d1 == 0 && on(q1, q2, p1)) || (d2 == 0 && on(q1, q2, p2)) ||
		(d3 == 0 && on(p1, p2, q1)) || (d4 == 0 && on(p1, p2, q2))
}
