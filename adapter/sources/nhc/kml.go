package nhc

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// A small KMZ/KML reader: enough of KML 2.2 for NHC's GIS products
// (Document/Folder/Placemark, ExtendedData, Point, LineString, Polygon with
// outer and inner boundaries, MultiGeometry). Sizes are capped because a KMZ
// is a zip from outside: a zip bomb must fail, not fill memory.

// Limits bound what a KMZ may contain.
type Limits struct {
	// MaxEntries is the most files the zip may list.
	MaxEntries int
	// MaxKMLBytes is the most uncompressed bytes read from the KML entry.
	MaxKMLBytes int64
}

// DefaultLimits fit every NHC product with a wide margin (cones and radii
// KML are tens of kB; the largest, wind speed probabilities, a few MB).
var DefaultLimits = Limits{MaxEntries: 32, MaxKMLBytes: 32 << 20}

// Placemark is one KML Placemark.
type Placemark struct {
	Name        string
	Description string
	// Folder is the name of the innermost Folder holding the placemark.
	Folder string
	// Data holds ExtendedData Data values and SchemaData SimpleData fields
	// by name; NHC uses both.
	Data     map[string]string
	Geometry orb.Geometry
}

// Field looks a data field up case-insensitively, trying each name in turn.
func (p Placemark) Field(names ...string) string {
	for _, n := range names {
		if v, ok := p.Data[n]; ok {
			return v
		}
		for k, v := range p.Data {
			if strings.EqualFold(k, n) {
				return v
			}
		}
	}
	return ""
}

// ReadKMZ reads the KML document inside a KMZ (doc.kml, else the first
// .kml entry). A body that is already KML (starts with '<') is read as is.
func ReadKMZ(data []byte, lim Limits) ([]Placemark, error) {
	if t := bytes.TrimSpace(fetch.TrimBOM(data)); len(t) > 0 && t[0] == '<' {
		if int64(len(data)) > lim.MaxKMLBytes {
			return nil, fmt.Errorf("KML larger than %d bytes", lim.MaxKMLBytes)
		}
		return ParseKML(bytes.NewReader(data))
	}
	if len(data) == 0 {
		return nil, errors.New("empty body where a KMZ was expected")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("not a KMZ (zip): %w (starts %q)", err, fetch.Snippet(data[:min(len(data), 64)]))
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, fmt.Errorf("KMZ lists %d entries, more than the limit of %d", len(zr.File), lim.MaxEntries)
	}
	var entry *zip.File
	for _, f := range zr.File {
		if !strings.EqualFold(path.Ext(f.Name), ".kml") {
			continue
		}
		if entry == nil || strings.EqualFold(path.Base(f.Name), "doc.kml") {
			entry = f
		}
	}
	if entry == nil {
		return nil, errors.New("KMZ holds no .kml entry")
	}
	if entry.UncompressedSize64 > uint64(lim.MaxKMLBytes) {
		return nil, fmt.Errorf("KMZ entry %s is %d bytes uncompressed, more than the limit of %d", entry.Name, entry.UncompressedSize64, lim.MaxKMLBytes)
	}
	rc, err := entry.Open()
	if err != nil {
		return nil, fmt.Errorf("KMZ entry %s: %w", entry.Name, err)
	}
	defer rc.Close()
	// The header's size may lie: cap what is actually inflated too.
	b, err := io.ReadAll(io.LimitReader(rc, lim.MaxKMLBytes+1))
	if err != nil {
		return nil, fmt.Errorf("KMZ entry %s: %w", entry.Name, err)
	}
	if int64(len(b)) > lim.MaxKMLBytes {
		return nil, fmt.Errorf("KMZ entry %s inflates past the limit of %d bytes", entry.Name, lim.MaxKMLBytes)
	}
	pms, err := ParseKML(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("KMZ entry %s: %w", entry.Name, err)
	}
	return pms, nil
}

type xmlData struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value"`
}

type xmlSimple struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

type xmlPolygon struct {
	Outer string `xml:"outerBoundaryIs>LinearRing>coordinates"`
	Inner []struct {
		Coords string `xml:"LinearRing>coordinates"`
	} `xml:"innerBoundaryIs"`
}

type xmlGeometry struct {
	Points   []string      `xml:"Point>coordinates"`
	Lines    []string      `xml:"LineString>coordinates"`
	Rings    []string      `xml:"LinearRing>coordinates"`
	Polygons []xmlPolygon  `xml:"Polygon"`
	Multi    []xmlGeometry `xml:"MultiGeometry"`
}

type xmlPlacemark struct {
	Name        string `xml:"name"`
	Description string `xml:"description"`
	Extended    struct {
		Data       []xmlData `xml:"Data"`
		SchemaData []struct {
			Simple []xmlSimple `xml:"SimpleData"`
		} `xml:"SchemaData"`
	} `xml:"ExtendedData"`
	xmlGeometry
}

// ParseKML reads every Placemark of a KML document, at any Folder depth.
// Errors name the line where the XML broke.
func ParseKML(r io.Reader) ([]Placemark, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	var folders []string // folder name stack ("" until the name is seen)
	var depthKinds []string
	var out []Placemark
	sawKML := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, _ := dec.InputPos()
			return nil, fmt.Errorf("malformed KML at line %d: %w", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "kml":
				sawKML = true
				depthKinds = append(depthKinds, t.Name.Local)
			case "Placemark":
				var xp xmlPlacemark
				if err := dec.DecodeElement(&xp, &t); err != nil {
					line, _ := dec.InputPos()
					return nil, fmt.Errorf("malformed KML Placemark ending at line %d: %w", line, err)
				}
				pm, err := xp.placemark()
				if err != nil {
					line, _ := dec.InputPos()
					return nil, fmt.Errorf("KML Placemark %q ending at line %d: %w", xp.Name, line, err)
				}
				if len(folders) > 0 {
					pm.Folder = folders[len(folders)-1]
				}
				out = append(out, pm)
			case "Folder":
				folders = append(folders, "")
				depthKinds = append(depthKinds, t.Name.Local)
			case "name":
				if len(depthKinds) > 0 && depthKinds[len(depthKinds)-1] == "Folder" {
					var n string
					if err := dec.DecodeElement(&n, &t); err != nil {
						line, _ := dec.InputPos()
						return nil, fmt.Errorf("malformed KML at line %d: %w", line, err)
					}
					folders[len(folders)-1] = strings.TrimSpace(n)
					continue
				}
				depthKinds = append(depthKinds, t.Name.Local)
			default:
				depthKinds = append(depthKinds, t.Name.Local)
			}
		case xml.EndElement:
			if len(depthKinds) > 0 {
				depthKinds = depthKinds[:len(depthKinds)-1]
			}
			if t.Name.Local == "Folder" && len(folders) > 0 {
				folders = folders[:len(folders)-1]
			}
		}
	}
	if !sawKML {
		return nil, errors.New("not KML: no <kml> element")
	}
	return out, nil
}

func (xp xmlPlacemark) placemark() (Placemark, error) {
	pm := Placemark{Name: strings.TrimSpace(xp.Name), Description: strings.TrimSpace(xp.Description), Data: map[string]string{}}
	for _, d := range xp.Extended.Data {
		pm.Data[d.Name] = strings.TrimSpace(d.Value)
	}
	for _, sd := range xp.Extended.SchemaData {
		for _, s := range sd.Simple {
			pm.Data[s.Name] = strings.TrimSpace(s.Value)
		}
	}
	g, err := xp.geometry(0)
	if err != nil {
		return pm, err
	}
	pm.Geometry = g
	return pm, nil
}

// geometry flattens a (Multi)Geometry: one part comes back as itself,
// several polygons as a MultiPolygon, mixed parts as a Collection.
func (xg xmlGeometry) geometry(depth int) (orb.Geometry, error) {
	if depth > 8 {
		return nil, errors.New("MultiGeometry nested too deep")
	}
	var parts []orb.Geometry
	for _, c := range xg.Points {
		ps, err := parseCoords(c)
		if err != nil {
			return nil, fmt.Errorf("Point: %w", err)
		}
		if len(ps) != 1 {
			return nil, fmt.Errorf("Point: %d positions, want 1", len(ps))
		}
		parts = append(parts, ps[0])
	}
	for _, c := range xg.Lines {
		ps, err := parseCoords(c)
		if err != nil {
			return nil, fmt.Errorf("LineString: %w", err)
		}
		parts = append(parts, orb.LineString(ps))
	}
	for _, c := range xg.Rings {
		ps, err := parseCoords(c)
		if err != nil {
			return nil, fmt.Errorf("LinearRing: %w", err)
		}
		parts = append(parts, orb.Polygon{orb.Ring(ps)})
	}
	for _, xp := range xg.Polygons {
		outer, err := parseCoords(xp.Outer)
		if err != nil {
			return nil, fmt.Errorf("Polygon outerBoundaryIs: %w", err)
		}
		p := orb.Polygon{orb.Ring(outer)}
		for i, in := range xp.Inner {
			ps, err := parseCoords(in.Coords)
			if err != nil {
				return nil, fmt.Errorf("Polygon innerBoundaryIs %d: %w", i, err)
			}
			p = append(p, orb.Ring(ps))
		}
		parts = append(parts, p)
	}
	for _, m := range xg.Multi {
		g, err := m.geometry(depth + 1)
		if err != nil {
			return nil, err
		}
		if g != nil {
			parts = append(parts, g)
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		return parts[0], nil
	}
	var mp orb.MultiPolygon
	for _, p := range parts {
		switch t := p.(type) {
		case orb.Polygon:
			mp = append(mp, t)
		case orb.MultiPolygon:
			mp = append(mp, t...)
		default:
			return orb.Collection(parts), nil
		}
	}
	return mp, nil
}

// parseCoords reads KML coordinates: whitespace-separated "lon,lat[,alt]".
func parseCoords(s string) ([]orb.Point, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, errors.New("no coordinates")
	}
	out := make([]orb.Point, 0, len(fields))
	for _, f := range fields {
		parts := strings.Split(f, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("coordinate %q: want lon,lat[,alt]", clip(f))
		}
		lon, err1 := strconv.ParseFloat(parts[0], 64)
		lat, err2 := strconv.ParseFloat(parts[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("coordinate %q: not numbers", clip(f))
		}
		out = append(out, orb.Point{lon, lat})
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
