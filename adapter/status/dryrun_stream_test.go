package status

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// edgeAreas covers what the hand encoder must spell like json.Marshal:
// escapes, holes, multipolygons, empty and nil parts, geometries it hands
// to orb, numbers in exponent form, rounded and unrounded coordinates.
func edgeAreas() ([]indicators.Area, []indicators.Definition, []indicators.Value) {
	pop, u18, tiny := 1200.5, 3e-7, 1e21
	areas := []indicators.Area{
		{Code: "A", Name: "North <&> \"quoted\" \\ \u2028\u2029 \x01\t\n", Level: 1,
			Geometry: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}, {{0.2, 0.2}, {0.3, 0.2}, {0.3, 0.3}, {0.2, 0.2}}}, Baseline: indicators.Baseline{Population: &pop, Under18: &u18}},
		{Code: "A1", Name: "Söd \xff\xfe", Level: 2, Parents: []string{"A", "R"},
			Geometry: orb.MultiPolygon{{{{0, 0}, {0.5, 0}, {0.5, 0.5}, {0, 0}}}, {{{0.6, 0.6}, {0.9, 0.6}, {0.9, 0.9}, {0.6, 0.6}}}}},
		{Code: "B", Name: "No geometry", Level: 2, Baseline: indicators.Baseline{Population: &tiny}},
		{Code: "C", Name: "Fine coordinates", Level: 2, Geometry: orb.Polygon{{{-12.123456789012345, 8.1}, {-12.0000001, 8.0000001}, {1e-7, -0.0}, {123456789.5, -1e-9}, {-12.123456789012345, 8.1}}}},
		{Code: "D", Name: "empty parts", Level: 2, Geometry: orb.Polygon{nil, {}}},
		{Code: "E", Name: "nil polygon", Level: 2, Geometry: orb.Polygon(nil)},
		{Code: "F", Name: "nil multipolygon", Level: 2, Geometry: orb.MultiPolygon(nil)},
		{Code: "G", Name: "point", Level: 2, Geometry: orb.Point{1.5, 2.25}},
		{Code: "H", Name: "ring", Level: 2, Geometry: orb.Ring{{0, 0}, {1, 0}, {0, 1}, {0, 0}}},
		{Code: "", Name: "no code", Level: 3, Geometry: orb.MultiPolygon{}},
		{Code: "A1", Name: "same code again", Level: 2, Geometry: orb.Polygon{{{5, 5}, {6, 5}, {6, 6}, {5, 5}}}},
	}
	defs := []indicators.Definition{
		{Shortcode: "HS_X", Name: "X <x>", Type: indicators.Float},
		{Shortcode: "HS_S", Name: "S", Type: indicators.String, Codes: []string{"none", "red"}},
		{Shortcode: "ucode", Name: "collides with a reserved property", Type: indicators.Integer, Recipe: "lead_time_hours"},
	}
	vals := []indicators.Value{
		{Indicator: "HS_X", Code: "A1", AdminLevel: 2, Date: "2026-01-02", Type: indicators.Float, Number: 3.25,
			Attributes: map[string]any{"method": "grid-exact", "events": []string{"e<1>", "e&2"}, "n": 7, "share": 1e-9, "ok": true,
				"nested": map[string]any{"z": []any{1.5, "x", nil, false}, "a": int64(-3)}, "list": []float64{0.1, 2e21}, "none": nil}},
		{Indicator: "HS_X", Code: "A1", AdminLevel: 2, Date: "2026-01-03", Type: indicators.Float, Number: -0.000001},
		{Indicator: "HS_S", Code: "A", AdminLevel: 1, Date: "2026-01-02", Type: indicators.String, Text: "red \"now\"", Attributes: map[string]any{}},
		{Indicator: "ucode", Code: "A", AdminLevel: 1, Date: "2026-01-02", Type: indicators.Integer, Number: 2.5, Attributes: map[string]any{"phase": "forecast"}},
		{Indicator: "HS_GONE", Code: "C", AdminLevel: 2, Date: "2026-01-01", Type: indicators.Float, Number: 123456789012345680000},
		{Indicator: "HS_X", Code: "", AdminLevel: 3, Date: "2026-01-02", Type: indicators.Float, Number: 0},
		{Indicator: "HS_X", Code: "NOT_AN_AREA", AdminLevel: 2, Date: "2026-01-02", Type: indicators.Float, Number: 1},
	}
	return areas, defs, vals
}

// The hand-written collection is json.Marshal(areasCollection(…)) byte for
// byte: compact for map.html, and (whitespace aside) for values.geojson.
func TestWriteAreasCollectionIsMarshal(t *testing.T) {
	areas, defs, vals := edgeAreas()
	demo, _ := demoData(t)
	bAreas, bDefs, bVals := benchCountry(16, 14, 20)
	tests := []struct {
		name  string
		areas []indicators.Area
		defs  []indicators.Definition
		vals  []indicators.Value
	}{
		{"edge cases", areas, defs, vals},
		{"no values", areas, defs, nil},
		{"one area", areas[:1], defs, vals},
		{"no areas", nil, nil, nil},
		{"demo", demo.areas, demo.defs, demo.values},
		{"bench country", bAreas, bDefs, bVals},
	}
	for _, tc := range tests {
		for _, simplified := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/simplified=%v", tc.name, simplified), func(t *testing.T) {
				want, err := json.Marshal(areasCollection(tc.areas, tc.defs, tc.vals, simplified))
				require.NoError(t, err)
				attrs, err := (&attributesJSON{}).encode(tc.vals)
				require.NoError(t, err)
				c, err := newAreasJSON(tc.areas, tc.defs, tc.vals, attrs, simplified)
				require.NoError(t, err)

				var compact bytes.Buffer
				require.NoError(t, writeAreasCollection(&compact, c, layoutCompact))
				assert.Equal(t, string(want), compact.String())

				var lines bytes.Buffer
				require.NoError(t, writeAreasCollection(&lines, c, layoutLines))
				var squeezed bytes.Buffer
				require.NoError(t, json.Compact(&squeezed, lines.Bytes()))
				assert.Equal(t, string(want), squeezed.String())
				assert.Equal(t, len(tc.areas)+min(len(tc.areas), 1)+1, strings.Count(lines.String(), "\n"), "one feature per line")

				if simplified {
					return
				}
				// values.geojson's rounding: the collection of the areas
				// with every coordinate rounded to 1e-7.
				want, err = json.Marshal(areasCollection(roundedAreas(tc.areas, valuesCoordScale), tc.defs, tc.vals, false))
				require.NoError(t, err)
				c.scale = valuesCoordScale
				var rounded bytes.Buffer
				require.NoError(t, writeAreasCollection(&rounded, c, layoutCompact))
				assert.Equal(t, string(want), rounded.String())
			})
		}
	}
}

// roundedAreas is areas with every coordinate rounded to 1/scale (nil
// parts stay nil).
func roundedAreas(areas []indicators.Area, scale float64) []indicators.Area {
	round := func(p orb.Polygon) orb.Polygon {
		if p == nil {
			return nil
		}
		q := make(orb.Polygon, len(p))
		for i, r := range p {
			if r != nil {
				q[i] = make(orb.Ring, len(r))
			}
			for j, pt := range r {
				q[i][j] = orb.Point{math.Round(pt[0]*scale) / scale, math.Round(pt[1]*scale) / scale}
			}
		}
		return q
	}
	out := append([]indicators.Area(nil), areas...)
	for i := range out {
		switch g := out[i].Geometry.(type) {
		case nil:
		case orb.Polygon:
			out[i].Geometry = round(g)
		case orb.MultiPolygon:
			if g != nil {
				mp := make(orb.MultiPolygon, len(g))
				for j, p := range g {
					mp[j] = round(p)
				}
				out[i].Geometry = mp
			}
		default:
			out[i].Geometry = orb.Round(orb.Clone(g), int(scale))
		}
	}
	return out
}

// values.geojson decodes to the collection areasCollection builds for the
// values to send, on the areas rounded to 1e-7°.
func TestWriteDryRunValuesGeoJSON(t *testing.T) {
	p, _ := demoData(t)
	areas, defs, vals := edgeAreas()
	for name, tc := range map[string]struct {
		areas []indicators.Area
		defs  []indicators.Definition
		vals  []indicators.Value
	}{"demo": {p.areas, p.defs, p.values}, "edge cases": {areas, defs, vals}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := WriteDryRun(dir, tc.areas, tc.defs, tc.vals, tc.vals)
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, json.Compact(&got, []byte(mustRead(t, filepath.Join(dir, "values.geojson")))))

			sorted := sortedTheOldWay(tc.vals)
			want, err := json.Marshal(areasCollection(roundedAreas(tc.areas, 1e7), tc.defs, sorted, false))
			require.NoError(t, err)
			assert.Equal(t, string(want), got.String())
		})
	}
}

// map.html inlines the same bytes html/template wrote for the collection.
func TestPreviewMapDataIsTemplateOutput(t *testing.T) {
	areas, defs, vals := edgeAreas()
	var old bytes.Buffer
	tmpl := template.Must(template.New("x").Parse(`<script type="application/json" id="hs-map-data">{{.}}</script>`))
	require.NoError(t, tmpl.Execute(&old, areasCollection(areas, defs, vals, true)))

	dir := t.TempDir()
	_, err := WriteDryRun(dir, areas, defs, vals, vals[:2])
	require.NoError(t, err)
	page := mustRead(t, filepath.Join(dir, "map.html"))
	start := strings.Index(page, `<script type="application/json" id="hs-map-data">`)
	require.GreaterOrEqual(t, start, 0)
	end := strings.Index(page[start:], "</script>")
	assert.Equal(t, old.String(), page[start:start+end+len("</script>")])
}

// JSON has no NaN or Inf: the preview fails, as json.Marshal did.
func TestWriteAreasCollectionRefusesNaN(t *testing.T) {
	areas, defs, _ := edgeAreas()
	nan := math.NaN()
	for name, tc := range map[string]struct {
		areas []indicators.Area
		vals  []indicators.Value
	}{
		"value":      {areas, []indicators.Value{{Indicator: "HS_X", Code: "A", Type: indicators.Float, Number: math.Inf(1)}}},
		"attribute":  {areas, []indicators.Value{{Indicator: "HS_X", Code: "A", Type: indicators.Float, Attributes: map[string]any{"x": []any{nan}}}}},
		"population": {[]indicators.Area{{Code: "A", Baseline: indicators.Baseline{Population: &nan}}}, nil},
		"coordinate": {[]indicators.Area{{Code: "A", Geometry: orb.Polygon{{{0, 0}, {nan, 1}, {1, 1}, {0, 0}}}}}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := json.Marshal(areasCollection(tc.areas, defs, tc.vals, false))
			require.Error(t, err, "json.Marshal refuses it too")
			attrs, err := (&attributesJSON{}).encode(tc.vals)
			if err == nil {
				var c *areasJSON
				c, err = newAreasJSON(tc.areas, defs, tc.vals, attrs, false)
				require.NoError(t, err)
				err = writeAreasCollection(io.Discard, c, layoutLines)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "unsupported value")
			_, err = WriteDryRun(t.TempDir(), tc.areas, defs, tc.vals, tc.vals)
			require.Error(t, err)
		})
	}
}

// Random areas (holes, multipolygons, rounded and full-precision
// coordinates, awkward names, attributes) against json.Marshal.
func TestWriteAreasCollectionRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 16))
	coord := func() float64 {
		x := (r.Float64() - 0.5) * 360
		switch r.IntN(5) {
		case 0:
			return math.Round(x*1e5) / 1e5
		case 1:
			return math.Round(x*1e7) / 1e7
		case 2:
			return math.Round(x)
		case 3:
			return x * 1e-8
		}
		return x
	}
	ring := func() orb.Ring {
		rg := make(orb.Ring, 3+r.IntN(40))
		if r.IntN(2) == 0 {
			// A wobbly circle from far under to far over the map's
			// simplification tolerance (~0.09° here): points dropped,
			// holes dropped, outer rings collapsing.
			cx, cy, rad := coord(), coord(), math.Pow(10, -4+5*r.Float64())
			rg = make(orb.Ring, 4+r.IntN(200))
			for i := range rg {
				a := 2 * math.Pi * float64(i) / float64(len(rg)-1)
				w := rad * (1 + 0.05*r.Float64())
				rg[i] = orb.Point{cx + w*math.Cos(a), cy + w*math.Sin(a)}
			}
		} else {
			for i := range rg {
				rg[i] = orb.Point{coord(), coord()}
			}
		}
		rg[len(rg)-1] = rg[0]
		return rg
	}
	poly := func() orb.Polygon {
		p := orb.Polygon{ring()}
		for range r.IntN(3) {
			p = append(p, ring())
		}
		return p
	}
	runes := []string{"a", "Z", "<", ">", "&", `"`, `\`, "\n", "\x00", "\x7f", "é", "\u2028", "\u2029", "\xff", "日", " "}
	text := func() string {
		var sb strings.Builder
		for range r.IntN(12) {
			sb.WriteString(runes[r.IntN(len(runes))])
		}
		return sb.String()
	}
	defs := []indicators.Definition{{Shortcode: "HS_A", Type: indicators.Float}, {Shortcode: "name", Type: indicators.String}}
	for round := range 20 {
		var areas []indicators.Area
		var vals []indicators.Value
		for i := range 30 {
			a := indicators.Area{Code: fmt.Sprintf("C%d", r.IntN(35)), Name: text(), Level: r.IntN(3)}
			switch r.IntN(4) {
			case 0:
				a.Geometry = poly()
			case 1:
				mp := orb.MultiPolygon{poly()}
				for range r.IntN(3) {
					mp = append(mp, poly())
				}
				a.Geometry = mp
			case 2:
				a.Geometry = orb.Polygon{ring()}
			}
			if r.IntN(2) == 0 {
				pop := coord() * 1e4
				a.Baseline.Population = &pop
			}
			areas = append(areas, a)
			for range r.IntN(4) {
				v := indicators.Value{Indicator: []string{"HS_A", "name", "HS_B"}[r.IntN(3)], Code: a.Code, Date: indicators.Date(fmt.Sprintf("2026-01-%02d", 1+r.IntN(9))), Number: coord()}
				if i%2 == 0 {
					v.Type, v.Text = indicators.String, text()
				}
				if r.IntN(2) == 0 {
					v.Attributes = map[string]any{text(): text(), "n": coord(), "l": []string{text()}}
				}
				vals = append(vals, v)
			}
		}
		for _, simplified := range []bool{false, true} {
			want, err := json.Marshal(areasCollection(areas, defs, vals, simplified))
			require.NoError(t, err)
			attrs, err := (&attributesJSON{}).encode(vals)
			require.NoError(t, err)
			c, err := newAreasJSON(areas, defs, vals, attrs, simplified)
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, writeAreasCollection(&got, c, layoutCompact))
			require.Equal(t, string(want), got.String(), "round %d simplified %v", round, simplified)
			if !simplified {
				want, err = json.Marshal(areasCollection(roundedAreas(areas, valuesCoordScale), defs, vals, false))
				require.NoError(t, err)
				c.scale = valuesCoordScale
				got.Reset()
				require.NoError(t, writeAreasCollection(&got, c, layoutCompact))
				require.Equal(t, string(want), got.String(), "round %d rounded to 1e-7", round)
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "<script>&</script>", "\u2028\u2029", "\xff\xfe", "\x00\x1f\x7f", `"\`, "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)))
	})
}

func FuzzAppendCoord(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1e21, 1e20, 123.4567891, 1e8, 99999999.9999999, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		for _, v := range []float64{x, math.Round(x*1e5) / 1e5, math.Round(x*1e7) / 1e7} {
			want, err := json.Marshal(v)
			got, gerr := appendCoord(nil, v)
			if err != nil {
				require.Error(t, gerr, "%v", v)
				continue
			}
			require.NoError(t, gerr)
			require.Equal(t, string(want), string(got), "%v", v)
			got, gerr = appendJSONFloat(nil, v)
			require.NoError(t, gerr)
			require.Equal(t, string(want), string(got), "%v", v)
		}
	})
}

func TestWriteOrdered(t *testing.T) {
	for _, tc := range []struct{ n, per int }{{0, 4}, {1, 4}, {7, 1}, {100, 3}, {1000, 32}} {
		t.Run(fmt.Sprintf("%d by %d", tc.n, tc.per), func(t *testing.T) {
			var got bytes.Buffer
			require.NoError(t, writeOrdered(&got, tc.n, tc.per, func(b []byte, i int) ([]byte, error) {
				return fmt.Appendf(b, "%d;", i), nil
			}))
			var want strings.Builder
			for i := range tc.n {
				fmt.Fprintf(&want, "%d;", i)
			}
			assert.Equal(t, want.String(), got.String())
		})
	}
	t.Run("the first error stops it", func(t *testing.T) {
		boom := errors.New("boom")
		var got bytes.Buffer
		err := writeOrdered(&got, 1000, 8, func(b []byte, i int) ([]byte, error) {
			if i == 500 {
				return b, boom
			}
			return fmt.Appendf(b, "%d;", i), nil
		})
		require.ErrorIs(t, err, boom)
		assert.True(t, strings.HasSuffix(got.String(), "495;"), "chunks before the failing one only")
	})
}

func TestWriteFileAtomicFuncLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "values.geojson")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
	err := writeFileAtomicFunc(p, func(io.Writer) error { return errors.New("boom") })
	require.Error(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b), "the old file stays")
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, es, 1, "no temp file left")
}

// values.csv lists the values by indicator, admin level, ucode and date,
// ties in the order given (as sort.SliceStable did).
func TestWriteDryRunCSVOrder(t *testing.T) {
	p, _ := demoData(t)
	vals := append([]indicators.Value(nil), p.values...)
	vals = append(vals, vals[3], vals[1]) // exact ties
	vals[len(vals)-2].Attributes = map[string]any{"copy": "first"}
	vals[len(vals)-1].Attributes = map[string]any{"copy": "second"}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })

	want := sortedTheOldWay(vals)
	attrs, err := (&attributesJSON{}).encode(want)
	require.NoError(t, err)
	var csv bytes.Buffer
	require.NoError(t, writeValuesCSV(&csv, want, attrs))

	dir := t.TempDir()
	_, err = WriteDryRun(dir, p.areas, p.defs, p.values, vals)
	require.NoError(t, err)
	assert.Equal(t, csv.String(), mustRead(t, filepath.Join(dir, "values.csv")))
}

// values.csv is spelled as encoding/csv writes the same records.
func TestValuesCSVIsEncodingCSV(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	parts := []string{"a", "Z9", ",", `"`, "\r", "\n", " ", "\t", "\u00a0", "\u3000", `\`, ".", "é", "\xff", "-"}
	field := func() string {
		if r.IntN(10) == 0 {
			return `\.`
		}
		var sb strings.Builder
		for range r.IntN(6) {
			sb.WriteString(parts[r.IntN(len(parts))])
		}
		return sb.String()
	}
	var vals []indicators.Value
	for range 500 {
		v := indicators.Value{Indicator: field(), Code: field(), AdminLevel: r.IntN(4) - 1, Date: indicators.Date(field()), Type: indicators.Float, Number: (r.Float64() - 0.5) * 1e6}
		if r.IntN(2) == 0 {
			v.Type, v.Text = indicators.String, field()
		}
		if r.IntN(2) == 0 {
			v.Attributes = map[string]any{field(): field()}
		}
		vals = append(vals, v)
	}
	attrs, err := (&attributesJSON{}).encode(vals)
	require.NoError(t, err)

	var want bytes.Buffer
	cw := csv.NewWriter(&want)
	require.NoError(t, cw.Write([]string{"indicator", "ucode", "admin_level", "date", "value", "attributes"}))
	for i, v := range vals {
		value := v.Text
		if v.Type == indicators.Float {
			value = strconv.FormatFloat(v.Number, 'f', -1, 64)
		}
		require.NoError(t, cw.Write([]string{v.Indicator, v.Code, strconv.Itoa(v.AdminLevel), string(v.Date), value, string(attrs[i])}))
	}
	cw.Flush()
	var got bytes.Buffer
	require.NoError(t, writeValuesCSV(&got, vals, attrs))
	assert.Equal(t, want.String(), got.String())
}

// sortedTheOldWay is a copy of vals in the order the preview used before it
// sorted through an index: sort.SliceStable by indicator, level, code, date.
func sortedTheOldWay(vals []indicators.Value) []indicators.Value {
	out := append([]indicators.Value(nil), vals...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Indicator != b.Indicator {
			return a.Indicator < b.Indicator
		}
		if a.AdminLevel != b.AdminLevel {
			return a.AdminLevel < b.AdminLevel
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Date < b.Date
	})
	return out
}
