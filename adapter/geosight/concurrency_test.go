package geosight

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server simulates a GeoSight with cores cores: up to cores requests in
// flight each take base; beyond, the cores are shared and each takes
// longer, so throughput stays flat while latency grows.
func simulate(t *testing.T, a *adaptive, cores int, base time.Duration, rounds int, errEvery int) []int {
	t.Helper()
	clock := time.Unix(0, 0)
	a.now = func() time.Time { return clock }
	var limits []int
	n := 0
	for r := 0; r < rounds; r++ {
		l := a.Limit()
		limits = append(limits, l)
		lat := base * time.Duration(max(l, cores)) / time.Duration(cores)
		// l requests run together, finishing after lat.
		for i := 0; i < l; i++ {
			require.NoError(t, a.acquire(context.Background()))
		}
		clock = clock.Add(lat)
		for i := 0; i < l; i++ {
			n++
			a.release(lat, errEvery > 0 && n%errEvery == 0)
		}
	}
	return limits
}

func TestAdaptiveSettlesAtTheServersCores(t *testing.T) {
	a := newAdaptive(16)
	assert.Equal(t, 1, a.Limit(), "starts at one: the unloaded latency is the yardstick")
	limits := simulate(t, a, 2, 175*time.Millisecond, 200, 0)
	last := limits[len(limits)-50:]
	for _, l := range last {
		assert.LessOrEqual(t, l, 3, "no more in flight than the server can use (±1 probing): %v", last)
		assert.GreaterOrEqual(t, l, 2, "but enough to use both cores: %v", last)
	}
}

func TestAdaptiveGrowsWhileThroughputGrows(t *testing.T) {
	a := newAdaptive(8)
	limits := simulate(t, a, 8, 100*time.Millisecond, 100, 0)
	assert.Equal(t, 8, limits[len(limits)-1], "a server with 8 cores gets 8: %v", limits)
}

func TestAdaptiveHalvesOnServerErrors(t *testing.T) {
	a := newAdaptive(8)
	a.limit = 4
	require.NoError(t, a.acquire(context.Background()))
	a.release(time.Millisecond, true)
	assert.Equal(t, 2, a.Limit())
	require.NoError(t, a.acquire(context.Background()))
	a.release(time.Millisecond, true)
	require.NoError(t, a.acquire(context.Background()))
	a.release(time.Millisecond, true)
	assert.Equal(t, 1, a.Limit(), "never below one")
	// Property: whatever happens, the limit stays within [1, ceiling].
	limits := simulate(t, a, 3, 50*time.Millisecond, 300, 7)
	for _, l := range limits {
		assert.True(t, l >= 1 && l <= 8, "limit %d", l)
	}
}

func TestAdaptiveAcquireHonoursCancel(t *testing.T) {
	a := newAdaptive(1)
	require.NoError(t, a.acquire(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.Error(t, a.acquire(ctx), "a full limit waits, and gives up when cancelled")
}
