package status

import (
	"math"
	"sort"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/simplify"

	"github.com/hazardsync/hazardsync/indicators"
)

// reservedProps are the feature properties hazardsync sets itself; an
// indicator whose shortcode collides with one is stored as
// "indicator:<shortcode>" (IndicatorInfo.Property says where).
var reservedProps = map[string]bool{
	"ucode": true, "name": true, "admin_level": true, "parent": true,
	"population": true, "under18": true, "attributes": true, "dates": true,
}

func propertyFor(shortcode string) string {
	if reservedProps[shortcode] {
		return "indicator:" + shortcode
	}
	return shortcode
}

// indicatorInfos lists the configured indicators in config order, then any
// indicator that has values but is no longer configured (so a value on the
// map is never unexplained).
func indicatorInfos(defs []indicators.Definition, values []indicators.Value) []IndicatorInfo {
	counts := map[string]int{}
	types := map[string]indicators.ValueType{}
	for _, v := range values {
		counts[v.Indicator]++
		types[v.Indicator] = v.Type
	}
	out := make([]IndicatorInfo, 0, len(defs))
	seen := map[string]bool{}
	for _, d := range defs {
		if seen[d.Shortcode] {
			continue
		}
		seen[d.Shortcode] = true
		out = append(out, IndicatorInfo{
			Shortcode: d.Shortcode, Name: d.Name, Description: d.Description, Category: d.Category,
			Type: d.Type, Unit: d.Unit, Codes: d.Codes, AdminLevels: d.AdminLevels,
			Property: propertyFor(d.Shortcode), Values: counts[d.Shortcode], LowerIsUrgent: d.Recipe == "lead_time_hours",
		})
	}
	var extra []string
	for sc := range counts {
		if !seen[sc] {
			extra = append(extra, sc)
		}
	}
	sort.Strings(extra)
	for _, sc := range extra {
		out = append(out, IndicatorInfo{Shortcode: sc, Name: sc + " (not configured)", Type: types[sc],
			Property: propertyFor(sc), Values: counts[sc]})
	}
	return out
}

// areasCollection is the areas as GeoJSON with each indicator's value as a
// property, plus "attributes" and "dates" objects keyed by shortcode. The
// collection carries "indicators" and "levels" members so a client needs
// nothing else to draw the map. With simplified set, geometries are
// simplified to well under a pixel of a full-page map and rounded, which
// keeps a country's admin-2 layer small enough for a browser. The status
// page and the preview write it with their own encoder (dryrun_stream.go);
// this is what that encoder is checked against.
func areasCollection(areas []indicators.Area, defs []indicators.Definition, values []indicators.Value, simplified bool) *geojson.FeatureCollection {
	byCode := map[string][]indicators.Value{}
	for _, v := range values {
		byCode[v.Code] = append(byCode[v.Code], v)
	}
	var tol float64
	if simplified {
		tol = simplifyTolerance(areas)
	}
	fc := geojson.NewFeatureCollection()
	for _, a := range areas {
		g := a.Geometry
		if simplified && g != nil {
			g = simplifyGeometry(g, tol)
		}
		f := geojson.NewFeature(g)
		if g == nil {
			// A feature without geometry is valid GeoJSON (null geometry).
			f.Geometry = nil
		}
		f.ID = a.Code
		p := f.Properties
		p["ucode"] = a.Code
		p["name"] = a.Name
		p["admin_level"] = a.Level
		if len(a.Parents) > 0 {
			p["parent"] = a.Parents[0]
		}
		if a.Baseline.Population != nil {
			p["population"] = *a.Baseline.Population
		}
		if a.Baseline.Under18 != nil {
			p["under18"] = *a.Baseline.Under18
		}
		attrs := map[string]any{}
		dates := map[string]any{}
		for _, v := range byCode[a.Code] {
			p[propertyFor(v.Indicator)] = v.Payload()
			dates[v.Indicator] = string(v.Date)
			if len(v.Attributes) > 0 {
				attrs[v.Indicator] = v.Attributes
			}
		}
		p["attributes"] = attrs
		p["dates"] = dates
		fc.Append(f)
	}
	fc.ExtraMembers = geojson.Properties{
		"indicators": indicatorInfos(defs, values),
		"levels":     areaLevels(areas),
	}
	return fc
}

// simplifyTolerance is the map's simplification tolerance: 1/4000 of the
// areas' extent, well under a pixel of a full-page map.
func simplifyTolerance(areas []indicators.Area) float64 {
	var b orb.Bound
	for i, a := range areas {
		if a.Geometry == nil {
			continue
		}
		if i == 0 || b.IsZero() {
			b = areaBound(a)
		} else {
			b = b.Union(areaBound(a))
		}
	}
	return math.Max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]) / 4000
}

// areaBound is a.Bound(), the same bound: orb extends a ring's bound point
// by point through Extend and math.Min/Max calls (30 ms a country);
// plain comparisons give the same bound unless a coordinate is NaN or a
// zero (whose sign math.Min weighs), and such a ring is left to orb.
func areaBound(a indicators.Area) orb.Bound {
	polygon := func(p orb.Polygon) orb.Bound {
		if len(p) == 0 || len(p[0]) == 0 {
			return p.Bound()
		}
		r := p[0]
		minX, minY, maxX, maxY := r[0][0], r[0][1], r[0][0], r[0][1]
		for _, pt := range r {
			x, y := pt[0], pt[1]
			if x != x || y != y || x == 0 || y == 0 {
				return r.Bound()
			}
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
		}
		return orb.Bound{Min: orb.Point{minX, minY}, Max: orb.Point{maxX, maxY}}
	}
	switch g := a.Geometry.(type) {
	case orb.Polygon:
		return polygon(g)
	case orb.MultiPolygon:
		if len(g) == 0 {
			return g.Bound()
		}
		b := polygon(g[0])
		for _, p := range g[1:] {
			b = b.Union(polygon(p))
		}
		return b
	}
	return a.Bound()
}

// areaLevels is the admin levels present, in order.
func areaLevels(areas []indicators.Area) []int {
	seen := map[int]bool{}
	ls := make([]int, 0, 4)
	for _, a := range areas {
		if !seen[a.Level] {
			seen[a.Level] = true
			ls = append(ls, a.Level)
		}
	}
	sort.Ints(ls)
	return ls
}

// simplifyGeometry simplifies a copy of g; a ring that would collapse keeps
// its original shape so no area disappears from the map.
func simplifyGeometry(g orb.Geometry, tol float64) orb.Geometry {
	if tol <= 0 {
		return g
	}
	s := simplify.DouglasPeucker(tol)
	keep := func(p orb.Polygon) orb.Polygon {
		q := s.Polygon(p.Clone())
		if len(q) == 0 || len(q[0]) < 4 {
			return p.Clone() // orb.Round below works in place
		}
		return q
	}
	switch g := g.(type) {
	case orb.Polygon:
		return orb.Round(keep(g), 1e5)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, p := range g {
			out[i] = keep(p)
		}
		return orb.Round(out, 1e5)
	default:
		return g
	}
}
