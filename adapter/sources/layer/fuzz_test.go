package layer

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// FuzzIngest feeds arbitrary pages through decoding, CRS checks, property
// mapping and geometry hygiene. Whatever the input, nothing panics, and what
// comes out obeys the event model.
func FuzzIngest(f *testing.F) {
	seeds, _ := filepath.Glob(testutil.Fixture(f, "layer", "*.geojson"))
	seeds = append(seeds, testutil.Fixture(f, "layer", "arcgis_error_498.json"),
		testutil.Fixture(f, "demo", "feeds", "layer", "flood_extent.geojson"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`{"type":"Feature","properties":{"depth_class":"HIGH","depth_m":"2.5","event_id":7,"observed":1795586400000},"geometry":{"type":"Polygon","coordinates":[[[179,1],[-179,1],[-179,2],[179,2]]]}}`), true)
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":null,"geometry":{"type":"GeometryCollection","geometries":[]}}]}`), false)

	mp, err := newMapper("fuzz", Mapping{HazardType: "flood", Phase: "observed", EventIDProperty: "event_id",
		Severity:  SeverityMapping{Property: "depth_class", Map: map[string]string{"High": "red", "medium": "orange"}, Default: "green"},
		Intensity: IntensityMapping{Property: "depth_m", Unit: "m"}, ValidFrom: TimeMapping{Property: "observed"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, swap bool) {
		c, err := decodeCollection(body)
		if err != nil || c.Error != nil {
			return
		}
		if checkMemberCRS(c.CRS) != nil {
			return
		}
		r := mp.build(bytesFeatures(c, swap), time.Unix(0, 0))
		if r.Mapped+r.Empty > r.Features {
			t.Fatalf("mapped %d + empty %d > features %d", r.Mapped, r.Empty, r.Features)
		}
		n := 0
		for _, e := range r.Events {
			if !strings.HasPrefix(e.ID, "layer:fuzz:") || e.Version == "" || e.Source != "fuzz" || e.Phase != indicators.Observed {
				t.Fatalf("bad event %+v", e)
			}
			if e.Severity < indicators.SeverityNone || e.Severity > indicators.SeverityRed {
				t.Fatalf("severity %d", e.Severity)
			}
			for _, fp := range e.Footprints {
				n++
				if fp.Severity > e.Severity {
					t.Fatalf("footprint severity %v above event's %v", fp.Severity, e.Severity)
				}
				if math.IsNaN(fp.Intensity) || math.IsInf(fp.Intensity, 0) {
					t.Fatalf("intensity %v", fp.Intensity)
				}
				checkGeometry(t, fp.Geometry)
			}
		}
		if n != r.Mapped {
			t.Fatalf("%d footprints for %d mapped features", n, r.Mapped)
		}
	})
}

func checkGeometry(t *testing.T, g orb.Geometry) {
	t.Helper()
	if g == nil {
		t.Fatal("nil footprint geometry")
	}
	var polys []orb.Polygon
	switch x := g.(type) {
	case orb.Polygon:
		polys = append(polys, x)
	case orb.MultiPolygon:
		polys = append(polys, x...)
	}
	for _, p := range polys {
		for i, r := range p {
			if len(r) < 4 || r[0] != r[len(r)-1] {
				t.Fatalf("ring %d not closed or too short: %v", i, r)
			}
			if (i == 0) != (ringArea(r) > 0) {
				t.Fatalf("ring %d wrongly oriented", i)
			}
			for _, pt := range r {
				if pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
					t.Fatalf("coordinate %v outside WGS84", pt)
				}
			}
		}
	}
}

// FuzzPropertyValue runs any property value through the value maps, number
// and time readers used by the mapping.
func FuzzPropertyValue(f *testing.F) {
	for _, s := range []string{"High", "medium", " LOW ", "2.5", "1795586400000", "2026-11-22T05:40:00Z", "2026-11-22", "NaN", "1e309", ""} {
		f.Add(s, "")
		f.Add(s, "unix_ms")
		f.Add(s, "02/01/2006")
	}
	f.Fuzz(func(t *testing.T, s, format string) {
		if checkTimeFormat(format) != nil {
			return
		}
		for _, v := range []any{s, func() any {
			x, err := number(s)
			if err != nil {
				return nil
			}
			return x
		}()} {
			if tm, err := parseTime(v, format); err == nil && tm.Location() != time.UTC {
				t.Fatalf("time %v not UTC", tm)
			}
			if x, err := number(v); err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
				t.Fatalf("number %v", x)
			}
			if txt, ok := text(v); ok && txt != strings.TrimSpace(txt) {
				t.Fatalf("text %q not trimmed", txt)
			}
		}
	})
}
