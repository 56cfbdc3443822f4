// Package grid is the exact exposure engine: a small GeoTIFF reader for
// WorldPop-style population grids, exact cell-coverage kernels (the
// exactextract method, kept sparse), a per (areas × grid) precompute with
// per-row zone runs and block prefix sums, and per-cycle exposure whose cost
// grows with a footprint's perimeter, not its area. It does no I/O except
// reading the grid files and the precompute cache the caller names.
package grid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/flate"

	"github.com/hazardsync/hazardsync/internal/parallel"
)

// TIFF tags the reader understands.
const (
	tagImageWidth          = 256
	tagImageLength         = 257
	tagBitsPerSample       = 258
	tagCompression         = 259
	tagStripOffsets        = 273
	tagSamplesPerPixel     = 277
	tagRowsPerStrip        = 278
	tagStripByteCounts     = 279
	tagPlanarConfig        = 284
	tagPredictor           = 317
	tagTileWidth           = 322
	tagTileLength          = 323
	tagTileOffsets         = 324
	tagTileByteCounts      = 325
	tagSampleFormat        = 339
	tagModelPixelScale     = 33550
	tagModelTiepoint       = 33922
	tagModelTransformation = 34264
	tagGDALNoData          = 42113
)

// Compression codes.
const (
	compNone       = 1
	compLZW        = 5
	compDeflate    = 8
	compDeflateOld = 32946
)

// Sample formats (tag 339).
const (
	fmtUint  = 1
	fmtInt   = 2
	fmtFloat = 3
)

// Geo is a north-up geotransform: the lon/lat of the top-left corner of the
// top-left cell and the cell size in degrees (DY > 0, rows go south).
type Geo struct {
	X0, Y0 float64
	DX, DY float64
}

// Tiff is an open GeoTIFF. It reads strips or tiles on demand from the
// io.ReaderAt it was given (NewTiff), so a window costs only the blocks it
// touches; the caller opens and closes the file.
type Tiff struct {
	r         io.ReaderAt
	order     binary.ByteOrder
	big       bool
	Width     int
	Height    int
	Geo       Geo
	NoData    float64
	HasNoData bool
	bits      int
	format    int
	comp      int
	pred      int
	tiled     bool
	blockW    int // tile width, or Width for strips
	blockH    int // tile height or rows per strip
	offsets   []uint64
	counts    []uint64
	size      int64
	workers   int // ReadWindow's decoding goroutines; 0 = GOMAXPROCS (tests set 1 for the serial reference)
}

type ifdEntry struct {
	tag, typ uint16
	count    uint64
	value    []byte // raw value bytes (inline or fetched)
}

var typeSize = map[uint16]int{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8}

// maxTagBytes bounds one tag's value so a hostile count cannot allocate
// gigabytes.
const maxTagBytes = 64 << 20

// NewTiff parses the first IFD of a TIFF or BigTIFF held in r (size bytes).
func NewTiff(r io.ReaderAt, size int64) (*Tiff, error) {
	t := &Tiff{r: r, size: size}
	hdr := make([]byte, 16)
	if _, err := r.ReadAt(hdr[:8], 0); err != nil {
		return nil, fmt.Errorf("tiff: reading header: %w", err)
	}
	switch string(hdr[:2]) {
	case "II":
		t.order = binary.LittleEndian
	case "MM":
		t.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("tiff: not a TIFF file (byte order mark %q)", hdr[:2])
	}
	var ifdOff uint64
	switch v := t.order.Uint16(hdr[2:]); v {
	case 42:
		ifdOff = uint64(t.order.Uint32(hdr[4:]))
	case 43:
		t.big = true
		if _, err := r.ReadAt(hdr[:16], 0); err != nil {
			return nil, fmt.Errorf("tiff: reading BigTIFF header: %w", err)
		}
		if t.order.Uint16(hdr[4:]) != 8 {
			return nil, fmt.Errorf("tiff: BigTIFF offset size %d unsupported (want 8)", t.order.Uint16(hdr[4:]))
		}
		ifdOff = t.order.Uint64(hdr[8:])
	default:
		return nil, fmt.Errorf("tiff: bad version %d (want 42 or 43)", v)
	}
	entries, err := t.readIFD(ifdOff)
	if err != nil {
		return nil, err
	}
	return t, t.interpret(entries)
}

func (t *Tiff) readIFD(off uint64) (map[uint16]ifdEntry, error) {
	if off == 0 || int64(off) >= t.size {
		return nil, fmt.Errorf("tiff: IFD offset %d outside file of %d bytes", off, t.size)
	}
	var n uint64
	countLen, entryLen, inline := 2, 12, 4
	if t.big {
		countLen, entryLen, inline = 8, 20, 8
	}
	b := make([]byte, countLen)
	if _, err := t.r.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("tiff: reading IFD at %d: %w", off, err)
	}
	if t.big {
		n = t.order.Uint64(b)
	} else {
		n = uint64(t.order.Uint16(b))
	}
	if n == 0 || n > 4096 {
		return nil, fmt.Errorf("tiff: IFD at %d has %d entries", off, n)
	}
	raw := make([]byte, int(n)*entryLen)
	if _, err := t.r.ReadAt(raw, int64(off)+int64(countLen)); err != nil {
		return nil, fmt.Errorf("tiff: reading IFD entries at %d: %w", off, err)
	}
	out := make(map[uint16]ifdEntry, n)
	for i := 0; i < int(n); i++ {
		e := raw[i*entryLen:]
		en := ifdEntry{tag: t.order.Uint16(e), typ: t.order.Uint16(e[2:])}
		var vb []byte
		if t.big {
			en.count = t.order.Uint64(e[4:])
			vb = e[12:20]
		} else {
			en.count = uint64(t.order.Uint32(e[4:]))
			vb = e[8:12]
		}
		sz, ok := typeSize[en.typ]
		if !ok {
			continue // unknown type: skip the tag, as readers must
		}
		total := en.count * uint64(sz)
		if en.count > maxTagBytes || total > maxTagBytes { // the count too: count×size can wrap
			return nil, fmt.Errorf("tiff: tag %d has %d values of %d bytes", en.tag, en.count, sz)
		}
		if total <= uint64(inline) {
			en.value = append([]byte(nil), vb[:total]...)
		} else {
			var vo uint64
			if t.big {
				vo = t.order.Uint64(vb)
			} else {
				vo = uint64(t.order.Uint32(vb))
			}
			if vo+total > uint64(t.size) {
				return nil, fmt.Errorf("tiff: tag %d values at %d+%d beyond end of file (%d bytes)", en.tag, vo, total, t.size)
			}
			en.value = make([]byte, total)
			if _, err := t.r.ReadAt(en.value, int64(vo)); err != nil {
				return nil, fmt.Errorf("tiff: reading tag %d: %w", en.tag, err)
			}
		}
		out[en.tag] = en
	}
	return out, nil
}

// uints decodes an integer-typed tag.
func (t *Tiff) uints(e ifdEntry) []uint64 {
	sz := typeSize[e.typ]
	out := make([]uint64, 0, len(e.value)/sz)
	for i := 0; i+sz <= len(e.value); i += sz {
		switch e.typ {
		case 1, 6, 7:
			out = append(out, uint64(e.value[i]))
		case 3, 8:
			out = append(out, uint64(t.order.Uint16(e.value[i:])))
		case 4, 9:
			out = append(out, uint64(t.order.Uint32(e.value[i:])))
		case 16, 17, 18:
			out = append(out, t.order.Uint64(e.value[i:]))
		default:
			return nil
		}
	}
	return out
}

// floats decodes a DOUBLE (or FLOAT) tag.
func (t *Tiff) floats(e ifdEntry) []float64 {
	var out []float64
	switch e.typ {
	case 12:
		for i := 0; i+8 <= len(e.value); i += 8 {
			out = append(out, math.Float64frombits(t.order.Uint64(e.value[i:])))
		}
	case 11:
		for i := 0; i+4 <= len(e.value); i += 4 {
			out = append(out, float64(math.Float32frombits(t.order.Uint32(e.value[i:]))))
		}
	}
	return out
}

func (t *Tiff) interpret(es map[uint16]ifdEntry) error {
	one := func(tag uint16, def uint64) (uint64, error) {
		e, ok := es[tag]
		if !ok {
			return def, nil
		}
		v := t.uints(e)
		if len(v) == 0 {
			return 0, fmt.Errorf("tiff: tag %d has no integer value", tag)
		}
		for _, x := range v[1:] {
			if x != v[0] {
				return 0, fmt.Errorf("tiff: tag %d has differing values %v (one sample per pixel supported)", tag, v)
			}
		}
		return v[0], nil
	}
	var errs []error
	get := func(tag uint16, def uint64) int {
		v, err := one(tag, def)
		if err != nil {
			errs = append(errs, err)
		}
		if v > math.MaxInt32 {
			errs = append(errs, fmt.Errorf("tiff: tag %d value %d too large", tag, v))
			return 0
		}
		return int(v)
	}
	t.Width = get(tagImageWidth, 0)
	t.Height = get(tagImageLength, 0)
	t.bits = get(tagBitsPerSample, 1)
	t.comp = get(tagCompression, compNone)
	spp := get(tagSamplesPerPixel, 1)
	planar := get(tagPlanarConfig, 1)
	t.pred = get(tagPredictor, 1)
	t.format = get(tagSampleFormat, fmtUint)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if t.Width <= 0 || t.Height <= 0 {
		return fmt.Errorf("tiff: image size %d×%d (tags 256/257)", t.Width, t.Height)
	}
	if spp != 1 {
		return fmt.Errorf("tiff: SamplesPerPixel (tag 277) = %d unsupported: population grids have one band", spp)
	}
	if planar != 1 && planar != 2 {
		return fmt.Errorf("tiff: PlanarConfiguration (tag 284) = %d unsupported", planar)
	}
	switch t.comp {
	case compNone, compLZW, compDeflate, compDeflateOld:
	default:
		return fmt.Errorf("tiff: Compression (tag 259) = %d unsupported (supported: 1 none, 5 LZW, 8/32946 deflate)", t.comp)
	}
	switch t.pred {
	case 1, 2, 3:
	default:
		return fmt.Errorf("tiff: Predictor (tag 317) = %d unsupported (supported: 1, 2, 3)", t.pred)
	}
	switch {
	case t.format == fmtFloat && (t.bits == 32 || t.bits == 64):
	case (t.format == fmtUint || t.format == fmtInt) && (t.bits == 8 || t.bits == 16 || t.bits == 32):
	default:
		return fmt.Errorf("tiff: SampleFormat (tag 339) = %d with BitsPerSample (tag 258) = %d unsupported (supported: float32/64, int/uint 8/16/32)", t.format, t.bits)
	}
	if t.pred == 3 && t.format != fmtFloat {
		return fmt.Errorf("tiff: Predictor (tag 317) = 3 needs float samples, SampleFormat (tag 339) = %d", t.format)
	}
	if _, ok := es[tagTileWidth]; ok {
		t.tiled = true
		t.blockW = get(tagTileWidth, 0)
		t.blockH = get(tagTileLength, 0)
		oe, ok1 := es[tagTileOffsets]
		ce, ok2 := es[tagTileByteCounts]
		if !ok1 || !ok2 {
			return errors.New("tiff: tiled image without TileOffsets (324) or TileByteCounts (325)")
		}
		t.offsets, t.counts = t.uints(oe), t.uints(ce)
	} else {
		t.blockW = t.Width
		t.blockH = get(tagRowsPerStrip, uint64(t.Height))
		if t.blockH > t.Height {
			t.blockH = t.Height
		}
		oe, ok1 := es[tagStripOffsets]
		ce, ok2 := es[tagStripByteCounts]
		if !ok1 || !ok2 {
			return errors.New("tiff: striped image without StripOffsets (273) or StripByteCounts (279)")
		}
		t.offsets, t.counts = t.uints(oe), t.uints(ce)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if t.blockW <= 0 || t.blockH <= 0 || t.blockW > 1<<20 || t.blockH > 1<<24 || t.blockW*t.blockH*(t.bits/8) > 1<<30 {
		return fmt.Errorf("tiff: block size %d×%d unsupported", t.blockW, t.blockH)
	}
	need := t.blocksAcross() * t.blocksDown()
	if len(t.offsets) < need || len(t.counts) < need {
		return fmt.Errorf("tiff: %d block offsets and %d byte counts for %d blocks", len(t.offsets), len(t.counts), need)
	}
	if err := t.readGeo(es); err != nil {
		return err
	}
	if e, ok := es[tagGDALNoData]; ok {
		s := strings.TrimRight(strings.TrimSpace(string(e.value)), "\x00 ")
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("tiff: GDAL_NODATA (tag 42113) = %q is not a number", s)
		}
		t.NoData, t.HasNoData = v, true
	}
	return nil
}

func (t *Tiff) readGeo(es map[uint16]ifdEntry) error {
	if e, ok := es[tagModelTransformation]; ok {
		m := t.floats(e)
		if len(m) < 16 {
			return fmt.Errorf("tiff: ModelTransformation (tag 34264) has %d values, want 16", len(m))
		}
		if m[1] != 0 || m[4] != 0 {
			return fmt.Errorf("tiff: ModelTransformation (tag 34264) is rotated (%g, %g): only north-up grids are supported", m[1], m[4])
		}
		t.Geo = Geo{X0: m[3], Y0: m[7], DX: m[0], DY: -m[5]}
	} else {
		se, ok1 := es[tagModelPixelScale]
		te, ok2 := es[tagModelTiepoint]
		if !ok1 || !ok2 {
			return errors.New("tiff: no georeferencing: need ModelPixelScale (33550) + ModelTiepoint (33922), or ModelTransformation (34264)")
		}
		s, tp := t.floats(se), t.floats(te)
		if len(s) < 2 || len(tp) < 6 {
			return fmt.Errorf("tiff: ModelPixelScale (33550) has %d values / ModelTiepoint (33922) has %d, want ≥2 / ≥6", len(s), len(tp))
		}
		t.Geo = Geo{X0: tp[3] - tp[0]*s[0], Y0: tp[4] + tp[1]*s[1], DX: s[0], DY: s[1]}
	}
	if !(t.Geo.DX > 0) || !(t.Geo.DY > 0) || math.IsInf(t.Geo.DX, 0) || math.IsInf(t.Geo.DY, 0) {
		return fmt.Errorf("tiff: cell size %g×%g unsupported (north-up grids with positive scales only)", t.Geo.DX, t.Geo.DY)
	}
	return nil
}

func (t *Tiff) blocksAcross() int { return (t.Width + t.blockW - 1) / t.blockW }
func (t *Tiff) blocksDown() int   { return (t.Height + t.blockH - 1) / t.blockH }

// ReadAll reads the whole grid as float32, nodata as NaN.
func (t *Tiff) ReadAll() ([]float32, error) {
	return t.ReadWindow(0, 0, t.Width, t.Height)
}

// maxDecodeBuffers bounds the decoded-block buffers the workers of one
// ReadWindow hold at once: a file of a few huge strips gets fewer workers.
const maxDecodeBuffers = 256 << 20

// ReadWindow reads cols [col0, col0+w) × rows [row0, row0+h) as float32,
// row-major, nodata as NaN. Only the strips or tiles the window touches are
// read and decoded, on up to GOMAXPROCS goroutines: each block fills its own
// cells of the result, so the output does not depend on the scheduling. Safe
// for concurrent use (the Tiff is read-only after NewTiff; the io.ReaderAt
// must allow concurrent ReadAt, as its contract says).
func (t *Tiff) ReadWindow(col0, row0, w, h int) ([]float32, error) {
	return t.readWindow(nil, col0, row0, w, h)
}

// readWindow is ReadWindow with the result allocated in mem (arena.go).
func (t *Tiff) readWindow(mem *arena, col0, row0, w, h int) ([]float32, error) {
	if col0 < 0 || row0 < 0 || w <= 0 || h <= 0 || col0+w > t.Width || row0+h > t.Height {
		return nil, fmt.Errorf("tiff: window %d,%d %d×%d outside the %d×%d grid", col0, row0, w, h, t.Width, t.Height)
	}
	win := window{col0: col0, row0: row0, w: w, h: h, out: arenaAlloc[float32](mem, w*h)}
	var blocks [][2]int // (bx, by) of every block the window touches, in file order
	for by := row0 / t.blockH; by*t.blockH < row0+h; by++ {
		for bx := col0 / t.blockW; bx*t.blockW < col0+w; bx++ {
			blocks = append(blocks, [2]int{bx, by})
		}
	}
	workers := t.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(blocks), maxDecodeBuffers/(t.blockW*t.blockH*t.bits/8)))
	// Blocks are handed out in order; after a failure no later block is
	// decoded, and every earlier one was already handed out and finishes,
	// so the error returned is always the first failing block's.
	var failed atomic.Int64
	failed.Store(int64(len(blocks)))
	errs := make([]error, len(blocks))
	decoders := make([]blockDecoder, workers) // one per worker: buffers reused
	parallel.EachOn(workers, len(blocks), func(w, i int) {
		if int64(i) > failed.Load() {
			return
		}
		if err := t.decodeBlock(&decoders[w], blocks[i][0], blocks[i][1], &win); err != nil {
			errs[i] = err
			for f := failed.Load(); int64(i) < f && !failed.CompareAndSwap(f, int64(i)); f = failed.Load() {
			}
		}
	})
	if f := failed.Load(); f < int64(len(blocks)) {
		return nil, errs[f]
	}
	return win.out, nil
}

// window is the destination of a ReadWindow.
type window struct {
	col0, row0, w, h int
	out              []float32
}

// blockDecoder is one worker's scratch: workers share only the ReaderAt
// and the output, of which each block writes its own cells.
type blockDecoder struct {
	raw, buf, tmp []byte
	src           bytes.Reader
	fr            io.ReadCloser // reused across blocks (flate.Resetter)
}

// blockName says "strip 12" or "tile 3 (row 0, column 3)" for errors.
func (t *Tiff) blockName(bx, by int) string {
	if !t.tiled {
		return fmt.Sprintf("strip %d", by)
	}
	return fmt.Sprintf("tile %d (row %d, column %d)", by*t.blocksAcross()+bx, by, bx)
}

// decodeBlock reads, decompresses and un-predicts block (bx, by) and writes
// the cells of it that lie in the window.
func (t *Tiff) decodeBlock(d *blockDecoder, bx, by int, win *window) error {
	bpp := t.bits / 8
	rowBytes := t.blockW * bpp
	rows := t.blockH
	if !t.tiled && (by+1)*t.blockH > t.Height {
		rows = t.Height - by*t.blockH // last strip is short
	}
	if cap(d.buf) < rows*rowBytes {
		d.buf = make([]byte, rows*rowBytes)
	}
	buf := d.buf[:rows*rowBytes]
	if err := t.readBlock(d, by*t.blocksAcross()+bx, buf); err != nil {
		return fmt.Errorf("tiff: %s: %w", t.blockName(bx, by), err)
	}
	// Predictor 3 on float32 is left as byte planes: toFloats reads them.
	switch {
	case t.pred == 2:
		for r := 0; r < rows; r++ {
			unpredictHorizontal(buf[r*rowBytes:(r+1)*rowBytes], bpp, t.order)
		}
	case t.pred == 3:
		if cap(d.tmp) < rowBytes {
			d.tmp = make([]byte, rowBytes)
		}
		for r := 0; r < rows; r++ {
			row := buf[r*rowBytes : (r+1)*rowBytes]
			accumulate(row)
			if bpp != 4 {
				unplaneFloat(row, d.tmp[:rowBytes], bpp, t.order)
			}
		}
	}
	c0, c1 := max(bx*t.blockW, win.col0), min((bx+1)*t.blockW, win.col0+win.w, t.Width)
	for r := 0; r < rows; r++ {
		gr := by*t.blockH + r
		if gr < win.row0 || gr >= win.row0+win.h {
			continue
		}
		dst := win.out[(gr-win.row0)*win.w+c0-win.col0:][:c1-c0]
		t.toFloats(dst, buf[r*rowBytes:(r+1)*rowBytes], c0-bx*t.blockW)
	}
	return nil
}

// readBlock reads and decompresses block i into dst.
func (t *Tiff) readBlock(d *blockDecoder, i int, dst []byte) error {
	off, n := t.offsets[i], t.counts[i]
	if n == 0 {
		clear(dst) // sparse block (GDAL SPARSE_OK): all zero
		return nil
	}
	if off+n > uint64(t.size) || n > 1<<30 {
		return fmt.Errorf("at %d+%d beyond end of file (%d bytes)", off, n, t.size)
	}
	if uint64(cap(d.raw)) < n {
		d.raw = make([]byte, n)
	}
	raw := d.raw[:n]
	if _, err := t.r.ReadAt(raw, int64(off)); err != nil {
		return fmt.Errorf("reading %d bytes at %d: %w", n, off, err)
	}
	switch t.comp {
	case compNone:
		if len(raw) < len(dst) {
			return fmt.Errorf("%d bytes, want %d", len(raw), len(dst))
		}
		copy(dst, raw)
	case compDeflate, compDeflateOld:
		// A zlib stream: a 2-byte header, DEFLATE data, an Adler-32 of the
		// output. Reading stops at the block's size, before the trailer, so
		// the checksum would never be compared: inflate the DEFLATE data
		// directly rather than compute it (it cost ~6% of decoding).
		if len(raw) < 2 || raw[0]&0x0f != 8 || raw[0]>>4 > 7 || (uint16(raw[0])<<8|uint16(raw[1]))%31 != 0 {
			return errors.New("deflate: not a zlib stream (bad header)")
		}
		if raw[1]&0x20 != 0 {
			return errors.New("deflate: zlib preset dictionary unsupported")
		}
		d.src.Reset(raw[2:])
		if d.fr == nil {
			d.fr = flate.NewReader(&d.src)
		} else if err := d.fr.(flate.Resetter).Reset(&d.src, nil); err != nil {
			return fmt.Errorf("deflate: %w", err)
		}
		if _, err := io.ReadFull(d.fr, dst); err != nil {
			return fmt.Errorf("deflate: %w", err)
		}
	case compLZW:
		if err := lzwDecode(raw, dst); err != nil {
			return fmt.Errorf("LZW: %w", err)
		}
	}
	return nil
}

// toFloats converts samples [c, c+len(dst)) of one decoded block row,
// nodata to NaN. The sample layout is chosen once per row, not per sample.
func (t *Tiff) toFloats(dst []float32, row []byte, c int) {
	le := t.order == binary.LittleEndian
	switch {
	case t.bits == 32 && t.format == fmtFloat && t.pred == 3:
		// Byte planes, most significant first, whatever the byte order.
		n := len(row) / 4
		p0, p1, p2, p3 := row[c:n], row[n+c:2*n], row[2*n+c:3*n], row[3*n+c:]
		p1, p2, p3 = p1[:len(p0)], p2[:len(p0)], p3[:len(p0)]
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(p0[i])<<24 | uint32(p1[i])<<16 | uint32(p2[i])<<8 | uint32(p3[i]))
		}
	case t.bits == 32 && t.format == fmtFloat && le:
		src := row[4*c:]
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	default:
		for i := range dst {
			dst[i] = t.sample(row, c+i)
		}
	}
	if t.HasNoData {
		nodata := float32(t.NoData)
		nan := float32(math.NaN())
		for i, v := range dst {
			if v == nodata {
				dst[i] = nan
			}
		}
	}
}

func (t *Tiff) sample(b []byte, i int) float32 {
	switch t.bits {
	case 8:
		if t.format == fmtInt {
			return float32(int8(b[i]))
		}
		return float32(b[i])
	case 16:
		v := t.order.Uint16(b[2*i:])
		if t.format == fmtInt {
			return float32(int16(v))
		}
		return float32(v)
	case 32:
		v := t.order.Uint32(b[4*i:])
		switch t.format {
		case fmtFloat:
			return math.Float32frombits(v)
		case fmtInt:
			return float32(int32(v))
		}
		return float32(v)
	case 64:
		return float32(math.Float64frombits(t.order.Uint64(b[8*i:])))
	}
	return float32(math.NaN())
}

// unpredictHorizontal undoes TIFF predictor 2 (integer differences between
// neighbouring samples, in the file's byte order).
func unpredictHorizontal(row []byte, bpp int, order binary.ByteOrder) {
	switch bpp {
	case 1:
		accumulate(row)
	case 2:
		for i := 2; i+2 <= len(row); i += 2 {
			order.PutUint16(row[i:], order.Uint16(row[i:])+order.Uint16(row[i-2:]))
		}
	case 4:
		for i := 4; i+4 <= len(row); i += 4 {
			order.PutUint32(row[i:], order.Uint32(row[i:])+order.Uint32(row[i-4:]))
		}
	case 8:
		for i := 8; i+8 <= len(row); i += 8 {
			order.PutUint64(row[i:], order.Uint64(row[i:])+order.Uint64(row[i-8:]))
		}
	}
}

// accumulate undoes byte differencing along a row (predictor 3's first
// step, predictor 2 on bytes).
func accumulate(row []byte) {
	if len(row) == 0 {
		return
	}
	s := row[0]
	for i := 1; i < len(row); i++ {
		s += row[i]
		row[i] = s
	}
}

// unplaneFloat finishes TIFF predictor 3 for an accumulated row: each
// sample's bytes are stored as planes, most significant first; this
// restores samples in the file's byte order (float32 skips it: toFloats
// reads the planes directly).
func unplaneFloat(row, tmp []byte, bpp int, order binary.ByteOrder) {
	n := len(row) / bpp
	copy(tmp, row)
	big := order == binary.BigEndian
	for k := 0; k < bpp; k++ {
		plane := tmp[k*n : (k+1)*n]
		at := bpp - 1 - k // byte k of the big-endian form
		if big {
			at = k
		}
		for i, b := range plane {
			row[i*bpp+at] = b
		}
	}
}
