package indicators

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"
)

// Invalid polygons in admin boundaries (a bow-tie, a ring that crosses
// itself or its holes) are repaired the way GEOS MakeValid does with its
// default "linework" method (shapely.make_valid, PostGIS ST_MakeValid): the
// rings' linework is noded at every crossing, the arrangement's faces are
// built, and the result is the faces covered an odd number of times by the
// input rings (even-odd rule), dissolved into polygons. Parts that collapse
// to lines or points, which GEOS keeps in a collection, have no area and
// are dropped.

// PolygonProblems lists what makes a polygon invalid: rings that cross or
// touch themselves, rings that cross each other, rings with no area. Empty
// when it is valid.
func PolygonProblems(p orb.Polygon) []string {
	var out []string
	for i, r := range p {
		r = dedupe(r)
		if len(r) < 4 {
			out = append(out, fmt.Sprintf("ring %d has fewer than 3 distinct points", i))
			continue
		}
		pt, crosses := ringSelfCross(r)
		switch {
		case crosses && planarRingArea(r) == 0:
			out = append(out, fmt.Sprintf("ring %d crosses itself near (%.6f, %.6f) (a figure-8: its lobes cancel out)", i, pt[0], pt[1]))
		case crosses:
			out = append(out, fmt.Sprintf("ring %d crosses itself near (%.6f, %.6f)", i, pt[0], pt[1]))
		case planarRingArea(r) == 0:
			out = append(out, fmt.Sprintf("ring %d has no area", i))
		}
	}
	for i := range p {
		for j := i + 1; j < len(p); j++ {
			if pt, ok := ringsMeet(dedupe(p[i]), dedupe(p[j])); ok {
				out = append(out, fmt.Sprintf("rings %d and %d cross near (%.6f, %.6f)", i, j, pt[0], pt[1]))
			}
		}
	}
	return out
}

// ringSelfCross finds two non-adjacent edges of a closed ring that meet: a
// sweep over edges sorted by their west end, with their extents computed
// once (every area is checked at load, so this is on the start-up path).
func ringSelfCross(r orb.Ring) (orb.Point, bool) {
	n := len(r) - 1
	type span struct {
		x0, x1, y0, y1 float64
		i              int
	}
	sp := make([]span, n)
	for i := 0; i < n; i++ {
		a, b := r[i], r[i+1]
		sp[i] = span{min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]), i}
	}
	slices.SortFunc(sp, func(a, b span) int { return cmp.Compare(a.x0, b.x0) })
	for a := range sp {
		ea := &sp[a]
		for b := a + 1; b < n && sp[b].x0 <= ea.x1; b++ {
			eb := &sp[b]
			if eb.y0 > ea.y1 || eb.y1 < ea.y0 {
				continue
			}
			i, j := ea.i, eb.i
			if j == i+1 || i == j+1 || (i == 0 && j == n-1) || (j == 0 && i == n-1) {
				continue // neighbours share a vertex by construction
			}
			if pt, ok := segMeet(r[i], r[i+1], r[j], r[j+1]); ok {
				return pt, true
			}
		}
	}
	return orb.Point{}, false
}

// ringsMeet finds where two rings cross or overlap along an edge. Touching
// at a point is allowed (a hole may touch its shell at one point).
func ringsMeet(a, b orb.Ring) (orb.Point, bool) {
	if !a.Bound().Intersects(b.Bound()) {
		return orb.Point{}, false
	}
	for i := 0; i+1 < len(a); i++ {
		for j := 0; j+1 < len(b); j++ {
			p, q, r, s := a[i], a[i+1], b[j], b[j+1]
			d1, d2 := cross3(r, s, p), cross3(r, s, q)
			d3, d4 := cross3(p, q, r), cross3(p, q, s)
			if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
				t := d1 / (d1 - d2)
				return orb.Point{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}, true
			}
			if d1 == 0 && d2 == 0 && overlapLength(p, q, r, s) > 0 {
				return p, true
			}
		}
	}
	return orb.Point{}, false
}

// overlapLength of two collinear segments, along their main axis.
func overlapLength(p, q, r, s orb.Point) float64 {
	k := 0
	if math.Abs(q[1]-p[1]) > math.Abs(q[0]-p[0]) {
		k = 1
	}
	lo := math.Max(math.Min(p[k], q[k]), math.Min(r[k], s[k]))
	hi := math.Min(math.Max(p[k], q[k]), math.Max(r[k], s[k]))
	return hi - lo
}

func cross3(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSeg(a, b, c orb.Point) bool {
	return math.Min(a[0], b[0]) <= c[0] && c[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= c[1] && c[1] <= math.Max(a[1], b[1])
}

// segMeet reports whether segments pq and rs share a point, and one such
// point.
func segMeet(p, q, r, s orb.Point) (orb.Point, bool) {
	d1, d2 := cross3(r, s, p), cross3(r, s, q)
	d3, d4 := cross3(p, q, r), cross3(p, q, s)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		t := d1 / (d1 - d2)
		return orb.Point{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])}, true
	}
	switch {
	case d1 == 0 && onSeg(r, s, p):
		return p, true
	case d2 == 0 && onSeg(r, s, q):
		return q, true
	case d3 == 0 && onSeg(p, q, r):
		return r, true
	case d4 == 0 && onSeg(p, q, s):
		return s, true
	}
	return orb.Point{}, false
}

// MakeValid repairs a polygon as GEOS MakeValid (linework) does; see the
// top of this file. Rings crossing ±180 are unwrapped first, and the result
// goes through NormalizeGeometry (orientation, antimeridian split). It
// returns ErrEmptyGeometry when nothing with area is left.
func MakeValid(p orb.Polygon) (orb.Geometry, error) {
	var rings []orb.Ring
	for i, r := range p {
		if err := checkPoints(r); err != nil {
			return nil, err
		}
		r = dedupe(r)
		if len(r) < 4 {
			continue
		}
		u, err := unwrapRing(r, i)
		if err != nil {
			return nil, err
		}
		if len(rings) > 0 {
			alignToShell(u, rings[0])
		}
		rings = append(rings, u)
	}
	if len(rings) == 0 {
		return nil, ErrEmptyGeometry
	}
	mp := evenOddArea(rings)
	if len(mp) == 0 {
		return nil, ErrEmptyGeometry
	}
	return NormalizeGeometry(mp)
}

// --- the arrangement ---

type halfEdge struct {
	from, to int // node ids
	twin     int
	next     int // next half-edge around the face on its left
	face     int
}

type arrangement struct {
	pts   []orb.Point
	out   [][]int // outgoing half-edges per node, sorted by angle (CCW)
	edges []halfEdge
}

// node splits every edge of the rings at every point where it meets another
// edge (or itself), and returns the undirected segments, each once.
func nodeRings(rings []orb.Ring) [][2]orb.Point {
	type edge struct {
		a, b  orb.Point
		split []orb.Point
	}
	var es []*edge
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			if r[i] != r[i+1] {
				es = append(es, &edge{a: r[i], b: r[i+1]})
			}
		}
	}
	sort.Slice(es, func(i, j int) bool { return math.Min(es[i].a[0], es[i].b[0]) < math.Min(es[j].a[0], es[j].b[0]) })
	for i, e := range es {
		hi := math.Max(e.a[0], e.b[0])
		for _, f := range es[i+1:] {
			if math.Min(f.a[0], f.b[0]) > hi {
				break
			}
			addMeets(e.a, e.b, f.a, f.b, &e.split, &f.split)
		}
	}
	seen := map[[2]orb.Point]bool{}
	var out [][2]orb.Point
	for _, e := range es {
		pts := append([]orb.Point{e.a, e.b}, e.split...)
		d := func(p orb.Point) float64 { return math.Hypot(p[0]-e.a[0], p[1]-e.a[1]) }
		sort.Slice(pts, func(i, j int) bool { return d(pts[i]) < d(pts[j]) })
		for k := 0; k+1 < len(pts); k++ {
			a, b := pts[k], pts[k+1]
			if a == b {
				continue
			}
			key := [2]orb.Point{a, b}
			if b[0] < a[0] || (b[0] == a[0] && b[1] < a[1]) {
				key = [2]orb.Point{b, a}
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	return out
}

// addMeets records where segments ab and cd meet as split points of both:
// a proper crossing once, computed once so both edges get the very same
// point; an endpoint lying on the other segment (touching, overlapping).
func addMeets(a, b, c, d orb.Point, sab, scd *[]orb.Point) {
	d1, d2 := cross3(c, d, a), cross3(c, d, b)
	d3, d4 := cross3(a, b, c), cross3(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		t := d1 / (d1 - d2)
		// Snapped, so the same crossing computed from another pair of
		// edges (three edges through one point) lands on the same node.
		x := orb.Point{snap(a[0] + t*(b[0]-a[0])), snap(a[1] + t*(b[1]-a[1]))}
		*sab = append(*sab, x)
		*scd = append(*scd, x)
		return
	}
	if d1 == 0 && onSeg(c, d, a) {
		*scd = append(*scd, a)
	}
	if d2 == 0 && onSeg(c, d, b) {
		*scd = append(*scd, b)
	}
	if d3 == 0 && onSeg(a, b, c) {
		*sab = append(*sab, c)
	}
	if d4 == 0 && onSeg(a, b, d) {
		*sab = append(*sab, d)
	}
}

func buildArrangement(segs [][2]orb.Point) *arrangement {
	ar := &arrangement{}
	id := map[orb.Point]int{}
	node := func(p orb.Point) int {
		if n, ok := id[p]; ok {
			return n
		}
		id[p] = len(ar.pts)
		ar.pts = append(ar.pts, p)
		ar.out = append(ar.out, nil)
		return id[p]
	}
	// Dangling segments (a spike that runs out and back) bound no face:
	// drop them until every node has at least two segments.
	deg := map[int]int{}
	type s2 struct{ a, b int }
	var ss []s2
	for _, s := range segs {
		a, b := node(s[0]), node(s[1])
		ss = append(ss, s2{a, b})
		deg[a]++
		deg[b]++
	}
	alive := make([]bool, len(ss))
	for i := range alive {
		alive[i] = true
	}
	for changed := true; changed; {
		changed = false
		for i, s := range ss {
			if alive[i] && (deg[s.a] < 2 || deg[s.b] < 2) {
				alive[i] = false
				deg[s.a]--
				deg[s.b]--
				changed = true
			}
		}
	}
	for i, s := range ss {
		if !alive[i] {
			continue
		}
		e := len(ar.edges)
		ar.edges = append(ar.edges, halfEdge{from: s.a, to: s.b, twin: e + 1, face: -1}, halfEdge{from: s.b, to: s.a, twin: e, face: -1})
		ar.out[s.a] = append(ar.out[s.a], e)
		ar.out[s.b] = append(ar.out[s.b], e+1)
	}
	angle := func(e int) float64 {
		a, b := ar.pts[ar.edges[e].from], ar.pts[ar.edges[e].to]
		return math.Atan2(b[1]-a[1], b[0]-a[0])
	}
	pos := make([]int, len(ar.edges))
	for n := range ar.out {
		o := ar.out[n]
		sort.Slice(o, func(i, j int) bool { return angle(o[i]) < angle(o[j]) })
		for k, e := range o {
			pos[e] = k
		}
	}
	// The face on the left of u→v continues with the edge out of v that
	// comes just clockwise of v→u.
	for e := range ar.edges {
		t := ar.edges[e].twin
		o := ar.out[ar.edges[t].from]
		ar.edges[e].next = o[(pos[t]-1+len(o))%len(o)]
	}
	return ar
}

// faces traces every face cycle; it returns each cycle's ring and sets
// the half-edges' face ids.
func (ar *arrangement) faces() []orb.Ring {
	var rings []orb.Ring
	for e := range ar.edges {
		if ar.edges[e].face >= 0 {
			continue
		}
		f := len(rings)
		var r orb.Ring
		for h := e; ar.edges[h].face < 0; h = ar.edges[h].next {
			ar.edges[h].face = f
			r = append(r, ar.pts[ar.edges[h].from])
		}
		r = append(r, r[0])
		rings = append(rings, r)
	}
	return rings
}

// evenOddArea is the area covered an odd number of times by rings, as
// polygons with holes.
func evenOddArea(rings []orb.Ring) orb.MultiPolygon {
	ar := buildArrangement(nodeRings(rings))
	cycles := ar.faces()
	areas := make([]float64, len(cycles))
	for i, c := range cycles {
		areas[i] = planarRingArea(c)
	}
	// A counter-clockwise cycle bounds a face from outside; a clockwise
	// cycle is the outline of a connected piece, seen from the face that
	// surrounds it (the smallest counter-clockwise cycle containing it, or
	// the outside).
	owner := make([]int, len(cycles))
	for i, c := range cycles {
		owner[i] = i
		if areas[i] > 0 {
			continue
		}
		owner[i] = -1
		best := math.Inf(1)
		probe := c[0]
		for j, d := range cycles {
			if areas[j] > 0 && areas[j] < best && d.Bound().Contains(probe) && strictlyInside(d, c) {
				owner[i], best = j, areas[j]
			}
		}
	}
	// Faces covered an odd number of times by the input rings (even-odd).
	kept := make([]bool, len(cycles))
	for i, c := range cycles {
		if areas[i] > 0 {
			kept[i] = oddCover(rings, pointLeftOf(c))
		}
	}
	keptFace := func(f int) bool { return owner[f] >= 0 && kept[owner[f]] }
	// The outline of the kept faces: half-edges with a kept face on the
	// left and none on the right.
	onB := make([]bool, len(ar.edges))
	for e, h := range ar.edges {
		onB[e] = keptFace(h.face) && !keptFace(ar.edges[h.twin].face)
	}
	used := make([]bool, len(ar.edges))
	var shells, holes []orb.Ring
	for e := range ar.edges {
		if !onB[e] || used[e] {
			continue
		}
		var r orb.Ring
		for h := e; !used[h]; {
			used[h] = true
			r = append(r, ar.pts[ar.edges[h].from])
			// Turn clockwise around the end node from the way back until
			// the next outline edge.
			n := ar.edges[h].next
			for !onB[n] {
				n = ar.edges[ar.edges[n].twin].next
			}
			h = n
		}
		r = append(r, r[0])
		// The tightest turn keeps shells that touch at a point apart, but a
		// hole touching its shell comes out as one ring through the touch
		// point twice: split it there (GEOS gives a shell and a hole).
		for _, l := range splitPinches(r) {
			if a := planarRingArea(l); a > 0 {
				shells = append(shells, l)
			} else if a < 0 {
				holes = append(holes, l)
			}
		}
	}
	out := make(orb.MultiPolygon, len(shells))
	for i, s := range shells {
		out[i] = orb.Polygon{s}
	}
	for _, h := range holes {
		best, bi := math.Inf(1), -1
		for i, s := range shells {
			if a := planarRingArea(s); a < best && strictlyInside(s, h) {
				best, bi = a, i
			}
		}
		if bi >= 0 {
			out[bi] = append(out[bi], h)
		}
	}
	return out
}

// strictlyInside: some vertex of inner lies inside outer, and none outside
// (vertices on outer's boundary are undecided and skipped).
func strictlyInside(outer, inner orb.Ring) bool {
	found := false
	for _, p := range inner[:len(inner)-1] {
		switch pointInRing(outer, p) {
		case -1:
			return false
		case 1:
			found = true
		}
	}
	if !found { // every vertex on the boundary: decide by an edge midpoint
		p := pointLeftOf(inner)
		return pointInRing(outer, p) == 1
	}
	return true
}

// pointInRing: 1 inside, -1 outside, 0 on the boundary.
func pointInRing(r orb.Ring, p orb.Point) int {
	in := false
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		if cross3(a, b, p) == 0 && onSeg(a, b, p) {
			return 0
		}
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0]+(p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1]) {
			in = !in
		}
	}
	if in {
		return 1
	}
	return -1
}

// pointLeftOf is a point just to the left of the middle of a ring's
// longest edge: inside the face the cycle bounds on its left.
func pointLeftOf(r orb.Ring) orb.Point {
	best, bi := -1.0, 0
	for i := 0; i+1 < len(r); i++ {
		if l := math.Hypot(r[i+1][0]-r[i][0], r[i+1][1]-r[i][1]); l > best {
			best, bi = l, i
		}
	}
	a, b := r[bi], r[bi+1]
	eps := 1e-7
	return orb.Point{(a[0]+b[0])/2 - eps*(b[1]-a[1]), (a[1]+b[1])/2 + eps*(b[0]-a[0])}
}

// oddCover: p is inside an odd number of the rings.
func oddCover(rings []orb.Ring, p orb.Point) bool {
	n := 0
	for _, r := range rings {
		if pointInRing(r, p) == 1 {
			n++
		}
	}
	return n%2 == 1
}

// splitPinches cuts a closed ring that passes through a point more than
// once into loops that pass through it once each.
func splitPinches(r orb.Ring) []orb.Ring {
	var out []orb.Ring
	var stack []orb.Point
	pos := map[orb.Point]int{}
	for _, p := range r[:len(r)-1] {
		if i, ok := pos[p]; ok {
			loop := append(append(orb.Ring(nil), stack[i:]...), p)
			if len(loop) >= 4 {
				out = append(out, loop)
			}
			for _, q := range stack[i+1:] {
				delete(pos, q)
			}
			stack = stack[:i+1]
			continue
		}
		pos[p] = len(stack)
		stack = append(stack, p)
	}
	if len(stack) >= 3 {
		out = append(out, append(stack, stack[0]))
	}
	return out
}

// RepairPolygonal checks every polygon of g (rings unwrapped across ±180
// first, so a valid polygon in standard GeoJSON form is not mistaken for a
// crossing one) and repairs the invalid ones with MakeValid. It returns g
// unchanged and no problems when all are valid; the repaired geometry and
// the problems found otherwise; an error when a polygon has nothing with
// area left after repair. Non-polygonal geometries are returned as they are.
func RepairPolygonal(g orb.Geometry) (orb.Geometry, []string, error) {
	polys := Polygons(g)
	if polys == nil {
		return g, nil, nil
	}
	var problems []string
	var out orb.MultiPolygon
	for k, p := range polys {
		u := make(orb.Polygon, 0, len(p))
		for i, r := range p {
			if checkPoints(r) != nil {
				return g, nil, nil // NormalizeGeometry reports bad coordinates
			}
			rr, err := unwrapRing(dedupe(r), i)
			if err != nil {
				return g, nil, nil // and rings that wind around the globe
			}
			if len(u) > 0 {
				alignToShell(rr, u[0])
			}
			u = append(u, rr)
		}
		probs := PolygonProblems(u)
		if len(probs) == 0 {
			out = append(out, p)
			continue
		}
		for _, pr := range probs {
			if len(polys) > 1 {
				pr = fmt.Sprintf("polygon %d: %s", k, pr)
			}
			problems = append(problems, pr)
		}
		fixed, err := MakeValid(p)
		if err != nil {
			return nil, problems, fmt.Errorf("%s; nothing with area is left after repair (it collapses to a line or a point): fix it in the source", joinProblems(problems))
		}
		out = append(out, Polygons(fixed)...)
	}
	if len(problems) == 0 {
		return g, nil, nil
	}
	return out, problems, nil
}

func joinProblems(ps []string) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	return s
}

// Polygons lists the polygons of a Polygon or MultiPolygon (nil for any
// other geometry).
func Polygons(g orb.Geometry) []orb.Polygon {
	switch t := g.(type) {
	case orb.Polygon:
		return []orb.Polygon{t}
	case orb.MultiPolygon:
		return t
	}
	return nil
}

// snapGrid is the precision crossings are computed to: 1e-10° (~10 µm),
// far below any boundary's accuracy.
const snapGrid = 1e-10

func snap(x float64) float64 { return math.Round(x/snapGrid) * snapGrid }
