package indicators

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RollUp groups sub-area values by position instead of copies: its output
// must stay what the copying version (rollUpReference, below) gave, for
// every aggregation, numbers and levels, first times included.
func TestRollUpMatchesTheCopyingVersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	levels := []string{"none", "watch", "warning", "alert"}
	for round := range 200 {
		var areas []Area
		for p := range 1 + rng.IntN(4) {
			areas = append(areas, Area{Code: fmt.Sprintf("R%d", p), Level: 1})
			for c := range rng.IntN(6) {
				areas = append(areas, Area{Code: fmt.Sprintf("R%d_%d", p, c), Level: 2, Parents: []string{fmt.Sprintf("R%d", p)}})
			}
		}
		typ := []ValueType{Integer, Float, String}[rng.IntN(3)]
		word := AggregationWords[rng.IntN(len(AggregationWords))]
		def := Definition{Shortcode: "X", Type: typ, Aggregation: word}
		var vals []Value
		for _, a := range areas {
			if rng.IntN(4) == 0 {
				continue
			}
			v := Value{Indicator: "X", Code: a.Code, AdminLevel: a.Level, Date: "2026-11-27", Type: typ,
				Number: float64(rng.IntN(1000)) / 7, Attributes: map[string]any{"phase": "forecast"}}
			if typ == String {
				v.Text = levels[rng.IntN(len(levels))]
				v.Attributes["first_time"] = fmt.Sprintf("2026-11-%02dT00:00:00Z", 27+rng.IntN(3))
			}
			vals = append(vals, v)
		}
		want, err := rollUpReference(def, 2, vals, areas)
		require.NoError(t, err)
		got, err := RollUp(def, 2, vals, areas)
		require.NoError(t, err)
		require.Equal(t, want, got, "round %d (%s %s)", round, typ, word)
	}
}

// rollUpReference is RollUp as it was when it grouped copies of the values.
func rollUpReference(def Definition, from int, vals []Value, areas []Area) ([]Value, error) {
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
	groups := map[string][]Value{}
	for _, v := range vals {
		a, ok := byCode[v.Code]
		if !ok || a.Level != from {
			continue
		}
		for _, p := range a.Parents {
			pa, ok := byCode[p]
			if ok && pa.Level < from && def.AtLevel(pa.Level) {
				groups[p] = append(groups[p], v)
			}
		}
	}
	parents := slices.AppendSeq(make([]string, 0, len(groups)), maps.Keys(groups)) // sized once: one per parent
	slices.Sort(parents)
	out := make([]Value, 0, len(parents))
	for _, p := range parents {
		kids := groups[p]
		pa := byCode[p]
		v := Value{Indicator: def.Shortcode, Code: p, AdminLevel: pa.Level, Date: kids[0].Date, Type: kids[0].Type,
			// sub_areas, not "children": children are what these
			// indicators count, and the two were read as one.
			Attributes: map[string]any{"aggregation": word, "from_level": from, "sub_areas": len(kids)}}
		if ph, ok := kids[0].Attributes["phase"]; ok {
			v.Attributes["phase"] = ph
		}
		if n, ok := kids[0].Attributes["note"]; ok {
			v.Attributes["note"] = n
		}
		if v.Type == String {
			best := kids[0].Text
			for _, k := range kids[1:] {
				if (word == "MIN(value)") == (order[k.Text] < order[best]) {
					best = k.Text
				}
			}
			v.Text = best
			// When the rolled-up level is first reached: the soonest among
			// the sub-areas that reach that level. A sub-area at a lower
			// level says nothing about when this level bites.
			soonestFirstReference(&v, kids, best)
			out = append(out, v)
			continue
		}
		switch word {
		case "SUM(value)":
			for _, k := range kids {
				v.Number += k.Number
			}
		case "MAX(value)":
			v.Number = math.Inf(-1)
			for _, k := range kids {
				v.Number = math.Max(v.Number, k.Number)
			}
		case "MIN(value)":
			v.Number = math.Inf(1)
			for _, k := range kids {
				v.Number = math.Min(v.Number, k.Number)
			}
		case "AVG(value)":
			for _, k := range kids {
				v.Number += k.Number
			}
			v.Number /= float64(len(kids))
		case "COUNT(value)":
			v.Number = float64(len(kids))
		}
		v.Number = math.Round(v.Number*1000) / 1000
		out = append(out, v)
	}
	return out, nil
}

// soonestFirst sets v's first_time to the earliest among the kids at
// level (RFC 3339 UTC times sort as text).
func soonestFirstReference(v *Value, kids []Value, level string) {
	for _, k := range kids {
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
