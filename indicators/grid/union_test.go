package grid

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// A union updated from a kept one — some footprints moved, some dropped,
// some added, one given twice — equals the union swept whole in a fresh
// engine (to 1e-9: the sweep adds the same terms, grouped by other row
// chunks), and an area none of the changed footprints touches keeps its
// result bit for bit.
func TestUnionUpdatedFromAKeptOne(t *testing.T) {
	maxRel := 0.0 // what the regrouping costs in fact (1.7e-15 when written)
	defer func() { t.Logf("largest relative difference from a whole sweep: %.3g", maxRel) }()
	for seed := uint64(1); seed <= 4; seed++ {
		e, rng := insideWorld(t, seed)
		blob := func() orb.Geometry {
			return randomBlob(rng, 1+8*rng.Float64(), 1+8*rng.Float64(), 0.2+1.5*rng.Float64())
		}
		s0 := make([]orb.Geometry, 12)
		for i := range s0 {
			s0[i] = blob()
		}
		r0, err := e.Expose(s0)
		require.NoError(t, err)
		require.Equal(t, 0, e.unionUpdates, "the first union is swept whole")

		steps := []struct {
			name   string
			change func(s []orb.Geometry) (next []orb.Geometry, changed []orb.Geometry)
		}{
			{"two moved", func(s []orb.Geometry) ([]orb.Geometry, []orb.Geometry) {
				next := append([]orb.Geometry(nil), s...)
				old3, old7 := next[3], next[7]
				next[3], next[7] = blob(), blob()
				return next, []orb.Geometry{old3, old7, next[3], next[7]}
			}},
			{"one dropped", func(s []orb.Geometry) ([]orb.Geometry, []orb.Geometry) {
				return append(append([]orb.Geometry(nil), s[:5]...), s[6:]...), []orb.Geometry{s[5]}
			}},
			{"one added, one twice", func(s []orb.Geometry) ([]orb.Geometry, []orb.Geometry) {
				add := blob()
				return append(append([]orb.Geometry(nil), s...), add, s[0]), []orb.Geometry{add}
			}},
		}
		prev, prevSet := r0, s0
		for k, st := range steps {
			next, changed := st.change(prevSet)
			got, err := e.Expose(next)
			require.NoError(t, err)
			require.Equal(t, k+1, e.unionUpdates, "seed %d %s: updated from the kept union", seed, st.name)
			fresh, _ := insideWorld(t, seed)
			want, err := fresh.Expose(next)
			require.NoError(t, err)
			require.Len(t, got, len(want), "seed %d %s", seed, st.name)
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
			for i := range want {
				g, w := got[i], want[i]
				require.Equal(t, w.Code, g.Code, "seed %d %s", seed, st.name)
				for _, pr := range [][2]float64{{g.Population, w.Population}, {g.Under18, w.Under18}, {g.AreaKm2, w.AreaKm2}} {
					if d := math.Abs(pr[0]-pr[1]) / math.Max(1e-300, math.Abs(pr[1])); d > maxRel {
						maxRel = d
					}
				}
				require.True(t, near(g.Population, w.Population) && near(g.Under18, w.Under18) && near(g.AreaKm2, w.AreaKm2) &&
					near(g.Fraction, w.Fraction) && near(g.Share, w.Share), "seed %d %s area %s: %+v vs %+v", seed, st.name, w.Code, g, w)
			}
			// Untouched by what changed: the same result as before.
			before := map[string]indicators.AreaExposure{}
			for _, x := range prev {
				before[x.Code] = x
			}
			untouched := 0
			for _, x := range got {
				if touchedBy(e, x.Code, changed) {
					continue
				}
				untouched++
				require.Equal(t, before[x.Code], x, "seed %d %s: area %s untouched by the change", seed, st.name, x.Code)
			}
			require.Positive(t, untouched, "seed %d %s", seed, st.name)
			prev, prevSet = got, next
		}
	}
}

// touchedBy reports whether any of gs has a cell in the area's cell box.
func touchedBy(e *Engine, code string, gs []orb.Geometry) bool {
	ext := e.extents()
	for zi, a := range e.areas {
		if a.Code != code {
			continue
		}
		x := ext[zi]
		ab := cellBox{r0: int32(x.row0), r1: int32(x.row0 + len(x.lo)), c0: x.colLo, c1: x.colHi}
		for _, g := range gs {
			c := Rasterize(g, e.z.Geo, e.z.Width, e.z.Height)
			if c.Rows > 0 && boxOf(c).meets(ab) {
				return true
			}
		}
	}
	return false
}

// TestCachesFollowTheCurrentFootprints: a daemon's engine keeps what the
// current hazards need across syncs — a union served from its cached
// result keeps its footprints' coverages and its kept result, so the sync
// that moves one of them updates the union instead of sweeping it whole —
// and forgets footprints no sync used in keepSyncs syncs.
func TestCachesFollowTheCurrentFootprints(t *testing.T) {
	e, rng := insideWorld(t, 7)
	blob := func() orb.Geometry {
		return randomBlob(rng, 1+8*rng.Float64(), 1+8*rng.Float64(), 0.2+1.5*rng.Float64())
	}
	set := make([]orb.Geometry, 6)
	for i := range set {
		set[i] = blob()
	}
	each := make([][]orb.Geometry, len(set))
	for i, g := range set {
		each[i] = []orb.Geometry{g}
	}
	_, err := e.ExposeEach(each) // the overlay's per-footprint people
	require.NoError(t, err)
	_, err = e.Expose(set) // an indicator's union
	require.NoError(t, err)
	e.EndSync()
	for range 2 * keepSyncs { // nothing changed: the union comes from its cached result
		_, err = e.Expose(set)
		require.NoError(t, err)
		e.EndSync()
	}
	require.Len(t, e.covCache, len(set), "the union's footprints keep their coverages")
	require.Len(t, e.resCache, 1, "only the union's result is still used")
	require.Len(t, e.unions, 1, "the kept union stays")

	gone := set[2]
	next := append([]orb.Geometry(nil), set...)
	next[2] = blob()
	got, err := e.Expose(next)
	require.NoError(t, err)
	require.Equal(t, 1, e.unionUpdates, "the moved footprint's union is updated from the kept one")
	fresh, _ := insideWorld(t, 7)
	want, err := fresh.Expose(next)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		require.InDelta(t, want[i].Population, got[i].Population, 1e-9*math.Max(1, want[i].Population), want[i].Code)
	}
	e.EndSync()
	for range keepSyncs + 1 {
		_, err = e.Expose(next)
		require.NoError(t, err)
		e.EndSync()
	}
	_, kept := e.covCache[geomKey(gone)]
	require.False(t, kept, "a footprint no sync uses is forgotten")
	require.Len(t, e.covCache, len(next))
	require.Len(t, e.unions, 1, "the old union is forgotten too")
}
