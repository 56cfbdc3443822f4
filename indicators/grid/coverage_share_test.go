package grid

import (
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"

	"github.com/hazardsync/hazardsync/indicators"
)

func boxPolygon(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// TestAreaShare: how much of the areas (finest level, by geodesic area) a
// grid extent covers, for grids over all, half, a corner and none of them.
func TestAreaShare(t *testing.T) {
	as := []indicators.Area{
		{Code: "C", Level: 0, Geometry: boxPolygon(0, 0, 2, 1)},
		{Code: "W", Level: 1, Geometry: boxPolygon(0, 0, 1, 1)},
		{Code: "E", Level: 1, Geometry: boxPolygon(1, 0, 2, 1)},
	}
	total := indicators.GeodesicAreaKm2(boxPolygon(0, 0, 2, 1))
	cases := []struct {
		name string
		b    orb.Bound
		want float64
	}{
		{"covers all", orb.Bound{Min: orb.Point{-1, -1}, Max: orb.Point{3, 2}}, 1},
		{"covers W", orb.Bound{Min: orb.Point{-1, -1}, Max: orb.Point{1, 2}}, indicators.GeodesicAreaKm2(boxPolygon(0, 0, 1, 1)) / total},
		{"a corner", orb.Bound{Min: orb.Point{1.5, 0.5}, Max: orb.Point{5, 5}}, indicators.GeodesicAreaKm2(boxPolygon(1.5, 0.5, 2, 1)) / total},
		{"another country", orb.Bound{Min: orb.Point{30, 30}, Max: orb.Point{31, 31}}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := AreaShare(as, c.b)
			// Areas that carry their measured km² (as loaded ones do)
			// give the same figures to the bit.
			measured := append([]indicators.Area(nil), as...)
			for i := range measured {
				measured[i].Km2 = indicators.GeodesicAreaKm2(measured[i].Geometry)
			}
			assert.Equal(t, got, AreaShare(measured, c.b))
			assert.Equal(t, 1, got.Level, "finest level measured")
			assert.InDelta(t, c.want, got.Share, 1e-9)
			assert.InDelta(t, total, got.AreasKm2, total*1e-9)
		})
	}
}

// AreaShare takes an area's km² from the loader when it carries one, and
// measures it only when not.
func TestAreaShareUsesTheLoadersKm2(t *testing.T) {
	as := []indicators.Area{{Code: "W", Level: 1, Geometry: boxPolygon(0, 0, 1, 1), Km2: 1234}}
	got := AreaShare(as, orb.Bound{Min: orb.Point{-1, -1}, Max: orb.Point{3, 2}})
	assert.Equal(t, 1234.0, got.AreasKm2)
	as[0].Km2 = 0
	got = AreaShare(as, orb.Bound{Min: orb.Point{-1, -1}, Max: orb.Point{3, 2}})
	assert.Equal(t, indicators.GeodesicAreaKm2(boxPolygon(0, 0, 1, 1)), got.AreasKm2)
}
