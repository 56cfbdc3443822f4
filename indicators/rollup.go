package indicators

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Roll-ups compute an indicator at one admin level and aggregate it to the
// levels above with the same word GeoSight uses for its own upper-level
// aggregation (SUM(value), MAX(value), MIN(value), AVG(value), COUNT(value)),
// so a dashboard shows the same number whether GeoSight aggregates or we do.
// Counts and populations sum; levels take the maximum (in code-list order for
// String indicators); lead times take the minimum. A rolled-up level's
// first_time is the soonest among the sub-areas that reach that level;
// sub_areas counts the sub-areas that had a value.

// AggregationWords are the aggregations RollUp supports.
var AggregationWords = []string{"SUM(value)", "MAX(value)", "MIN(value)", "AVG(value)", "COUNT(value)"}

// ValidAggregation reports whether word is supported.
func ValidAggregation(word string) bool {
	return slices.ContainsFunc(AggregationWords, func(w string) bool { return strings.EqualFold(w, word) })
}

// RollUp aggregates values of areas at level `from` to every ancestor
// present in areas at a level the definition covers (parents are read from
// Area.Parents). A parent gets a value when at least one child has one.
func RollUp(def Definition, from int, vals []Value, areas []Area) ([]Value, error) {
	word := ""
	for _, w := range AggregationWords {
		if strings.EqualFold(w, def.Aggregation) {
			word = w // canonical spelling, as GeoSight writes it
		}
	}
	if word == "" {
		return nil, fmt.Errorf("indicator %s: aggregation %q is not one of %v", def.Shortcode, def.Aggregation, AggregationWords)
	}
	// Pointers: copying every Area into the map was most of a roll-up.
	byCode := make(map[string]*Area, len(areas))
	for i := range areas {
		byCode[areas[i].Code] = &areas[i]
	}
	order := map[string]int{}
	codes := def.Codes
	if len(codes) == 0 {
		codes = LevelNames
	}
	for i, c := range codes {
		order[c] = i
	}
	// Each parent's sub-area values by position in vals: grouping copies of
	// the values was a tenth of what a country-scale sync allocated.
	groups := map[string][]int32{}
	for i, v := range vals {
		a, ok := byCode[v.Code]
		if !ok || a.Level != from {
			continue
		}
		for _, p := range a.Parents {
			pa, ok := byCode[p]
			if ok && pa.Level < from && def.AtLevel(pa.Level) {
				groups[p] = append(groups[p], int32(i))
			}
		}
	}
	parents := slices.AppendSeq(make([]string, 0, len(groups)), maps.Keys(groups)) // sized once: one per parent
	slices.Sort(parents)
	out := make([]Value, 0, len(parents))
	for _, p := range parents {
		kids := subAreas{vals, groups[p]}
		pa := byCode[p]
		k0 := kids.at(0)
		v := Value{Indicator: def.Shortcode, Code: p, AdminLevel: pa.Level, Date: k0.Date, Type: k0.Type,
			// sub_areas, not "children": children are what these
			// indicators count, and the two were read as one.
			Attributes: map[string]any{"aggregation": word, "from_level": from, "sub_areas": kids.len()}}
		if ph, ok := k0.Attributes["phase"]; ok {
			v.Attributes["phase"] = ph
		}
		if n, ok := k0.Attributes["note"]; ok {
			v.Attributes["note"] = n
		}
		if v.Type == String {
			best := k0.Text
			for n := 1; n < kids.len(); n++ {
				if k := kids.at(n); (word == "MIN(value)") == (order[k.Text] < order[best]) {
					best = k.Text
				}
			}
			v.Text = best
			// When the rolled-up level is first reached: the soonest among
			// the sub-areas that reach that level. A sub-area at a lower
			// level says nothing about when this level bites.
			soonestFirst(&v, kids, best)
			out = append(out, v)
			continue
		}
		switch word {
		case "SUM(value)":
			for n := range kids.len() {
				v.Number += kids.at(n).Number
			}
		case "MAX(value)":
			v.Number = math.Inf(-1)
			for n := range kids.len() {
				v.Number = math.Max(v.Number, kids.at(n).Number)
			}
		case "MIN(value)":
			v.Number = math.Inf(1)
			for n := range kids.len() {
				v.Number = math.Min(v.Number, kids.at(n).Number)
			}
		case "AVG(value)":
			for n := range kids.len() {
				v.Number += kids.at(n).Number
			}
			v.Number /= float64(kids.len())
		case "COUNT(value)":
			v.Number = float64(kids.len())
		}
		v.Number = math.Round(v.Number*1000) / 1000
		out = append(out, v)
	}
	return out, nil
}

// soonestFirst sets v's first_time to the earliest among the kids at
// level (RFC 3339 UTC times sort as text).
func soonestFirst(v *Value, kids subAreas, level string) {
	for n := range kids.len() {
		k := kids.at(n)
		if k.Text != level {
			continue
		}
		if ft, ok := k.Attributes["first_time"].(string); ok {
			if cur, ok := v.Attributes["first_time"].(string); !ok || ft < cur {
				v.Attributes["first_time"] = ft
			}
		}
	}
}

// subAreas are a parent's sub-area values, in their order in vals.
type subAreas struct {
	vals []Value
	idx  []int32
}

func (s subAreas) len() int        { return len(s.idx) }
func (s subAreas) at(n int) *Value { return &s.vals[s.idx[n]] }
