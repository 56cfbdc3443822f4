package status

import (
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/indicators"
)

// areasCollection is the areas as GeoJSON with each indicator's value as a
// property, plus "attributes" and "dates" objects keyed by shortcode. The
// collection carries "indicators" and "levels" members so a client needs
// nothing else to draw the map. With simplified set, geometries are
// simplified to well under a pixel of a full-page map and rounded, which
// keeps a country's admin-2 layer small enough for a browser. The status
// page and the preview write it with their own encoder (dryrun_stream.go):
// this orb collection, marshalled by encoding/json, is what the tests hold
// that encoder's bytes to.
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
