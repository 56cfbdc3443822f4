package indicators

import (
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
	// 5 vertices of 16 bytes, 4 edges in 3 bands: 4 band starts and 4–12 ids.
	assert.GreaterOrEqual(t, got, 5*16+4*4+4*4)
	assert.LessOrEqual(t, got, 5*16+4*4+12*4)
}
