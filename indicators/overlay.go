package indicators

import (
	"math"
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
// edges taken as straight in the equal-area projection (exact along meridians
// and parallels, as grid cells and most admin boundaries are densely drawn).
func GeodesicAreaKm2(g orb.Geometry) float64 {
	var sum float64
	for _, r := range projectedRings(g) {
		sum += ringSignedArea(r)
	}
	return math.Abs(sum) * wgs84A * wgs84A / 2 / 1e6
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
			for _, pt := range r {
				pr = append(pr, equalArea(pt))
			}
			if pr[0] != pr[len(pr)-1] {
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

// ringsContain is the even-odd point-in-polygon test over all rings; points
// exactly on an edge may go either way, as in every ray-casting test.
func ringsContain(rings []orb.Ring, p orb.Point) bool {
	in := false
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if (a[1] > p[1]) != (b[1] > p[1]) {
				x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
				if p[0] < x {
					in = !in
				}
			}
		}
	}
	return in
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

func onRings(rings []orb.Ring, p orb.Point, tol2 float64) bool {
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			if distToSegSq(p, r[i], r[i+1]) <= tol2 {
				return true
			}
		}
	}
	return false
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

// boundaryInside integrates x·dy−y·dx over the parts of a's directed edges
// that bound a∩b: a part is kept when the point just to its left (inside a)
// is inside b. With strict, parts lying on b's own boundary are dropped so a
// shared edge is counted once, from one side only.
func boundaryInside(a, b []orb.Ring, bb orb.Bound, scale float64, strict bool) float64 {
	eps := scale * 1e-9
	tol2 := eps * eps * 100
	var sum float64
	var ts []float64
	for _, r := range a {
		for i := 0; i+1 < len(r); i++ {
			p1, p2 := r[i], r[i+1]
			eb := orb.Bound{Min: p1, Max: p1}.Extend(p2)
			if !eb.Intersects(bb) {
				continue // wholly outside b's box: no part bounds a∩b
			}
			ts = append(ts[:0], 0, 1)
			for _, q := range b {
				for j := 0; j+1 < len(q); j++ {
					qb := orb.Bound{Min: q[j], Max: q[j]}.Extend(q[j+1])
					if qb.Intersects(eb) {
						ts = segIntersectT(p1, p2, q[j], q[j+1], ts)
					}
				}
			}
			sort.Float64s(ts)
			dx, dy := p2[0]-p1[0], p2[1]-p1[1]
			l := math.Hypot(dx, dy)
			if l == 0 {
				continue
			}
			nx, ny := -dy/l*eps, dx/l*eps // left normal
			for k := 0; k+1 < len(ts); k++ {
				if ts[k+1]-ts[k] <= 1e-15 {
					continue
				}
				m := orb.Point{p1[0] + dx*(ts[k]+ts[k+1])/2, p1[1] + dy*(ts[k]+ts[k+1])/2}
				if !ringsContain(b, orb.Point{m[0] + nx, m[1] + ny}) {
					continue
				}
				if strict && onRings(b, m, tol2) {
					continue
				}
				s := orb.Point{p1[0] + dx*ts[k], p1[1] + dy*ts[k]}
				e := orb.Point{p1[0] + dx*ts[k+1], p1[1] + dy*ts[k+1]}
				sum += s[0]*e[1] - e[0]*s[1]
			}
		}
	}
	return sum
}

// IntersectionAreaKm2 is the exact geodesic area of a∩b for two polygonal
// geometries (each a valid Polygon or MultiPolygon), computed from the
// boundary of the intersection: parts of a's edges inside b plus parts of
// b's edges inside a.
func IntersectionAreaKm2(a, b orb.Geometry) float64 {
	ra, rb := projectedRings(a), projectedRings(b)
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	ba, bbnd := ringsBound(ra), ringsBound(rb)
	if !ba.Intersects(bbnd) {
		return 0
	}
	scale := math.Max(math.Max(ba.Max[0]-ba.Min[0], ba.Max[1]-ba.Min[1]), math.Max(bbnd.Max[0]-bbnd.Min[0], bbnd.Max[1]-bbnd.Min[1]))
	sum := boundaryInside(ra, rb, bbnd, scale, false) + boundaryInside(rb, ra, ba, scale, true)
	area := sum / 2 * wgs84A * wgs84A / 2 / 1e6
	if area < 0 {
		return 0
	}
	return area
}

// Contains reports whether polygonal g contains point p (lon/lat).
func Contains(g orb.Geometry, p orb.Point) bool {
	if !g.Bound().Contains(p) {
		return false
	}
	return ringsContain(projectedRings(g), equalArea(p))
}

// shape is a geometry prepared for repeated overlay tests: its bound and
// equal-area rings are computed once, not once per pair tested.
type shape struct {
	g     orb.Geometry
	b     orb.Bound
	rings []orb.Ring // polygonal parts, projected
}

func newShape(g orb.Geometry) *shape {
	if g == nil {
		return nil
	}
	return &shape{g: g, b: g.Bound(), rings: projectedRings(g)}
}

// Intersects reports whether footprint f touches area geometry a (polygonal).
// Points count when inside; lines when they cross or lie inside.
func Intersects(a orb.Geometry, f orb.Geometry) bool {
	return newShape(a).touches(newShape(f))
}

// touches is Intersects on prepared shapes; a is the (polygonal) area.
func (a *shape) touches(f *shape) bool {
	if a == nil || f == nil || !a.b.Intersects(f.b) {
		return false
	}
	ra := a.rings
	switch t := f.g.(type) {
	case orb.Point:
		return ringsContain(ra, equalArea(t))
	case orb.MultiPoint:
		for _, p := range t {
			if ringsContain(ra, equalArea(p)) {
				return true
			}
		}
		return false
	case orb.LineString:
		return lineTouches(ra, t)
	case orb.MultiLineString:
		for _, l := range t {
			if lineTouches(ra, l) {
				return true
			}
		}
		return false
	case orb.Collection:
		for _, c := range t {
			if a.touches(newShape(c)) {
				return true
			}
		}
		return false
	}
	rf := f.rings
	if len(rf) == 0 {
		return false
	}
	for _, r := range rf {
		if ringsContain(ra, r[0]) {
			return true
		}
	}
	for _, r := range ra {
		if ringsContain(rf, r[0]) {
			return true
		}
	}
	return ringsCross(ra, rf)
}

func lineTouches(rings []orb.Ring, l orb.LineString) bool {
	pr := make(orb.Ring, len(l))
	for i, p := range l {
		pr[i] = equalArea(p)
	}
	if len(pr) == 0 {
		return false
	}
	if ringsContain(rings, pr[0]) {
		return true
	}
	return ringsCross(rings, []orb.Ring{pr})
}

func ringsCross(a, b []orb.Ring) bool {
	for _, r := range a {
		for i := 0; i+1 < len(r); i++ {
			eb := orb.Bound{Min: r[i], Max: r[i]}.Extend(r[i+1])
			for _, q := range b {
				for j := 0; j+1 < len(q); j++ {
					qb := orb.Bound{Min: q[j], Max: q[j]}.Extend(q[j+1])
					if eb.Intersects(qb) && segmentsTouch(r[i], r[i+1], q[j], q[j+1]) {
						return true
					}
				}
			}
		}
	}
	return false
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

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
