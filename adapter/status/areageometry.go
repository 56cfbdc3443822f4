package status

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/parallel"
)

// AreaGeometryVersion names how the preview spells geometry
// (appendGeometry, simplifyGeometry, simplifyTolerance). Bump it whenever
// any of them changes its output: TestAreaGeometryVersionPinsTheOutput
// fails, naming the new digest, until it is bumped.
const AreaGeometryVersion = 1

// AreaGeometry is every area's geometry as the dry-run preview writes it:
// simplified for map.html, rounded to 1e-7° for values.geojson. Spelling
// it is most of a preview's CPU at country size (~0.3 CPU-s for 5,130
// areas of ~300 vertices) and depends on the areas alone, so the daemon
// keeps it in the state dir (written by a start that is not a dry run, like
// the prepared areas) and a preview copies it instead.
type AreaGeometry struct {
	// Area i: map.html's geometry b[off[2i]:off[2i+1]], values.geojson's
	// b[off[2i+1]:off[2i+2]].
	off []uint64
	b   []byte
}

// EncodeAreaGeometry spells the areas' geometry, on every core.
func EncodeAreaGeometry(areas []indicators.Area) (*AreaGeometry, error) {
	tol := simplifyTolerance(areas)
	parts := make([][]byte, len(areas))
	splits := make([]int, len(areas))
	errs := make([]error, len(areas))
	const per = 32
	parallel.Each((len(areas)+per-1)/per, func(_, c int) {
		for i := c * per; i < min(len(areas), (c+1)*per); i++ {
			b, err := appendMapGeometry(nil, areas[i].Geometry, tol)
			splits[i] = len(b)
			if err == nil {
				b, err = appendGeometry(b, areas[i].Geometry, valuesCoordScale)
			}
			parts[i], errs[i] = b, err
		}
	})
	n := 0
	for i, p := range parts {
		if errs[i] != nil {
			return nil, fmt.Errorf("area %s: %w", areas[i].Code, errs[i])
		}
		n += len(p)
	}
	g := &AreaGeometry{off: make([]uint64, 0, 2*len(areas)+1), b: make([]byte, 0, n)}
	for i, p := range parts {
		g.off = append(g.off, uint64(len(g.b)), uint64(len(g.b)+splits[i]))
		g.b = append(g.b, p...)
	}
	g.off = append(g.off, uint64(len(g.b)))
	return g, nil
}

// Len is the number of areas.
func (g *AreaGeometry) Len() int { return (len(g.off) - 1) / 2 }

// part is area i's geometry for map.html (forMap) or values.geojson.
func (g *AreaGeometry) part(i int, forMap bool) []byte {
	if forMap {
		return g.b[g.off[2*i]:g.off[2*i+1]]
	}
	return g.b[g.off[2*i+1]:g.off[2*i+2]]
}

const areaGeometryMagic = "HSAREAGEOJSON\x00"

var areaGeometryCRC = crc32.MakeTable(crc32.Castagnoli)

// Encode is the file: magic, version, count, offsets, bytes, CRC-32C.
func (g *AreaGeometry) Encode() []byte {
	out := make([]byte, 0, len(areaGeometryMagic)+8+8*len(g.off)+len(g.b)+4)
	out = append(out, areaGeometryMagic...)
	out = binary.LittleEndian.AppendUint32(out, AreaGeometryVersion)
	out = binary.LittleEndian.AppendUint32(out, uint32(g.Len()))
	for _, o := range g.off {
		out = binary.LittleEndian.AppendUint64(out, o)
	}
	out = append(out, g.b...)
	return binary.LittleEndian.AppendUint32(out, crc32Checksum(out))
}

func crc32Checksum(b []byte) uint32 { return crc32.Checksum(b, areaGeometryCRC) }

// DecodeAreaGeometry reads what Encode wrote for n areas; the result
// shares b.
func DecodeAreaGeometry(b []byte, n int) (*AreaGeometry, error) {
	head := len(areaGeometryMagic) + 8
	if len(b) < head+4 || !bytes.HasPrefix(b, []byte(areaGeometryMagic)) {
		return nil, errors.New("not an area geometry file")
	}
	body := b[:len(b)-4]
	if crc32Checksum(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errors.New("checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[len(areaGeometryMagic):]); v != AreaGeometryVersion {
		return nil, fmt.Errorf("version %d, want %d", v, AreaGeometryVersion)
	}
	if got := int(binary.LittleEndian.Uint32(b[len(areaGeometryMagic)+4:])); got != n {
		return nil, fmt.Errorf("%d areas, want %d", got, n)
	}
	nOff := 2*n + 1
	if (len(body)-head)/8 < nOff {
		return nil, errors.New("offsets cut short")
	}
	g := &AreaGeometry{off: make([]uint64, nOff), b: body[head+8*nOff:]}
	for i := range g.off {
		g.off[i] = binary.LittleEndian.Uint64(body[head+8*i:])
		if (i == 0 && g.off[0] != 0) || (i > 0 && g.off[i] < g.off[i-1]) {
			return nil, fmt.Errorf("offset %d out of order", i)
		}
	}
	if g.off[nOff-1] != uint64(len(g.b)) {
		return nil, fmt.Errorf("%d bytes of geometry, offsets say %d", len(g.b), g.off[nOff-1])
	}
	return g, nil
}
