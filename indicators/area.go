package indicators

import (
	"github.com/paulmach/orb"
)

// Area is one GeoSight geography: what values are keyed by.
type Area struct {
	// Code is the ucode GeoSight keys values by.
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level int    `json:"admin_level"`
	// Parents are ucodes of the enclosing areas, nearest first.
	Parents []string `json:"parents,omitempty"`
	// Geometry is a Polygon or MultiPolygon in WGS84 lon/lat.
	Geometry orb.Geometry `json:"-"`
	// Km2 is Geometry's geodesic area (GeodesicAreaKm2) when the loader
	// measured it, 0 when not known: what the grid coverage share sums at
	// every start, kept with the prepared areas.
	Km2      float64  `json:"-"`
	Baseline Baseline `json:"baseline"`
}

// Bound is the area's bounding box (empty for an area without geometry).
func (a Area) Bound() orb.Bound {
	if a.Geometry == nil {
		return orb.Bound{}
	}
	return GeometryBound(a.Geometry)
}

// GeometryBound is g.Bound(); for polygons and multipolygons (every area)
// without orb's call per vertex: a start takes every area's bound more
// than once, and at country size (1.5 M vertices) orb's took ~40 ms each
// time. A polygon's bound is its shell's.
func GeometryBound(g orb.Geometry) orb.Bound {
	switch t := g.(type) {
	case orb.Polygon:
		if len(t) > 0 && len(t[0]) > 0 {
			return ringsBound(t[:1])
		}
	case orb.MultiPolygon:
		if len(t) == 0 {
			break
		}
		shells := make([]orb.Ring, len(t))
		for i, p := range t {
			if len(p) == 0 || len(p[0]) == 0 {
				return g.Bound() // orb's rules for empty parts
			}
			shells[i] = p[0]
		}
		return ringsBound(shells)
	}
	return g.Bound()
}

// Baseline holds the per-area figures exposure and warnings are scaled by.
// Any of them may be unknown (nil).
type Baseline struct {
	Population       *float64 `json:"population,omitempty"`
	Under18          *float64 `json:"under18,omitempty"`
	Schools          *float64 `json:"schools,omitempty"`
	HealthFacilities *float64 `json:"health_facilities,omitempty"`
}

// Under18Share is under-18 / population, or (0, false) when either is unknown.
func (b Baseline) Under18Share() (float64, bool) {
	if b.Population == nil || b.Under18 == nil || *b.Population <= 0 {
		return 0, false
	}
	return *b.Under18 / *b.Population, true
}

// F returns a pointer to v, for building baselines in code and tests.
func F(v float64) *float64 { return &v }
