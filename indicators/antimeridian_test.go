package indicators

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wrap writes an unwrapped ring the way standard GeoJSON does: every
// longitude within -180..180, so crossing ±180 is a jump (179.5 → -179.5).
func wrap(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		x := math.Mod(p[0]+540, 360) - 180
		if x == -180 && p[0] > 0 {
			x = 180
		}
		out[i] = orb.Point{x, p[1]}
	}
	return out
}

// TestAntimeridianStandardForm: polygons crossing ±180 written in standard
// GeoJSON form (longitudes jump 179.5 → -179.5) come back split at 180 with
// every shell counter-clockwise and every hole clockwise, whichever way they
// were written, and with the area of the unwrapped shape. (The orientation
// used to be decided before unwrapping: both parts came back clockwise and
// the layer source dropped them with "ring 0 cannot be oriented".)
func TestAntimeridianStandardForm(t *testing.T) {
	cases := []struct {
		name  string
		shell orb.Ring // unwrapped, counter-clockwise
		holes []orb.Ring
		parts int
	}{
		{"Fiji: Vanua Levu-Taveuni box", orb.Ring{{179.5, -17}, {180.5, -17}, {180.5, -16}, {179.5, -16}, {179.5, -17}}, nil, 2},
		{"Fiji with a hole on the west side", orb.Ring{{179, -18}, {181, -18}, {181, -16}, {179, -16}, {179, -18}},
			[]orb.Ring{{{180.2, -17.5}, {180.2, -16.5}, {180.6, -16.5}, {180.6, -17.5}, {180.2, -17.5}}}, 2},
		{"Fiji with a hole across 180", orb.Ring{{179, -18}, {181, -18}, {181, -16}, {179, -16}, {179, -18}},
			[]orb.Ring{{{179.8, -17.5}, {179.8, -16.5}, {180.3, -16.5}, {180.3, -17.5}, {179.8, -17.5}}}, 2},
		{"Tonga: sliver west of 180", orb.Ring{{178.9, -21}, {180.01, -21}, {180.01, -15}, {178.9, -15}, {178.9, -21}}, nil, 2},
		{"Kiribati: Line Islands side", orb.Ring{{179.99, 1}, {182, 1}, {182, 2}, {179.99, 2}, {179.99, 1}}, nil, 2},
		{"Chukotka: concave, high latitude", orb.Ring{{170, 65}, {190, 65}, {190, 70}, {185, 68}, {180.5, 71}, {170, 70}, {170, 65}}, nil, 2},
		{"no crossing", orb.Ring{{170, 65}, {175, 65}, {175, 70}, {170, 65}}, nil, 1},
	}
	for _, c := range cases {
		want := planarRingArea(c.shell)
		for _, h := range c.holes {
			want += planarRingArea(h) // holes are written clockwise: negative
		}
		for _, reversed := range []bool{false, true} {
			shell := wrap(c.shell)
			var holes []orb.Ring
			for _, h := range c.holes {
				holes = append(holes, wrap(h))
			}
			if reversed { // written the other way round: normalisation must orient it
				shell = reverseRing(shell)
				for i := range holes {
					holes[i] = reverseRing(holes[i])
				}
			}
			name := c.name
			if reversed {
				name += " (reversed)"
			}
			t.Run(name, func(t *testing.T) {
				g, err := NormalizeGeometry(append(orb.Polygon{shell}, holes...))
				require.NoError(t, err)
				parts := Polygons(g)
				require.Len(t, parts, c.parts)
				got := 0.0
				for _, p := range parts {
					for i, r := range p {
						a := planarRingArea(r)
						assert.Equal(t, i == 0, a > 0, "ring %d of %v: shells counter-clockwise, holes clockwise", i, p)
						got += a
						for _, pt := range r {
							assert.True(t, pt[0] >= -180 && pt[0] <= 180, "longitude %g", pt[0])
						}
					}
				}
				assert.InDelta(t, want, got, 1e-9, "the parts add up to the shape")
			})
		}
	}
}

func reverseRing(r orb.Ring) orb.Ring {
	out := append(orb.Ring(nil), r...)
	out.Reverse()
	return out
}

// TestPolarRingRefused: a ring that winds around the globe cannot be
// oriented: it is refused with a clear error, not turned inside out.
func TestPolarRingRefused(t *testing.T) {
	_, err := NormalizeGeometry(orb.Polygon{wrap(orb.Ring{{-170, -80}, {-90, -80}, {0, -80}, {90, -80}, {170, -80}, {-170, -80}})})
	require.ErrorContains(t, err, "winds around the globe")
}
