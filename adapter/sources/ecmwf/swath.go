package ecmwf

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
)

const (
	earthRadiusKm = 6371.0088
	kmPerDegLat   = math.Pi * earthRadiusKm / 180
	// arcVertices per quarter circle: the chord error is r(1-cos(π/4/n)),
	// 0.2 % of the radius at 8.
	arcVertices = 8
)

func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	p1, p2 := lat1*math.Pi/180, lat2*math.Pi/180
	dp, dl := p2-p1, (lon2-lon1)*math.Pi/180
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Holland (1980) profile constants used where a file carries no radii.
const (
	// EnvironmentPressurePa is the ambient pressure ΔP is taken from.
	EnvironmentPressurePa = 101000.0
	airDensity            = 1.15 // kg/m³
	// DefaultRMaxKm is used when the file does not locate the maximum wind.
	DefaultRMaxKm = 40.0
)

// HollandRadiusKm is the radius outside the maximum wind where the Holland
// (1980) symmetric profile falls to v m/s:
//
//	V(r)² = Vmax² · e · x · exp(−x),  x = (Rmax/r)^B,  B = ρ e Vmax² / ΔP
//
// (G. J. Holland, 1980: An analytic model of the wind and pressure profiles
// in hurricanes. Mon. Wea. Rev. 108, 1212–1218; Coriolis term neglected,
// B clamped to Holland's 1–2.5). Zero when Vmax < v.
func HollandRadiusKm(vmax, v, rmaxKm, centralPa float64) float64 {
	if vmax <= 0 || v <= 0 || vmax < v {
		return 0
	}
	if rmaxKm <= 0 {
		rmaxKm = DefaultRMaxKm
	}
	b := 1.5
	if dp := EnvironmentPressurePa - centralPa; centralPa > 0 && dp > 0 {
		b = airDensity * math.E * vmax * vmax / dp
	}
	b = math.Min(2.5, math.Max(1, b))
	// Solve x·e^{-x} = (v/vmax)²/e for x in (0, 1] by bisection; the left
	// side rises on that interval.
	target := (v / vmax) * (v / vmax) / math.E
	lo, hi := 0.0, 1.0
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if mid*math.Exp(-mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return rmaxKm * math.Pow((lo+hi)/2, -1/b)
}

// radii of a point for a threshold: the file's quadrant radii when it has
// any for this step, else the Holland profile (the same in every quadrant).
func radii(p Point, threshold float64) [4]float64 {
	if p.Radii != nil {
		if r, ok := p.Radii[formatThreshold(threshold)]; ok {
			return r
		}
	}
	if p.MaxWindMS == nil {
		return [4]float64{}
	}
	rmax, pc := DefaultRMaxKm, 0.0
	if p.RMaxKm != nil && *p.RMaxKm > 0 {
		rmax = *p.RMaxKm
	}
	if p.MSLPPa != nil {
		pc = *p.MSLPPa
	}
	r := HollandRadiusKm(*p.MaxWindMS, threshold, rmax, pc)
	return [4]float64{r, r, r, r}
}

// sector is the quarter disc of quadrant q (0 = NE … 3 = NW) of radius rKm
// around (lon, lat), in degrees (local equirectangular scaling).
func sector(lon, lat float64, q int, rKm float64) []orb.Point {
	pts := []orb.Point{{lon, lat}}
	if rKm <= 0 {
		return pts
	}
	kx := kmPerDegLat * math.Max(0.01, math.Cos(lat*math.Pi/180))
	for i := 0; i <= arcVertices; i++ {
		// bearing clockwise from north
		b := (float64(q) + float64(i)/arcVertices) * math.Pi / 2
		pts = append(pts, orb.Point{lon + rKm*math.Sin(b)/kx, lat + rKm*math.Cos(b)/kmPerDegLat})
	}
	return pts
}

// hull is the convex hull (Andrew's monotone chain), closed, counter-clockwise.
func hull(pts []orb.Point) orb.Ring {
	p := append([]orb.Point(nil), pts...)
	sort.Slice(p, func(i, j int) bool { return p[i][0] < p[j][0] || p[i][0] == p[j][0] && p[i][1] < p[j][1] })
	cross := func(o, a, b orb.Point) float64 { return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0]) }
	var h []orb.Point
	for _, pt := range p {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], pt) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, pt)
	}
	lower := len(h) + 1
	for i := len(p) - 2; i >= 0; i-- {
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p[i]) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p[i])
	}
	if len(h) < 4 {
		return nil
	}
	return orb.Ring(h)
}

// clipX keeps the part of a convex ring with x ≤ at (keepBelow) or x ≥ at.
func clipX(r orb.Ring, at float64, keepBelow bool) orb.Ring {
	in := func(p orb.Point) bool {
		if keepBelow {
			return p[0] <= at
		}
		return p[0] >= at
	}
	var out orb.Ring
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		if in(a) {
			out = append(out, a)
		}
		if in(a) != in(b) {
			t := (at - a[0]) / (b[0] - a[0])
			out = append(out, orb.Point{at, a[1] + t*(b[1]-a[1])})
		}
	}
	if len(out) < 3 {
		return nil
	}
	return append(out, out[0])
}

// wrap returns a convex piece in −180..180, split at the antimeridian when
// it crosses it (track longitudes are unwrapped, so pieces may lie past ±180).
func wrap(r orb.Ring) []orb.Polygon {
	b := r.Bound()
	shift := func(r orb.Ring, dx float64) orb.Ring {
		out := make(orb.Ring, len(r))
		for i, p := range r {
			out[i] = orb.Point{p[0] + dx, p[1]}
		}
		return out
	}
	var out []orb.Polygon
	for _, edge := range []float64{180, -180} {
		if b.Min[0] < edge && b.Max[0] > edge {
			lo, hi := clipX(r, edge, true), clipX(r, edge, false)
			if edge == 180 {
				hi = shift(hi, -360)
			} else {
				lo = shift(lo, 360)
			}
			for _, x := range []orb.Ring{lo, hi} {
				if x != nil {
					out = append(out, orb.Polygon{x})
				}
			}
			return out
		}
	}
	switch {
	case b.Min[0] >= 180:
		r = shift(r, -360)
	case b.Max[0] <= -180:
		r = shift(r, 360)
	}
	return []orb.Polygon{{r}}
}

// Swath is the area one member's winds of at least threshold m/s sweep, as
// convex pieces: for each pair of consecutive track points and each
// quadrant, the hull of the two quarter discs. With the centre moving
// linearly and the radius changing linearly between the points (the
// tracker's 6-hourly steps), the hull is exactly the union of the
// intermediate quarter discs, so no sub-stepping is needed. A member with a
// single point gives its quarter discs. Empty when the winds never reach the
// threshold.
func Swath(m Member, threshold float64) (orb.MultiPolygon, time.Time, time.Time) {
	return swath(m, threshold, MergeTolerance)
}

func swath(m Member, threshold, tol float64) (orb.MultiPolygon, time.Time, time.Time) {
	var out orb.MultiPolygon
	var from, to time.Time
	pts := m.Points
	// Unwrap longitudes so a track crossing the antimeridian is continuous.
	lons := make([]float64, len(pts))
	for i, p := range pts {
		lons[i] = p.Lon
		if i > 0 {
			for lons[i]-lons[i-1] > 180 {
				lons[i] -= 360
			}
			for lons[i]-lons[i-1] < -180 {
				lons[i] += 360
			}
		}
	}
	mark := func(t time.Time) {
		if from.IsZero() || t.Before(from) {
			from = t
		}
		if t.After(to) {
			to = t
		}
	}
	var rings []orb.Ring
	add := func(r orb.Ring) {
		if r != nil {
			rings = append(rings, r)
		}
	}
	done := func() orb.MultiPolygon {
		for _, r := range mergeConvex(rings, tol) {
			out = append(out, wrap(r)...)
		}
		return out
	}
	if len(pts) == 1 {
		r := radii(pts[0], threshold)
		for q := 0; q < 4; q++ {
			if r[q] > 0 {
				add(hull(sector(lons[0], pts[0].Lat, q, r[q])))
				mark(pts[0].Time)
			}
		}
		return done(), from, to
	}
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		ra, rb := radii(a, threshold), radii(b, threshold)
		for q := 0; q < 4; q++ {
			if ra[q] <= 0 && rb[q] <= 0 {
				continue
			}
			add(hull(append(sector(lons[i], a.Lat, q, ra[q]), sector(lons[i+1], b.Lat, q, rb[q])...)))
			if ra[q] > 0 {
				mark(a.Time)
			} else {
				mark(a.Time.Add(b.Time.Sub(a.Time) / 2))
			}
			if rb[q] > 0 {
				mark(b.Time)
			} else {
				mark(a.Time.Add(b.Time.Sub(a.Time) / 2))
			}
		}
	}
	return done(), from, to
}

// MergeTolerance: convex pieces are merged into their common convex hull
// when the hull exceeds their union by less than this share of its area.
// The exposure engine's cost grows with the rows each piece's outline
// crosses, and a gently curving stretch of track is nearly convex, so
// merging cuts the pieces several-fold. 1 % of a piece is below the track's
// own precision: positions come to 0.1° (about 11 km), about 5 % of the
// width of a 120 km-radius swath.
const MergeTolerance = 0.01

// mergeConvex greedily merges each piece into one of the last few merged
// pieces (neighbours along the track and quadrants of the same step) when
// the hull adds less than tol of area over the exact union (union area of
// two convex pieces = a + b − area(a ∩ b), the intersection by clipping).
func mergeConvex(pieces []orb.Ring, tol float64) []orb.Ring {
	const window = 6
	var out []orb.Ring
	var areas []float64
	try := func(k int, p orb.Ring, ap float64) bool {
		if !out[k].Bound().Intersects(p.Bound()) {
			return false
		}
		h := hull(append(append([]orb.Point(nil), out[k]...), p...))
		if h == nil {
			return false
		}
		ah := ringAreaAbs(h)
		union := areas[k] + ap - ringAreaAbs(clipConvex(p, out[k]))
		if ah-union > tol*ah {
			return false
		}
		out[k], areas[k] = h, ah
		return true
	}
next:
	for _, p := range pieces {
		ap := ringAreaAbs(p)
		if ap == 0 {
			continue
		}
		for k := len(out) - 1; k >= 0 && k >= len(out)-window; k-- {
			if try(k, p, ap) {
				continue next
			}
		}
		out = append(out, p)
		areas = append(areas, ap)
	}
	// Then every pair, until nothing merges: merged pieces can now reach
	// pieces further along the track.
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(out); i++ {
			for j := len(out) - 1; j > i; j-- {
				p, ap := out[j], areas[j]
				if try(i, p, ap) {
					out = append(out[:j], out[j+1:]...)
					areas = append(areas[:j], areas[j+1:]...)
					merged = true
				}
			}
		}
	}
	return out
}

// ringAreaAbs is the planar (degree²) area of a ring; pieces are compared
// only with their neighbours, so the latitude scale cancels.
func ringAreaAbs(r orb.Ring) float64 {
	a := 0.0
	for i := 0; i+1 < len(r); i++ {
		a += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return math.Abs(a) / 2
}

// clipConvex is subject ∩ clip for convex rings (Sutherland–Hodgman).
func clipConvex(subject, clip orb.Ring) orb.Ring {
	// Orient the clip ring counter-clockwise so "inside" is to the left.
	c := clip
	a := 0.0
	for i := 0; i+1 < len(c); i++ {
		a += c[i][0]*c[i+1][1] - c[i+1][0]*c[i][1]
	}
	if a < 0 {
		c = make(orb.Ring, len(clip))
		for i := range clip {
			c[i] = clip[len(clip)-1-i]
		}
	}
	out := []orb.Point(subject[:len(subject)-1])
	for i := 0; i+1 < len(c) && len(out) > 0; i++ {
		e0, e1 := c[i], c[i+1]
		side := func(p orb.Point) float64 { return (e1[0]-e0[0])*(p[1]-e0[1]) - (e1[1]-e0[1])*(p[0]-e0[0]) }
		in := out
		out = nil
		for j := range in {
			cur, prev := in[j], in[(j+len(in)-1)%len(in)]
			sc, sp := side(cur), side(prev)
			if sc >= 0 {
				if sp < 0 {
					out = append(out, cross(prev, cur, sp, sc))
				}
				out = append(out, cur)
			} else if sp >= 0 {
				out = append(out, cross(prev, cur, sp, sc))
			}
		}
	}
	if len(out) < 3 {
		return nil
	}
	return append(orb.Ring(out), out[0])
}

func cross(a, b orb.Point, sa, sb float64) orb.Point {
	t := sa / (sa - sb)
	return orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}

// Swaths are every member's swath per threshold, as footprints carrying the
// member, the threshold and the valid-time range.
func Swaths(members []Member, thresholds []float64) []indicators.Footprint {
	var out []indicators.Footprint
	for _, m := range members {
		for _, th := range thresholds {
			g, from, to := Swath(m, th)
			if len(g) == 0 {
				continue
			}
			out = append(out, indicators.Footprint{Geometry: g, Member: m.Number,
				Band: fmt.Sprintf("%g m/s", th), Intensity: th, Unit: "m/s", ValidFrom: from, ValidTo: to})
		}
	}
	return out
}
