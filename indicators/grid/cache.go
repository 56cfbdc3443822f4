package grid

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/hazardsync/hazardsync/internal/parallel"
)

// The precompute cache file (see README.md, "Cache file"):
//
//	magic "HSGRIDPC" | u32 format version | u32 byte-order mark 0x01020304
//	[32]byte inputs key | i64 width, height | f64 X0, Y0, DX, DY | u8 has-u18
//	u32 array count | u64 element count per array
//	u32 CRC-32C of each checkBlock bytes of each array, array by array
//	u32 CRC-32C of every byte before it
//	then the arrays' raw little-endian elements, each non-empty one starting
//	at a multiple of 64 bytes (zero padding before it):
//	Pop Pop-prefix U18 U18-prefix CellKm2 RowStart SegCol SegEnt EntZone EntFrac TotPop TotU18 TotKm2
//	Seg-prefix Seg-U18-prefix
//
// Version 2 checksums blocks instead of the whole file, so both cores verify
// it, aligns the arrays, so a mapped file is used in place, and keeps the
// segment prefixes (rebuilt at every load before: 0.26 CPU-s at country
// scale, for 5% more file).
const (
	cacheMagic   = "HSGRIDPC"
	cacheVersion = 2
	// checkBlock is the unit the checksums cover: a load verifies blocks on
	// every core.
	checkBlock = 16 << 20
	// cacheAlign is where arrays start: every element type's alignment
	// and a cache line.
	cacheAlign = 64
)

// Cache keeps the precompute between runs. The engine does no file I/O of
// its own: the daemon's state side provides the store
// (adapter/state.FileCache keeps it as one file in the state dir).
type Cache interface {
	// Load opens the entry stored under key and says how many bytes it has;
	// found is false (and err nil) when there is none. The engine closes r:
	// at once, or, when r is a MappedEntry whose bytes it uses in place,
	// once the precompute is dropped.
	Load(key string) (r io.ReadCloser, size int64, found bool, err error)
	// Store saves an entry under key, its bytes written by write, so that a
	// crash or an error (from write or the store) leaves the previous entry
	// or none, never a part. Entries under other keys are dropped: only the
	// latest precompute is kept.
	Store(key string, write func(io.Writer) error) error
}

// MappedEntry is a loaded entry whose bytes are mapped in memory (a file
// mapped read-only): the engine verifies them and reads its arrays in place
// instead of copying ~1 GB. Bytes stay valid, unchanged, until Close; the
// engine never writes to them.
type MappedEntry interface {
	io.ReadCloser
	Bytes() []byte
}

// EntryBytes is a loaded entry's bytes: in place when it is a MappedEntry
// (valid until it is closed), else read whole.
func EntryBytes(r io.Reader) ([]byte, error) {
	if m, ok := r.(MappedEntry); ok {
		return m.Bytes(), nil
	}
	return io.ReadAll(r)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheKey names a precompute in its Cache: 24 hex digits of the inputs key
// (the file name part of the precompute files written before the Cache
// interface, so those stay readable).
func cacheKey(key [32]byte) string { return hex.EncodeToString(key[:12]) }

func asBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}

// nativeLittle: the arrays are written and read as memory images, so the
// file says which byte order wrote it and another order rebuilds instead.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// saveCache stores the precompute in c under its key.
func saveCache(c Cache, key [32]byte, z *zones) error {
	if !nativeLittle {
		return errors.New("grid cache: big-endian host, not persisted")
	}
	if err := c.Store(cacheKey(key), func(w io.Writer) error { return writeCache(w, key, z) }); err != nil {
		return fmt.Errorf("grid cache %s: %w", cacheKey(key), err)
	}
	return nil
}

// cacheHeaderSize is the fixed part before the array count.
const cacheHeaderSize = 8 + 4 + 4 + 32 + 16 + 32 + 1

func blocksOf(n int) int { return (n + checkBlock - 1) / checkBlock }

// arrayStart is where an array of n bytes starts after offset off: the next
// multiple of cacheAlign, or off itself for an empty array (nothing to
// align, and the file then ends with data, never with padding).
func arrayStart(off, n int) int {
	if n == 0 {
		return off
	}
	return (off + cacheAlign - 1) / cacheAlign * cacheAlign
}

// block is block k of b.
func block(b []byte, k int) []byte { return b[k*checkBlock : min(len(b), (k+1)*checkBlock)] }

// blockCRCs checksums every checkBlock of each array, on every core.
func blockCRCs(arrays [][]byte) [][]uint32 {
	out := make([][]uint32, len(arrays))
	type job struct{ a, k int }
	var jobs []job
	for i, b := range arrays {
		out[i] = make([]uint32, blocksOf(len(b)))
		for k := range out[i] {
			jobs = append(jobs, job{i, k})
		}
	}
	parallel.Each(len(jobs), func(_, j int) {
		i, k := jobs[j].a, jobs[j].k
		out[i][k] = crc32.Checksum(block(arrays[i], k), castagnoli)
	})
	return out
}

// writeCache writes the cache file's bytes (layout above).
func writeCache(w io.Writer, key [32]byte, z *zones) error {
	arrays := z.arrays()
	data := make([][]byte, len(arrays))
	for i, a := range arrays {
		data[i] = a.bytes()
	}
	crcs := blockCRCs(data)
	le := binary.LittleEndian
	hdr := make([]byte, 0, 1024)
	hdr = append(hdr, cacheMagic...)
	hdr = le.AppendUint32(hdr, cacheVersion)
	hdr = le.AppendUint32(hdr, 0x01020304)
	hdr = append(hdr, key[:]...)
	hdr = le.AppendUint64(hdr, uint64(z.Width))
	hdr = le.AppendUint64(hdr, uint64(z.Height))
	for _, v := range []float64{z.Geo.X0, z.Geo.Y0, z.Geo.DX, z.Geo.DY} {
		hdr = le.AppendUint64(hdr, math.Float64bits(v))
	}
	if z.U18 != nil {
		hdr = append(hdr, 1)
	} else {
		hdr = append(hdr, 0)
	}
	hdr = le.AppendUint32(hdr, uint32(len(arrays)))
	for _, a := range arrays {
		hdr = le.AppendUint64(hdr, uint64(a.count()))
	}
	for _, cs := range crcs {
		for _, c := range cs {
			hdr = le.AppendUint32(hdr, c)
		}
	}
	hdr = le.AppendUint32(hdr, crc32.Checksum(hdr, castagnoli))
	bw := bufio.NewWriterSize(w, 1<<20)
	var zeros [cacheAlign]byte
	off := len(hdr)
	// bufio keeps the first write error and returns it from every later
	// call, so checking Flush misses none.
	bw.Write(hdr)
	for _, b := range data {
		start := arrayStart(off, len(b))
		bw.Write(zeros[:start-off])
		off = start
		bw.Write(b)
		off += len(b)
	}
	return bw.Flush()
}

// arr is one array of the cache file, typed so a load can point it into the file's bytes.
type arr struct {
	f32 *[]float32
	f64 *[]float64
	i32 *[]int32
}

func (a arr) count() int {
	switch {
	case a.f32 != nil:
		return len(*a.f32)
	case a.f64 != nil:
		return len(*a.f64)
	}
	return len(*a.i32)
}

func (a arr) bytes() []byte {
	switch {
	case a.f32 != nil:
		return asBytes(*a.f32)
	case a.f64 != nil:
		return asBytes(*a.f64)
	}
	return asBytes(*a.i32)
}

func (a arr) elemSize() int {
	if a.f32 != nil || a.i32 != nil {
		return 4
	}
	return 8
}

// view points the array at n elements held in b (aligned for them); an
// empty array is an empty slice, not one into b.
func (a arr) view(b []byte, n int) {
	p := unsafe.Pointer(unsafe.SliceData(b))
	switch {
	case a.f32 != nil:
		*a.f32 = []float32{}
		if n > 0 {
			*a.f32 = unsafe.Slice((*float32)(p), n)
		}
	case a.f64 != nil:
		*a.f64 = []float64{}
		if n > 0 {
			*a.f64 = unsafe.Slice((*float64)(p), n)
		}
	default:
		*a.i32 = []int32{}
		if n > 0 {
			*a.i32 = unsafe.Slice((*int32)(p), n)
		}
	}
}

func (z *zones) arrays() []arr {
	return []arr{{f32: &z.Pop}, {f64: &z.PopPre}, {f32: &z.U18}, {f64: &z.U18Pre}, {f64: &z.CellKm2},
		{i32: &z.RowStart}, {i32: &z.SegCol}, {i32: &z.SegEnt}, {i32: &z.EntZone}, {f64: &z.EntFrac},
		{f64: &z.TotPop}, {f64: &z.TotU18}, {f64: &z.TotKm2}, {f64: &z.SegPre}, {f64: &z.SegU18Pre}}
}

// loadCache reads the precompute saveCache stored in c under key. found is
// false when c holds none; anything wrong with it is an error naming it.
func loadCache(c Cache, key [32]byte) (z *zones, found bool, err error) {
	name := cacheKey(key)
	r, size, found, err := c.Load(name)
	if err != nil {
		return nil, false, fmt.Errorf("grid cache %s: %w", name, err)
	}
	if !found {
		return nil, false, nil
	}
	if m, ok := r.(MappedEntry); ok && nativeLittle {
		z, err = mappedCache(m, name, key)
		return z, err == nil, err
	}
	defer r.Close()
	z, err = readCache(r, size, name, key)
	return z, err == nil, err
}

// cacheLayout is a cache file's header, checked.
type cacheLayout struct {
	z      *zones
	counts []int // elements per array
	crcs   [][]uint32
	end    int // header and table bytes
	hasU18 bool
}

// parseLayout decodes the header and the table at the front of a file's
// bytes b and checks that the arrays they list make up the rest of it.
func parseLayout(b []byte, bad func(string, ...any) error, key [32]byte) (*cacheLayout, error) {
	le := binary.LittleEndian
	off := 0
	next := func(n int) ([]byte, error) {
		if len(b)-off < n {
			return nil, io.ErrUnexpectedEOF
		}
		off += n
		return b[off-n : off], nil
	}
	hdr, err := next(cacheHeaderSize + 4)
	if err != nil {
		return nil, bad("header: %v", err)
	}
	if string(hdr[:8]) != cacheMagic {
		return nil, bad("not a precompute file (magic %q)", strings.ToValidUTF8(string(hdr[:8]), "?"))
	}
	if v := le.Uint32(hdr[8:]); v != cacheVersion {
		return nil, bad("format version %d, want %d", v, cacheVersion)
	}
	if le.Uint32(hdr[12:]) != 0x01020304 || !nativeLittle {
		return nil, bad("written with another byte order")
	}
	if string(hdr[16:48]) != string(key[:]) {
		return nil, bad("inputs key differs")
	}
	z := &zones{Width: int(le.Uint64(hdr[48:])), Height: int(le.Uint64(hdr[56:]))}
	z.Geo = Geo{math.Float64frombits(le.Uint64(hdr[64:])), math.Float64frombits(le.Uint64(hdr[72:])),
		math.Float64frombits(le.Uint64(hdr[80:])), math.Float64frombits(le.Uint64(hdr[88:]))}
	arrays := z.arrays()
	if n := le.Uint32(hdr[cacheHeaderSize:]); int(n) != len(arrays) {
		return nil, bad("%d arrays, want %d", n, len(arrays))
	}
	cb, err := next(8 * len(arrays))
	if err != nil {
		return nil, bad("array lengths: %v", err)
	}
	l := &cacheLayout{z: z, hasU18: hdr[96] == 1, counts: make([]int, len(arrays)), crcs: make([][]uint32, len(arrays))}
	blocks := 0
	for i, a := range arrays {
		n := le.Uint64(cb[8*i:])
		if n > uint64(len(b))/uint64(a.elemSize()) {
			return nil, bad("array %d claims %d elements in a %d-byte file", i, n, len(b))
		}
		l.counts[i] = int(n)
		blocks += blocksOf(int(n) * a.elemSize())
	}
	tb, err := next(4*blocks + 4)
	if err != nil {
		return nil, bad("checksum table: %v", err)
	}
	if le.Uint32(tb[4*blocks:]) != crc32.Checksum(b[:off-4], castagnoli) {
		return nil, bad("header checksum mismatch (file damaged)")
	}
	for i, a := range arrays {
		l.crcs[i] = make([]uint32, blocksOf(l.counts[i]*a.elemSize()))
		for k := range l.crcs[i] {
			l.crcs[i][k] = le.Uint32(tb)
			tb = tb[4:]
		}
	}
	l.end = off
	// The file holds exactly the arrays the table lists.
	for i, a := range arrays {
		n := l.counts[i] * a.elemSize()
		off = arrayStart(off, n) + n
	}
	if off != len(b) {
		return nil, bad("%d bytes, the table lists %d", len(b), off)
	}
	return l, nil
}

func cacheErr(name string) func(string, ...any) error {
	return func(format string, a ...any) error {
		return fmt.Errorf("grid cache %s: %s", name, fmt.Sprintf(format, a...))
	}
}

// readCache reads a cache file of size bytes from a stream into one region
// of an arena and decodes it there, as a mapped file is (decode). A file it
// rejects leaves nothing allocated.
func readCache(f io.Reader, size int64, name string, key [32]byte) (*zones, error) {
	if size < 0 || int64(int(size)) != size {
		return nil, cacheErr(name)("%d bytes", size)
	}
	mem := &arena{}
	// float64 words: the arrays start at multiples of 64 in the file, so
	// an 8-byte-aligned region aligns every element type.
	b := asBytes(arenaAlloc[float64](mem, (int(size)+7)/8))[:size]
	z, err := func() (*zones, error) {
		if _, err := io.ReadFull(f, b); err != nil {
			return nil, cacheErr(name)("reading: %v", err)
		}
		return decode(b, name, key, mem)
	}()
	if err != nil {
		mem.free()
		return nil, err
	}
	z.track()
	return z, nil
}

// mappedCache uses a mapped entry's bytes in place: the arrays are slices of
// it; the entry is closed when the zones are dropped, or at once when it is
// rejected.
func mappedCache(m MappedEntry, name string, key [32]byte) (*zones, error) {
	mem := &arena{}
	mem.adopt(m)
	z, err := decode(m.Bytes(), name, key, mem)
	if err != nil {
		mem.free()
		return nil, err
	}
	z.track()
	return z, nil
}

// decode checks a cache file's bytes b (header, table, padding, every
// block's checksum on every core) and returns zones whose arrays are
// slices of b, which mem keeps.
func decode(b []byte, name string, key [32]byte, mem *arena) (*zones, error) {
	bad := cacheErr(name)
	l, err := parseLayout(b, bad, key)
	if err != nil {
		return nil, err
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		return nil, bad("held at an unaligned address")
	}
	z := l.z
	z.mem = mem
	arrays := z.arrays()
	type job struct{ a, k int }
	var jobs []job
	data := make([][]byte, len(arrays))
	off := l.end
	for i, a := range arrays {
		start := arrayStart(off, l.counts[i]*a.elemSize())
		if slices.ContainsFunc(b[off:start], func(c byte) bool { return c != 0 }) {
			return nil, bad("array %d: padding damaged", i)
		}
		data[i] = b[start : start+l.counts[i]*a.elemSize()]
		a.view(data[i], l.counts[i])
		off = start + len(data[i])
		for k := range l.crcs[i] {
			jobs = append(jobs, job{i, k})
		}
	}
	bads := make([]bool, len(jobs))
	parallel.Each(len(jobs), func(_, j int) {
		i, k := jobs[j].a, jobs[j].k
		bads[j] = crc32.Checksum(block(data[i], k), castagnoli) != l.crcs[i][k]
	})
	if j := slices.Index(bads, true); j >= 0 {
		return nil, bad("array %d block %d: checksum mismatch (file damaged)", jobs[j].a, jobs[j].k)
	}
	return l.finish(bad)
}

// finish checks a loaded precompute's shapes and rebuilds what is not
// persisted.
func (l *cacheLayout) finish(bad func(string, ...any) error) (*zones, error) {
	z := l.z
	if !l.hasU18 {
		z.U18, z.U18Pre, z.SegU18Pre = nil, nil, nil
	}
	if err := z.check(); err != nil {
		return nil, bad("%v", err)
	}
	return z, nil
}

// check validates the shapes a damaged or foreign file could get wrong, so
// lookups can index without bounds surprises.
func (z *zones) check() error {
	cells := z.Width * z.Height
	switch {
	case len(z.Pop) != cells || (z.U18 != nil && len(z.U18) != cells):
		return fmt.Errorf("value layers have %d cells, want %d", len(z.Pop), cells)
	case len(z.PopPre) != z.Height*z.nb() || (z.U18 != nil && len(z.U18Pre) != len(z.PopPre)):
		return errors.New("prefix sums have the wrong size")
	case len(z.CellKm2) != z.Height || len(z.RowStart) != z.Height+1:
		return errors.New("row tables have the wrong size")
	case len(z.SegEnt) != len(z.SegCol)+1 || len(z.EntZone) != len(z.EntFrac):
		return errors.New("segment tables disagree")
	case len(z.TotPop) != len(z.TotU18) || len(z.TotPop) != len(z.TotKm2):
		return errors.New("totals disagree")
	case len(z.SegPre) != len(z.SegCol) || (z.U18 != nil && len(z.SegU18Pre) != len(z.SegCol)):
		return errors.New("segment prefixes have the wrong size")
	}
	if int(z.RowStart[z.Height]) != len(z.SegCol) || int(z.SegEnt[len(z.SegCol)]) != len(z.EntZone) {
		return errors.New("segment offsets out of range")
	}
	for _, zi := range z.EntZone {
		if zi < 0 || int(zi) >= len(z.TotPop) {
			return errors.New("zone id out of range")
		}
	}
	for _, c := range z.SegCol {
		if c < 0 || int(c) > z.Width {
			return errors.New("segment column out of range")
		}
	}
	return nil
}
