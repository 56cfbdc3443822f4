package grid

import (
	"io"
	"runtime"
	"sync"
	"unsafe"
)

// arena holds the precompute's big pointer-free arrays (value layers, block
// prefixes, segment tables: ~1 GB for a 1e8-cell country) outside the Go
// heap, in anonymous memory mappings where the platform has them
// (arena_mmap.go). On the heap they would count toward the GC's goal: with
// GOGC=100 the heap may grow to twice the live heap before a collection, so
// a 1 GB precompute would let ~1 GB of garbage pile up beside it. Off the
// heap, the headroom is computed over the daemon's small rest only.
//
// The arena is released when the zones that own it become unreachable
// (runtime.AddCleanup in track); every Engine method that reads the arrays
// keeps the engine alive until it returns (runtime.KeepAlive), since the GC
// does not see slices into mapped memory.
type arena struct {
	mu      sync.Mutex
	regions [][]byte
	// adopted are mapped cache entries whose bytes the arrays point into
	// (cache.go, MappedEntry), closed (unmapped) on free.
	adopted []io.Closer
	freed   bool
}

// arenaMin: arrays smaller than this stay on the Go heap (a mapping costs
// whole pages and a system call; small arrays do not matter for memory).
const arenaMin = 64 << 10

// mapAnon and unmapAnon are the platform's anonymous mappings; mapAnon
// returns an error where there are none (arena_heap.go), and arenaAlloc then
// uses the heap. Variables so a test can make mapping fail.
var (
	mapAnon   = mapAnonymous
	unmapAnon = unmapAnonymous
)

// arenaAlloc returns n zeroed elements, in a's mapped memory when a is not
// nil, the array is big and the mapping works; on the Go heap otherwise.
func arenaAlloc[T float32 | float64 | int32](a *arena, n int) []T {
	var z T
	size := n * int(unsafe.Sizeof(z))
	if a == nil || size < arenaMin {
		return make([]T, n)
	}
	b, err := mapAnon(size)
	if err != nil {
		return make([]T, n) // no mappings here (or refused): the heap still works
	}
	a.mu.Lock()
	a.regions = append(a.regions, b)
	a.mu.Unlock()
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// mappedBytes is how many bytes a holds in mappings.
func (a *arena) mappedBytes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.regions {
		n += len(r)
	}
	return n
}

// released says whether free ran.
func (a *arena) released() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.freed
}

// adopt makes c (a mapped cache entry) the arena's to close on free.
func (a *arena) adopt(c io.Closer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.adopted = append(a.adopted, c)
}

// free unmaps every region. Only once nothing reads them any more: the
// zones' cleanup, or a load that failed before the zones were handed out.
func (a *arena) free() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.regions {
		unmapAnon(r)
	}
	for _, c := range a.adopted {
		c.Close()
	}
	a.regions, a.adopted, a.freed = nil, nil, true
}

// track ties z.mem's lifetime to z: the mappings are released once z is
// unreachable.
func (z *zones) track() {
	if z.mem != nil {
		runtime.AddCleanup(z, (*arena).free, z.mem)
	}
}
