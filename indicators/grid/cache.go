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
	"strings"
	"unsafe"
)

// The precompute cache file (see README.md, "Cache file"):
//
//	magic "HSGRIDPC" | u32 format version | u32 byte-order mark 0x01020304
//	[32]byte inputs key | i64 width, height | f64 X0, Y0, DX, DY | u8 has-u18
//	then arrays, each u64 element count + raw little-endian elements:
//	Pop Pop-prefix U18 U18-prefix CellKm2 RowStart SegCol SegEnt EntZone EntFrac TotPop TotU18 TotKm2
//	trailer: u32 CRC-32C of every byte before it.
const (
	cacheMagic   = "HSGRIDPC"
	cacheVersion = 1
)

// Cache keeps the precompute between runs. The engine does no file I/O of
// its own: the daemon's state side provides the store
// (adapter/state.GridCache keeps it as one file in the state dir).
type Cache interface {
	// Load opens the entry stored under key and says how many bytes it has;
	// found is false (and err nil) when there is none. The engine closes r.
	Load(key string) (r io.ReadCloser, size int64, found bool, err error)
	// Store saves an entry under key, its bytes written by write, so that a
	// crash or an error (from write or the store) leaves the previous entry
	// or none, never a part. Entries under other keys are dropped: only the
	// latest precompute is kept.
	Store(key string, write func(io.Writer) error) error
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
var nativeLittle = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, castagnoli, p)
	return c.w.Write(p)
}

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

// writeCache writes the cache file's bytes (layout above).
func writeCache(w io.Writer, key [32]byte, z *zones) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &crcWriter{w: bw}
	le := binary.LittleEndian
	hdr := make([]byte, 0, 128)
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
	// bufio keeps the first write error and returns it from every later
	// call, so checking the array writes and Flush misses none.
	cw.Write(hdr)
	for _, b := range z.arrays() {
		var n [8]byte
		le.PutUint64(n[:], uint64(b.count()))
		cw.Write(n[:])
		if _, err := cw.Write(b.bytes()); err != nil {
			return err
		}
	}
	var tr [4]byte
	le.PutUint32(tr[:], cw.crc)
	bw.Write(tr[:])
	return bw.Flush()
}

// arr is one array of the cache file, typed so load can allocate it.
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

func (a arr) alloc(mem *arena, n int) []byte {
	switch {
	case a.f32 != nil:
		*a.f32 = arenaAlloc[float32](mem, n)
	case a.f64 != nil:
		*a.f64 = arenaAlloc[float64](mem, n)
	default:
		*a.i32 = arenaAlloc[int32](mem, n)
	}
	return a.bytes()
}

func (z *zones) arrays() []arr {
	return []arr{{f32: &z.Pop}, {f64: &z.PopPre}, {f32: &z.U18}, {f64: &z.U18Pre}, {f64: &z.CellKm2},
		{i32: &z.RowStart}, {i32: &z.SegCol}, {i32: &z.SegEnt}, {i32: &z.EntZone}, {f64: &z.EntFrac},
		{f64: &z.TotPop}, {f64: &z.TotU18}, {f64: &z.TotKm2}}
}

type crcReader struct {
	r   io.Reader
	crc uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	return n, err
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
	defer r.Close()
	z, err = readCache(r, size, name, key)
	return z, err == nil, err
}

// readCache decodes a cache file of size bytes, checking its key, checksum
// and shapes. A file it rejects leaves nothing allocated in its arena.
func readCache(f io.Reader, size int64, name string, key [32]byte) (*zones, error) {
	mem := &arena{}
	z, err := decodeCache(f, size, name, key, mem)
	if err != nil {
		mem.free()
		return nil, err
	}
	z.track()
	return z, nil
}

func decodeCache(f io.Reader, size int64, name string, key [32]byte, mem *arena) (*zones, error) {
	cr := &crcReader{r: bufio.NewReaderSize(f, 1<<20)}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("grid cache %s: %s", name, fmt.Sprintf(format, a...))
	}
	le := binary.LittleEndian
	hdr := make([]byte, 8+4+4+32+16+32+1)
	if _, err := io.ReadFull(cr, hdr); err != nil {
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
	z := &zones{Width: int(le.Uint64(hdr[48:])), Height: int(le.Uint64(hdr[56:])), mem: mem}
	z.Geo = Geo{math.Float64frombits(le.Uint64(hdr[64:])), math.Float64frombits(le.Uint64(hdr[72:])),
		math.Float64frombits(le.Uint64(hdr[80:])), math.Float64frombits(le.Uint64(hdr[88:]))}
	hasU18 := hdr[96] == 1
	for i, a := range z.arrays() {
		var nb [8]byte
		if _, err := io.ReadFull(cr, nb[:]); err != nil {
			return nil, bad("array %d length: %v", i, err)
		}
		n := le.Uint64(nb[:])
		if n > uint64(size) {
			return nil, bad("array %d claims %d elements in a %d-byte file", i, n, size)
		}
		if _, err := io.ReadFull(cr, a.alloc(mem, int(n))); err != nil {
			return nil, bad("array %d: %v", i, err)
		}
	}
	sum := cr.crc
	var tr [4]byte
	if _, err := io.ReadFull(cr.r, tr[:]); err != nil {
		return nil, bad("trailer: %v", err)
	}
	if le.Uint32(tr[:]) != sum {
		return nil, bad("checksum mismatch (file damaged)")
	}
	if !hasU18 {
		z.U18, z.U18Pre = nil, nil
	}
	if err := z.check(); err != nil {
		return nil, bad("%v", err)
	}
	z.segmentSums()
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
