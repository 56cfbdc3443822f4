package project

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Palettes lists the colour palettes the GeoSight holds (id → name), from
// /api/color/palette/list (open to anyone).
func (e *Editor) Palettes(ctx context.Context) (map[int]string, error) {
	const path = "/api/color/palette/list"
	resp, err := e.http.R().SetContext(ctx).SetHeader("Accept", "application/json").Get(path)
	if err != nil {
		return nil, e.wrap("GET "+path, err)
	}
	if resp.StatusCode() != http.StatusOK {
		return nil, fmt.Errorf("geosight project editor: GET %s answered %d: %s", path, resp.StatusCode(), e.text(resp.Body()))
	}
	var rows []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(resp.Body(), &rows); err != nil {
		return nil, fmt.Errorf("geosight project editor: GET %s: %w", path, err)
	}
	out := make(map[int]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// dynamicStyles are GeoSight's style types that colour by a palette.
var dynamicStyles = map[string]bool{"Dynamic quantitative style.": true, "Dynamic qualitative style.": true}

// PaletteWarnings says which of the project's layers will draw no colours
// because their indicator's dynamic style names a colour palette the
// server does not have. GeoSight's palettes are default data: an instance
// deployed from its template (without the data_restorer plugin) has none,
// and its map then draws no choropleth for those layers (seen on
// 516c4db7). Layers whose style hazardsync sets (early-warning levels,
// fixed rules) need no palette.
func PaletteWarnings(s Spec, palettes map[int]string) []string {
	missing := map[int][]string{}
	for _, in := range s.Indicators {
		if ownsStyle(in) || !dynamicStyles[in.StyleType] || in.Palette == 0 {
			continue
		}
		if _, ok := palettes[in.Palette]; !ok {
			missing[in.Palette] = append(missing[in.Palette], in.Name)
		}
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(missing)) {
		names := missing[id]
		out = append(out, fmt.Sprintf("GeoSight has no colour palette %d, so the map draws no colours for %d layer(s): %s. "+
			"Load GeoSight's default data (its data_restorer plugin: manage.py load_default_data) or add a palette "+
			"with id %d in GeoSight's admin, or give these indicators another color_palette in their style",
			id, len(names), strings.Join(names, ", "), id))
	}
	return out
}
