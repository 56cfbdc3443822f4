package daemon

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name           string
		live, headroom uint64
		want           int
	}{
		{"country scale: 64 MB over 170 MB live", 170 * mb, 64 * mb, 37},
		{"small daemon: never above Go's default", 20 * mb, 64 * mb, 100},
		{"huge heap: never below a tenth", 4000 * mb, 64 * mb, minGCPercent},
		{"nothing measured yet", 0, 64 * mb, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, gcPercentFor(c.live, c.headroom))
		})
	}
}

// The tuner sets GOGC after a collection while a daemon holds it, and puts
// the original back when the last one releases it; GOGC in the environment
// or a headroom of 0 leaves the collector alone.
func TestTuneGCSetsAndRestoresGOGC(t *testing.T) {
	t.Setenv("GOGC", "") // tests may run with GOGC set; unset it here
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)

	none := tuneGC(0)
	afterGC()
	assert.Equal(t, 100, readGCPercent(), "headroom 0: untouched")
	none()

	live := make([]byte, 8<<20) // so 1 MB of headroom is well below 100%
	defer runtime.KeepAlive(live)
	a := tuneGC(1)
	b := tuneGC(1)
	runtime.GC()
	afterGC() // what the cleanup does, run here to not wait for it
	want := gcPercentFor(readLiveHeap(), 1<<20)
	require.Less(t, want, 100)
	assert.Equal(t, want, readGCPercent())
	a()
	a() // releasing twice counts once
	afterGC()
	assert.Equal(t, want, readGCPercent(), "one daemon still holds the tuner")
	b()
	assert.Equal(t, 100, readGCPercent(), "the last release puts GOGC back")
}

// The tuner sets the soft memory limit two headrooms over what is live (and
// the runtime's own memory; or a headroom over what the runtime holds),
// puts the previous limit back on release, and leaves an operator's
// GOMEMLIMIT alone.
func TestTuneGCSetsAndRestoresTheMemoryLimit(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	orig := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(orig)
	live := make([]byte, 8<<20)
	defer runtime.KeepAlive(live)

	release := tuneGC(4)
	runtime.GC()
	afterGC()
	got := debug.SetMemoryLimit(-1)
	lv := readLiveHeap()
	assert.GreaterOrEqual(t, got, int64(lv+8<<20), "at least two headrooms over the live heap")
	assert.Less(t, got, int64(readHeld()+4<<20+8<<20), "and what the runtime holds, not more")
	// The runtime's own memory moves by a few pages between two reads.
	assert.InDelta(t, memoryLimitFor(lv, readRuntimeOverhead(), 4<<20, readHeld()), got, 1<<20)
	release()
	assert.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "the last release puts the limit back")

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	release = tuneGC(4)
	runtime.GC()
	afterGC()
	assert.Equal(t, int64(1<<30), debug.SetMemoryLimit(-1), "an explicit GOMEMLIMIT wins")
	release()
}

func TestTuneGCLeavesAnExplicitGOGC(t *testing.T) {
	t.Setenv("GOGC", "150")
	orig := debug.SetGCPercent(150)
	defer debug.SetGCPercent(orig)
	release := tuneGC(64)
	defer release()
	afterGC()
	require.Equal(t, 150, readGCPercent())
}

// readMetrics reads what the runtime has and says when something is missing.
func TestReadMetrics(t *testing.T) {
	v, ok := readMetrics("/gc/gogc:percent", "/memory/classes/total:bytes")
	require.True(t, ok)
	assert.Positive(t, v[1])
	v, ok = readMetrics("/gc/gogc:percent", "/no/such:metric")
	assert.False(t, ok)
	assert.Zero(t, v[1])
}

// The limit stays a headroom over what the runtime holds: right after a
// transient peak (far more held than live), a limit under it would make
// the collector run back to back.
func TestMemoryLimitLeavesRoomOverWhatIsHeld(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live, overhead, held uint64
		want                 int64
	}{
		{100 * mb, 10 * mb, 0, 174 * mb},        // nothing held beyond: two headrooms over live
		{100 * mb, 10 * mb, 150 * mb, 182 * mb}, // held 150: a headroom over it
		{100 * mb, 10 * mb, 140 * mb, 174 * mb}, // held within the target: the target
		{40 * mb, 8 * mb, 250 * mb, 282 * mb},   // after a precompute was built
	} {
		require.Equal(t, tc.want, memoryLimitFor(tc.live, tc.overhead, 32*mb, tc.held), "%+v", tc)
	}
}
