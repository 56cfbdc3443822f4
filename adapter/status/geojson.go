package status

import (
	"math"
	"sort"

	"github.com/paulmach/orb"
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

// simplifyTolerance is the map's simplification tolerance: 1/4000 of the
// areas' extent, well under a pixel of a full-page map.
func simplifyTolerance(areas []indicators.Area) float64 {
	var b orb.Bound
	for i, a := range areas {
		if a.Geometry == nil {
			continue
		}
		if i == 0 || b.IsZero() {
			b = a.Bound()
		} else {
			b = b.Union(a.Bound())
		}
	}
	return math.Max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]) / 4000
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
