package areas

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/hazardsync/hazardsync/internal/parallel"
)

// Prepared areas: what LoadFilesReport makes of a set of geography files
// (parsed, repaired, normalised, sorted), kept between runs so a start whose
// files did not change reads a compact binary instead of parsing and
// repairing the GeoJSON again (a country's admin-2 file: ~66 MB, ~1.5 CPU-s
// and ~1 s of a start on two cores).

// Prepared is LoadFilesReport's result.
type Prepared struct {
	Areas   []indicators.Area
	PCodes  map[string]string // pcode → ucode
	Repairs []Repair
}

// PreparedStore keeps prepared areas under a key (adapter/state.FileCache).
type PreparedStore interface {
	Load(key string) (r io.ReadCloser, size int64, found bool, err error)
	Store(key string, write func(io.Writer) error) error
}

// preparedVersion names what parsing, repair and normalisation make of a
// file. It is part of the key: change it whenever they would give other
// areas for the same bytes (TestPreparedVersionPinsTheOutput fails until it
// is changed), so no start reuses areas an older build prepared.
const preparedVersion = 2

const preparedMagic = "HSAREAS\x00"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// nativeLittle: points are copied as a memory image on little-endian hosts.
var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// LoadFilesPrepared is LoadFilesReport through a store: when the files'
// bytes and settings are those an entry was prepared from, the areas come
// from it (fromStore); otherwise the files are parsed and, when the store
// is not nil, the result is stored for the next start. An unusable entry is
// a warning and a parse, never an error; files that do not load are never
// stored.
func LoadFilesPrepared(files []config.GeoFile, store PreparedStore, log *slog.Logger) (p Prepared, fromStore bool, err error) {
	contents := make([][]byte, len(files))
	for i, f := range files {
		if contents[i], err = os.ReadFile(f.Path); err != nil {
			return Prepared{}, false, fmt.Errorf("geographies: %w", err)
		}
	}
	if store == nil {
		p.Areas, p.PCodes, p.Repairs, err = loadContents(files, contents)
		return p, false, err
	}
	key := preparedKey(files, contents)
	name := fmt.Sprintf("%x", key[:12])
	if p, ok, err := loadPrepared(store, name, key); err != nil {
		log.Warn("prepared areas unusable, parsing the geography files", "key", name, "err", err)
	} else if ok {
		return p, true, nil
	}
	p.Areas, p.PCodes, p.Repairs, err = loadContents(files, contents)
	if err != nil {
		return Prepared{}, false, err
	}
	if err := store.Store(name, func(w io.Writer) error {
		_, err := w.Write(encodePrepared(key, p))
		return err
	}); err != nil {
		log.Warn("prepared areas not kept", "key", name, "err", err)
	}
	return p, false, nil
}

// preparedKey hashes the format, the version of the preparing code, and
// every file's settings and bytes: each file's XXH64 per 4 MiB chunk,
// computed on every core, combined by SHA-256. The key only has to notice
// that a file changed, it is no defence against crafted collisions
// (whoever can write the geography files can write the state dir); SHA-256
// over a country's 66 MB file took ~0.05 s of every start.
func preparedKey(files []config.GeoFile, contents [][]byte) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "hazardsync prepared areas v%d xxh64-4MiB-chunks\n", preparedVersion)
	for i, f := range files {
		fmt.Fprintf(h, "%d %q %q %q %q %q %d\n", f.Level, f.CodeProperty, f.NameProperty, f.LevelProperty,
			f.ParentProperty, f.PCodeProperty, len(contents[i]))
		b := contents[i]
		sums := make([]uint64, (len(b)+keyChunk-1)/keyChunk)
		parallel.Each(len(sums), func(_, k int) { sums[k] = xxhash.Sum64(b[k*keyChunk : min(len(b), (k+1)*keyChunk)]) })
		var out []byte
		for _, x := range sums {
			out = binary.LittleEndian.AppendUint64(out, x)
		}
		h.Write(out)
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// keyChunk is the unit of a file's digest in the key.
const keyChunk = 4 << 20

func loadPrepared(store PreparedStore, name string, key [32]byte) (Prepared, bool, error) {
	r, _, found, err := store.Load(name)
	if err != nil || !found {
		return Prepared{}, false, err
	}
	defer r.Close()
	b, err := grid.EntryBytes(r) // a mapped file: decoding copies what it keeps
	if err != nil {
		return Prepared{}, false, err
	}
	p, err := decodePrepared(b, key)
	return p, err == nil, err
}

// The file (little endian):
//
//	magic "HSAREAS\0" | u32 preparedVersion | [32]byte key
//	u32 area count, then per area: code, name (u32 length + bytes), i64
//	level, f64 km², u32 parent count + parents, u8 geometry kind (1 Polygon,
//	2 MultiPolygon), u32 polygon count, per polygon u32 ring count, per
//	ring u32 point count
//	u32 pcode count + (pcode, ucode) pairs
//	u32 repair count + per repair: code, file, u32 problem count +
//	problems, result
//	u64 point count + every point's lon, lat (f64), areas in order
//	u32 CRC-32C of every byte before it
const (
	kindPolygon      = 1
	kindMultiPolygon = 2
)

type encoder struct{ b []byte }

func (e *encoder) u32(v int)    { e.b = binary.LittleEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) str(s string) { e.u32(len(s)); e.b = append(e.b, s...) }
func (e *encoder) strs(s []string) {
	e.u32(len(s))
	for _, x := range s {
		e.str(x)
	}
}

func encodePrepared(key [32]byte, p Prepared) []byte {
	npts := 0
	for _, a := range p.Areas {
		for _, poly := range indicators.Polygons(a.Geometry) {
			for _, r := range poly {
				npts += len(r)
			}
		}
	}
	e := &encoder{b: make([]byte, 0, 16*npts+64*len(p.Areas)+1024)}
	e.b = append(e.b, preparedMagic...)
	e.u32(preparedVersion)
	e.b = append(e.b, key[:]...)
	e.u32(len(p.Areas))
	for _, a := range p.Areas {
		e.str(a.Code)
		e.str(a.Name)
		e.b = binary.LittleEndian.AppendUint64(e.b, uint64(int64(a.Level)))
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(a.Km2))
		e.strs(a.Parents)
		kind := kindMultiPolygon
		if _, ok := a.Geometry.(orb.Polygon); ok {
			kind = kindPolygon
		}
		e.b = append(e.b, byte(kind))
		polys := indicators.Polygons(a.Geometry)
		e.u32(len(polys))
		for _, poly := range polys {
			e.u32(len(poly))
			for _, r := range poly {
				e.u32(len(r))
			}
		}
	}
	e.u32(len(p.PCodes))
	for _, pc := range slices.Sorted(maps.Keys(p.PCodes)) {
		e.str(pc)
		e.str(p.PCodes[pc])
	}
	e.u32(len(p.Repairs))
	for _, r := range p.Repairs {
		e.str(r.Code)
		e.str(r.File)
		e.strs(r.Problems)
		e.str(r.Result)
	}
	e.b = binary.LittleEndian.AppendUint64(e.b, uint64(npts))
	for _, a := range p.Areas {
		for _, poly := range indicators.Polygons(a.Geometry) {
			for _, r := range poly {
				for _, pt := range r {
					e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(pt[0]))
					e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(pt[1]))
				}
			}
		}
	}
	return binary.LittleEndian.AppendUint32(e.b, crc32.Checksum(e.b, crcTable))
}

// decodePrepared checks a file's magic, version, key and checksum, then
// decodes its body.
func decodePrepared(b []byte, key [32]byte) (Prepared, error) {
	const head = len(preparedMagic) + 4 + 32
	switch {
	case len(b) < head+4:
		return Prepared{}, fmt.Errorf("%d bytes: too short", len(b))
	case string(b[:len(preparedMagic)]) != preparedMagic:
		return Prepared{}, errors.New("not a prepared areas file")
	case binary.LittleEndian.Uint32(b[len(preparedMagic):]) != preparedVersion:
		return Prepared{}, fmt.Errorf("version %d, want %d", binary.LittleEndian.Uint32(b[len(preparedMagic):]), preparedVersion)
	case string(b[len(preparedMagic)+4:head]) != string(key[:]):
		return Prepared{}, errors.New("key differs")
	case crc32.Checksum(b[:len(b)-4], crcTable) != binary.LittleEndian.Uint32(b[len(b)-4:]):
		return Prepared{}, errors.New("checksum mismatch (file damaged)")
	}
	return decodeBody(b[head : len(b)-4])
}

// decoder reads the body; the first problem sticks and every later read
// gives zeros, so decodeBody checks once per section.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		if d.err == nil {
			d.err = fmt.Errorf("truncated: %d bytes wanted, %d left", n, len(d.b))
		}
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u32() int {
	if b := d.take(4); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}

// count reads a count of items each at least min bytes long, refusing one
// the rest of the file cannot hold.
func (d *decoder) count(min int) int {
	n := d.u32()
	if d.err == nil && n*min > len(d.b) {
		d.err = fmt.Errorf("a count of %d does not fit in %d bytes", n, len(d.b))
		return 0
	}
	return n
}

func (d *decoder) str() string { return string(d.take(d.u32())) }

func (d *decoder) strs() []string {
	n := d.count(4)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

// decodeBody decodes what follows the header. Every ring's points are
// sub-slices of one array (capacity cut at the ring's end, so an append
// to a ring copies rather than overwrite the next).
func decodeBody(b []byte) (Prepared, error) {
	d := &decoder{b: b}
	type shape struct {
		kind  byte
		rings [][]int // per polygon, each ring's point count
	}
	n := d.count(4 + 4 + 8 + 8 + 4 + 1 + 4)
	p := Prepared{Areas: make([]indicators.Area, n)}
	shapes := make([]shape, n)
	total := 0
	for i := range p.Areas {
		a := &p.Areas[i]
		a.Code, a.Name = d.str(), d.str()
		if lb := d.take(8); lb != nil {
			a.Level = int(int64(binary.LittleEndian.Uint64(lb)))
		}
		if kb := d.take(8); kb != nil {
			a.Km2 = math.Float64frombits(binary.LittleEndian.Uint64(kb))
		}
		a.Parents = d.strs()
		if k := d.take(1); k != nil {
			shapes[i].kind = k[0]
		}
		polys := make([][]int, d.count(4))
		for j := range polys {
			polys[j] = make([]int, d.count(4))
			for k := range polys[j] {
				polys[j][k] = d.u32()
				total += polys[j][k]
			}
		}
		shapes[i].rings = polys
		if d.err != nil {
			return Prepared{}, fmt.Errorf("area %d: %w", i, d.err)
		}
		if k := shapes[i].kind; k != kindPolygon && k != kindMultiPolygon || k == kindPolygon && len(polys) != 1 {
			return Prepared{}, fmt.Errorf("area %d (%s): geometry kind %d with %d polygon(s)", i, a.Code, k, len(polys))
		}
	}
	if np := d.count(8); np > 0 {
		p.PCodes = make(map[string]string, np)
		for range np {
			pc := d.str()
			p.PCodes[pc] = d.str()
		}
	} else {
		p.PCodes = map[string]string{}
	}
	if nr := d.count(16); nr > 0 {
		p.Repairs = make([]Repair, nr)
		for i := range p.Repairs {
			r := &p.Repairs[i]
			r.Code, r.File, r.Problems, r.Result = d.str(), d.str(), d.strs(), d.str()
		}
	}
	var npts int
	if nb := d.take(8); nb != nil {
		npts = int(binary.LittleEndian.Uint64(nb))
	}
	if d.err == nil && (npts != total || npts < 0 || 16*npts != len(d.b)) {
		return Prepared{}, fmt.Errorf("%d points for rings of %d, in %d bytes", npts, total, len(d.b))
	}
	raw := d.take(16 * npts)
	if d.err != nil {
		return Prepared{}, d.err
	}
	pts := make([]orb.Point, npts)
	if nativeLittle && npts > 0 {
		// The file's bytes are the points' memory image here.
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&pts[0])), 16*npts), raw)
	} else {
		for i := range pts {
			pts[i] = orb.Point{math.Float64frombits(binary.LittleEndian.Uint64(raw[16*i:])), math.Float64frombits(binary.LittleEndian.Uint64(raw[16*i+8:]))}
		}
	}
	off := 0
	for i, s := range shapes {
		mp := make(orb.MultiPolygon, len(s.rings))
		for j, counts := range s.rings {
			mp[j] = make(orb.Polygon, len(counts))
			for k, c := range counts {
				mp[j][k] = orb.Ring(pts[off : off+c : off+c])
				off += c
			}
		}
		if s.kind == kindPolygon {
			p.Areas[i].Geometry = mp[0]
		} else {
			p.Areas[i].Geometry = mp
		}
	}
	return p, nil
}
