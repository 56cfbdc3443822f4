package indicators

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func rect(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// ellipsoidBandKm2 integrates the WGS84 area element M·N·cosφ numerically:
// an oracle independent of the authalic-latitude closed form.
func ellipsoidBandKm2(lat1, lat2, dLon float64) float64 {
	const n = 20000
	h := (lat2 - lat1) * math.Pi / 180 / n
	f := func(phi float64) float64 {
		s := math.Sin(phi)
		w := 1 - wgs84E2*s*s
		m := wgs84A * (1 - wgs84E2) / math.Pow(w, 1.5)
		nn := wgs84A / math.Sqrt(w)
		return m * nn * math.Cos(phi)
	}
	sum := f(lat1*math.Pi/180) + f(lat2*math.Pi/180)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * f(lat1*math.Pi/180+float64(i)*h)
	}
	return sum * h / 3 * dLon * math.Pi / 180 / 1e6
}

func TestGeodesicAreaAgainstNumericalIntegration(t *testing.T) {
	for _, c := range []struct{ lat1, lat2, dlon float64 }{
		{0, 1, 1}, {10, 14, 4}, {59, 60, 0.5}, {-45, -44.9, 0.1}, {80, 89, 10},
	} {
		want := ellipsoidBandKm2(c.lat1, c.lat2, c.dlon)
		got := GeodesicAreaKm2(rect(20, c.lat1, 20+c.dlon, c.lat2))
		assert.InEpsilon(t, want, got, 1e-9, "band %v", c)
		assert.InEpsilon(t, want, BandAreaKm2(c.lat1, c.lat2, c.dlon), 1e-9)
	}
	// The classic figure: a 1°×1° cell at the equator is about 12,308 km².
	assert.InDelta(t, 12308.8, GeodesicAreaKm2(rect(0, 0, 1, 1)), 1)
}

func TestIntersectionArea(t *testing.T) {
	sq := rect(0, 0, 2, 2)
	withHole := orb.Polygon{sq[0], orb.Ring{{0.5, 0.5}, {0.5, 1.5}, {1.5, 1.5}, {1.5, 0.5}, {0.5, 0.5}}}
	cases := []struct {
		name string
		a, b orb.Geometry
		want orb.Geometry // the expected intersection, measured independently
		zero bool
	}{
		{"overlap quarter", sq, rect(1, 1, 3, 3), rect(1, 1, 2, 2), false},
		{"contained", sq, rect(0.5, 0.5, 1, 1), rect(0.5, 0.5, 1, 1), false},
		{"containing", rect(0.5, 0.5, 1, 1), sq, rect(0.5, 0.5, 1, 1), false},
		{"identical", sq, sq, sq, false},
		{"shared edge same direction", sq, rect(0, 0, 1, 2), rect(0, 0, 1, 2), false},
		{"touching only", sq, rect(2, 0, 3, 2), nil, true},
		{"disjoint", sq, rect(5, 5, 6, 6), nil, true},
		{"hole removes", withHole, rect(0, 0, 1, 1), orb.Polygon{{{0, 0}, {1, 0}, {1, 0.5}, {0.5, 0.5}, {0.5, 1}, {0, 1}, {0, 0}}}, false},
		{"inside hole", withHole, rect(0.75, 0.75, 1.25, 1.25), nil, true},
		{"clockwise input", orb.Polygon{{{0, 0}, {0, 2}, {2, 2}, {2, 0}, {0, 0}}}, rect(1, -1, 3, 1), rect(1, 0, 2, 1), false},
		{"multipolygon", orb.MultiPolygon{rect(0, 0, 1, 1), rect(2, 0, 3, 1)}, rect(0.5, 0, 2.5, 1),
			orb.MultiPolygon{rect(0.5, 0, 1, 1), rect(2, 0, 2.5, 1)}, false},
		{"triangle", orb.Polygon{{{0, 0}, {3, 0}, {0, 3}, {0, 0}}}, rect(0, 0, 1, 1), rect(0, 0, 1, 1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := IntersectionAreaKm2(c.a, c.b)
			if c.zero {
				assert.InDelta(t, 0, got, 1e-6)
				return
			}
			assert.InEpsilon(t, GeodesicAreaKm2(c.want), got, 1e-9)
		})
	}
}

func TestIntersects(t *testing.T) {
	a := rect(0, 0, 2, 2)
	for _, c := range []struct {
		name string
		f    orb.Geometry
		want bool
	}{
		{"point inside", orb.Point{1, 1}, true},
		{"point outside", orb.Point{3, 1}, false},
		{"line crossing", orb.LineString{{-1, 1}, {3, 1}}, true},
		{"line outside", orb.LineString{{-1, 3}, {3, 3}}, false},
		{"polygon overlapping", rect(1, 1, 3, 3), true},
		{"polygon containing", rect(-1, -1, 3, 3), true},
		{"polygon inside", rect(0.5, 0.5, 1, 1), true},
		{"polygon apart", rect(3, 3, 4, 4), false},
		{"cross shape, no vertex inside", rect(-1, 0.5, 3, 1.5), true},
		{"polygon sharing an edge", rect(2, 0, 3, 2), false},
		{"polygon sharing part of an edge", rect(2, 0.5, 3, 1), false},
		{"polygon sharing a corner", rect(2, 2, 3, 3), false},
		{"polygon sliver across the edge", rect(1.9999, 0.5, 3, 1), true},
		{"point on the boundary", orb.Point{2, 1}, false},
		{"line along the boundary", orb.LineString{{2, -1}, {2, 3}}, false},
		{"line ending on the boundary", orb.LineString{{3, 1}, {2, 1}}, false},
		{"line entering", orb.LineString{{3, 1}, {1.5, 1}}, true},
	} {
		assert.Equal(t, c.want, Intersects(a, c.f), c.name)
	}
}

func TestNormalizeGeometry(t *testing.T) {
	// Clockwise shell, unclosed, with a duplicate point: fixed.
	g, err := NormalizeGeometry(orb.Polygon{{{0, 0}, {0, 1}, {0, 1}, {1, 1}, {1, 0}}})
	require.NoError(t, err)
	p := g.(orb.Polygon)
	assert.Equal(t, p[0][0], p[0][len(p[0])-1])
	assert.Greater(t, planarRingArea(p[0]), 0.0, "shell counter-clockwise")

	// Crossing the antimeridian with longitudes past 180: split in two.
	g, err = NormalizeGeometry(rect(179, 0, 181, 1))
	require.NoError(t, err)
	mp, ok := g.(orb.MultiPolygon)
	require.True(t, ok)
	require.Len(t, mp, 2)
	assert.InEpsilon(t, GeodesicAreaKm2(rect(179, 0, 181, 1)), GeodesicAreaKm2(mp), 1e-9)
	for _, part := range mp {
		b := part.Bound()
		assert.True(t, b.Min[0] >= -180 && b.Max[0] <= 180, "part within ±180: %v", b)
	}
	// Written with the jump from 179 to -179.
	g, err = NormalizeGeometry(orb.Polygon{{{179, 0}, {-179, 0}, {-179, 1}, {179, 1}, {179, 0}}})
	require.NoError(t, err)
	assert.Len(t, g.(orb.MultiPolygon), 2)

	// Found by fuzzing the layer source: longitudes that wind around the globe.
	_, err = NormalizeGeometry(orb.Polygon{{{0, 0}, {-2, 0}, {179, 1}, {0, 0}}})
	assert.ErrorContains(t, err, "winds around the globe")

	_, err = NormalizeGeometry(orb.Polygon{{{0, 0}, {1, 1}, {0, 0}}})
	assert.ErrorIs(t, err, ErrEmptyGeometry)
	_, err = NormalizeGeometry(orb.Point{200, 95})
	assert.ErrorContains(t, err, "out of range")
}

func TestCircleArea(t *testing.T) {
	c := Circle(orb.Point{62, 12}, 50, 256)
	// A geodesic circle of radius r has area ≈ πr² for r ≪ Earth radius.
	assert.InEpsilon(t, math.Pi*50*50, GeodesicAreaKm2(c), 1e-3)
	assert.True(t, Contains(c, orb.Point{62, 12}))
	assert.False(t, Contains(c, orb.Point{63, 12}))
}

func TestSelfIntersection(t *testing.T) {
	for _, c := range []struct {
		name string
		r    orb.Ring
		bad  bool
	}{
		{"square", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, false},
		{"bow-tie", orb.Ring{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}, true},
		{"concave is fine", orb.Ring{{0, 0}, {2, 0}, {2, 2}, {1, 0.5}, {0, 2}, {0, 0}}, false},
		{"touches itself at a vertex", orb.Ring{{0, 0}, {2, 0}, {1, 1}, {2, 2}, {0, 2}, {1, 1}, {0, 0}}, true},
		{"unclosed input", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}}, false},
	} {
		_, bad := SelfIntersection(c.r)
		assert.Equal(t, c.bad, bad, c.name)
	}
}
