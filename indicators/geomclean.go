package indicators

import (
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Geometry hygiene shared by every source at ingest: rings closed and
// oriented (shells counter-clockwise, holes clockwise), degenerate rings
// dropped, coordinates checked, antimeridian-crossing polygons split.

// ErrEmptyGeometry is returned when nothing usable is left.
var ErrEmptyGeometry = errors.New("empty geometry")

// NormalizeGeometry cleans a geometry from outside. Polygons come back as
// Polygon or MultiPolygon; points and lines are checked and returned as is.
func NormalizeGeometry(g orb.Geometry) (orb.Geometry, error) {
	switch t := g.(type) {
	case nil:
		return nil, ErrEmptyGeometry
	case orb.Point:
		if err := checkPoint(t); err != nil {
			return nil, err
		}
		return t, nil
	case orb.MultiPoint:
		if len(t) == 0 {
			return nil, ErrEmptyGeometry
		}
		for _, p := range t {
			if err := checkPoint(p); err != nil {
				return nil, err
			}
		}
		return t, nil
	case orb.LineString:
		if len(t) < 2 {
			return nil, ErrEmptyGeometry
		}
		return t, checkPoints(t)
	case orb.MultiLineString:
		if len(t) == 0 {
			return nil, ErrEmptyGeometry
		}
		for _, l := range t {
			if err := checkPoints(l); err != nil {
				return nil, err
			}
		}
		return t, nil
	case orb.Ring:
		return NormalizeGeometry(orb.Polygon{t})
	case orb.Polygon:
		mp, err := normalizePolygons(orb.MultiPolygon{t})
		if err != nil {
			return nil, err
		}
		if len(mp) == 1 {
			return mp[0], nil
		}
		return mp, nil
	case orb.MultiPolygon:
		return normalizePolygons(t)
	case orb.Collection:
		var out orb.Collection
		for _, c := range t {
			n, err := NormalizeGeometry(c)
			if errors.Is(err, ErrEmptyGeometry) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		if len(out) == 0 {
			return nil, ErrEmptyGeometry
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported geometry %T", g)
}

func checkPoint(p orb.Point) error {
	if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
		return fmt.Errorf("coordinate is not a number: %v", p)
	}
	if p[0] < -540 || p[0] > 540 || p[1] < -90 || p[1] > 90 {
		return fmt.Errorf("coordinate out of range (lon %g, lat %g): not WGS84 lon/lat", p[0], p[1])
	}
	return nil
}

func checkPoints(ps []orb.Point) error {
	for _, p := range ps {
		if err := checkPoint(p); err != nil {
			return err
		}
	}
	return nil
}

func planarRingArea(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

func normalizePolygons(mp orb.MultiPolygon) (orb.MultiPolygon, error) {
	var out orb.MultiPolygon
	for _, poly := range mp {
		var np orb.Polygon
		for i, r := range poly {
			if err := checkPoints(r); err != nil {
				return nil, err
			}
			rr := dedupe(r)
			if len(rr) < 4 {
				if i == 0 {
					break // a shell with no area: drop the polygon
				}
				continue
			}
			// Orientation is decided on continuous longitudes: a ring
			// written 179.5 → -179.5 (standard GeoJSON across ±180) has a
			// meaningless planar area until it is unwrapped.
			rr, err := unwrapRing(rr, i)
			if err != nil {
				return nil, err
			}
			if i > 0 && len(np) > 0 {
				alignToShell(rr, np[0])
			}
			a := planarRingArea(rr)
			if a == 0 {
				if i == 0 {
					break
				}
				continue
			}
			if (i == 0) != (a > 0) {
				rr.Reverse()
			}
			np = append(np, rr)
		}
		if len(np) == 0 {
			continue
		}
		out = append(out, splitAntimeridian(np)...)
	}
	if len(out) == 0 {
		return nil, ErrEmptyGeometry
	}
	return out, nil
}

// unwrapRing makes a ring's longitudes continuous: a step of more than 180°
// between neighbours is taken as crossing ±180 (179.5 → -179.5 becomes
// 179.5 → 180.5). A ring that then does not come back to its start winds
// around the globe: it encircles a pole, or is garbage.
func unwrapRing(r orb.Ring, i int) (orb.Ring, error) {
	u := make(orb.Ring, len(r))
	off := 0.0
	for j, pt := range r {
		if j > 0 {
			d := pt[0] + off - u[j-1][0]
			if d > 180 {
				off -= 360
			} else if d < -180 {
				off += 360
			}
		}
		u[j] = orb.Point{pt[0] + off, pt[1]}
	}
	if len(u) > 1 && math.Abs(u[len(u)-1][0]-u[0][0]) > 1e-9 {
		return nil, fmt.Errorf("ring %d winds around the globe (encircles a pole, or its longitudes jump by more than 180°): not supported", i)
	}
	return u, nil
}

// alignToShell shifts a hole by whole turns so it lies beside its shell
// (after unwrapping, a hole written at -179.8 belongs to a shell at 180.2).
func alignToShell(hole, shell orb.Ring) {
	b := shell.Bound()
	mid := (b.Min[0] + b.Max[0]) / 2
	hb := hole.Bound()
	shift := math.Round((mid-(hb.Min[0]+hb.Max[0])/2)/360) * 360
	if shift == 0 {
		return
	}
	for k := range hole {
		hole[k][0] += shift
	}
}

// dedupe closes a ring and drops consecutive duplicate points.
func dedupe(r orb.Ring) orb.Ring {
	out := make(orb.Ring, 0, len(r)+1)
	for _, p := range r {
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	if len(out) > 0 && out[0] != out[len(out)-1] {
		out = append(out, out[0])
	}
	return out
}

// splitAntimeridian cuts a polygon whose rings are unwrapped and oriented
// (normalizePolygons) at ±180 into parts within -180..180: the part beyond
// 180 is shifted by -360, the part below -180 by +360. Clipping keeps each
// ring's orientation, and holes follow their shell's side.
func splitAntimeridian(p orb.Polygon) []orb.Polygon {
	crosses := false
	for _, r := range p {
		for _, pt := range r {
			if pt[0] > 180 || pt[0] < -180 {
				crosses = true
			}
		}
	}
	if !crosses {
		return []orb.Polygon{p}
	}
	var parts []orb.Polygon
	for _, side := range []struct{ lo, hi, shift float64 }{{-540, -180, 360}, {-180, 180, 0}, {180, 540, -360}} {
		var part orb.Polygon
		for i, r := range p {
			c := clipRingX(r, side.lo, side.hi)
			if len(c) < 4 || planarRingArea(c) == 0 {
				if i == 0 {
					break
				}
				continue
			}
			for k := range c {
				c[k][0] += side.shift
			}
			part = append(part, c)
		}
		if len(part) > 0 {
			parts = append(parts, part)
		}
	}
	return parts
}

// clipRingX clips a ring to lo <= x <= hi (Sutherland–Hodgman, two planes).
func clipRingX(r orb.Ring, lo, hi float64) orb.Ring {
	clip := func(in orb.Ring, inside func(orb.Point) bool, cut func(a, b orb.Point) orb.Point) orb.Ring {
		var out orb.Ring
		for i := 0; i+1 < len(in); i++ {
			a, b := in[i], in[i+1]
			ia, ib := inside(a), inside(b)
			if ia {
				out = append(out, a)
			}
			if ia != ib {
				out = append(out, cut(a, b))
			}
		}
		if len(out) > 0 {
			out = append(out, out[0])
		}
		return out
	}
	atX := func(x float64) func(a, b orb.Point) orb.Point {
		return func(a, b orb.Point) orb.Point {
			t := (x - a[0]) / (b[0] - a[0])
			return orb.Point{x, a[1] + t*(b[1]-a[1])}
		}
	}
	c := clip(r, func(p orb.Point) bool { return p[0] >= lo }, atX(lo))
	if len(c) == 0 {
		return nil
	}
	return clip(c, func(p orb.Point) bool { return p[0] <= hi }, atX(hi))
}

// Circle is a geodesic circle of radiusKm around center (lon/lat) as a
// polygon of n vertices, for point-and-radius hazards (CAP circles, an
// earthquake's felt radius). Circles crossing the antimeridian are split.
func Circle(center orb.Point, radiusKm float64, n int) orb.Geometry {
	if n < 8 {
		n = 8
	}
	// Destinations on a sphere of the ellipsoid's Gaussian radius at the
	// centre: for hazard-sized radii the circle's area is then right to
	// about 0.1%, where the equatorial radius would be ~0.7% off.
	phi := center[1] * math.Pi / 180
	w := 1 - wgs84E2*math.Sin(phi)*math.Sin(phi)
	r := math.Sqrt(wgs84A*(1-wgs84E2)/math.Pow(w, 1.5)*wgs84A/math.Sqrt(w)) / 1000
	delta := radiusKm / r
	lam := center[0] * math.Pi / 180
	ring := make(orb.Ring, 0, n+1)
	for i := 0; i < n; i++ {
		th := 2 * math.Pi * float64(i) / float64(n)
		p2 := math.Asin(math.Sin(phi)*math.Cos(delta) + math.Cos(phi)*math.Sin(delta)*math.Cos(th))
		l2 := lam + math.Atan2(math.Sin(th)*math.Sin(delta)*math.Cos(phi), math.Cos(delta)-math.Sin(phi)*math.Sin(p2))
		ring = append(ring, orb.Point{l2 * 180 / math.Pi, p2 * 180 / math.Pi})
	}
	ring = append(ring, ring[0])
	g, err := NormalizeGeometry(orb.Polygon{ring})
	if err != nil {
		return orb.Polygon{ring}
	}
	return g
}

// SelfIntersection finds where a ring crosses or touches itself (two edges
// that are not neighbours meet), the classic invalid ring of partner data. A
// sweep over edges sorted by their west end keeps it near n log n for
// ordinary shapes.
func SelfIntersection(r orb.Ring) (orb.Point, bool) {
	r = dedupe(r)
	if len(r) < 5 {
		return orb.Point{}, false
	}
	return ringSelfCross(r)
}
