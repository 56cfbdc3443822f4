package openmeteo

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/hazardsync/hazardsync/indicators"
)

// RepresentativePoint is the area's centroid, or a point on its surface
// when the centroid falls outside (crescent or multi-part areas): the
// midpoint of the widest interior run of the horizontal line through the
// centroid.
func RepresentativePoint(g orb.Geometry) (orb.Point, error) {
	if g == nil {
		return orb.Point{}, errors.New("area has no geometry")
	}
	c, area := planar.CentroidArea(g)
	if area == 0 || math.IsNaN(c[0]) || math.IsNaN(c[1]) {
		return orb.Point{}, errors.New("area geometry has no area")
	}
	if contains(g, c) {
		return c, nil
	}
	if mp, ok := g.(orb.MultiPolygon); ok {
		// Scattered parts (islands): a point in the largest part.
		best, bestArea := -1, 0.0
		for i, p := range mp {
			if a := math.Abs(planar.Area(p)); a > bestArea {
				best, bestArea = i, a
			}
		}
		if best < 0 {
			return c, nil
		}
		return RepresentativePoint(mp[best])
	}
	if p, ok := surfacePoint(g, c[1]); ok {
		return p, nil
	}
	if p, ok := surfacePoint(g, g.Bound().Center()[1]); ok {
		return p, nil
	}
	return c, nil
}

func contains(g orb.Geometry, p orb.Point) bool {
	switch t := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(t, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(t, p)
	}
	return false
}

func rings(g orb.Geometry) []orb.Ring {
	switch t := g.(type) {
	case orb.Polygon:
		return t
	case orb.MultiPolygon:
		var out []orb.Ring
		for _, p := range t {
			out = append(out, p...)
		}
		return out
	}
	return nil
}

// surfacePoint crosses the geometry with the line lat=y (even-odd, holes
// included) and returns the middle of the widest inside run.
func surfacePoint(g orb.Geometry, y float64) (orb.Point, bool) {
	var xs []float64
	for _, r := range rings(g) {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if (a[1] > y) != (b[1] > y) {
				xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
			}
		}
	}
	sort.Float64s(xs)
	best, bx := -1.0, 0.0
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > best {
			best, bx = w, (xs[i]+xs[i+1])/2
		}
	}
	if best <= 0 {
		return orb.Point{}, false
	}
	return orb.Point{bx, y}, true
}

// ReadPointsFile reads a CSV ucode,lon,lat[,weight] (a header row is
// recognised by a non-numeric lon). A ucode listed more than once keeps its
// highest-weight row. The config loader has made a relative points_file
// relative to the config file (Config.ResolvePaths).
func ReadPointsFile(path string) (map[string]orb.Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("points_file: %w", err)
	}
	defer f.Close()
	return parsePoints(f, path)
}

func parsePoints(r io.Reader, name string) (map[string]orb.Point, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	out := map[string]orb.Point{}
	weights := map[string]float64{}
	line := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("points_file %s: %w", name, err)
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("points_file %s line %d: want ucode,lon,lat[,weight], got %d fields", name, line, len(rec))
		}
		lon, errLon := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		lat, errLat := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if line == 1 && errLon != nil {
			continue // header
		}
		if errLon != nil || errLat != nil || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			return nil, fmt.Errorf("points_file %s line %d: lon,lat %q,%q are not WGS84 degrees", name, line, rec[1], rec[2])
		}
		w := 1.0
		if len(rec) > 3 && strings.TrimSpace(rec[3]) != "" {
			if w, err = strconv.ParseFloat(strings.TrimSpace(rec[3]), 64); err != nil {
				return nil, fmt.Errorf("points_file %s line %d: weight %q is not a number", name, line, rec[3])
			}
		}
		code := strings.TrimSpace(rec[0])
		if old, ok := weights[code]; ok && old >= w {
			continue
		}
		weights[code] = w
		out[code] = orb.Point{lon, lat}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("points_file %s: no points", name)
	}
	return out, nil
}

// selectPoints picks the areas at the configured levels (default: the
// deepest present) and their points, sorted by ucode so the request order
// (and a recorded replay's element order) is stable. Areas whose point
// cannot be made are reported, not fatal.
func selectPoints(areas []indicators.Area, levels []int, file map[string]orb.Point) ([]Point, []error) {
	want := map[int]bool{}
	if len(levels) == 0 {
		deepest := -1
		for _, a := range areas {
			deepest = max(deepest, a.Level)
		}
		want[deepest] = true
	}
	for _, l := range levels {
		want[l] = true
	}
	var pts []Point
	var problems []error
	seen := map[string]bool{}
	for _, a := range areas {
		if !want[a.Level] || seen[a.Code] {
			continue
		}
		seen[a.Code] = true
		if p, ok := file[a.Code]; ok {
			pts = append(pts, Point{Key: a.Code, Lon: p[0], Lat: p[1]})
			continue
		}
		p, err := RepresentativePoint(a.Geometry)
		if err != nil {
			problems = append(problems, fmt.Errorf("area %s: %w", a.Code, err))
			continue
		}
		pts = append(pts, Point{Key: a.Code, Lon: round4(p[0]), Lat: round4(p[1])})
	}
	if len(areas) == 0 {
		// No areas loaded: the points file alone says what to sample.
		for _, code := range slices.Sorted(maps.Keys(file)) {
			p := file[code]
			pts = append(pts, Point{Key: code, Lon: p[0], Lat: p[1]})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Key < pts[j].Key })
	return pts, problems
}

// round4 matches the 4 decimals sent in the request (~11 m).
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
