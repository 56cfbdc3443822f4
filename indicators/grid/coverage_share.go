package grid

import (
	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/parallel"
)

// A population grid that misses the areas gives area-weighted numbers
// everywhere while looking like the exact method. AreaShare says how much
// of the areas the grid's extent covers, so validate, the daemon and the
// status data can say it and refuse a grid that covers too little.

// Bounds is the grid's extent in lon/lat.
func (g Geo) Bounds(width, height int) orb.Bound {
	return orb.Bound{Min: orb.Point{g.X0, g.Y0 - float64(height)*g.DY}, Max: orb.Point{g.X0 + float64(width)*g.DX, g.Y0}}
}

// GridCoverage is how much of the areas a grid covers.
type GridCoverage struct {
	// Share of the areas' geodesic area inside the grid's extent (0..1),
	// over the areas of the finest admin level (the levels above cover the
	// same ground).
	Share float64 `json:"share"`
	// AreasKm2 and CoveredKm2 are the totals it is computed from.
	AreasKm2   float64 `json:"areas_km2"`
	CoveredKm2 float64 `json:"covered_km2"`
	// Level is the admin level measured.
	Level int `json:"level"`
}

// AreaShare measures how much of the areas lies inside b.
func AreaShare(areas []indicators.Area, b orb.Bound) GridCoverage {
	c := GridCoverage{Level: -1}
	for _, a := range areas {
		if a.Geometry != nil && indicators.IsPolygonal(a.Geometry) && a.Level > c.Level {
			c.Level = a.Level
		}
	}
	// Areas measured on every core, summed in order (the same sums
	// whatever the scheduling).
	km2, covered := make([]float64, len(areas)), make([]float64, len(areas))
	parallel.Each(len(areas), func(_, i int) {
		a := areas[i]
		if a.Level != c.Level || a.Geometry == nil || !indicators.IsPolygonal(a.Geometry) {
			return
		}
		if km2[i] = a.Km2; km2[i] == 0 { // not measured by the loader
			km2[i] = indicators.GeodesicAreaKm2(a.Geometry)
		}
		if ab := a.Bound(); b.Contains(ab.Min) && b.Contains(ab.Max) {
			covered[i] = km2[i] // wholly inside: nothing to clip
			return
		}
		covered[i] = indicators.GeodesicAreaKm2(clipToBound(a.Geometry, b))
	})
	for i := range areas {
		c.AreasKm2 += km2[i]
		c.CoveredKm2 += covered[i]
	}
	if c.AreasKm2 > 0 {
		c.Share = min(1, c.CoveredKm2/c.AreasKm2)
	}
	return c
}

// clipToBound clips polygons to a rectangle (Sutherland–Hodgman on each
// ring: exact for areas, since the window is convex).
func clipToBound(g orb.Geometry, b orb.Bound) orb.Geometry {
	var out orb.MultiPolygon
	for _, p := range indicators.Polygons(g) {
		var np orb.Polygon
		for i, r := range p {
			c := clipRing(r, b)
			if len(c) < 4 {
				if i == 0 {
					break
				}
				continue
			}
			np = append(np, c)
		}
		if len(np) > 0 {
			out = append(out, np)
		}
	}
	return out
}

func clipRing(r orb.Ring, b orb.Bound) orb.Ring {
	type plane struct {
		inside func(orb.Point) bool
		cut    func(a, c orb.Point) orb.Point
	}
	atX := func(x float64) func(a, c orb.Point) orb.Point {
		return func(a, c orb.Point) orb.Point {
			t := (x - a[0]) / (c[0] - a[0])
			return orb.Point{x, a[1] + t*(c[1]-a[1])}
		}
	}
	atY := func(y float64) func(a, c orb.Point) orb.Point {
		return func(a, c orb.Point) orb.Point {
			t := (y - a[1]) / (c[1] - a[1])
			return orb.Point{a[0] + t*(c[0]-a[0]), y}
		}
	}
	planes := []plane{
		{func(p orb.Point) bool { return p[0] >= b.Min[0] }, atX(b.Min[0])},
		{func(p orb.Point) bool { return p[0] <= b.Max[0] }, atX(b.Max[0])},
		{func(p orb.Point) bool { return p[1] >= b.Min[1] }, atY(b.Min[1])},
		{func(p orb.Point) bool { return p[1] <= b.Max[1] }, atY(b.Max[1])},
	}
	in := r
	for _, pl := range planes {
		var out orb.Ring
		for i := 0; i+1 < len(in); i++ {
			a, c := in[i], in[i+1]
			ia, ic := pl.inside(a), pl.inside(c)
			if ia {
				out = append(out, a)
			}
			if ia != ic {
				out = append(out, pl.cut(a, c))
			}
		}
		if len(out) == 0 {
			return nil
		}
		in = append(out, out[0])
	}
	return in
}

// Coverage of the engine's grid over its areas.
func (e *Engine) AreaCoverage() GridCoverage { return e.coverage }
