package nhc

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

// The generator of the NHC fixtures. NHC's cone, track and radii KMZ
// are not stored anywhere we can copy, so they are written here in NHC's
// KML layout (Document/Folder/Placemark with ExtendedData; shapefile field
// names STORMNAME, ADVISNUM, FCSTPRD, TAU, VALIDTIME, MAXWIND, RADII).
// Run: go test ./adapter/sources/nhc -run TestGenerateFixtures -gen

var gen = flag.Bool("gen", false, "regenerate fixtures/nhc and fixtures/demo/feeds/nhc")

type genPoint struct {
	tau      int
	lon, lat float64
	maxwind  float64
	dvlbl    string
}

type genStorm struct {
	id, name, class, adv string
	issued               time.Time
	points               []genPoint
	pressure             int
	radii                bool   // write forecast/initial radii KMZ
	brokenRadii          bool   // write a corrupt radii KMZ
	urlBase              string // prefix of kmzFile URLs
}

// Atlantic cone radii (nmi) by lead time, NHC 2023.
var coneRadiusNmi = map[int]float64{0: 10, 12: 26, 24: 39, 36: 53, 48: 67, 60: 81, 72: 99, 96: 145, 120: 205}

const nmi = 1852.0

func bearing(a, b orb.Point) float64 { return geo.Bearing(a, b) }

// cone: the envelope of circles along the track, drawn as left offsets,
// an end cap, right offsets back and a start cap.
func (s genStorm) cone() orb.Polygon {
	var left, right []orb.Point
	n := len(s.points)
	for i, p := range s.points {
		c := orb.Point{p.lon, p.lat}
		var br float64
		switch {
		case i+1 < n:
			br = bearing(c, orb.Point{s.points[i+1].lon, s.points[i+1].lat})
		default:
			br = bearing(orb.Point{s.points[i-1].lon, s.points[i-1].lat}, c)
		}
		r := coneRadiusNmi[p.tau] * nmi
		left = append(left, geo.PointAtBearingAndDistance(c, br-90, r))
		right = append(right, geo.PointAtBearingAndDistance(c, br+90, r))
	}
	last := s.points[n-1]
	lc := orb.Point{last.lon, last.lat}
	lbr := bearing(orb.Point{s.points[n-2].lon, s.points[n-2].lat}, lc)
	ring := orb.Ring{}
	ring = append(ring, left...)
	for a := -80.0; a <= 80; a += 20 {
		ring = append(ring, geo.PointAtBearingAndDistance(lc, lbr+a, coneRadiusNmi[last.tau]*nmi))
	}
	for i := n - 1; i >= 0; i-- {
		ring = append(ring, right[i])
	}
	first := s.points[0]
	fc := orb.Point{first.lon, first.lat}
	fbr := bearing(fc, orb.Point{s.points[1].lon, s.points[1].lat})
	for a := 100.0; a <= 260; a += 20 {
		ring = append(ring, geo.PointAtBearingAndDistance(fc, fbr+a, coneRadiusNmi[first.tau]*nmi))
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// radiiPolygon: quadrant radii (NE, SE, SW, NW) drawn as arcs, as NHC does.
func radiiPolygon(c orb.Point, q [4]float64) orb.Polygon {
	var ring orb.Ring
	for qi := 0; qi < 4; qi++ {
		for a := 0.0; a <= 90; a += 15 {
			ring = append(ring, geo.PointAtBearingAndDistance(c, float64(qi)*90+a, q[qi]*nmi))
		}
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// quadrants derives plausible radii from the max wind: larger for
// stronger storms, larger on the right-front (NE for westward motion in
// the northern hemisphere is right-rear; real storms vary).
func quadrants(maxwind float64, kt int) ([4]float64, bool) {
	if maxwind < float64(kt) {
		return [4]float64{}, false
	}
	base := 40 + (maxwind-34)*1.2
	scale := map[int]float64{34: 1, 50: 0.5, 64: 0.28}[kt]
	r := base * scale
	return [4]float64{r, r * 0.85, r * 0.6, r * 0.8}, true
}

func coords(ps []orb.Point) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.4f,%.4f,0", p[0], p[1])
	}
	return b.String()
}

func extended(kv ...string) string {
	var b strings.Builder
	b.WriteString("<ExtendedData><SchemaData schemaUrl=\"#nhcSchema\">")
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "<SimpleData name=\"%s\">%s</SimpleData>", kv[i], kv[i+1])
	}
	b.WriteString("</SchemaData></ExtendedData>")
	return b.String()
}

func kmlDoc(name, folder, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
<name>` + name + `</name>
<Style id="nhcStyle"><LineStyle><color>ff0000ff</color><width>2</width></LineStyle><PolyStyle><color>7dffffff</color></PolyStyle></Style>
<Folder>
<name>` + folder + `</name>
` + body + `</Folder>
</Document>
</kml>
`
}

func (s genStorm) advDate() string { return s.issued.Format("1504 UTC Mon Jan 02 2006") }

func (s genStorm) coneKML() string {
	p := s.cone()
	body := `<Placemark>
<name>` + strings.ToUpper(s.id) + ` Forecast Cone</name>
<styleUrl>#nhcStyle</styleUrl>
` + extended("STORMNAME", strings.ToUpper(s.name), "STORMTYPE", s.class, "ADVDATE", s.advDate(), "ADVISNUM", s.adv,
		"STORMNUM", s.id[2:4], "FCSTPRD", "120", "BASIN", s.id[:2]) + `
<Polygon><outerBoundaryIs><LinearRing><coordinates>` + coords(p[0]) + `</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark>
`
	return kmlDoc(strings.ToUpper(s.id)+" "+s.name+" Advisory #"+s.adv+" Forecast Cone", "Forecast Cone", body)
}

func (s genStorm) trackKML() string {
	var b strings.Builder
	var line []orb.Point
	for _, p := range s.points {
		v := s.issued.Truncate(6 * time.Hour).Add(time.Duration(p.tau) * time.Hour)
		line = append(line, orb.Point{p.lon, p.lat})
		fmt.Fprintf(&b, `<Placemark>
<name>%s %s (%d h)</name>
<description><![CDATA[<table><tr><td><b>Valid at:</b> %s</td></tr><tr><td>Maximum Wind: %.0f knots</td></tr></table>]]></description>
%s
<Point><coordinates>%.4f,%.4f,0</coordinates></Point>
</Placemark>
`, p.dvlbl, s.name, p.tau, v.Format("1504 UTC Jan 02"), p.maxwind,
			extended("STORMNAME", strings.ToUpper(s.name), "TAU", fmt.Sprint(p.tau), "VALIDTIME", v.Format("02/1504"),
				"MAXWIND", fmt.Sprintf("%.0f", p.maxwind), "GUST", fmt.Sprintf("%.0f", p.maxwind*1.2), "DVLBL", p.dvlbl, "ADVISNUM", s.adv),
			p.lon, p.lat)
	}
	fmt.Fprintf(&b, "<Placemark>\n<name>%s Forecast Track</name>\n<LineString><coordinates>%s</coordinates></LineString>\n</Placemark>\n", s.name, coords(line))
	return kmlDoc(strings.ToUpper(s.id)+" "+s.name+" Advisory #"+s.adv+" Forecast Track", "Forecast Track", b.String())
}

func (s genStorm) radiiKML(initial bool) string {
	var b strings.Builder
	for _, p := range s.points {
		if initial && p.tau != 0 {
			continue
		}
		if p.tau > 72 { // NHC forecasts radii to 72 h
			continue
		}
		v := s.issued.Truncate(6 * time.Hour).Add(time.Duration(p.tau) * time.Hour)
		for _, kt := range []int{34, 50, 64} {
			q, ok := quadrants(p.maxwind, kt)
			if !ok {
				continue
			}
			poly := radiiPolygon(orb.Point{p.lon, p.lat}, q)
			fmt.Fprintf(&b, `<Placemark>
<name>%d knot winds (%d h)</name>
%s
<Polygon><outerBoundaryIs><LinearRing><coordinates>%s</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark>
`, kt, p.tau, extended("RADII", fmt.Sprintf("%d.0", kt), "STORMID", s.id, "ADVNUM", s.adv, "TAU", fmt.Sprint(p.tau),
				"VALIDTIME", v.Format("02/1504"), "NE", fmt.Sprintf("%.0f", q[0]), "SE", fmt.Sprintf("%.0f", q[1]),
				"SW", fmt.Sprintf("%.0f", q[2]), "NW", fmt.Sprintf("%.0f", q[3])), coords(poly[0]))
		}
	}
	folder := "Forecast Wind Radii"
	if initial {
		folder = "Initial Wind Extent"
	}
	return kmlDoc(strings.ToUpper(s.id)+" "+s.name+" Advisory #"+s.adv+" "+folder, folder, b.String())
}

func kmz(kml string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "doc.kml", Method: zip.Deflate, Modified: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	_, _ = w.Write([]byte(kml))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func (s genStorm) file(kind string) string {
	up := strings.ToUpper(s.id)
	switch kind {
	case "cone":
		return up + "_" + s.adv + "adv_CONE.kmz"
	case "track":
		return up + "_" + s.adv + "adv_TRACK.kmz"
	case "fradii":
		return up + "_forecastradii_" + s.adv + "adv.kmz"
	case "iradii":
		return up + "_initialradii_" + s.adv + "adv.kmz"
	}
	panic(kind)
}

// write writes the storm's KMZ files into dir and returns its
// CurrentStorms.json entry.
func (s genStorm) write(t *testing.T, dir string) map[string]any {
	files := map[string][]byte{s.file("cone"): kmz(s.coneKML()), s.file("track"): kmz(s.trackKML())}
	if s.radii {
		files[s.file("fradii")] = kmz(s.radiiKML(false))
		files[s.file("iradii")] = kmz(s.radiiKML(true))
	}
	if s.brokenRadii {
		files[s.file("fradii")] = []byte("<html><body>404 Not Found</body></html>")
	}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	iss := s.issued.Format("2006-01-02T15:04:05.000Z")
	prod := func(kind string, zipName string) map[string]any {
		return map[string]any{"advNum": s.adv, "issuance": iss,
			"zipFile": "https://www.nhc.noaa.gov/gis/forecast/archive/" + zipName, "kmzFile": s.urlBase + s.file(kind)}
	}
	p0 := s.points[0]
	hemiLat := fmt.Sprintf("%.1fN", p0.lat)
	hemiLon := fmt.Sprintf("%.1fE", p0.lon)
	if p0.lon < 0 {
		hemiLon = fmt.Sprintf("%.1fW", -p0.lon)
	}
	text := func(code string) map[string]any {
		return map[string]any{"advNum": s.adv, "issuance": iss, "url": "https://www.nhc.noaa.gov/text/MIA" + code + ".shtml"}
	}
	storm := map[string]any{
		"id": s.id, "binNumber": "AT" + s.id[3:4], "name": s.name, "classification": s.class,
		"intensity": fmt.Sprintf("%.0f", p0.maxwind), "pressure": fmt.Sprint(s.pressure),
		"latitude": hemiLat, "longitude": hemiLon, "latitudeNumeric": p0.lat, "longitudeNumeric": p0.lon,
		"movementDir": 290, "movementSpeed": 12, "lastUpdate": iss,
		"publicAdvisory": text("TCPAT4"), "forecastAdvisory": text("TCMAT4"), "forecastDiscussion": text("TCDAT4"),
		"forecastTrack": prod("track", s.id+"_5day_"+s.adv+".zip"),
		"trackCone":     prod("cone", s.id+"_5day_"+s.adv+".zip"),
		"windWatchesWarnings": map[string]any{"advNum": s.adv, "issuance": iss,
			"kmzFile": s.urlBase + strings.ToUpper(s.id) + "_" + s.adv + "adv_WW.kmz"},
		"stormSurgeWatchWarningGIS": nil, "potentialStormSurgeFloodingGIS": nil,
	}
	if s.radii || s.brokenRadii {
		storm["forecastWindRadiiGIS"] = prod("fradii", s.id+"_fcst_"+s.adv+".zip")
	}
	if s.radii {
		storm["initialWindExtent"] = prod("iradii", s.id+"_fcst_"+s.adv+".zip")
	}
	return storm
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.MarshalIndent(v, "", "\t")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
}

// fixtureStorms: a hurricane with every product and a tropical storm whose
// radii KMZ is broken (the server answered an HTML page).
func fixtureStorms() []genStorm {
	iss := time.Date(2026, 9, 14, 15, 0, 0, 0, time.UTC)
	return []genStorm{
		{id: "al142026", name: "Teresa", class: "HU", adv: "012", issued: iss, pressure: 971, radii: true,
			urlBase: "https://www.nhc.noaa.gov/storm_graphics/api/",
			points: []genPoint{{0, -68.4, 16.1, 85, "H"}, {12, -69.9, 16.6, 95, "H"}, {24, -71.5, 17.2, 105, "M"},
				{36, -73.0, 17.9, 110, "M"}, {48, -74.4, 18.8, 100, "M"}, {72, -77.0, 20.9, 85, "H"},
				{96, -79.1, 23.4, 75, "H"}, {120, -80.6, 26.2, 65, "H"}}},
		{id: "ep202026", name: "Victor", class: "TS", adv: "005A", issued: iss.Add(-6 * time.Hour), pressure: 1002, brokenRadii: true,
			urlBase: "https://www.nhc.noaa.gov/storm_graphics/api/",
			points: []genPoint{{0, -108.2, 14.0, 40, "S"}, {12, -109.4, 14.5, 45, "S"}, {24, -110.7, 15.1, 50, "S"},
				{36, -112.0, 15.6, 50, "S"}, {48, -113.3, 16.0, 45, "S"}, {72, -115.8, 16.6, 35, "S"},
				{96, -118.0, 17.0, 30, "D"}, {120, -120.0, 17.2, 25, "D"}}},
	}
}

// demoStorm crosses Demoland (lon 60-64, lat 10-14) west-north-westwards,
// reaching major hurricane strength over it a day and a half ahead.
func demoStorm() genStorm {
	return genStorm{id: "al992026", name: "Orla", class: "HU", adv: "014", issued: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC),
		pressure: 968, radii: true, urlBase: "file://feeds/nhc/",
		points: []genPoint{{0, 67.6, 10.6, 75, "H"}, {12, 66.3, 11.0, 85, "H"}, {24, 64.9, 11.5, 95, "H"},
			{36, 63.4, 12.0, 105, "M"}, {48, 61.9, 12.5, 100, "M"}, {60, 60.5, 13.0, 90, "H"},
			{72, 59.2, 13.4, 75, "H"}, {96, 56.8, 14.3, 55, "S"}, {120, 54.5, 15.1, 40, "S"}}}
}

func TestGenerateFixtures(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to regenerate fixtures/nhc and fixtures/demo/feeds/nhc")
	}
	dir := testutil.Fixture(t, "nhc")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	var storms []any
	for _, s := range fixtureStorms() {
		storms = append(storms, s.write(t, dir))
	}
	writeJSON(t, filepath.Join(dir, "CurrentStorms.json"), map[string]any{"activeStorms": storms})
	writeJSON(t, filepath.Join(dir, "CurrentStorms_none.json"), map[string]any{"activeStorms": []any{}})

	demo := testutil.Fixture(t, "demo", "feeds", "nhc")
	require.NoError(t, os.MkdirAll(demo, 0o755))
	writeJSON(t, filepath.Join(demo, "CurrentStorms.json"), map[string]any{"activeStorms": []any{demoStorm().write(t, demo)}})
}

func flagUpdate() *bool { return flag.Bool("update", false, "rewrite golden files") }
