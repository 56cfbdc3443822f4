// Package areas loads the geographies values are keyed by: GeoJSON files of
// admin areas (each feature's ucode, name, level and parent read from
// configurable properties) joined with a per-area baseline table (CSV of
// population, under-18 population, schools, health facilities keyed by ucode
// or PCode).
package areas

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/parallel"
)

// Repair is an area whose geometry was invalid and was repaired the way
// GEOS MakeValid does (indicators.MakeValid): which area, what was wrong,
// and what it became.
type Repair struct {
	Code     string
	File     string
	Problems []string
	// Result says what the repair gave, e.g. "2 polygons, 0 holes".
	Result string
}

func (r Repair) String() string {
	return fmt.Sprintf("area %s (%s): %s; repaired as GEOS make_valid would: %s", r.Code, r.File, strings.Join(r.Problems, "; "), r.Result)
}

// LoadFiles reads every configured GeoJSON file. Features without a code, or
// with an unusable geometry, are errors naming the file and feature index.
// Codes must be unique across files. Invalid polygons are repaired (see
// LoadFilesReport, which also returns what was repaired).
func LoadFiles(files []config.GeoFile) ([]indicators.Area, map[string]string, error) {
	as, pcodes, _, err := LoadFilesReport(files)
	return as, pcodes, err
}

// LoadFilesReport is LoadFiles, also listing every area whose invalid
// geometry (a self-intersecting ring, a figure-8, rings crossing each
// other) was repaired. An area that has nothing with area left after the
// repair is an error naming it.
func LoadFilesReport(files []config.GeoFile) ([]indicators.Area, map[string]string, []Repair, error) {
	p, _, err := LoadFilesPrepared(files, nil, nil)
	return p.Areas, p.PCodes, p.Repairs, err
}

// loadContents is LoadFilesReport on the files' bytes, read.
func loadContents(files []config.GeoFile, contents [][]byte) ([]indicators.Area, map[string]string, []Repair, error) {
	var repairs []Repair
	var out []indicators.Area
	pcodes := map[string]string{} // pcode → ucode
	seen := map[string]string{}
	var errs []error
	for fi, f := range files {
		features, err := decodeFeatures(contents[fi])
		if err != nil {
			return nil, nil, nil, fmt.Errorf("geographies %s: not a GeoJSON FeatureCollection: %w", f.Path, err)
		}
		geoms := repairAll(features)
		for i, ft := range features {
			where := fmt.Sprintf("geographies %s feature %d", f.Path, i)
			code := propString(ft.Properties, f.CodeProperty)
			if code == "" {
				errs = append(errs, fmt.Errorf("%s: property %q (code_property) is missing or empty", where, f.CodeProperty))
				continue
			}
			where += " (" + code + ")"
			if prev, dup := seen[code]; dup {
				errs = append(errs, fmt.Errorf("%s: code %s also in %s", where, code, prev))
				continue
			}
			seen[code] = f.Path
			level := f.Level
			if level < 0 {
				l, ok := propInt(ft.Properties, f.LevelProperty)
				if !ok {
					errs = append(errs, fmt.Errorf("%s: property %q (level_property) is missing or not a whole number; or set level: on the file", where, f.LevelProperty))
					continue
				}
				level = l
			}
			problems, g := geoms[i].problems, geoms[i].g
			if err := geoms[i].repairErr; err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid geometry: %w", where, err))
				continue
			}
			err := geoms[i].normErr
			if err == nil && len(problems) > 0 {
				parts := 0
				holes := 0
				for _, p := range indicators.Polygons(g) {
					parts++
					holes += len(p) - 1
				}
				repairs = append(repairs, Repair{Code: code, File: f.Path, Problems: problems,
					Result: fmt.Sprintf("%d polygon(s), %d hole(s), %.1f km²", parts, holes, geoms[i].km2)})
			}
			if err != nil || !indicators.IsPolygonal(g) {
				if err == nil {
					err = fmt.Errorf("geometry is %s, want Polygon or MultiPolygon", ft.Geometry.GeoJSONType())
				}
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			a := indicators.Area{Code: code, Name: propString(ft.Properties, f.NameProperty), Level: level, Geometry: g, Km2: geoms[i].km2}
			if p := propString(ft.Properties, f.ParentProperty); p != "" {
				a.Parents = []string{p}
			}
			if f.PCodeProperty != "" {
				if pc := propString(ft.Properties, f.PCodeProperty); pc != "" {
					pcodes[pc] = code
				}
			}
			out = append(out, a)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, repairs, err
	}
	fillParentChains(out)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level < out[j].Level
		}
		return out[i].Code < out[j].Code
	})
	return out, pcodes, repairs, nil
}

// repaired is one feature's geometry checked, repaired and normalised.
type repaired struct {
	g                  orb.Geometry
	km2                float64 // g's geodesic area
	problems           []string
	repairErr, normErr error
}

// repairAll checks, repairs and normalises every feature's geometry on
// GOMAXPROCS goroutines (pure work on each geometry; a country's admin-2
// file is thousands of areas of hundreds of vertices).
func repairAll(features []*geojson.Feature) []repaired {
	out := make([]repaired, len(features))
	parallel.Each(len(features), func(_, i int) {
		r := &out[i]
		var raw orb.Geometry
		raw, r.problems, r.repairErr = indicators.RepairPolygonal(features[i].Geometry)
		if r.repairErr == nil {
			r.g, r.normErr = indicators.NormalizeGeometry(raw)
		}
		if r.repairErr == nil && r.normErr == nil && indicators.IsPolygonal(r.g) {
			r.km2 = indicators.GeodesicAreaKm2(r.g)
		}
	})
	return out
}

// fillParentChains extends each area's direct parent into the full chain,
// nearest first, so roll-ups and by-code matches see every ancestor.
func fillParentChains(as []indicators.Area) {
	parent := map[string]string{}
	for _, a := range as {
		if len(a.Parents) > 0 {
			parent[a.Code] = a.Parents[0]
		}
	}
	for i := range as {
		if len(as[i].Parents) == 0 {
			continue
		}
		chain := []string{as[i].Parents[0]}
		for p, ok := parent[chain[0]]; ok && len(chain) < 16; p, ok = parent[p] {
			chain = append(chain, p)
		}
		as[i].Parents = chain
	}
}

func propString(p geojson.Properties, key string) string {
	if key == "" {
		return ""
	}
	switch v := p[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func propInt(p geojson.Properties, key string) (int, bool) {
	switch v := p[key].(type) {
	case float64:
		if v == math.Trunc(v) {
			return int(v), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	return 0, false
}

// ApplyBaseline joins the baseline CSV onto the areas. Rows whose key
// matches no area are reported as warnings (returned), not errors: a table
// often covers more areas than a config uses. Malformed numbers are errors
// naming file, line and column.
func ApplyBaseline(as []indicators.Area, b config.Baseline, pcodes map[string]string) (warnings []string, err error) {
	if b.File == "" {
		return nil, nil
	}
	f, err := os.Open(b.File)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("baseline %s: cannot read header: %w", b.File, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	key, ok := col[b.KeyColumn]
	if !ok {
		return nil, fmt.Errorf("baseline %s: key column %q not in header %v", b.File, b.KeyColumn, header)
	}
	type target struct {
		name string
		set  func(*indicators.Baseline, float64)
	}
	var targets []struct {
		idx int
		target
	}
	for _, t := range []struct {
		column string
		target
	}{
		{b.PopulationColumn, target{"population_column", func(x *indicators.Baseline, v float64) { x.Population = &v }}},
		{b.Under18Column, target{"under18_column", func(x *indicators.Baseline, v float64) { x.Under18 = &v }}},
		{b.SchoolsColumn, target{"schools_column", func(x *indicators.Baseline, v float64) { x.Schools = &v }}},
		{b.HealthColumn, target{"health_facilities_column", func(x *indicators.Baseline, v float64) { x.HealthFacilities = &v }}},
	} {
		if t.column == "" {
			continue
		}
		i, ok := col[t.column]
		if !ok {
			return nil, fmt.Errorf("baseline %s: %s %q not in header %v", b.File, t.name, t.column, header)
		}
		targets = append(targets, struct {
			idx int
			target
		}{i, t.target})
	}
	byCode := map[string]int{}
	for i, a := range as {
		byCode[a.Code] = i
	}
	var errs []error
	line := 1
	for {
		rec, err := r.Read()
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			return warnings, fmt.Errorf("baseline %s: %w", b.File, err)
		}
		k := strings.TrimSpace(rec[key])
		code := k
		if b.KeyType == "pcode" {
			code = pcodes[k]
		}
		ai, ok := byCode[code]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("baseline %s line %d: %s %q matches no area", b.File, line, b.KeyType, k))
			continue
		}
		for _, t := range targets {
			s := strings.TrimSpace(rec[t.idx])
			if s == "" {
				continue // unknown stays unknown
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("baseline %s line %d column %q: want a number >= 0, got %q", b.File, line, header[t.idx], s))
				continue
			}
			t.set(&as[ai].Baseline, v)
		}
	}
	return warnings, errors.Join(errs...)
}
