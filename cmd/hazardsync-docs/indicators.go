package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	yaml "go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/indicators"
)

// recipeExamples are a working definition per recipe: shown to users, and
// run on a small synthetic scene to learn which attributes each recipe
// sets. A recipe missing here makes the generator fail, so a new recipe
// cannot ship undocumented.
var recipeExamples = map[string]indicators.Definition{
	"alert_level": {Shortcode: "HS_EQ_ALERT", Name: "Earthquake alert level", Type: indicators.String,
		Codes: []string{"none", "green", "orange", "red"}, Recipe: "alert_level",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "phase": "observed"}},
	"hazard_presence": {Shortcode: "HS_EQ_PRESENT", Name: "Earthquake present", Type: indicators.Integer, Recipe: "hazard_presence",
		Params: map[string]any{"hazard_types": []any{"earthquake"}}},
	"max_intensity": {Shortcode: "HS_EQ_MMI_MAX", Name: "Earthquake shaking, maximum MMI", Type: indicators.Float, Unit: "MMI",
		Recipe: "max_intensity", Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI"}},
	"population_exposed": {Shortcode: "HS_EQ_POP_MMI6", Name: "People exposed to strong shaking (MMI 6+)", Type: indicators.Integer,
		Unit: "people", Recipe: "population_exposed",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI", "min_intensity": 6}},
	"children_exposed": {Shortcode: "HS_EQ_CHILD_MMI6", Name: "Children exposed to strong shaking (MMI 6+)", Type: indicators.Integer,
		Unit: "children", Recipe: "children_exposed",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI", "min_intensity": 6}},
	"strike_probability": {Shortcode: "HS_TC_P64", Name: "Chance of hurricane-force winds (ECMWF ensemble)", Type: indicators.Float,
		Unit: "probability", Recipe: "strike_probability",
		Params: map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "sources": []any{"ecmwf"}, "threshold": 33}},
	"expected_children_exposed": {Shortcode: "HS_TC_ECHILD64", Name: "Expected children in hurricane-force winds (ECMWF ensemble)", Type: indicators.Float,
		Unit: "children", Recipe: "expected_children_exposed",
		Params: map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "sources": []any{"ecmwf"}, "threshold": 33}},
	"expected_facilities_exposed": {Shortcode: "HS_TC_ESCHOOL33", Name: "Expected schools in hurricane-force winds (ECMWF ensemble)", Type: indicators.Float,
		Unit: "schools", Recipe: "expected_facilities_exposed",
		Params: map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "sources": []any{"ecmwf"}, "threshold": 33, "kind": []any{"school"}}},
	"expected_population_exposed": {Shortcode: "HS_TC_EPOP18", Name: "Expected people in gale-force winds (ECMWF ensemble)", Type: indicators.Float,
		Unit: "people", Recipe: "expected_population_exposed",
		Params: map[string]any{"hazard_types": []any{"tropical_cyclone"}, "phase": "forecast", "sources": []any{"ecmwf"}, "threshold": 18}},
	"area_exposed_km2": {Shortcode: "HS_EQ_KM2_MMI6", Name: "Area with strong shaking (MMI 6+)", Type: indicators.Float,
		Unit: "km²", Recipe: "area_exposed_km2",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI", "min_intensity": 6}},
	"facilities_exposed": {Shortcode: "HS_EQ_SCHOOLS", Name: "Schools in strong shaking (MMI 6+)", Type: indicators.Integer,
		Unit: "schools", Recipe: "facilities_exposed",
		Params: map[string]any{"hazard_types": []any{"earthquake"}, "unit": "MMI", "min_intensity": 6, "kind": []any{"school"}}},
	"early_warning_level": {Shortcode: "HS_EW_HEAT", Name: "Heat early-warning level", Type: indicators.String,
		Codes: indicators.LevelNames, Recipe: "early_warning_level", Aggregation: "MAX(value)",
		Params: map[string]any{"trigger": "heat", "window": "action"}},
	"lead_time_hours": {Shortcode: "HS_EW_HEAT_LEAD", Name: "Hours until heat warning", Type: indicators.Float, Unit: "hours",
		Recipe: "lead_time_hours", Aggregation: "MIN(value)", Params: map[string]any{"trigger": "heat", "level": "warning"}},
	"children_at_risk": {Shortcode: "HS_EW_HEAT_CHILD", Name: "Children in areas under heat warning", Type: indicators.Integer,
		Unit: "children", Recipe: "children_at_risk", Aggregation: "SUM(value)",
		Params: map[string]any{"trigger": "heat", "level": "warning"}},
	"multi_hazard_index": {Shortcode: "HS_MHI", Name: "Multi-hazard index", Type: indicators.Float, Recipe: "multi_hazard_index",
		Params: map[string]any{"method": "geometric_mean", "components": []any{
			map[string]any{"name": "quake", "hazard_types": []any{"earthquake"}, "measure": "intensity", "unit": "MMI", "floor": 4, "ceiling": 9},
			map[string]any{"name": "heat", "hazard_types": []any{"heat"}, "phase": "forecast", "weight": 0.5},
		}}},
}

// scene is a small synthetic input every example recipe has something to
// say about: one district shaken by an earthquake (MMI 7) and under a heat
// forecast (45 °C in two days), with a school inside.
func scene() *indicators.Input {
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	sq := func(w, s, e, n float64) orb.Polygon {
		return orb.Polygon{{{w, s}, {e, s}, {e, n}, {w, n}, {w, s}}}
	}
	country := indicators.Area{Code: "DML_V1", Name: "Demoland", Level: 0, Geometry: sq(60, 10, 64, 14),
		Baseline: indicators.Baseline{Population: indicators.F(4e6), Under18: indicators.F(1.6e6)}}
	district := indicators.Area{Code: "DML_0001_V1", Name: "North-West", Level: 1, Parents: []string{"DML_V1"},
		Geometry: sq(60, 12, 62, 14), Baseline: indicators.Baseline{Population: indicators.F(1e6), Under18: indicators.F(4e5)}}
	areas := []indicators.Area{country, district}
	heat := 45.0
	events := []indicators.Event{
		{ID: "usgs:demo1", Source: "usgs", Version: "1", Type: indicators.Earthquake, Phase: indicators.Observed,
			Severity: indicators.SeverityOrange, Issued: now.Add(-2 * time.Hour),
			Footprints: []indicators.Footprint{{Geometry: sq(60.5, 12.5, 61.5, 13.5), Band: "MMI 7", Intensity: 7, Unit: "MMI",
				Severity: indicators.SeverityOrange}}},
		{ID: "openmeteo:demo1", Source: "openmeteo", Version: "1", Type: indicators.Heat, Phase: indicators.Forecast,
			Severity: indicators.SeverityOrange, Issued: now,
			ValidFrom: now.Add(48 * time.Hour), ValidTo: now.Add(72 * time.Hour),
			Footprints: []indicators.Footprint{{Geometry: sq(60, 12, 62, 14), Band: "orange", Intensity: heat, Value: &heat, Unit: "°C",
				Severity: indicators.SeverityOrange, ValidFrom: now.Add(48 * time.Hour), ValidTo: now.Add(72 * time.Hour)}}},
	}
	// An ensemble storm: 2 of its 4 members' swaths cross the district.
	ens := indicators.Event{ID: "ecmwf:05a", Source: "ecmwf", Version: "2026-11-20T12:00:00Z", Type: indicators.TropicalCyclone,
		Phase: indicators.Forecast, Severity: indicators.SeverityOrange, Issued: now.Add(-12 * time.Hour),
		ValidFrom: now.Add(-12 * time.Hour), ValidTo: now.Add(60 * time.Hour), Properties: map[string]any{"member_count": 4}}
	for m := 1; m <= 2; m++ {
		for _, th := range []float64{18, 33} {
			ens.Footprints = append(ens.Footprints, indicators.Footprint{Geometry: orb.MultiPolygon{sq(60.5, 12, 61.5+float64(m)/2, 13)},
				Member: m, Band: fmt.Sprintf("%g m/s", th), Intensity: th, Unit: "m/s", ValidFrom: now.Add(30 * time.Hour), ValidTo: now.Add(42 * time.Hour)})
		}
	}
	events = append(events, ens)
	return &indicators.Input{Events: events, Areas: areas, Exposure: indicators.NewAreaWeighted(areas),
		Facilities: []indicators.Facility{{ID: "s1", Kind: "school", Point: orb.Point{61, 13}}, {ID: "s2", Kind: "school", Point: orb.Point{61.2, 12.5}}},
		Now:        now, Date: indicators.DateOf(now, time.UTC), Triggers: indicators.DefaultTriggers()}
}

// recipeDoc is what the generator learns about one recipe.
type recipeDoc struct {
	Name, File, TypeName string
	ValueType            indicators.ValueType
	ParamsType           string
	Params               []row
	Attributes           []string
	Example              indicators.Definition
}

// indicatorsReference renders docs/indicators.md.
func indicatorsReference(mod *module) ([]byte, error) {
	ps, err := mod.pkg(reflect.TypeOf(indicators.Definition{}).PkgPath())
	if err != nil {
		return nil, err
	}
	regs := recipeRegistrations(ps)
	var docs []recipeDoc
	for _, name := range indicators.RecipeNames() {
		reg, ok := regs[name]
		if !ok {
			return nil, fmt.Errorf("recipe %s: no RegisterRecipe(%q, T{...}) call found in %s", name, name, ps.Dir)
		}
		r, _ := indicators.LookupRecipe(name)
		d := recipeDoc{Name: name, File: reg.file, TypeName: reg.typeName, ValueType: r.ValueType()}
		d.ParamsType = paramsType(ps, reg.typeName)
		if d.ParamsType != "" {
			d.Params = astRows(ps, d.ParamsType, "params.", map[string]bool{})
		}
		ex, ok := recipeExamples[name]
		if !ok {
			return nil, fmt.Errorf("recipe %s has no example in cmd/hazardsync-docs recipeExamples: add one", name)
		}
		if err := ex.Validate(); err != nil {
			return nil, fmt.Errorf("recipe %s: example does not validate: %w", name, err)
		}
		vals, err := r.Compute(ex, scene())
		if err != nil {
			return nil, fmt.Errorf("recipe %s: example failed on the synthetic scene: %w", name, err)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("recipe %s: example gave no values on the synthetic scene; change the example or scene()", name)
		}
		attrs := map[string]bool{}
		for _, v := range vals {
			for k := range v.Attributes {
				attrs[k] = true
			}
		}
		d.Attributes = sortedKeys(attrs)
		d.Example = ex
		docs = append(docs, d)
	}

	var b bytes.Buffer
	b.WriteString(generatedHeader)
	b.WriteString("# Indicator recipes, early warning and roll-ups\n\n")
	b.WriteString(banner)
	if d := ps.typeDoc("Definition"); d != "" {
		fmt.Fprintf(&b, "%s Each indicator under `indicators:` names a `recipe` and gives its `params`; every key is in the [configuration reference](config-reference.md#indicators).\n\n", d)
	}
	if d := ps.typeDoc("Recipe"); d != "" {
		fmt.Fprintf(&b, "%s\n\n", d)
	}
	b.WriteString("Every value carries attributes saying where it came from: `events` lists the events (with their versions) that produced it, and `phase` says observed or forecast.\n\n")

	b.WriteString("## Recipes\n\n| recipe | value type | params | attributes set |\n|---|---|---|---|\n")
	for _, d := range docs {
		params := "—"
		if len(d.Params) > 0 {
			var keys []string
			for _, p := range d.Params {
				if !strings.Contains(strings.TrimPrefix(p.Key, "params."), ".") {
					keys = append(keys, "`"+strings.TrimPrefix(p.Key, "params.")+"`")
				}
			}
			params = strings.Join(keys, ", ")
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", d.Name, anchor(d.Name), valueTypeText(d.ValueType), params, codeList(d.Attributes))
	}
	b.WriteString("\n")

	// Recipes are grouped by the file registering them: each file opens
	// with the explanation shared by its recipes.
	byFile := map[string][]recipeDoc{}
	var files []string
	for _, d := range docs {
		if byFile[d.File] == nil {
			files = append(files, d.File)
		}
		byFile[d.File] = append(byFile[d.File], d)
	}
	for _, f := range files {
		group := byFile[f]
		var names []string
		for _, d := range group {
			names = append(names, d.Name)
		}
		fmt.Fprintf(&b, "## %s\n\n", strings.Join(names, ", "))
		if ov := ps.fileOverview(f); ov != "" {
			fmt.Fprintf(&b, "%s\n\n", markdownComment(ov))
		}
		for _, d := range group {
			fmt.Fprintf(&b, "### %s\n\n", d.Name)
			if td := ps.typeDoc(d.TypeName); td != "" {
				fmt.Fprintf(&b, "%s\n\n", td)
			}
			fmt.Fprintf(&b, "Value type: %s. Attributes set: %s.\n\n", valueTypeText(d.ValueType), codeList(d.Attributes))
			if len(d.Params) > 0 {
				fmt.Fprintf(&b, "Params (`%s`):\n\n", d.ParamsType)
				writeParamsTable(&b, d.Params)
			}
			ex, err := exampleYAML(d.Example)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "Example:\n\n```yaml\nindicators:\n%s```\n\n", ex)
		}
	}

	if err := writeTriggers(&b, ps); err != nil {
		return nil, err
	}
	writeRollups(&b, ps)
	return b.Bytes(), nil
}

func valueTypeText(t indicators.ValueType) string {
	if t == "" {
		return "Integer or Float"
	}
	if t == indicators.Float {
		return "Float (or Integer)"
	}
	return string(t)
}

func codeList(xs []string) string {
	if len(xs) == 0 {
		return "—"
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return strings.Join(out, ", ")
}

func writeParamsTable(b *bytes.Buffer, rows []row) {
	b.WriteString("| key | type | description |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", strings.TrimPrefix(r.Key, "params."), r.Type, cell(r.Description))
	}
	b.WriteString("\n")
}

// exampleYAML renders a definition as a YAML list item.
func exampleYAML(d indicators.Definition) (string, error) {
	m := map[string]any{"shortcode": d.Shortcode, "name": d.Name, "type": string(d.Type), "recipe": d.Recipe, "params": d.Params}
	if d.Unit != "" {
		m["unit"] = d.Unit
	}
	if len(d.Codes) > 0 {
		m["codes"] = d.Codes
	}
	if d.Aggregation != "" {
		m["aggregation"] = d.Aggregation
	}
	// yaml sorts map keys, so the output is stable; order the familiar keys
	// first by hand.
	var b bytes.Buffer
	first := []string{"shortcode", "name", "type", "unit", "codes", "recipe", "aggregation"}
	for i, k := range first {
		v, ok := m[k]
		if !ok {
			continue
		}
		out, err := yaml.Marshal(map[string]any{k: v})
		if err != nil {
			return "", err
		}
		s := strings.TrimRight(string(out), "\n")
		if k == "codes" {
			s = "codes: [" + strings.Join(d.Codes, ", ") + "]"
		}
		prefix := "    "
		if i == 0 {
			prefix = "  - "
		}
		b.WriteString(prefix + s + "\n")
	}
	var pb bytes.Buffer
	enc := yaml.NewEncoder(&pb)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"params": d.Params}); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimRight(pb.String(), "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	return b.String(), nil
}

type registration struct{ file, typeName string }

// recipeRegistrations finds RegisterRecipe("name", T{...}) calls.
func recipeRegistrations(ps *pkgSource) map[string]registration {
	out := map[string]registration{}
	for _, fname := range sortedKeys(ps.Files) {
		ast.Inspect(ps.Files[fname], func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "RegisterRecipe" {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			reg := registration{file: fname}
			if cl, ok := call.Args[1].(*ast.CompositeLit); ok {
				if id, ok := cl.Type.(*ast.Ident); ok {
					reg.typeName = id.Name
				}
			}
			out[name] = reg
			return true
		})
	}
	return out
}

// paramsType finds the struct a recipe type's ValidateParams decodes into:
// a variable declared with it, a literal of it, or the result of a package
// function called there. Methods promoted from embedded types count.
func paramsType(ps *pkgSource, typeName string) string {
	fn := findMethod(ps, typeName, "ValidateParams", map[string]bool{})
	if fn == nil || fn.Body == nil {
		return ""
	}
	var found string
	consider := func(e ast.Expr) {
		if id, ok := e.(*ast.Ident); ok && found == "" && hasTags(ps, id.Name) {
			found = id.Name
		}
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			if n.Type != nil {
				consider(n.Type)
			}
		case *ast.CompositeLit:
			consider(n.Type)
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok {
				if f := ps.funcs[id.Name]; f != nil && f.Type.Results != nil && len(f.Type.Results.List) > 0 {
					consider(f.Type.Results.List[0].Type)
				}
			}
		}
		return found == ""
	})
	return found
}

func findMethod(ps *pkgSource, typeName, method string, seen map[string]bool) *ast.FuncDecl {
	if seen[typeName] {
		return nil
	}
	seen[typeName] = true
	if m := ps.methods[typeName][method]; m != nil {
		return m
	}
	if st := ps.structs[typeName]; st != nil {
		for _, f := range st.Fields.List {
			if len(f.Names) == 0 {
				if m := findMethod(ps, embeddedName(f.Type), method, seen); m != nil {
					return m
				}
			}
		}
	}
	return nil
}

// hasTags reports whether a package struct has mapstructure-tagged fields.
func hasTags(ps *pkgSource, name string) bool {
	st := ps.structs[name]
	if st == nil {
		return false
	}
	for _, f := range st.Fields.List {
		if astTag(f).Get("mapstructure") != "" {
			return true
		}
	}
	return false
}

// astRows documents a params struct from source alone (params structs may
// be unexported, so there is nothing to reflect on).
func astRows(ps *pkgSource, structName, prefix string, seen map[string]bool) []row {
	st := ps.structs[structName]
	if st == nil || seen[structName] {
		return nil
	}
	seen[structName] = true
	defer delete(seen, structName)
	docs := ps.fieldDocs(structName)
	var out []row
	for _, f := range st.Fields.List {
		for _, n := range fieldNames(f) {
			if n == "" || !ast.IsExported(n) {
				continue
			}
			key, squash, skip := tagKey(astTag(f), n)
			if skip {
				continue
			}
			if len(f.Names) == 0 || squash {
				out = append(out, astRows(ps, embeddedName(f.Type), prefix, seen)...)
				continue
			}
			path := prefix + key
			out = append(out, row{Key: path, Type: astTypeName(ps, f.Type), Description: docs[n]})
			switch t := f.Type.(type) {
			case *ast.Ident:
				if hasTags(ps, t.Name) {
					out = append(out, astRows(ps, t.Name, path+".", seen)...)
				}
			case *ast.ArrayType:
				if id, ok := t.Elt.(*ast.Ident); ok && hasTags(ps, id.Name) {
					out = append(out, astRows(ps, id.Name, path+"[].", seen)...)
				}
			}
		}
	}
	return out
}

// astTypeName names a source type expression at YAML level.
func astTypeName(ps *pkgSource, e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return astTypeName(ps, t.X)
	case *ast.ArrayType:
		return "list of " + plural(astTypeName(ps, t.Elt))
	case *ast.MapType:
		return "map of " + astTypeName(ps, t.Key) + " to " + astTypeName(ps, t.Value)
	case *ast.SelectorExpr:
		if t.Sel.Name == "Duration" {
			return "duration"
		}
		return t.Sel.Name
	case *ast.Ident:
		switch t.Name {
		case "string":
			return "string"
		case "bool":
			return "bool"
		case "int", "int64", "int32", "uint", "uint64":
			return "integer"
		case "float64", "float32":
			return "number"
		case "any":
			return "any"
		}
		if hasTags(ps, t.Name) {
			return "mapping"
		}
		// Named scalars (HazardType, Phase, Severity) read as words.
		return strings.ToLower(strings.Join(splitCamel(t.Name), " "))
	}
	return "value"
}

func splitCamel(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z' {
			out = append(out, s[start:i])
			start = i
		}
	}
	return append(out, s[start:])
}

// markdownComment turns a Go comment into Markdown: indented blocks become
// code blocks, other paragraphs are reflowed.
func markdownComment(s string) string {
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		lines := strings.Split(p, "\n")
		var prose, pre []string
		flush := func() {
			if len(prose) > 0 {
				out = append(out, oneLine(strings.Join(prose, " ")))
				prose = nil
			}
			if len(pre) > 0 {
				out = append(out, "```\n"+strings.Join(pre, "\n")+"\n```")
				pre = nil
			}
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "  ") {
				if len(prose) > 0 {
					out = append(out, oneLine(strings.Join(prose, " ")))
					prose = nil
				}
				pre = append(pre, strings.TrimPrefix(l, "\t"))
				continue
			}
			if len(pre) > 0 {
				out = append(out, "```\n"+strings.Join(pre, "\n")+"\n```")
				pre = nil
			}
			prose = append(prose, l)
		}
		flush()
	}
	return strings.Join(out, "\n\n")
}

// writeTriggers documents the early-warning levels and default triggers.
func writeTriggers(b *bytes.Buffer, ps *pkgSource) error {
	b.WriteString("## Early-warning triggers\n\n")
	if ov := ps.fileOverview("trigger.go"); ov != "" {
		fmt.Fprintf(b, "%s\n\n", markdownComment(ov))
	}
	fmt.Fprintf(b, "Levels, lowest first: %s (the codes of `early_warning_level`). ", codeList(indicators.LevelNames))
	b.WriteString("A config's `triggers:` entry named like a default starts from the default, so one threshold can change without restating the rule; `levels` given there replace the default levels as a whole. Every key: [configuration reference](config-reference.md#triggers).\n\n")
	b.WriteString("### Default triggers\n\n| trigger | hazard types | measure | unit | watch | warning | alert | bands | windows (longest lead) | clear after |\n|---|---|---|---|---|---|---|---|---|---|\n")
	defs := indicators.DefaultTriggers()
	for _, name := range sortedKeys(defs) {
		t := defs[name]
		if err := t.Validate(); err != nil {
			return fmt.Errorf("default trigger %s does not validate: %w", name, err)
		}
		var hts []string
		for _, h := range t.HazardTypes {
			hts = append(hts, string(h))
		}
		lvl := func(l string) string {
			v, ok := t.Levels[l]
			if !ok {
				return "—"
			}
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		var bands []string
		for _, k := range sortedKeys(t.Bands) {
			bands = append(bands, k+" → "+t.Bands[k])
		}
		var wins []string
		for _, w := range t.WindowNames() {
			wins = append(wins, w+" "+shortDuration(t.Windows[w]))
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, codeList(hts), t.Measure, orDash(t.Unit),
			lvl("watch"), lvl("warning"), lvl("alert"), orDash(strings.Join(bands, ", ")), strings.Join(wins, ", "), shortDuration(t.ClearAfter))
	}
	b.WriteString("\nReferences for the default thresholds:\n\n")
	for _, name := range sortedKeys(defs) {
		fmt.Fprintf(b, "- `%s`: %s\n", name, orDash(defs[name].Reference))
	}
	b.WriteString("\n")
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// writeRollups documents aggregation words and roll-up semantics.
func writeRollups(b *bytes.Buffer, ps *pkgSource) {
	b.WriteString("## Roll-ups\n\n")
	if ov := ps.fileOverview("rollup.go"); ov != "" {
		fmt.Fprintf(b, "%s\n\n", markdownComment(ov))
	}
	fmt.Fprintf(b, "Aggregation words: %s.\n\n", codeList(indicators.AggregationWords))
	docs := ps.fieldDocs("Definition")
	fmt.Fprintf(b, "- `aggregation`: %s\n- `rollup_from`: %s\n", docs["Aggregation"], docs["RollupFrom"])
}
