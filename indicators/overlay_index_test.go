package indicators

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ring index keeps each vertex once (a single ring without a copy) and
// lists exactly the rings' real edges: never the step from one ring's end to
// the next ring's start, never a zero-length edge.
func TestRingIndexKeepsVerticesOnceAndListsRealEdges(t *testing.T) {
	shell := orb.Ring{{0, 0}, {4, 0}, {4, 4}, {4, 4}, {0, 4}, {0, 0}}
	hole := orb.Ring{{1, 1}, {1, 2}, {2, 2}, {2, 1}, {1, 1}}
	far := orb.Ring{{10, 10}, {11, 10}, {11, 11}, {10, 10}}
	tests := []struct {
		name  string
		rings []orb.Ring
	}{
		{"one ring", []orb.Ring{shell}},
		{"shell and hole", []orb.Ring{shell, hole}},
		{"three rings", []orb.Ring{shell, hole, far}},
		{"empty", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := newRingIndex(tc.rings)
			want := map[seg]int{}
			nPts := 0
			for _, r := range tc.rings {
				nPts += len(r)
				for i := 0; i+1 < len(r); i++ {
					if r[i] != r[i+1] {
						want[seg{r[i], r[i+1]}]++
					}
				}
			}
			require.Len(t, ix.pts, nPts)
			if len(tc.rings) == 1 {
				assert.Same(t, &tc.rings[0][0], &ix.pts[0], "a single ring is kept, not copied")
			}
			got := map[seg]int{}
			ix.each(orb.Bound{Min: orb.Point{-100, -100}, Max: orb.Point{100, 100}}, func(s seg) bool {
				got[s]++
				return true
			})
			assert.Equal(t, want, got)
			assert.Equal(t, len(want), ix.n)
		})
	}
}

// Point-in-polygon through the shared-vertex layout: holes and separate
// parts behave as before.
func TestRingIndexContainsAcrossRings(t *testing.T) {
	ix := newRingIndex([]orb.Ring{
		{{0, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}},
		{{1, 1}, {1, 2}, {2, 2}, {2, 1}, {1, 1}},
		{{10, 10}, {11, 10}, {11, 11}, {10, 11}, {10, 10}},
	})
	for _, tc := range []struct {
		p    orb.Point
		want bool
	}{
		{orb.Point{3, 3}, true},
		{orb.Point{1.5, 1.5}, false}, // in the hole
		{orb.Point{10.5, 10.5}, true},
		{orb.Point{7, 7}, false}, // between the parts, on the old ring-to-ring step
		{orb.Point{5, 5}, false},
	} {
		assert.Equal(t, tc.want, ix.contains(tc.p), "%v", tc.p)
	}
}

// IndexBytes counts what prepared areas keep: nothing before a footprint
// meets them, the vertices once plus the edge index after.
func TestOverlayIndexBytes(t *testing.T) {
	sq := orb.Polygon{{{0, 0}, {0.005, 0}, {0.005, 0.005}, {0, 0.005}, {0, 0}}} // edges under maxEdgeDeg: not densified
	o := NewOverlay([]Area{{Code: "A", Geometry: sq}, {Code: "far", Geometry: orb.Polygon{{{50, 50}, {51, 50}, {51, 51}, {50, 50}}}}}, OverlayOptions{})
	assert.Zero(t, o.IndexBytes())
	require.Len(t, o.Measure(orb.Polygon{{{0.002, 0.002}, {0.01, 0.002}, {0.01, 0.01}, {0.002, 0.002}}}), 1)
	got := o.IndexBytes()
	// 5 vertices of 16 bytes (room for 6), 4 edges in 3 bands: 4 band
	// starts and 4–12 entries, 2 bytes each.
	assert.GreaterOrEqual(t, got, 5*16+4*2+4*2)
	assert.LessOrEqual(t, got, 6*16+4*2+12*2)
}

// boundaryInsidePlain is boundaryInside edge by edge, the reference its
// shortcuts are held to: every edge of a is split at every edge of b it
// meets (against b's edges near a, banded over a's box, with useLocal;
// through b's own bands without) and each piece is kept on its own point
// test.
func boundaryInsidePlain(a, b *ringIndex, scale float64, strict, useLocal bool) float64 {
	eps := scale * 1e-9
	tol2 := eps * eps * 100
	var sum float64
	var ts []float64
	var local *nearEdges
	if useLocal {
		var segs []seg
		b.each(a.b, func(s seg) bool {
			segs = append(segs, s)
			return true
		})
		local = &nearEdges{}
		local.reset(segs, a.b, &bandScratch{})
	}
	a.each(b.b, func(s seg) bool {
		p1, p2 := s.a, s.b
		dx, dy := p2[0]-p1[0], p2[1]-p1[1]
		l := math.Hypot(dx, dy)
		nx, ny := -dy/l*eps, dx/l*eps // left normal
		ts = pieces(p1, p2, b, local, ts, func(t0, t1 float64) {
			m := orb.Point{p1[0] + dx*(t0+t1)/2, p1[1] + dy*(t0+t1)/2}
			if !b.contains(orb.Point{m[0] + nx, m[1] + ny}) {
				return
			}
			if strict && b.near(m, tol2) {
				return
			}
			sum += pieceTerm(p1, dx, dy, t0, t1)
		})
		return true
	})
	return sum
}

func boundariesSumPlain(a, b *ringIndex, scale float64, useLocal bool) float64 {
	return boundaryInsidePlain(a, b, scale, false, useLocal) + boundaryInsidePlain(b, a, scale, true, useLocal)
}

// The shortcuts of intersectionKm2 change no bit of its result. Pairs whose
// boundaries do not meet (one inside the other, or apart) are read from the
// index's own sum; edges are split against the other's nearby edges rather
// than its bands; runs of edges no edge of the other comes near are decided
// by one point test, in each of the ways of finding them. The first is
// taken only when it applies. Random star-shaped polygons with and without
// holes: nested, apart, overlapping, in a hole, sharing edges with a grid
// of cells, and nearly touching (edges a few eps apart, within and beyond
// the clear margin).
func TestIntersectionShortcutsAreExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	star := func(cx, cy, r float64, n int) orb.Ring {
		ring := make(orb.Ring, 0, n+1)
		for i := 0; i < n; i++ {
			a := 2 * math.Pi * float64(i) / float64(n)
			rr := r * (0.6 + 0.4*rng.Float64())
			ring = append(ring, orb.Point{cx + rr*math.Cos(a), cy + rr*math.Sin(a)})
		}
		return append(ring, ring[0])
	}
	square := func(x, y, s float64) orb.Ring {
		return orb.Ring{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}, {x, y}}
	}
	reversed := func(r orb.Ring) orb.Ring {
		r = slices.Clone(r)
		slices.Reverse(r)
		return r
	}
	index := func(g orb.Geometry) *ringIndex { return newRingIndex(projectedRings(g)) }
	taken, full := 0, 0
	var clear, near int // a's edges decided by their run's test, and split
	var c clipper
	count := func(a *ringIndex) {
		for _, id := range c.order {
			switch c.state[id] {
			case edgeIn, edgeOut:
				clear++
			case edgeNear:
				near++
			default:
				t.Fatalf("edge %d left %d", id, c.state[id])
			}
		}
	}
	check := func(t *testing.T, a, b *ringIndex) {
		t.Helper()
		scale := scaleOf(a, b)
		want := boundariesSumPlain(a, b, scale, true)
		// Splitting a's edges against b's nearby edges or through b's
		// bands gives the same pieces.
		banded := boundariesSumPlain(a, b, scale, false)
		require.Equal(t, math.Float64bits(banded), math.Float64bits(want), "near edges %v, bands %v", want, banded)
		for _, mode := range []splitMode{splitAuto, splitMarks, splitSearch} {
			got := c.boundariesSum(a, b, scale, mode)
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), "mode %d: runs %v, edge by edge %v", mode, got, want)
			count(b) // the second pass's edges
			requireEachOrder(t, b, a.b, c.order)
			// The first pass alone, and the second searching for
			// itself after it.
			got = c.boundaryInside(a, b, scale, false, mode)
			count(a)
			got += c.boundaryInside(b, a, scale, true, mode)
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), "mode %d, passes apart: runs %v, edge by edge %v", mode, got, want)
		}
		got, ok := disjointBoundaries(a, b, scale)
		if !ok {
			full++
			return
		}
		taken++
		require.Equal(t, math.Float64bits(want), math.Float64bits(got), "shortcut %v, edge by edge %v", got, want)
	}
	for i := 0; i < 150; i++ {
		cx, cy := rng.Float64()*40-20, rng.Float64()*40-20
		r := 0.01 + rng.Float64()*2
		big := orb.Polygon{star(cx, cy, r, 20+rng.IntN(300))}
		if rng.IntN(2) == 0 {
			big = append(big, reversed(star(cx, cy, r*0.2, 12))) // a hole
		}
		others := []orb.Polygon{
			{star(cx+r*0.1, cy, r*0.05, 3+rng.IntN(40))},                        // well inside the shell
			{star(cx, cy, r*0.05, 8)},                                           // in the hole, if any
			{star(cx+3*r, cy+3*r, r*0.5, 30)},                                   // apart
			{star(cx+r*0.6, cy, r*0.6, 50)},                                     // overlapping
			{star(cx, cy, r*3, 60)},                                             // around it
			{square(cx-r*(0.3+rng.Float64()), cy-r*0.5, r*(0.2+rng.Float64()))}, // anything
		}
		// A grid cell and the square of cells it belongs to share edges.
		s := r / 4
		x0, y0 := math.Round(cx/s)*s, math.Round(cy/s)*s
		cell, block := orb.Polygon{square(x0, y0, s)}, orb.Polygon{square(x0, y0, 3*s)}
		check(t, index(cell), index(block))
		check(t, index(block), index(cell))
		// A square over the big one's right side, its left edge a few
		// eps (of the pair's scale, in degrees near enough) inside or
		// outside the rightmost vertex: within the clear margin and
		// beyond it.
		bb := big.Bound()
		for _, k := range []float64{-30, -15, -5, 0.5, 5, 15, 30} {
			d := k * 1e-9 * max(bb.Max[0]-bb.Min[0], bb.Max[1]-bb.Min[1])
			x := bb.Max[0] + d
			check(t, index(big), index(orb.Polygon{square(x, cy-r/2, r)}))
			check(t, index(orb.Polygon{square(x, cy-r/2, r)}), index(big))
		}
		for _, o := range others {
			check(t, index(big), index(o))
			check(t, index(o), index(big))
		}
	}
	// An index with 32-bit band entries (ids past 15 bits) against small
	// polygons across its boundary and inside it.
	var fine orb.Ring // a gently wavy circle: its edges span a band or two
	for i := range 40000 {
		a := 2 * math.Pi * float64(i) / 40000
		r := 1 + 0.01*math.Sin(37*a) + 1e-5*rng.Float64()
		fine = append(fine, orb.Point{r * math.Cos(a), r * math.Sin(a)})
	}
	huge := index(orb.Polygon{append(fine, fine[0])})
	require.NotNil(t, huge.w32)
	for i := 0; i < 20; i++ {
		a := 2 * math.Pi * rng.Float64()
		r := 0.7 + 0.4*rng.Float64()
		small := index(orb.Polygon{star(r*math.Cos(a), r*math.Sin(a), 0.05, 40)})
		check(t, huge, small)
		check(t, small, huge)
	}
	t.Logf("shortcut %d, edge by edge %d; edges by runs %d, split %d", taken, full, clear, near)
	assert.Greater(t, taken, 600, "the shortcut is taken for nested and apart pairs")
	assert.Greater(t, full, 300, "and not where boundaries meet")
	assert.Greater(t, clear, 2*near, "most edges of crossing pairs are decided by their run")
	assert.Greater(t, near, 10000, "and those near the other's edges split")
}

// An edge is decided by its run only when no edge of the other polygon
// comes within the clear margin: a thin rectangle inside a square, along
// its left side at k eps, is where the point tests (eps to the left of a
// piece) and the near test of strict (10 eps) decide. Split or not, the
// sums are the plain walk's, bit for bit.
func TestClearRunsKeepTheirMargin(t *testing.T) {
	const eps = 1e-9 // the pair's scale is 1
	// The square's left side in four edges, walked downwards: each has a
	// test point of its own, and the rectangle covers the third's.
	square := newRingIndex([]orb.Ring{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0.75}, {0, 0.5}, {0, 0.25}, {0, 0}}})
	for _, k := range []float64{0.5, 2, 5, 9, 11, 15, 19, 21, 30} {
		x := k * eps
		thin := newRingIndex([]orb.Ring{{{x, 0.3}, {0.3, 0.3}, {0.3, 0.45}, {x, 0.45}, {x, 0.3}}})
		for _, p := range [][2]*ringIndex{{square, thin}, {thin, square}} {
			a, b := p[0], p[1]
			scale := scaleOf(a, b)
			require.Equal(t, 1.0, scale)
			want := boundariesSumPlain(a, b, scale, true)
			for _, mode := range []splitMode{splitAuto, splitMarks, splitSearch} {
				var c clipper
				got := c.boundariesSum(a, b, scale, mode)
				assert.Equal(t, math.Float64bits(want), math.Float64bits(got), "k %v, mode %d: runs %v, edge by edge %v", k, mode, got, want)
			}
		}
	}
}

// Band entries are 16 bits wide while they fit and 32 beyond. Either way
// a query visits every edge meeting its box once, a 32-bit copy of a
// 16-bit index visits them in the same order, and the point test counts
// the crossings of every edge.
func TestRingIndexBandWidths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	ring := func(n int) orb.Ring {
		r := make(orb.Ring, 0, n+1)
		for i := 0; i < n; i++ {
			a := 2 * math.Pi * float64(i) / float64(n)
			rr := 1 + 0.3*rng.Float64()
			r = append(r, orb.Point{rr * math.Cos(a), rr * math.Sin(a)})
		}
		return append(r, r[0])
	}
	for _, tc := range []struct {
		name string
		n    int
		wide bool
	}{
		{"300 edges", 300, false},
		{"ids past 15 bits", 40000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ring(tc.n)
			ix := newRingIndex([]orb.Ring{r})
			require.Equal(t, tc.wide, ix.w16 == nil)
			require.Equal(t, !tc.wide, ix.w32 == nil)
			wide := *ix
			if !tc.wide {
				wide.w16, wide.w32 = nil, make([]uint32, len(ix.w16))
				for i, w := range ix.w16 {
					wide.w32[i] = uint32(w)
				}
			}
			for i := range 100 {
				c := orb.Point{rng.Float64()*3 - 1.5, rng.Float64()*3 - 1.5}
				q := orb.Bound{Min: c, Max: orb.Point{c[0] + rng.Float64(), c[1] + rng.Float64()*0.3}}
				switch i % 10 {
				case 0: // the index's own box: every edge, none read
					q = ix.b
				case 1: // its height, part of its width
					q.Min[1], q.Max[1] = ix.b.Min[1], ix.b.Max[1]
				case 2: // its width, part of its height
					q.Min[0], q.Max[0] = ix.b.Min[0], ix.b.Max[0]
				}
				var got, want, copied []int32
				for i := 0; i+1 < len(r); i++ {
					if q.Intersects(orb.Bound{Min: r[i], Max: r[i]}.Extend(r[i+1])) {
						want = append(want, int32(i))
					}
				}
				ix.eachID(q, func(id int32) bool { got = append(got, id); return true })
				wide.eachID(q, func(id int32) bool { copied = append(copied, id); return true })
				assert.Equal(t, got, copied)
				slices.Sort(got)
				assert.Equal(t, want, got)
				in := false
				for i := 0; i+1 < len(r); i++ {
					a, b := r[i], r[i+1]
					if (a[1] > c[1]) != (b[1] > c[1]) && c[0] < a[0]+(c[1]-a[1])*(b[0]-a[0])/(b[1]-a[1]) {
						in = !in
					}
				}
				assert.Equal(t, in, ix.contains(c))
				assert.Equal(t, in, wide.contains(c))
			}
		})
	}
}

// requireEachOrder checks that order is the edges of ix meeting qb in the
// order ix.each visits them, which is the order their terms are added in.
func requireEachOrder(t *testing.T, ix *ringIndex, qb orb.Bound, order []int32) {
	t.Helper()
	var want []int32
	ix.eachID(qb, func(id int32) bool {
		want = append(want, id)
		return true
	})
	if len(want) == 0 {
		return // no pass ran
	}
	require.Equal(t, want, order)
}

// The second pass of a pair takes the first's collected edges and puts
// them in the order the index visits them, also when the first collected
// over a box grown into the band below the second's (a box's bottom a
// few eps above a band's).
func TestMarkedPassVisitsInIndexOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	var star orb.Ring
	for i := range 400 {
		a := 2 * math.Pi * float64(i) / 400
		r := 1 + 0.2*rng.Float64()
		star = append(star, orb.Point{r * math.Cos(a), r * math.Sin(a)})
	}
	star = append(star, star[0])
	b := newRingIndex([]orb.Ring{star})
	taken := 0
	for k := 20; k < b.nb-20; k += 7 {
		for _, above := range []float64{-5, 5, 25} {
			// A box across the star's left side, smaller than the star,
			// whose extent is the pair's scale.
			scale := max(b.b.Max[0]-b.b.Min[0], b.b.Max[1]-b.b.Min[1])
			y := b.y0 + float64(k)/b.inv + above*scale*1e-9
			a := newRingIndex([]orb.Ring{{{-1.3, y}, {0, y}, {0, y + 0.4}, {-1.3, y + 0.4}, {-1.3, y}}})
			require.Equal(t, scale, scaleOf(a, b))
			want := boundariesSumPlain(a, b, scale, true)
			var c clipper
			got := c.boundariesSum(a, b, scale, splitMarks)
			require.True(t, c.marked)
			taken++
			requireEachOrder(t, b, a.b, c.order)
			assert.Equal(t, math.Float64bits(want), math.Float64bits(got), "band %d%+v eps: runs %v, edge by edge %v", k, above, got, want)
		}
	}
	assert.Greater(t, taken, 50)
}

// GeometryBound is orb's Bound bit for bit, multipolygons included (a hole
// sticking out of the shell does not count, as in orb), for the finite
// coordinates NormalizeGeometry lets through.
func TestGeometryBoundIsOrbs(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, g := range []orb.Geometry{
		orb.Polygon{{{1, 2}, {5, -1}, {4, 7}, {1, 2}}},
		orb.Polygon{{{1, 2}, {5, -1}, {4, 7}, {1, 2}}, {{0, 0}, {9, 0}, {9, 9}, {0, 0}}},
		orb.Polygon{},
		orb.Polygon{{}},
		orb.MultiPolygon{{{{1, 2}, {5, -1}, {4, 7}, {1, 2}}}, {{{-3, 2}, {-1, 2}, {-1, 3}, {-3, 2}}}},
		orb.Point{3, 4},
		orb.Polygon{{{negZero, 2}, {0, -1}, {4, 7}, {negZero, 2}}},
		orb.Polygon{{{0, 2}, {negZero, -1}, {4, 7}, {0, 2}}},
		orb.MultiPolygon{},
		orb.MultiPolygon{{{{1, 2}, {5, -1}, {4, 7}, {1, 2}}}, {}},
		orb.MultiPolygon{{{}}, {{{1, 2}, {5, -1}, {4, 7}, {1, 2}}}},
		orb.MultiPolygon{{{{negZero, 2}, {1, -1}, {4, 7}, {negZero, 2}}}, {{{0, 5}, {2, 2}, {2, 3}, {0, 5}}}},
		orb.MultiPolygon{{{{1, 2}, {5, -1}, {4, 7}, {1, 2}}, {{-9, -9}, {9, 9}, {-9, 9}, {-9, -9}}}},
		orb.Collection{orb.Point{1, 1}, orb.Polygon{{{1, 2}, {5, -1}, {4, 7}, {1, 2}}}},
	} {
		want, got := g.Bound(), GeometryBound(g)
		for i := range 2 {
			assert.Equal(t, math.Float64bits(want.Min[i]), math.Float64bits(got.Min[i]), "%v", g)
			assert.Equal(t, math.Float64bits(want.Max[i]), math.Float64bits(got.Max[i]), "%v", g)
		}
	}
}
