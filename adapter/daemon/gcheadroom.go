package daemon

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The GC's headroom (config memory.gc_headroom_mb). Go collects when the
// heap has grown by GOGC% of what was live at the last collection: with the
// default 100 a daemon holding ~170 MB live (overlay, areas, the engine's
// edge index) lets ~170 MB of garbage pile up before collecting, while a
// sync allocates ~70 MB. After each collection the tuner sets GOGC so the
// next one comes after about the configured growth instead:
// 100 × headroom / live, between minGCPercent and Go's default 100 (it
// never collects less often than Go would). It also sets Go's soft memory
// limit one more headroom above that goal: freed memory the heap does not
// need again is then handed back to the OS as it is freed, instead of
// staying resident until the background scavenger gets to it (measured:
// ~60 MB of free heap resident after a country-scale cold sync). The limit
// only triggers a collection when the live heap itself grew by more than
// a headroom since the last one, and never sits under what the runtime
// already holds (memoryLimitFor). GOGC is one per process: the daemons of a
// process share one tuner, with the latest headroom set.
const minGCPercent = 10

var gcTuner struct {
	mu       sync.Mutex
	users    int
	headroom uint64 // bytes
	armed    bool   // a cleanup is pending for the next collection
	percent  int    // what the tuner set last (0: nothing yet)
	original int    // GOGC before the tuner first set it
	// limits: the tuner sets the memory limit too (GOMEMLIMIT is not in
	// the environment); origLimit is the one before.
	limits    bool
	limit     int64
	origLimit int64
}

// tuneGC starts (or re-aims) the tuner for a daemon; release stops it once
// every daemon released its share and puts GOGC back. headroomMB 0, or a
// GOGC set in the environment (an operator's explicit choice), leaves the
// collector alone.
func tuneGC(headroomMB int) (release func()) {
	if headroomMB <= 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	t := &gcTuner
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users == 0 {
		t.original = readGCPercent()
		t.limits = os.Getenv("GOMEMLIMIT") == ""
		t.origLimit = debug.SetMemoryLimit(-1) // -1 reads it
	}
	t.users++
	t.headroom = uint64(headroomMB) << 20
	if !t.armed {
		t.armed = true
		armGCTuner()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.users--
			if t.users == 0 && t.percent != 0 {
				debug.SetGCPercent(t.original)
				t.percent = 0
			}
			if t.users == 0 && t.limit != 0 {
				debug.SetMemoryLimit(t.origLimit)
				t.limit = 0
			}
		})
	}
}

// setGCHeadroom re-aims a running tuner (a config reload).
func setGCHeadroom(headroomMB int) {
	t := &gcTuner
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users > 0 && headroomMB > 0 {
		t.headroom = uint64(headroomMB) << 20
	}
}

// gcSentinel is allocated only to become garbage: its cleanup runs after
// the collection that found it unreachable. Big enough to stay out of the
// tiny allocator, whose blocks are freed together.
type gcSentinel struct{ _ [32]byte }

func armGCTuner() {
	runtime.AddCleanup(new(gcSentinel), func(struct{}) { afterGC() }, struct{}{})
}

// afterGC aims the next collection at the headroom over what is live now,
// and re-arms for the collection after that while a daemon runs.
func afterGC() {
	t := &gcTuner
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users == 0 {
		t.armed = false
		return
	}
	live, overhead, held := readLiveHeap(), readRuntimeOverhead(), readHeld()
	if p := gcPercentFor(live, t.headroom); p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
	if t.limits {
		if l := memoryLimitFor(live, overhead, t.headroom, held); l != t.limit {
			debug.SetMemoryLimit(l)
			t.limit = l
		}
	}
	armGCTuner()
}

// gcPercentFor is the GOGC that lets a heap with live bytes grow by about
// headroom before the next collection.
func gcPercentFor(live, headroom uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(max(headroom*100/live, minGCPercent), 100))
}

// memoryLimitFor is the soft memory limit for a live heap and the runtime's
// memory outside the heap: two headrooms over the live heap, so the GOGC
// goal (one headroom) comes first; but at least one headroom over what the
// runtime holds from the OS now (held). The runtime counts held but free
// memory against the limit: after a transient peak (a precompute built in
// this process, the overlay's prepared areas dropped after a sync) far
// more is held than the live heap needs, and a limit under it left the
// collector running back to back until the scavenger had returned the
// difference (measured: a cold `once` sync took 1.8 s instead of 1.2 s,
// with ~100 collections). The scavenger returns that memory in the
// background instead, and each collection lowers the limit as it goes.
func memoryLimitFor(live, overhead, headroom, held uint64) int64 {
	return int64(max(live+overhead+2*headroom, held+headroom))
}

// readHeld is the memory the runtime holds from the OS (mapped, not
// released): what the memory limit is compared with.
func readHeld() uint64 {
	v, ok := readMetrics("/memory/classes/total:bytes", "/memory/classes/heap/released:bytes")
	if !ok || v[1] > v[0] {
		return 0
	}
	return v[0] - v[1]
}

// readRuntimeOverhead is the Go runtime's memory outside the heap's spans:
// goroutine stacks, GC and span metadata, profiling buckets, other.
func readRuntimeOverhead() uint64 {
	v, ok := readMetrics("/memory/classes/total:bytes", "/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes")
	if heap := v[1] + v[2] + v[3] + v[4]; ok && v[0] > heap {
		return v[0] - heap
	}
	return 0
}

func readLiveHeap() uint64 {
	v, _ := readMetrics("/gc/heap/live:bytes")
	return v[0]
}

func readGCPercent() int {
	if v, ok := readMetrics("/gc/gogc:percent"); ok {
		return int(v[0])
	}
	return 100
}

// readMetrics reads uint64 runtime metrics by name; ok is false (and the
// missing ones 0) when this Go does not have them all.
func readMetrics(names ...string) (v []uint64, ok bool) {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v, ok = make([]uint64, len(names)), true
	for i, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			ok = false
			continue
		}
		v[i] = x.Value.Uint64()
	}
	return v, ok
}
