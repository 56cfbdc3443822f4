package indicators

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func planarArea(g orb.Geometry) float64 {
	s := 0.0
	for _, p := range Polygons(g) {
		for _, r := range p {
			s += planarRingArea(r)
		}
	}
	return s
}

// TestMakeValid: repairs against what GEOS MakeValid (shapely.make_valid)
// returns for the same input; the parts and areas below were checked with
// shapely 2 (python3-shapely) outside CI.
func TestMakeValid(t *testing.T) {
	cases := []struct {
		name     string
		in       orb.Polygon
		parts    int // polygons and holes, as shapely.make_valid gives
		holes    int
		area     float64
		problems int
	}{
		{"figure-8 (bow-tie)", orb.Polygon{{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}, 2, 0, 2, 1},
		{"self-overlapping loop: the twice-covered square drops out", orb.Polygon{{{0, 0}, {3, 0}, {3, 3}, {1, 3}, {1, 1}, {2, 1}, {2, 2}, {0, 2}, {0, 0}}}, 1, 1, 7, 1},
		{"hole crossing its shell", orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}, {{3, 1}, {5, 1}, {5, 3}, {3, 3}, {3, 1}}}, 2, 0, 16, 1},
		{"spike out and back", orb.Polygon{{{0, 0}, {2, 0}, {2, 1}, {3, 1}, {2, 1}, {2, 2}, {0, 2}, {0, 0}}}, 1, 0, 4, 1},
		{"valid stays as is", orb.Polygon{{{0, 0}, {2, 0}, {2, 2}, {0, 2}, {0, 0}}, {{0.5, 0.5}, {0.5, 1}, {1, 1}, {1, 0.5}, {0.5, 0.5}}}, 1, 1, 4 - 0.25, 0},
		{"figure-8 across 180", orb.Polygon{{{179, 0}, {-179, 2}, {-179, 0}, {179, 2}, {179, 0}}}, 2, 0, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Len(t, PolygonProblems(c.in), c.problems, "%v", PolygonProblems(c.in))
			g, err := MakeValid(c.in)
			require.NoError(t, err)
			assert.Len(t, Polygons(g), c.parts)
			holes := 0
			for _, p := range Polygons(g) {
				holes += len(p) - 1
			}
			assert.Equal(t, c.holes, holes)
			assert.InDelta(t, c.area, planarArea(g), 1e-9)
			for _, p := range Polygons(g) {
				assert.Empty(t, PolygonProblems(p), "the repair is valid: %v", p)
				for i, r := range p {
					assert.Equal(t, i == 0, planarRingArea(r) > 0, "oriented")
				}
			}
		})
	}
	_, err := MakeValid(orb.Polygon{{{0, 0}, {1, 1}, {2, 2}, {0, 0}}})
	assert.ErrorIs(t, err, ErrEmptyGeometry, "a ring collapsed to a line has no area to keep")
	assert.False(t, math.IsNaN(planarArea(orb.Polygon{})))
}

// FuzzMakeValid: whatever ring comes in (bytes as small integer and
// fractional coordinates, so crossings, touches and overlaps are common),
// the repair never panics, and what it returns is valid and oriented and
// never covers more than the input's rings together.
func FuzzMakeValid(f *testing.F) {
	f.Add([]byte{0, 0, 2, 2, 2, 0, 0, 2})
	f.Add([]byte{0, 0, 3, 0, 3, 3, 1, 3, 1, 1, 2, 1, 2, 2, 0, 2})
	f.Add([]byte{0, 0, 2, 0, 2, 1, 3, 1, 2, 1, 2, 2, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 6 || len(b) > 64 {
			t.Skip()
		}
		var r orb.Ring
		for i := 0; i+1 < len(b); i += 2 {
			r = append(r, orb.Point{float64(b[i]%16) / 2, float64(b[i+1]%16) / 2})
		}
		r = append(r, r[0])
		g, err := MakeValid(orb.Polygon{r})
		if err != nil {
			return
		}
		bound := 0.0
		for i := 0; i+1 < len(r); i++ {
			bound += math.Abs(r[i][0]*r[i+1][1]-r[i+1][0]*r[i][1]) / 2
		}
		area := 0.0
		for _, p := range Polygons(g) {
			if pr := PolygonProblems(p); len(pr) > 0 {
				t.Fatalf("repair of %v is invalid: %v (%v)", r, pr, p)
			}
			for i, rr := range p {
				if (i == 0) != (planarRingArea(rr) > 0) {
					t.Fatalf("repair of %v: ring %d not oriented", r, i)
				}
				area += planarRingArea(rr)
			}
		}
		if area <= 0 || area > bound+1e-9 {
			t.Fatalf("repair of %v: area %g outside (0, %g]", r, area, bound)
		}
	})
}

// BenchmarkAreaLoadGeometry: what checking every admin area for validity
// adds to loading it, against normalising alone in the same run (a
// 300-vertex star-shaped boundary, valid, as nearly all are).
func BenchmarkAreaLoadGeometry(b *testing.B) {
	var r orb.Ring
	for i := 0; i < 300; i++ {
		a := 2 * math.Pi * float64(i) / 300
		rad := 1 + 0.3*math.Sin(7*a)
		r = append(r, orb.Point{30 + rad*math.Cos(a), 10 + rad*math.Sin(a)})
	}
	r = append(r, r[0])
	p := orb.Polygon{r}
	b.Run("normalize", func(b *testing.B) {
		for b.Loop() {
			if _, err := NormalizeGeometry(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check+repair+normalize", func(b *testing.B) {
		for b.Loop() {
			g, probs, err := RepairPolygonal(p)
			if err != nil || len(probs) > 0 {
				b.Fatal(err, probs)
			}
			if _, err := NormalizeGeometry(g); err != nil {
				b.Fatal(err)
			}
		}
	})
}
