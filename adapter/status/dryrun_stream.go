package status

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/indicators"
)

// The dry-run preview writes areasCollection's GeoJSON by hand: at country
// size (5,130 areas of ~300 vertices, 35,000 values) building the orb
// collection, marshalling it through reflection and re-indenting it cost
// ~4 CPU-s per preview. writeAreasCollection spells every member exactly as
// json.Marshal(areasCollection(…)) does (same keys, order, numbers and
// escapes; the tests compare the bytes), streams it through a bufio.Writer
// and encodes the features on GOMAXPROCS goroutines, writing them in area
// order.

// collectionLayout is the whitespace between features: none for the data
// inlined in map.html, a newline for values.geojson (one feature per line:
// half the size of the old indented file and still greppable by area).
type collectionLayout int

const (
	layoutCompact collectionLayout = iota
	layoutLines
)

// areasJSON is one areasCollection to write.
type areasJSON struct {
	areas  []indicators.Area
	values []indicators.Value
	// attrs[i] is values[i].Attributes as JSON, nil when it has none.
	attrs  [][]byte
	byCode map[string][]int32
	// simplified: geometries simplified with tol and rounded to 1e-5, as
	// areasCollection(…, true) does.
	simplified bool
	tol        float64
	// scale: without simplification, coordinates are rounded to 1/scale
	// (0: written as they are).
	scale float64
	// geom, when set, is the areas' geometry already encoded (map.html's
	// and values.geojson's spellings).
	geom *AreaGeometry
	tail []byte // the members after "features"
}

func newAreasJSON(areas []indicators.Area, defs []indicators.Definition, values []indicators.Value, attrs [][]byte, simplified bool) (*areasJSON, error) {
	c := &areasJSON{areas: areas, values: values, attrs: attrs, byCode: make(map[string][]int32, len(areas)), simplified: simplified}
	for i, v := range values {
		c.byCode[v.Code] = append(c.byCode[v.Code], int32(i))
	}
	if simplified {
		c.tol = simplifyTolerance(areas)
	}
	infos, err := json.Marshal(indicatorInfos(defs, values))
	if err != nil {
		return nil, err
	}
	c.tail = append(c.tail, `],"indicators":`...)
	c.tail = append(c.tail, infos...)
	c.tail = append(c.tail, `,"levels":[`...)
	for i, l := range areaLevels(areas) {
		if i > 0 {
			c.tail = append(c.tail, ',')
		}
		c.tail = strconv.AppendInt(c.tail, int64(l), 10)
	}
	c.tail = append(c.tail, `],"type":"FeatureCollection"}`...)
	return c, nil
}

// attributesJSON encodes values' attributes, each map once: the values
// to send share their attribute maps with the current ones.
type attributesJSON struct {
	seen map[uintptr][]byte
}

// encode is each value's attributes as JSON, nil when it has none.
func (e *attributesJSON) encode(values []indicators.Value) ([][]byte, error) {
	if e.seen == nil {
		e.seen = make(map[uintptr][]byte, len(values))
	}
	out := make([][]byte, len(values))
	var arena []byte
	var err error
	for i, v := range values {
		if len(v.Attributes) == 0 {
			continue
		}
		id := reflect.ValueOf(v.Attributes).Pointer()
		if b, ok := e.seen[id]; ok {
			out[i] = b
			continue
		}
		if cap(arena)-len(arena) < 4<<10 {
			arena = make([]byte, 0, 256<<10) // earlier slices keep the old one
		}
		start := len(arena)
		if arena, err = appendJSONObject(arena, v.Attributes); err != nil {
			return nil, fmt.Errorf("attributes of %s: %w", v.Key(), err)
		}
		out[i] = arena[start:len(arena):len(arena)]
		e.seen[id] = out[i]
	}
	return out, nil
}

// writeAreasCollection writes c to w in the given layout.
func writeAreasCollection(w io.Writer, c *areasJSON, layout collectionLayout) error {
	head := `{"features":[`
	if layout == layoutLines && len(c.areas) > 0 {
		head += "\n"
	}
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	sep := ","
	if layout == layoutLines {
		sep = ",\n"
	}
	err := writeOrdered(w, len(c.areas), 32, func(b []byte, i int) ([]byte, error) {
		if i > 0 {
			b = append(b, sep...)
		}
		b, err := c.appendFeature(b, i)
		if err != nil {
			return b, fmt.Errorf("area %s: %w", c.areas[i].Code, err)
		}
		return b, nil
	})
	if err != nil {
		return err
	}
	tail := c.tail
	if layout == layoutLines {
		if len(c.areas) > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		tail = append(tail[:len(tail):len(tail)], '\n')
	}
	_, err = w.Write(tail)
	return err
}

// Property kinds of one feature, written in key order.
const (
	propUcode = iota
	propName
	propAdminLevel
	propParent
	propPopulation
	propUnder18
	propAttributes
	propDates
	propValue
)

type featureProp struct {
	key  string
	kind int
	vi   int32 // the value, for propValue
}

// indicatorRef is one entry of "attributes" or "dates": the last value of
// that indicator for the area (later values win, as map assignment did).
type indicatorRef struct {
	indicator string
	vi        int32
}

// appendFeature appends area a as the Feature areasCollection builds for
// it: {"id","type","geometry","properties"} with the properties sorted.
func (c *areasJSON) appendFeature(b []byte, i int) ([]byte, error) {
	a := &c.areas[i]
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONString(b, a.Code)
	b = append(b, `,"type":"Feature","geometry":`...)
	switch {
	case c.geom != nil && c.simplified:
		b = append(b, c.geom.part(i, true)...)
	case c.geom != nil && c.scale == valuesCoordScale:
		b = append(b, c.geom.part(i, false)...)
	case c.simplified:
		b, err = appendMapGeometry(b, a.Geometry, c.tol)
	default:
		b, err = appendGeometry(b, a.Geometry, c.scale)
	}
	if err != nil {
		return b, err
	}

	var propsBuf [24]featureProp
	var datesBuf, attrsBuf [16]indicatorRef
	props := append(propsBuf[:0],
		featureProp{key: "ucode", kind: propUcode},
		featureProp{key: "name", kind: propName},
		featureProp{key: "admin_level", kind: propAdminLevel},
		featureProp{key: "attributes", kind: propAttributes},
		featureProp{key: "dates", kind: propDates})
	if len(a.Parents) > 0 {
		props = append(props, featureProp{key: "parent", kind: propParent})
	}
	if a.Baseline.Population != nil {
		props = append(props, featureProp{key: "population", kind: propPopulation})
	}
	if a.Baseline.Under18 != nil {
		props = append(props, featureProp{key: "under18", kind: propUnder18})
	}
	fixed := len(props)
	dates, attrs := datesBuf[:0], attrsBuf[:0]
	for _, vi := range c.byCode[a.Code] {
		v := &c.values[vi]
		props = setProp(props, fixed, propertyFor(v.Indicator), vi)
		dates = setRef(dates, v.Indicator, vi)
		if len(v.Attributes) > 0 {
			attrs = setRef(attrs, v.Indicator, vi)
		}
	}
	slices.SortFunc(props, func(x, y featureProp) int { return strings.Compare(x.key, y.key) })
	slices.SortFunc(dates, func(x, y indicatorRef) int { return strings.Compare(x.indicator, y.indicator) })
	slices.SortFunc(attrs, func(x, y indicatorRef) int { return strings.Compare(x.indicator, y.indicator) })

	b = append(b, `,"properties":{`...)
	for i, p := range props {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p.key)
		b = append(b, ':')
		switch p.kind {
		case propUcode:
			b = appendJSONString(b, a.Code)
		case propName:
			b = appendJSONString(b, a.Name)
		case propAdminLevel:
			b = strconv.AppendInt(b, int64(a.Level), 10)
		case propParent:
			b = appendJSONString(b, a.Parents[0])
		case propPopulation:
			b, err = appendJSONFloat(b, *a.Baseline.Population)
		case propUnder18:
			b, err = appendJSONFloat(b, *a.Baseline.Under18)
		case propAttributes:
			b = appendByIndicator(b, attrs, func(b []byte, vi int32) []byte { return append(b, c.attrs[vi]...) })
		case propDates:
			b = appendByIndicator(b, dates, func(b []byte, vi int32) []byte {
				return appendJSONString(b, string(c.values[vi].Date))
			})
		case propValue:
			switch x := c.values[p.vi].Payload().(type) {
			case string:
				b = appendJSONString(b, x)
			case float64:
				b, err = appendJSONFloat(b, x)
			default:
				b, err = appendJSONValue(b, x)
			}
		}
		if err != nil {
			return b, fmt.Errorf("%s: %w", p.key, err)
		}
	}
	return append(b, "}}"...), nil
}

// setProp sets the value property key (after the fixed ones) to vi.
// appendByIndicator writes an object keyed by the refs' shortcodes, each
// member's value written by value from the ref's value index.
func appendByIndicator(b []byte, refs []indicatorRef, value func(b []byte, vi int32) []byte) []byte {
	b = append(b, '{')
	for j, r := range refs {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, r.indicator)
		b = append(b, ':')
		b = value(b, r.vi)
	}
	return append(b, '}')
}

func setProp(props []featureProp, fixed int, key string, vi int32) []featureProp {
	for i := fixed; i < len(props); i++ {
		if props[i].key == key {
			props[i].vi = vi
			return props
		}
	}
	return append(props, featureProp{key: key, kind: propValue, vi: vi})
}

func setRef(refs []indicatorRef, indicator string, vi int32) []indicatorRef {
	for i := range refs {
		if refs[i].indicator == indicator {
			refs[i].vi = vi
			return refs
		}
	}
	return append(refs, indicatorRef{indicator: indicator, vi: vi})
}

// appendMapGeometry appends g as map.html and the status page spell it:
// simplified with tol and rounded to 1e-5 (as written, when tol is 0).
func appendMapGeometry(b []byte, g orb.Geometry, tol float64) ([]byte, error) {
	if tol > 0 {
		return appendGeometry(b, simplifyGeometry(g, tol), 0)
	}
	return appendGeometry(b, g, 0)
}

// appendGeometry appends g as orb's geojson.Geometry marshals it, with
// coordinates rounded to 1/scale (as orb.Round(g, scale) does; 0: as they
// are). Polygons and multipolygons (every area in practice) are written
// directly.
func appendGeometry(b []byte, g orb.Geometry, scale float64) ([]byte, error) {
	var err error
	switch g := g.(type) {
	case nil:
		return append(b, "null"...), nil
	case orb.Polygon:
		b = append(b, `{"type":"Polygon","coordinates":`...)
		if b, err = appendPolygon(b, g, scale); err != nil {
			return b, err
		}
		return append(b, '}'), nil
	case orb.MultiPolygon:
		b = append(b, `{"type":"MultiPolygon","coordinates":`...)
		if g == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, p := range g {
				if i > 0 {
					b = append(b, ',')
				}
				if b, err = appendPolygon(b, p, scale); err != nil {
					return b, err
				}
			}
			b = append(b, ']')
		}
		return append(b, '}'), nil
	default:
		if scale > 0 {
			g = orb.Round(orb.Clone(g), int(scale))
		}
		m, err := geojson.NewGeometry(g).MarshalJSON()
		if err != nil {
			return b, err
		}
		return append(b, m...), nil
	}
}

func appendPolygon(b []byte, p orb.Polygon, scale float64) ([]byte, error) {
	if p == nil {
		return append(b, "null"...), nil
	}
	var err error
	b = append(b, '[')
	for i, r := range p {
		if i > 0 {
			b = append(b, ',')
		}
		if r == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, pt := range r {
			if j > 0 {
				b = append(b, ',')
			}
			if scale > 0 {
				pt = orb.Point{math.Round(pt[0]*scale) / scale, math.Round(pt[1]*scale) / scale}
			}
			b = append(b, '[')
			if b, err = appendCoord(b, pt[0]); err != nil {
				return b, err
			}
			b = append(b, ',')
			if b, err = appendCoord(b, pt[1]); err != nil {
				return b, err
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// appendCoord spells a coordinate as appendJSONFloat does. A coordinate
// with at most 7 decimals (every rounded map coordinate, and most
// published boundaries) is the double nearest to n/1e7 for an integer n;
// its shortest round-trip spelling is that decimal (any other decimal that
// close to it has more digits), so it is written with integer arithmetic,
// several times cheaper than the shortest-digits search.
func appendCoord(b []byte, f float64) ([]byte, error) {
	n := math.Round(f * 1e7)
	if n/1e7 != f || math.Abs(f) < 1e-6 || math.Abs(n) >= 1e15 {
		return appendJSONFloat(b, f) // also NaN, ±Inf, 0 and -0
	}
	i := int64(n)
	if i < 0 {
		b = append(b, '-')
		i = -i
	}
	b = strconv.AppendInt(b, i/1e7, 10)
	frac := i % 1e7
	if frac == 0 {
		return b, nil
	}
	// Seven digits written in place (no copy from a scratch array), then
	// the trailing zeros cut.
	at := len(b)
	b = append(b, '.', '0', '0', '0', '0', '0', '0', '0')
	for k := at + 7; frac > 0; k-- {
		b[k] = byte('0' + frac%10)
		frac /= 10
	}
	end := len(b)
	for b[end-1] == '0' {
		end--
	}
	return b[:end], nil
}

// writeOrdered writes enc(i) for i in [0,n), in order, encoding chunks of
// per items on GOMAXPROCS goroutines. At most a few chunks are held at
// once, so memory stays bounded whatever n is.
func writeOrdered(w io.Writer, n, per int, enc func(b []byte, i int) ([]byte, error)) error {
	type result struct {
		b   []byte
		err error
	}
	workers := runtime.GOMAXPROCS(0)
	done := make(chan struct{})
	defer close(done)
	pending := make(chan chan result, 2*workers) // in chunk order
	sem := make(chan struct{}, workers)
	// Buffers go back to free once written: at most pending's chunks plus
	// the workers' exist at once.
	free := make(chan []byte, 3*workers)
	go func() {
		defer close(pending)
		for lo := 0; lo < n; lo += per {
			hi := min(lo+per, n)
			ch := make(chan result, 1)
			select {
			case pending <- ch:
			case <-done:
				return
			}
			select {
			case sem <- struct{}{}:
			case <-done:
				return
			}
			go func() {
				defer func() { <-sem }()
				var b []byte
				select {
				case b = <-free:
				default:
					b = make([]byte, 0, 512<<10)
				}
				var err error
				for i := lo; i < hi && err == nil; i++ {
					b, err = enc(b, i)
				}
				ch <- result{b, err}
			}()
		}
	}()
	for ch := range pending {
		r := <-ch
		if r.err != nil {
			return r.err
		}
		if _, err := w.Write(r.b); err != nil {
			return err
		}
		select {
		case free <- r.b[:0]:
		default:
		}
	}
	return nil
}

// writeFileAtomicFunc writes what fn writes through a temporary file,
// renamed at the end, so a reader never sees half a preview.
func writeFileAtomicFunc(path string, fn func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fn(bw); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
