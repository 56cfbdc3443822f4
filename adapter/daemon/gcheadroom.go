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
// never collects less often than Go would). GOGC is one per process: the
// daemons of a process share one tuner, with the latest headroom set.
const minGCPercent = 10

var gcTuner struct {
	mu       sync.Mutex
	users    int
	headroom uint64 // bytes
	armed    bool   // a cleanup is pending for the next collection
	percent  int    // what the tuner set last (0: nothing yet)
	original int    // GOGC before the tuner first set it
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
	if p := gcPercentFor(readLiveHeap(), t.headroom); p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
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

func readLiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func readGCPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	return int(s[0].Value.Uint64())
}
