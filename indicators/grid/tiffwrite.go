package grid

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
)

// WriteOptions says how WriteTiff lays out a float32 grid.
type WriteOptions struct {
	// Tile is the tile edge (a multiple of 16); 0 writes strips of
	// RowsPerStrip rows (default 16).
	Tile         int
	RowsPerStrip int
	Deflate      bool
	// FloatPredictor applies TIFF predictor 3 (with Deflate it makes
	// smooth float surfaces much smaller).
	FloatPredictor bool
	// NoData, when non-nil, is written as GDAL_NODATA; NaN cells are stored
	// as this value.
	NoData *float64
}

// WriteTiff writes a single-band float32 GeoTIFF (classic TIFF, little
// endian, geographic WGS84) of width×height values, row-major. It is the
// minimal writer the demo generator, the benchmark workload and the tests
// share; the reader is checked against GDAL-written files, not only this.
func WriteTiff(w io.Writer, vals []float32, width, height int, g Geo, o WriteOptions) error {
	if len(vals) != width*height || width <= 0 || height <= 0 {
		return fmt.Errorf("tiff: %d values for a %d×%d grid", len(vals), width, height)
	}
	bw, bh := width, o.RowsPerStrip
	if o.Tile > 0 {
		if o.Tile%16 != 0 {
			return fmt.Errorf("tiff: tile size %d is not a multiple of 16", o.Tile)
		}
		bw, bh = o.Tile, o.Tile
	} else if bh <= 0 {
		bh = 16
	}
	across, down := (width+bw-1)/bw, (height+bh-1)/bh
	var nodata float32
	if o.NoData != nil {
		nodata = float32(*o.NoData)
	}
	// Encode blocks first so their offsets are known.
	var blocks [][]byte
	raw := make([]byte, bw*bh*4)
	tmp := make([]byte, bw*4)
	for by := 0; by < down; by++ {
		for bx := 0; bx < across; bx++ {
			rows := bh
			if o.Tile == 0 && (by+1)*bh > height {
				rows = height - by*bh
			}
			blk := raw[:rows*bw*4]
			clear(blk)
			for r := 0; r < rows; r++ {
				gr := by*bh + r
				if gr >= height {
					break
				}
				for c := 0; c < bw; c++ {
					gc := bx*bw + c
					if gc >= width {
						break
					}
					v := vals[gr*width+gc]
					if v != v && o.NoData != nil {
						v = nodata
					}
					binary.LittleEndian.PutUint32(blk[(r*bw+c)*4:], math.Float32bits(v))
				}
				if o.FloatPredictor {
					predictFloat(blk[r*bw*4:(r+1)*bw*4], tmp)
				}
			}
			if o.Deflate {
				var b bytes.Buffer
				zw, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
				zw.Write(blk)
				zw.Close()
				blocks = append(blocks, b.Bytes())
			} else {
				blocks = append(blocks, append([]byte(nil), blk...))
			}
		}
	}
	type entry struct {
		tag, typ uint16
		count    uint32
		data     []byte
	}
	le := binary.LittleEndian
	u16 := func(v ...uint16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			le.PutUint16(b[2*i:], x)
		}
		return b
	}
	u32 := func(v ...uint32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], x)
		}
		return b
	}
	f64 := func(v ...float64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			le.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	comp, pred := uint16(compNone), uint16(1)
	if o.Deflate {
		comp = compDeflate
	}
	if o.FloatPredictor {
		pred = 3
	}
	n := len(blocks)
	offs, counts := make([]uint32, n), make([]uint32, n)
	es := []entry{
		{tagImageWidth, 4, 1, u32(uint32(width))},
		{tagImageLength, 4, 1, u32(uint32(height))},
		{tagBitsPerSample, 3, 1, u16(32)},
		{tagCompression, 3, 1, u16(comp)},
		{262, 3, 1, u16(1)}, // Photometric: min-is-black
		{tagSamplesPerPixel, 3, 1, u16(1)},
		{tagPlanarConfig, 3, 1, u16(1)},
		{tagPredictor, 3, 1, u16(pred)},
		{tagSampleFormat, 3, 1, u16(fmtFloat)},
		{tagModelPixelScale, 12, 3, f64(g.DX, g.DY, 0)},
		{tagModelTiepoint, 12, 6, f64(0, 0, 0, g.X0, g.Y0, 0)},
		// GeoKeyDirectory: model type geographic, raster pixel-is-area, WGS 84.
		{34735, 3, 16, u16(1, 1, 0, 3, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326)},
	}
	if o.NoData != nil {
		s := strconv.FormatFloat(*o.NoData, 'g', -1, 64) + "\x00"
		es = append(es, entry{tagGDALNoData, 2, uint32(len(s)), []byte(s)})
	}
	if o.Tile > 0 {
		es = append(es, entry{tagTileWidth, 3, 1, u16(uint16(bw))}, entry{tagTileLength, 3, 1, u16(uint16(bh))},
			entry{tagTileOffsets, 4, uint32(n), nil}, entry{tagTileByteCounts, 4, uint32(n), nil})
	} else {
		es = append(es, entry{tagRowsPerStrip, 4, 1, u32(uint32(bh))},
			entry{tagStripOffsets, 4, uint32(n), nil}, entry{tagStripByteCounts, 4, uint32(n), nil})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].tag < es[j].tag })
	// Layout: header, IFD, out-of-line tag data, blocks.
	ifdSize := 2 + 12*len(es) + 4
	pos := 8 + ifdSize
	extra := 0
	for _, e := range es {
		l := int(e.count) * map[uint16]int{2: 1, 3: 2, 4: 4, 12: 8}[e.typ]
		if l > 4 {
			extra += l + l%2
		}
	}
	dataPos := uint32(pos + extra)
	for i, b := range blocks {
		offs[i], counts[i] = dataPos, uint32(len(b))
		dataPos += uint32(len(b))
	}
	if uint64(dataPos) > math.MaxUint32 {
		return fmt.Errorf("tiff: %d bytes do not fit a classic TIFF", dataPos)
	}
	for i := range es {
		switch es[i].tag {
		case tagTileOffsets, tagStripOffsets:
			es[i].data = u32(offs...)
		case tagTileByteCounts, tagStripByteCounts:
			es[i].data = u32(counts...)
		}
	}
	var hdr bytes.Buffer
	hdr.WriteString("II")
	hdr.Write(u16(42))
	hdr.Write(u32(8))
	hdr.Write(u16(uint16(len(es))))
	var ool bytes.Buffer
	for _, e := range es {
		hdr.Write(u16(e.tag, e.typ))
		hdr.Write(u32(e.count))
		if len(e.data) <= 4 {
			v := make([]byte, 4)
			copy(v, e.data)
			hdr.Write(v)
		} else {
			hdr.Write(u32(uint32(pos + ool.Len())))
			ool.Write(e.data)
			if len(e.data)%2 == 1 {
				ool.WriteByte(0)
			}
		}
	}
	hdr.Write(u32(0))
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	if _, err := w.Write(ool.Bytes()); err != nil {
		return err
	}
	for _, b := range blocks {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// predictFloat applies TIFF predictor 3 to one row of little-endian float32.
func predictFloat(row, tmp []byte) {
	n := len(row) / 4
	for i := 0; i < n; i++ {
		for k := 0; k < 4; k++ {
			tmp[k*n+i] = row[i*4+3-k]
		}
	}
	for i := len(tmp[:len(row)]) - 1; i > 0; i-- {
		tmp[i] -= tmp[i-1]
	}
	copy(row, tmp[:len(row)])
}
