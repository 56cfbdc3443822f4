package indicators

import (
	"maps"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// ExposureEngine computes how much of each area a hazard covers. It is the
// seam between the area-weighted method (per-area tables only) and the exact
// grid engine: recipes call it and never know which one they have.
type ExposureEngine interface {
	// Method names the method, recorded as the value attribute "method".
	Method() string
	// Expose returns, for every area the union of footprints touches, the
	// population, under-18 population and area inside that union. Only
	// polygonal footprints have area; others are ignored.
	Expose(footprints []orb.Geometry) ([]AreaExposure, error)
}

// EachExposer is an ExposureEngine that computes many footprint sets at
// once, each on its own, faster than one Expose call per set.
type EachExposer interface {
	// ExposeEach returns, for each set, what Expose would.
	ExposeEach(sets [][]orb.Geometry) ([][]AreaExposure, error)
}

// CacheAger is an ExposureEngine whose caches age by sync: the runner
// calls EndSync after each sync's recipes, and the engine drops what the
// last syncs did not use, so a long-running daemon's caches follow the
// current hazards instead of filling up to their bounds.
type CacheAger interface {
	EndSync()
}

// ResultKeeper is an ExposureEngine whose results can outlive the process:
// the runner stores the current ones in the state dir after a sync that is
// not a dry run, and the next process over the same engine (Version)
// restores them, so a footprint set whose exposure an earlier process
// computed is not computed again.
type ResultKeeper interface {
	// Version identifies the engine's inputs (areas, grids): results are
	// only restored into an engine of the same version.
	Version() string
	// KeptResults returns the results the last sync used.
	KeptResults() []KeptResult
	// RestoreResults offers results an earlier process kept; those the
	// next sync does not use are dropped at its end.
	RestoreResults([]KeptResult)
}

// KeptResult is one footprint set's exposure under its key: the SHA-256
// of the set's distinct StrongGeometryKeys, sorted.
type KeptResult struct {
	Key [32]byte
	Res []AreaExposure
}

// ExposeEach is each set's Expose, in one batch when the engine has one.
func ExposeEach(eng ExposureEngine, sets [][]orb.Geometry) ([][]AreaExposure, error) {
	if b, ok := eng.(EachExposer); ok {
		return b.ExposeEach(sets)
	}
	out := make([][]AreaExposure, len(sets))
	for i, s := range sets {
		r, err := eng.Expose(s)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// AreaExposure is one area's share of a footprint union.
type AreaExposure struct {
	Code string
	// Fraction of the area's land inside the footprints, 0..1.
	Fraction float64
	// AreaKm2 inside the footprints (geodesic).
	AreaKm2 float64
	// Population and Under18 inside the footprints; Known* is false when the
	// baseline lacks the figure.
	Population      float64
	Under18         float64
	KnownPopulation bool
	KnownUnder18    bool
	// Share of the area's population inside the footprints, 0..1.
	Share float64
	// Method, when set, is how this area's figures were computed when it
	// differs per area (the grid engine falls back to "area-weighted" for
	// areas off its grid); "" means the engine's Method().
	Method string
}

// AreaWeighted spreads each area's baseline population evenly over its
// surface: population exposed = population × covered fraction. It is the
// fallback where no population grid exists, and is flagged as such.
type AreaWeighted struct {
	areas []Area
	km2   []float64
	ov    *Overlay
}

// NewAreaWeighted prepares the method for a set of areas.
func NewAreaWeighted(areas []Area) *AreaWeighted {
	e := &AreaWeighted{areas: areas, km2: make([]float64, len(areas)), ov: NewOverlay(areas, OverlayOptions{})}
	for i, a := range areas {
		if a.Geometry != nil {
			e.km2[i] = GeodesicAreaKm2(a.Geometry)
		}
	}
	return e
}

// Method is "area-weighted".
func (e *AreaWeighted) Method() string { return "area-weighted" }

// Expose covers each area by the footprint that covers most of it. Footprints
// of different events may overlap, and this method has no way to know how
// people are spread, so it never adds them up: the largest covered fraction
// is a floor on the union's true coverage, and never double counts.
func (e *AreaWeighted) Expose(footprints []orb.Geometry) ([]AreaExposure, error) {
	var polys []orb.Geometry
	for _, f := range footprints {
		if f != nil && IsPolygonal(f) {
			polys = append(polys, f)
		}
	}
	if len(polys) == 0 {
		return nil, nil
	}
	best := map[int]float64{}
	for _, f := range polys {
		for _, p := range e.ov.measure(prepareFootprint(f)) {
			best[p.Area] = math.Max(best[p.Area], p.Share)
		}
	}
	idx := slices.AppendSeq(make([]int, 0, len(best)), maps.Keys(best)) // sized once: one per area
	slices.Sort(idx)
	var out []AreaExposure
	for _, i := range idx {
		if e.km2[i] == 0 || best[i] <= 1e-12 {
			continue
		}
		out = append(out, exposureFromFraction(e.areas[i], math.Min(1, best[i]), e.km2[i]))
	}
	return out, nil
}

func exposureFromFraction(a Area, frac, km2 float64) AreaExposure {
	x := AreaExposure{Code: a.Code, Fraction: frac, AreaKm2: frac * km2, Share: frac}
	if p := a.Baseline.Population; p != nil {
		x.Population, x.KnownPopulation = *p*frac, true
	}
	if u := a.Baseline.Under18; u != nil {
		x.Under18, x.KnownUnder18 = *u*frac, true
	}
	return x
}

var _ ExposureEngine = (*AreaWeighted)(nil)
