package main

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	yaml "go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/indicators"
)

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

// recipeDocs asks every registered recipe for its params (NewParams) and
// example (Example), checks the example validates and computes on scene(),
// and records the attributes its values carry.
func recipeDocs(mod *module, ps *pkgSource) ([]recipeDoc, error) {
	var docs []recipeDoc
	for _, name := range indicators.RecipeNames() {
		r, _ := indicators.LookupRecipe(name)
		rt := elemType(reflect.TypeOf(r))
		d := recipeDoc{Name: name, TypeName: rt.Name(), File: ps.typeFile(rt.Name()), ValueType: r.ValueType()}
		if d.File == "" {
			return nil, fmt.Errorf("recipe %s: type %s is not declared in %s", name, rt.Name(), ps.Dir)
		}
		params := r.NewParams()
		if pt := elemType(reflect.TypeOf(params)); pt.Kind() == reflect.Struct && pt.NumField() > 0 {
			w := &walker{mod: mod}
			rows, err := w.rows("", params)
			if err != nil {
				return nil, fmt.Errorf("recipe %s: params: %w", name, err)
			}
			d.ParamsType, d.Params = pt.Name(), rows
		}
		ex := r.Example()
		if ex.Recipe != name {
			return nil, fmt.Errorf("recipe %s: its Example() names recipe %q", name, ex.Recipe)
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
		d.Attributes = slices.Sorted(maps.Keys(attrs))
		d.Example = ex
		docs = append(docs, d)
	}
	return docs, nil
}

// indicatorsReference renders docs/indicators.md.
func indicatorsReference(mod *module) ([]byte, error) {
	ps, err := mod.pkg(reflect.TypeOf(indicators.Definition{}).PkgPath())
	if err != nil {
		return nil, err
	}
	docs, err := recipeDocs(mod, ps)
	if err != nil {
		return nil, err
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
				if !strings.Contains(p.Key, ".") {
					keys = append(keys, "`"+p.Key+"`")
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
				writeTable(&b, d.Params)
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
	return "`" + strings.Join(xs, "`, `") + "`"
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
	for _, name := range slices.Sorted(maps.Keys(defs)) {
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
		for _, k := range slices.Sorted(maps.Keys(t.Bands)) {
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
	for _, name := range slices.Sorted(maps.Keys(defs)) {
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
