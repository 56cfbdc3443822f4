package usgs

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// ShakeMap's cont_mmi.json holds one MultiLineString per MMI level (0.5
// steps). We turn each whole level L into the area where MMI >= L:
//
//   - Orientation: ShakeMap writes the lines with a consistent winding, the
//     higher intensity on one side. Which side is read from the file itself:
//     the largest closed ring of the highest level surrounds the peak
//     shaking, so its winding is "high inside". Closed rings wound that way
//     are shells, the others holes (low pockets); each hole goes to the
//     smallest shell that contains it.
//   - Open lines end on the map edge (the grid was clipped). They are closed
//     by walking along the ShakeMap bounding box on the high side, from one
//     line's end to the next line's start, as marching-squares output is
//     meant to be read. An open line whose ends are not on the box edge
//     cannot be closed honestly and is skipped with a problem.
//   - Holes not inside any shell mean the high side surrounds them: the box
//     itself is then the shell.
//
// Bands are cumulative (MMI 6 lies inside MMI 5), as indicators.Footprint
// requires, because they come from one field.

type contourFile struct {
	Type     string           `json:"type"`
	Features []contourFeature `json:"features"`
	BBox     []float64        `json:"bbox"`
	Metadata map[string]any   `json:"metadata"`
}

type contourFeature struct {
	Properties struct {
		Value *float64 `json:"value"`
		Units string   `json:"units"`
	} `json:"properties"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// edgeTolDeg is how close (degrees) an open line's end must be to the map
// edge to count as clipped by it.
const edgeTolDeg = 1e-3

// ParseContours reads a ShakeMap cont_mmi.json into cumulative MMI bands,
// one footprint per whole MMI level present, lowest first. Per-line problems
// are returned beside the footprints; an error means the file is unusable.
func ParseContours(body []byte) ([]indicators.Footprint, []error, error) {
	var cf contourFile
	if err := fetch.DecodeJSON(body, &cf); err != nil {
		return nil, nil, err
	}
	if cf.Type != "FeatureCollection" {
		return nil, nil, fmt.Errorf("contours: type %q, want FeatureCollection", cf.Type)
	}
	lines := map[float64][]orb.LineString{}
	var problems []error
	var all orb.Bound
	first := true
	for i, f := range cf.Features {
		if f.Properties.Value == nil {
			problems = append(problems, fmt.Errorf("contour feature %d: no value", i))
			continue
		}
		v := *f.Properties.Value
		ls, err := decodeLines(f.Geometry.Type, f.Geometry.Coordinates)
		if err != nil {
			problems = append(problems, fmt.Errorf("contour feature %d (MMI %g): %w", i, v, err))
			continue
		}
		for _, l := range ls {
			for _, p := range l {
				if first {
					all, first = orb.Bound{Min: p, Max: p}, false
				} else {
					all = all.Extend(p)
				}
			}
		}
		lines[v] = append(lines[v], ls...)
	}
	if len(lines) == 0 {
		return nil, problems, fmt.Errorf("contours: no usable contour lines")
	}
	box := all
	if len(cf.BBox) == 4 && cf.BBox[0] < cf.BBox[2] && cf.BBox[1] < cf.BBox[3] {
		box = orb.Bound{Min: orb.Point{cf.BBox[0], cf.BBox[1]}, Max: orb.Point{cf.BBox[2], cf.BBox[3]}}
	}
	levels := make([]float64, 0, len(lines))
	for v := range lines {
		levels = append(levels, v)
	}
	sort.Float64s(levels)
	highCW := highSideClockwise(lines[levels[len(levels)-1]])

	var out []indicators.Footprint
	for _, v := range levels {
		if v != math.Trunc(v) {
			continue // half levels: bands are whole MMI degrees
		}
		polys, probs := levelPolygons(lines[v], box, highCW)
		for _, p := range probs {
			problems = append(problems, fmt.Errorf("MMI %g: %w", v, p))
		}
		if len(polys) == 0 {
			continue
		}
		g, err := indicators.NormalizeGeometry(polys)
		if err != nil {
			problems = append(problems, fmt.Errorf("MMI %g: %w", v, err))
			continue
		}
		out = append(out, indicators.Footprint{Geometry: g, Band: fmt.Sprintf("MMI %g", v), Intensity: v, Unit: "MMI"})
	}
	if len(out) == 0 {
		return nil, problems, fmt.Errorf("contours: no whole-MMI level gave a polygon")
	}
	return out, problems, nil
}

func decodeLines(typ string, raw json.RawMessage) ([]orb.LineString, error) {
	var coords [][][]float64
	switch typ {
	case "MultiLineString":
		if err := json.Unmarshal(raw, &coords); err != nil {
			return nil, fmt.Errorf("coordinates: %v", err)
		}
	case "LineString":
		var one [][]float64
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("coordinates: %v", err)
		}
		coords = [][][]float64{one}
	default:
		return nil, fmt.Errorf("geometry type %q, want MultiLineString", typ)
	}
	out := make([]orb.LineString, 0, len(coords))
	for _, c := range coords {
		l := make(orb.LineString, 0, len(c))
		for _, p := range c {
			if len(p) < 2 || math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
				return nil, fmt.Errorf("bad coordinate %v", p)
			}
			if len(l) == 0 || l[len(l)-1] != (orb.Point{p[0], p[1]}) {
				l = append(l, orb.Point{p[0], p[1]})
			}
		}
		if len(l) >= 2 {
			out = append(out, l)
		}
	}
	return out, nil
}

func isClosed(l orb.LineString) bool { return len(l) >= 4 && l[0] == l[len(l)-1] }

func signedArea(pts []orb.Point) float64 {
	var s float64
	for i := 0; i+1 < len(pts); i++ {
		s += pts[i][0]*pts[i+1][1] - pts[i+1][0]*pts[i][1]
	}
	return s / 2
}

// highSideClockwise reads the file's winding from the highest level's
// largest closed ring. Real ShakeMap files wind high-inside rings clockwise;
// that is the default when the top level has no closed ring.
func highSideClockwise(top []orb.LineString) bool {
	best := 0.0
	for _, l := range top {
		if !isClosed(l) {
			continue
		}
		if a := signedArea(l); math.Abs(a) > math.Abs(best) {
			best = a
		}
	}
	return best <= 0
}

// levelPolygons builds the MMI >= level area from one level's lines.
func levelPolygons(ls []orb.LineString, box orb.Bound, highCW bool) (orb.MultiPolygon, []error) {
	var shells, holes []orb.Ring
	var open []orb.LineString
	var problems []error
	for _, l := range ls {
		if !highCW {
			l = reversed(l) // make "high on the right" hold everywhere below
		}
		if l[0] == l[len(l)-1] && len(l) < 4 {
			continue // a closed ring with no area (a single grid cell)
		}
		if isClosed(l) {
			r := orb.Ring(l)
			a := signedArea(r)
			switch {
			case a < 0:
				shells = append(shells, r)
			case a > 0:
				holes = append(holes, r)
			}
			continue
		}
		if onEdge(l[0], box) && onEdge(l[len(l)-1], box) {
			open = append(open, l)
			continue
		}
		problems = append(problems, fmt.Errorf("open contour from %v to %v does not end on the map edge %v: skipped", l[0], l[len(l)-1], box))
	}
	if len(open) > 0 {
		shells = append(shells, closeAlongBox(open, box)...)
	}
	// Smallest shell first, so a hole goes to the tightest shell around it.
	sort.Slice(shells, func(i, j int) bool { return math.Abs(signedArea(shells[i])) < math.Abs(signedArea(shells[j])) })
	polys := make(orb.MultiPolygon, len(shells))
	for i, s := range shells {
		polys[i] = orb.Polygon{s}
	}
	var orphans []orb.Ring
	for _, h := range holes {
		placed := false
		for i, s := range shells {
			if ringContains(s, h[0]) {
				polys[i] = append(polys[i], h)
				placed = true
				break
			}
		}
		if !placed {
			orphans = append(orphans, h)
		}
	}
	if len(orphans) > 0 && len(open) == 0 {
		p := orb.Polygon{boxRing(box)}
		polys = append(polys, append(p, orphans...))
	} else if len(orphans) > 0 {
		problems = append(problems, fmt.Errorf("%d low-intensity pocket(s) outside every shell: ignored", len(orphans)))
	}
	return polys, problems
}

func reversed(l orb.LineString) orb.LineString {
	out := make(orb.LineString, len(l))
	for i, p := range l {
		out[len(l)-1-i] = p
	}
	return out
}

func onEdge(p orb.Point, b orb.Bound) bool {
	in := p[0] >= b.Min[0]-edgeTolDeg && p[0] <= b.Max[0]+edgeTolDeg && p[1] >= b.Min[1]-edgeTolDeg && p[1] <= b.Max[1]+edgeTolDeg
	if !in {
		return false
	}
	return math.Abs(p[0]-b.Min[0]) <= edgeTolDeg || math.Abs(p[0]-b.Max[0]) <= edgeTolDeg ||
		math.Abs(p[1]-b.Min[1]) <= edgeTolDeg || math.Abs(p[1]-b.Max[1]) <= edgeTolDeg
}

// perimeterPos is p's position along the box edge walked clockwise from
// the south-west corner: up the west side, east along the north, down the
// east side, west along the south.
func perimeterPos(p orb.Point, b orb.Bound) float64 {
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	dw, dn, de, ds := math.Abs(p[0]-b.Min[0]), math.Abs(p[1]-b.Max[1]), math.Abs(p[0]-b.Max[0]), math.Abs(p[1]-b.Min[1])
	m := math.Min(math.Min(dw, dn), math.Min(de, ds))
	clamp := func(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
	switch m {
	case dw:
		return clamp(p[1]-b.Min[1], 0, h)
	case dn:
		return h + clamp(p[0]-b.Min[0], 0, w)
	case de:
		return h + w + clamp(b.Max[1]-p[1], 0, h)
	default:
		return 2*h + w + clamp(b.Max[0]-p[0], 0, w)
	}
}

// boxCorners are the corners at perimeter positions h, h+w, 2h+w, 2h+2w(=0).
func boxCorners(b orb.Bound) ([4]float64, [4]orb.Point) {
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	return [4]float64{h, h + w, 2*h + w, 2*h + 2*w},
		[4]orb.Point{{b.Min[0], b.Max[1]}, {b.Max[0], b.Max[1]}, {b.Max[0], b.Min[1]}, {b.Min[0], b.Min[1]}}
}

func boxRing(b orb.Bound) orb.Ring {
	return orb.Ring{{b.Min[0], b.Min[1]}, {b.Min[0], b.Max[1]}, {b.Max[0], b.Max[1]}, {b.Max[0], b.Min[1]}, {b.Min[0], b.Min[1]}}
}

// closeAlongBox chains open lines (high side on the right) into clockwise
// rings: from a line's end, walk clockwise along the box to the nearest
// line start, append that line, and so on until back at the first line.
func closeAlongBox(open []orb.LineString, b orb.Bound) []orb.Ring {
	per := 2 * ((b.Max[0] - b.Min[0]) + (b.Max[1] - b.Min[1]))
	starts := make([]float64, len(open))
	for i, l := range open {
		starts[i] = perimeterPos(l[0], b)
	}
	cornerPos, corners := boxCorners(b)
	used := make([]bool, len(open))
	var rings []orb.Ring
	for i := range open {
		if used[i] {
			continue
		}
		var ring orb.Ring
		cur := i
		for steps := 0; steps <= len(open); steps++ {
			used[cur] = true
			ring = append(ring, open[cur]...)
			endPos := perimeterPos(open[cur][len(open[cur])-1], b)
			// The next start clockwise from here (a line may close itself).
			next, best := -1, math.Inf(1)
			for j := range open {
				d := math.Mod(starts[j]-endPos+per, per)
				if d < best {
					next, best = j, d
				}
			}
			// Corners passed on the way.
			type cp struct {
				d float64
				p orb.Point
			}
			var passed []cp
			for k, c := range cornerPos {
				d := math.Mod(c-endPos+per, per)
				if d > 0 && d < best {
					passed = append(passed, cp{d, corners[k]})
				}
			}
			sort.Slice(passed, func(a, c int) bool { return passed[a].d < passed[c].d })
			for _, c := range passed {
				ring = append(ring, c.p)
			}
			if next == i || used[next] {
				break
			}
			cur = next
		}
		ring = append(ring, ring[0])
		if len(ring) >= 4 {
			rings = append(rings, ring)
		}
	}
	return rings
}

// ringContains is an even-odd point-in-ring test.
func ringContains(r orb.Ring, p orb.Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, c := r[i], r[j]
		if (a[1] > p[1]) != (c[1] > p[1]) && p[0] < (c[0]-a[0])*(p[1]-a[1])/(c[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}
