package status

import (
	"math"

	"github.com/paulmach/orb"
)

// mapSimplifier writes the map's geometry (simplifyGeometry: orb's
// Douglas-Peucker, a collapsing ring keeping its shape, rounding to 1e-5)
// straight into the encoder. It selects the same points with the same
// distance function as orb, but marks them in a reused mask instead of
// cloning and rounding a copy of every polygon (1.7 M points at country
// size); the tests compare it with simplifyGeometry on every case.
type mapSimplifier struct {
	mask  []byte
	kept  []int // per ring: points kept, -1 when the ring is dropped
	stack []int
}

// appendGeometry appends simplifyGeometry(g, tol) as appendGeometry would.
func (s *mapSimplifier) appendGeometry(b []byte, g orb.Geometry, tol float64) ([]byte, error) {
	var err error
	switch g := g.(type) {
	case orb.Polygon:
		if g == nil {
			return append(b, "null"...), nil // orb.Round makes it a nil geometry
		}
		b = append(b, `{"type":"Polygon","coordinates":`...)
		if b, err = s.appendPolygon(b, g, tol); err != nil {
			return b, err
		}
		return append(b, '}'), nil
	case orb.MultiPolygon:
		// simplifyGeometry makes a new slice: never null.
		b = append(b, `{"type":"MultiPolygon","coordinates":[`...)
		for i, p := range g {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = s.appendPolygon(b, p, tol); err != nil {
				return b, err
			}
		}
		return append(b, "]}"...), nil
	default:
		return appendGeometry(b, g, 0) // left as is by simplifyGeometry
	}
}

// appendPolygon appends p simplified as simplifyGeometry's keep does:
// each ring reduced by Douglas-Peucker, holes of two points or fewer
// dropped, and the original kept when the outer ring would collapse.
func (s *mapSimplifier) appendPolygon(b []byte, p orb.Polygon, tol float64) ([]byte, error) {
	total := 0
	for _, r := range p {
		total += len(r)
	}
	s.mask = s.mask[:0]
	s.mask = append(s.mask, make([]byte, total)...)
	s.kept = s.kept[:0]
	off := 0
	for i, r := range p {
		m := s.mask[off : off+len(r)]
		off += len(r)
		n := len(r)
		if n <= 2 {
			for j := range m {
				m[j] = 1
			}
		} else {
			n = s.douglasPeucker(r, tol, m)
		}
		if i != 0 && n <= 2 {
			n = -1
		}
		s.kept = append(s.kept, n)
	}
	collapsed := len(p) == 0 || s.kept[0] < 4 // then p is kept as it is
	if p == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, '[')
	off = 0
	first := true
	for i, r := range p {
		m := s.mask[off : off+len(r)]
		off += len(r)
		if !collapsed && s.kept[i] < 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		if r == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		sep := false
		for j, pt := range r {
			if !collapsed && m[j] == 0 {
				continue
			}
			if sep {
				b = append(b, ',')
			}
			sep = true
			b = append(b, '[')
			if b, err = appendCoord(b, math.Round(pt[0]*1e5)/1e5); err != nil {
				return b, err
			}
			b = append(b, ',')
			if b, err = appendCoord(b, math.Round(pt[1]*1e5)/1e5); err != nil {
				return b, err
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// douglasPeucker marks in mask the points of ls (len > 2) that orb's
// DouglasPeuckerSimplifier keeps, and returns how many: the same split
// points in the same order, from the same distances.
func (s *mapSimplifier) douglasPeucker(ls orb.Ring, threshold float64, mask []byte) int {
	mask[0], mask[len(ls)-1] = 1, 1
	found := 2
	stack := append(s.stack[:0], 0, len(ls)-1)
	for len(stack) > 0 {
		start, end := stack[len(stack)-2], stack[len(stack)-1]
		maxDist, maxIndex := 0.0, 0
		// The squared distance from each point to the segment, with the
		// same operations as planar.DistanceFromSegmentSquared (so the
		// same floats), the segment's terms computed once: the call per
		// point was most of the map's simplification.
		ax, ay := ls[start][0], ls[start][1]
		dx, dy := ls[end][0]-ax, ls[end][1]-ay
		den := dx*dx + dy*dy
		degenerate := dx == 0 && dy == 0
		for i := start + 1; i < end; i++ {
			px, py := ls[i][0], ls[i][1]
			qx, qy := ax, ay
			if !degenerate {
				t := ((px-ax)*dx + (py-ay)*dy) / den
				if t > 1 {
					qx, qy = ls[end][0], ls[end][1]
				} else if t > 0 {
					qx, qy = ax+dx*t, ay+dy*t
				}
			}
			ex, ey := px-qx, py-qy
			if d := ex*ex + ey*ey; d > maxDist {
				maxDist, maxIndex = d, i
			}
		}
		if maxDist > threshold*threshold {
			found++
			mask[maxIndex] = 1
			stack[len(stack)-1] = maxIndex
			stack = append(stack, maxIndex, end)
		} else {
			stack = stack[:len(stack)-2]
		}
	}
	s.stack = stack
	return found
}
