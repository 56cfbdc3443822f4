package project

import (
	"fmt"
)

// FootprintGroup is the context-layer group holding the footprint layers.
const FootprintGroup = "Hazard footprints"

// merge writes what hazardsync owns into data (a project in the editor's
// shape, new or read back) and leaves the rest as it is. New items get
// negative ids: GeoSight finds no such row and creates one, then maps the
// temporary id in the structures to the new row's id.
func merge(data map[string]any, s Spec) error {
	tmp := 0
	nextID := func() int { tmp--; return tmp }

	data["reference_layer"] = s.Dataset
	data["extent"] = []any{s.Extent[0], s.Extent[1], s.Extent[2], s.Extent[3]}
	levels := make([]any, len(s.Levels))
	for i, l := range s.Levels {
		levels[i] = l
	}
	data["level_config"] = map[string]any{"levels": levels, "default_level": s.DefaultLevel}

	ins := s.sortedIndicators()
	ours := map[int]Indicator{}
	for _, in := range ins {
		ours[in.ID] = in
	}

	// Dashboard indicators: ours present (an admin's style overrides on an
	// existing one are kept), others untouched.
	dis := list(data["indicators"])
	have := map[int]bool{}
	for _, d := range dis {
		have[intOf(d["id"])] = true
	}
	for i, in := range ins {
		if !have[in.ID] {
			dis = append(dis, dashboardIndicator(in, i))
		}
	}
	data["indicators"] = anys(dis)

	// Indicator layers: one per indicator, found by the indicator it shows.
	layers := list(data["indicator_layers"])
	layerOf := map[int]map[string]any{}
	for _, l := range layers {
		if id := singleIndicator(l); id != 0 {
			if _, mine := ours[id]; mine {
				if _, dup := layerOf[id]; !dup {
					layerOf[id] = l
				}
			}
		}
	}
	groupIDs := map[string][]any{}
	ourLayer := map[int]bool{}
	for i, in := range ins {
		l, ok := layerOf[in.ID]
		if !ok {
			l = indicatorLayer(nextID(), in, i == 0 && len(layers) == 0)
			layers = append(layers, l)
		} else if li, ok := list0(l["indicators"])[0].(map[string]any); ok {
			// A one-indicator layer shows its indicator's own name and
			// description (GeoSight's DashboardIndicatorLayer.label), which
			// the sync keeps in step; the legend's name is ours.
			li["name"] = in.Name
		}
		// Early-warning levels are coloured by fixed rules (see levelRules),
		// also on layers made before, or restyled by hand.
		setLayerStyle(l, in)
		id := intOf(l["id"])
		ourLayer[id] = true
		groupIDs[GroupOf(in.Recipe)] = append(groupIDs[GroupOf(in.Recipe)], id)
	}
	data["indicator_layers"] = anys(layers)
	data["indicator_layers_structure"] = placeInGroups(structure(data["indicator_layers_structure"]), Groups, groupIDs, ourLayer)

	// Footprint context layers, in their own group.
	cls := list(data["context_layers"])
	haveCL := map[int]bool{}
	for _, c := range cls {
		haveCL[intOf(c["id"])] = true
	}
	var clIDs []any
	ourCL := map[int]bool{}
	for i, l := range s.Layers {
		if !haveCL[l.ID] {
			cls = append(cls, contextLayer(l, i))
		}
		clIDs = append(clIDs, l.ID)
		ourCL[l.ID] = true
	}
	data["context_layers"] = anys(cls)
	data["context_layers_structure"] = placeInGroups(structure(data["context_layers_structure"]), []string{FootprintGroup},
		map[string][]any{FootprintGroup: clIDs}, ourCL)

	// Widgets, matched by name; ones hazardsync no longer makes go.
	var ws []map[string]any
	retired := map[int]bool{}
	for _, w := range list(data["widgets"]) {
		if retiredWidgets[fmt.Sprint(w["name"])] {
			retired[intOf(w["id"])] = true
			continue
		}
		ws = append(ws, w)
	}
	byName := map[string]map[string]any{}
	for _, w := range ws {
		byName[fmt.Sprint(w["name"])] = w
	}
	var wIDs []any
	ourW := map[int]bool{}
	for _, w := range s.widgets(nextID) {
		if old, ok := byName[fmt.Sprint(w["name"])]; ok {
			for k, v := range w {
				if k != "id" && k != "order" && k != "visible_by_default" {
					old[k] = v
				}
			}
			w = old
		} else {
			ws = append(ws, w)
		}
		wIDs = append(wIDs, intOf(w["id"]))
		ourW[intOf(w["id"])] = true
	}
	data["widgets"] = anys(ws)
	st := structure(data["widgets_structure"])
	st["children"] = appendMissing(pruneIDs(list0(st["children"]), retired), wIDs)
	data["widgets_structure"] = st

	// The filter query, matched by name in the top-level group.
	// The top-level filter group (a project made elsewhere may have none).
	f, _ := data["filters"].(map[string]any)
	if _, ok := f["queries"]; !ok {
		f = map[string]any{"type": "GROUP", "operator": "AND", "queries": []any{}}
	}
	// Ours is replaced where it stands (keeping whether a user switched it
	// on), or appended; no early-warning indicator, no filter.
	mine := s.filter()
	qs := []any{}
	placed := false
	for _, q := range list0(f["queries"]) {
		if m, ok := q.(map[string]any); ok && m["name"] == FilterName {
			if mine != nil && !placed {
				if a, ok := m["active"]; ok {
					mine["active"] = a
				}
				qs = append(qs, mine)
				placed = true
			}
			continue
		}
		qs = append(qs, q)
	}
	if mine != nil && !placed {
		qs = append(qs, mine)
	}
	f["queries"] = qs
	data["filters"] = f
	return nil
}

// placeInGroups puts ids into the named top-level groups of a layer tree
// (creating the groups, in order, after what is there), removing them from
// anywhere else; children the admin put in those groups stay after ours.
func placeInGroups(st map[string]any, groups []string, ids map[string][]any, ours map[int]bool) map[string]any {
	children := pruneIDs(list0(st["children"]), ours)
	for _, g := range groups {
		if len(ids[g]) == 0 {
			continue
		}
		var node map[string]any
		for _, c := range children {
			if m, ok := c.(map[string]any); ok && m["group"] == g {
				node = m
				break
			}
		}
		if node == nil {
			node = map[string]any{"group": g, "children": []any{}}
			children = append(children, node)
		}
		node["children"] = append(append([]any(nil), ids[g]...), list0(node["children"])...)
	}
	st["children"] = children
	if st["group"] == nil {
		st["group"] = ""
	}
	return st
}

// pruneIDs removes the given ids from a tree, anywhere.
func pruneIDs(children []any, drop map[int]bool) []any {
	out := []any{}
	for _, c := range children {
		switch v := c.(type) {
		case map[string]any:
			v["children"] = pruneIDs(list0(v["children"]), drop)
			out = append(out, v)
		default:
			if !drop[intOf(v)] {
				out = append(out, v)
			}
		}
	}
	return out
}

func appendMissing(children []any, ids []any) []any {
	have := map[int]bool{}
	var walk func([]any)
	walk = func(cs []any) {
		for _, c := range cs {
			if m, ok := c.(map[string]any); ok {
				walk(list0(m["children"]))
			} else {
				have[intOf(c)] = true
			}
		}
	}
	walk(children)
	out := append([]any{}, children...)
	for _, id := range ids {
		if !have[intOf(id)] {
			out = append(out, id)
		}
	}
	return out
}

// singleIndicator is the indicator id a one-indicator layer shows (0 otherwise).
func singleIndicator(l map[string]any) int {
	ins := list0(l["indicators"])
	if len(ins) != 1 || len(list0(l["related_tables"])) > 0 {
		return 0
	}
	m, _ := ins[0].(map[string]any)
	return intOf(m["id"])
}

func structure(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		if m["children"] == nil {
			m["children"] = []any{}
		}
		return m
	}
	return map[string]any{"group": "", "children": []any{}}
}

// list reads a JSON array of objects.
func list(v any) []map[string]any {
	var out []map[string]any
	for _, x := range list0(v) {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func list0(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []map[string]any:
		return anys(x)
	}
	return nil
}

func anys(ms []map[string]any) []any {
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, m)
	}
	return out
}

// intOf reads an id that JSON decoding made a float64 (or we made an int).
func intOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case int64:
		return int(x)
	}
	return 0
}
