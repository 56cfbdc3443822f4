package areas

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/internal/parallel"
)

// decodeFeatures reads a GeoJSON FeatureCollection: each feature's
// geometry and properties (id, bbox and foreign members are checked, not
// kept). A country's admin layer is tens of MB of coordinates, and decoding
// it through encoding/json and orb's geojson package scans every number
// three times and builds a RawMessage per geometry: 7.5 of a cold `once`'s
// 46 CPU-s on make bench-e2e's 66 MB file. The common shape of such a file
// (Polygon, MultiPolygon, Point and line geometries with numeric positions;
// properties of any kind) is read here in one pass; anything else (escapes
// in keys, a GeometryCollection, positions that are not 2 or 3 numbers,
// invalid JSON, ...) goes to orb's decoder, which then gives exactly what
// it always gave, errors included.
func decodeFeatures(b []byte) ([]*geojson.Feature, error) {
	if fs, err := fastFeatures(b); err == nil {
		return fs, nil
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, err
	}
	return fc.Features, nil
}

// errSlow sends a document to orb's decoder.
var errSlow = errors.New("geojson: not on the fast path")

type scan struct {
	b []byte
	i int
}

func fastFeatures(b []byte) ([]*geojson.Feature, error) {
	s := &scan{b: b}
	var fs []*geojson.Feature
	typ := ""
	seen := map[string]bool{}
	err := s.object(func(key string) error {
		if seen[key] {
			return errSlow
		}
		seen[key] = true
		switch key {
		case "type":
			t, err := s.str()
			typ = t
			return err
		case "features":
			// Each feature's bytes first (a bracket scan), then the
			// features read on every core: a country's admin-2 file is
			// tens of MB of coordinates.
			var raws [][]byte
			if err := s.array(func() error {
				raw, err := s.skip()
				raws = append(raws, raw)
				return err
			}); err != nil {
				return err
			}
			var err error
			fs, err = parseFeatures(raws)
			return err
		case "bbox":
			return s.bbox()
		default:
			return s.validValue()
		}
	})
	if err != nil {
		return nil, err
	}
	if s.ws(); s.i != len(s.b) || typ != "FeatureCollection" {
		return nil, errSlow
	}
	return fs, nil
}

// parseFeatures reads each feature's bytes on GOMAXPROCS goroutines; any
// feature off the fast path sends the whole document to orb's decoder, as
// reading them in turn did.
func parseFeatures(raws [][]byte) ([]*geojson.Feature, error) {
	fs := make([]*geojson.Feature, len(raws))
	var slow atomic.Bool
	parallel.Each(len(raws), func(_, i int) {
		if slow.Load() {
			return
		}
		sub := &scan{b: raws[i]}
		f, err := sub.feature()
		if sub.ws(); err != nil || sub.i != len(sub.b) {
			slow.Store(true)
			return
		}
		fs[i] = f
	})
	if slow.Load() {
		return nil, errSlow
	}
	return fs, nil
}

func (s *scan) feature() (*geojson.Feature, error) {
	f := &geojson.Feature{}
	seen := map[string]bool{}
	err := s.object(func(key string) error {
		if seen[key] {
			return errSlow
		}
		seen[key] = true
		switch key {
		case "type":
			t, err := s.str()
			f.Type = t
			return err
		case "geometry":
			g, err := s.geometry()
			f.Geometry = g
			return err
		case "properties":
			raw, err := s.skip()
			if err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &f.Properties); err != nil {
				return errSlow
			}
			return nil
		case "bbox":
			return s.bbox()
		default: // id and foreign members: any valid JSON
			return s.validValue()
		}
	})
	if err != nil {
		return nil, err
	}
	if f.Type != "Feature" {
		return nil, errSlow
	}
	return f, nil
}

// geometry reads a geometry object (or null) of the six coordinate types.
func (s *scan) geometry() (orb.Geometry, error) {
	if s.literal("null") {
		return nil, nil
	}
	typ := ""
	var c *coords
	seen := map[string]bool{}
	err := s.object(func(key string) error {
		// encoding/json matches struct fields case-insensitively and
		// orb's geometry is such a struct: only exact keys are fast.
		if seen[key] || key != "type" && key != "coordinates" && (strings.EqualFold(key, "type") || strings.EqualFold(key, "coordinates") || strings.EqualFold(key, "geometries")) {
			// Also "geometries" itself: orb decodes it, and may fail on it.
			return errSlow
		}
		seen[key] = true
		switch key {
		case "type":
			t, err := s.str()
			typ = t
			return err
		case "coordinates":
			var err error
			c, err = s.coords(0)
			return err
		default:
			return s.validValue()
		}
	})
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errSlow // absent or null coordinates: orb's own handling
	}
	depth := map[string]int{"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}
	d, ok := depth[typ]
	if !ok || !c.hasDepth(d) {
		return nil, errSlow
	}
	switch typ {
	case "Point":
		return c.pt, nil
	case "MultiPoint":
		return orb.MultiPoint(c.points()), nil
	case "LineString":
		return orb.LineString(c.points()), nil
	case "MultiLineString":
		out := make(orb.MultiLineString, len(c.kids))
		for i, k := range c.kids {
			out[i] = k.points()
		}
		return out, nil
	case "Polygon":
		return c.polygon(), nil
	default:
		out := make(orb.MultiPolygon, len(c.kids))
		for i, k := range c.kids {
			out[i] = k.polygon()
		}
		return out, nil
	}
}

// coords is a coordinates array: a position, a list of positions (read
// straight into points), or an array of coordinates arrays one level
// deeper.
type coords struct {
	pos  bool
	pt   orb.Point
	list bool
	pts  []orb.Point
	kids []*coords
}

// hasDepth reports whether every leaf is a position exactly d arrays down.
func (c *coords) hasDepth(d int) bool {
	switch {
	case c.pos:
		return d == 0
	case c.list:
		return d == 1
	case d == 0:
		return false
	}
	for _, k := range c.kids {
		if !k.hasDepth(d - 1) {
			return false
		}
	}
	return true
}

func (c *coords) points() []orb.Point {
	if c.pts == nil {
		return []orb.Point{}
	}
	return c.pts
}

func (c *coords) polygon() orb.Polygon {
	out := make(orb.Polygon, len(c.kids))
	for i, k := range c.kids {
		out[i] = orb.Ring(k.points())
	}
	return out
}

// peek is the first byte after the '[' at s.i and any spaces (0 at the end).
func (s *scan) peek() byte {
	j := s.i + 1
	for j < len(s.b) && isSpace(s.b[j]) {
		j++
	}
	if j < len(s.b) {
		return s.b[j]
	}
	return 0
}

func isNumStart(c byte) bool { return c == '-' || c >= '0' && c <= '9' }

// position reads [x, y] or [x, y, z] (z dropped).
func (s *scan) position() (orb.Point, error) {
	var nums [3]float64
	n := 0
	err := s.array(func() error {
		v, err := s.number()
		if err != nil {
			return err
		}
		if n == 3 {
			return errSlow
		}
		nums[n] = v
		n++
		return nil
	})
	if err != nil || n < 2 {
		return orb.Point{}, errSlow
	}
	return orb.Point{nums[0], nums[1]}, nil
}

// coords reads a coordinates array of any depth.
func (s *scan) coords(depth int) (*coords, error) {
	if depth > 8 {
		return nil, errSlow
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '[' {
		return nil, errSlow
	}
	first := s.peek()
	if isNumStart(first) {
		p, err := s.position()
		return &coords{pos: true, pt: p}, err
	}
	if first == '[' {
		j := s.i
		s.ws()
		s.i++ // look past the outer '[' at the first element
		s.ws()
		isList := isNumStart(s.peek())
		s.i = j
		if isList {
			c := &coords{list: true}
			err := s.array(func() error {
				p, err := s.position()
				c.pts = append(c.pts, p)
				return err
			})
			return c, err
		}
	}
	c := &coords{kids: []*coords{}}
	err := s.array(func() error {
		k, err := s.coords(depth + 1)
		c.kids = append(c.kids, k)
		return err
	})
	return c, err
}

// bbox checks a bbox member as orb reads it: an array of numbers.
func (s *scan) bbox() error {
	raw, err := s.skip()
	if err != nil {
		return err
	}
	var v []float64
	if json.Unmarshal(raw, &v) != nil {
		return errSlow
	}
	return nil
}

// validValue skips a value that orb decodes into an interface: any valid
// JSON.
func (s *scan) validValue() error {
	raw, err := s.skip()
	if err != nil || !json.Valid(raw) {
		return errSlow
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scan) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

func (s *scan) literal(lit string) bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling fn with the reader on each
// value.
func (s *scan) object(fn func(key string) error) error {
	return s.seq('{', '}', func() error {
		k, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errSlow
		}
		s.i++
		return fn(k)
	})
}

// array reads [value, ...], calling fn with the reader on each value.
func (s *scan) array(fn func() error) error { return s.seq('[', ']', fn) }

// seq reads open item, item, ... close, calling item for each.
func (s *scan) seq(open, close byte, item func() error) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != open {
		return errSlow
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errSlow
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			return nil
		default:
			return errSlow
		}
	}
}

// str reads a string of plain ASCII without escapes (keys, type names);
// anything else is for orb's decoder.
func (s *scan) str() (string, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", errSlow
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			out := string(s.b[s.i+1 : j])
			s.i = j + 1
			return out, nil
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", errSlow
		}
	}
	return "", errSlow
}

// number reads a JSON number (the grammar checked, as encoding/json does)
// into a float64; out of range is for orb's decoder (an error there).
func (s *scan) number() (float64, error) {
	s.ws()
	b, i := s.b, s.i
	start := i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return 0, errSlow
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, errSlow
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, errSlow
		}
	}
	v, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil {
		return 0, errSlow
	}
	s.i = i
	return v, nil
}

// skip passes over one value of any kind and returns its bytes; it finds
// the value's end, validation is the caller's.
func (s *scan) skip() ([]byte, error) {
	s.ws()
	start := s.i
	depth := 0
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '"':
			j := s.i + 1
			for ; j < len(s.b) && s.b[j] != '"'; j++ {
				if s.b[j] == '\\' {
					j++
				}
			}
			if j >= len(s.b) {
				return nil, errSlow
			}
			s.i = j + 1
		case '{', '[':
			depth++
			s.i++
		case '}', ']':
			if depth == 0 {
				return s.b[start:s.i], nil
			}
			depth--
			s.i++
		case ',':
			if depth == 0 {
				return s.b[start:s.i], nil
			}
			s.i++
		default:
			s.i++
		}
		if depth == 0 && s.i > start && (s.b[s.i-1] == '"' || s.b[s.i-1] == '}' || s.b[s.i-1] == ']') {
			return s.b[start:s.i], nil
		}
	}
	if depth == 0 && s.i > start {
		return s.b[start:s.i], nil
	}
	return nil, errSlow
}
