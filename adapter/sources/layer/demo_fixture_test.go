package layer

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite generated fixtures (fixtures/demo/feeds/layer/flood_extent.geojson)")

// river is a made-up river of Demoland: a gently meandering centre line.
type river struct {
	eventID, name, observed string
	from, to                [2]float64
	meanderAmp              float64 // degrees, perpendicular to the course
	meanders                float64 // full waves along the course
}

// demoRivers are the two flooded valleys of the demo (Demoland is lon
// 60–64, lat 10–14): the main river crossing the country north-west to
// south-east, and a northern tributary.
var demoRivers = []river{
	{eventID: "DML-FL-2026-0001", name: "Demo River flood extent (SAR, 2026-11-22)", observed: "2026-11-22T05:40:00Z",
		from: [2]float64{60.0, 13.3}, to: [2]float64{64.0, 10.7}, meanderAmp: 0.18, meanders: 3},
	{eventID: "DML-FL-2026-0002", name: "North Creek flood extent (SAR, 2026-11-22)", observed: "2026-11-22T05:40:00Z",
		from: [2]float64{63.6, 14.0}, to: [2]float64{62.3, 12.05}, meanderAmp: 0.08, meanders: 2},
}

// Depth classes are cumulative like every footprint band: the Low extent
// contains Medium, which contains High (depth >= 0.3 m, 1 m, 2 m).
var demoBands = []struct {
	class     string
	halfWidth float64 // degrees either side of the river
	depthM    float64
}{{"Low", 0.16, 0.3}, {"Medium", 0.09, 1.0}, {"High", 0.035, 2.0}}

// centreLine samples the river's meandering course.
func (r river) centreLine(n int) [][2]float64 {
	dx, dy := r.to[0]-r.from[0], r.to[1]-r.from[1]
	l := math.Hypot(dx, dy)
	nx, ny := -dy/l, dx/l
	out := make([][2]float64, n+1)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		off := r.meanderAmp * math.Sin(2*math.Pi*r.meanders*t)
		out[i] = [2]float64{r.from[0] + t*dx + off*nx, r.from[1] + t*dy + off*ny}
	}
	return out
}

// buffer is the band polygon: the centre line offset to both banks.
func buffer(line [][2]float64, half float64) [][][2]float64 {
	left := make([][2]float64, len(line))
	right := make([][2]float64, len(line))
	for i := range line {
		a, b := line[max(i-1, 0)], line[min(i+1, len(line)-1)]
		dx, dy := b[0]-a[0], b[1]-a[1]
		l := math.Hypot(dx, dy)
		nx, ny := -dy/l*half, dx/l*half
		left[i] = [2]float64{round5(line[i][0] + nx), round5(line[i][1] + ny)}
		right[i] = [2]float64{round5(line[i][0] - nx), round5(line[i][1] - ny)}
	}
	ring := append([][2]float64{}, right...)
	for i := len(left) - 1; i >= 0; i-- {
		ring = append(ring, left[i])
	}
	ring = append(ring, ring[0])
	return [][][2]float64{ring}
}

func round5(x float64) float64 { return math.Round(x*1e5) / 1e5 }

// demoFloodExtent writes the demo GeoJSON in the shape GDAL writes
// (FeatureCollection with a CRS84 crs member and a name).
func demoFloodExtent() []byte {
	type feature struct {
		Type       string         `json:"type"`
		ID         int            `json:"id"`
		Properties map[string]any `json:"properties"`
		Geometry   map[string]any `json:"geometry"`
	}
	var feats []feature
	id := 0
	for _, r := range demoRivers {
		line := r.centreLine(48)
		for _, b := range demoBands {
			id++
			feats = append(feats, feature{Type: "Feature", ID: id,
				Properties: map[string]any{"event_id": r.eventID, "name": r.name, "depth_class": b.class,
					"depth_m": b.depthM, "observed": r.observed, "source": "Demoland Hydromet Service (made-up demo data)"},
				Geometry: map[string]any{"type": "Polygon", "coordinates": buffer(line, b.halfWidth)}})
		}
	}
	// One feature per line: small diffs when the generator changes.
	var buf bytes.Buffer
	buf.WriteString(`{"type": "FeatureCollection", "name": "flood_extent",` + "\n")
	buf.WriteString(`"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},` + "\n")
	buf.WriteString(`"features": [` + "\n")
	for i, f := range feats {
		b, err := json.Marshal(f)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
		if i < len(feats)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes()
}

// TestDemoFloodExtentFixture keeps the committed demo file equal to its
// generator; `go test ./adapter/sources/layer -run DemoFlood -update`
// rewrites it.
func TestDemoFloodExtentFixture(t *testing.T) {
	path := testutil.Fixture(t, "demo", "feeds", "layer", "flood_extent.geojson")
	want := demoFloodExtent()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, want, 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "fixture differs from its generator; rerun with -update")
}
