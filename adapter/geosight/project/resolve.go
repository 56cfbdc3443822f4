package project

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Settings are the project's own settings (flags of `hazardsync dashboard`).
type Settings struct {
	Slug        string
	Name        string
	Description string
}

// DefaultSettings names the project after the config's dataset.
func DefaultSettings() Settings {
	return Settings{
		Slug:        "hazardsync",
		Name:        "Hazards and children: early warning and exposure",
		Description: "Hazard early warnings, exposure of children and multi-hazard overview per area, kept up to date by hazardsync.",
	}
}

// Resolve builds the Spec from the config and what the server holds: the
// ids of the config's indicators, its footprint layers, the dataset's
// extent and the basemaps.
func Resolve(ctx context.Context, c *geosight.Client, cfg config.Config, set Settings) (Spec, error) {
	s := Spec{Slug: set.Slug, Name: set.Name, Description: set.Description, Dataset: cfg.GeoSight.Dataset}

	var codes []string
	for _, d := range cfg.Indicators {
		codes = append(codes, d.Shortcode)
	}
	remote, err := c.FindIndicators(ctx, geosight.IndicatorFilter{Shortcodes: codes})
	if err != nil {
		return s, fmt.Errorf("reading the indicators: %w", err)
	}
	byCode := map[string]geosight.RemoteIndicator{}
	for _, r := range remote {
		byCode[r.Shortcode] = r
	}
	levels := map[int]bool{}
	for _, d := range cfg.Indicators {
		r, ok := byCode[d.Shortcode]
		if !ok {
			return s, fmt.Errorf("indicator %s is not on the server yet: run one sync (hazardsync once) first", d.Shortcode)
		}
		pal := 0
		if v, ok := r.StyleConfig["color_palette"].(float64); ok {
			pal = int(v)
		}
		s.Indicators = append(s.Indicators, Indicator{ID: r.ID, Shortcode: d.Shortcode, Name: d.Name, Recipe: d.Recipe,
			Type: r.Type, StyleType: r.StyleType, Description: d.Description, Palette: pal})
		for _, l := range d.AdminLevels {
			levels[l] = true
		}
	}

	ds, err := datasetDetail(ctx, c, cfg.GeoSight.Dataset)
	if err != nil {
		return s, err
	}
	if len(ds.BBox) == 4 {
		copy(s.Extent[:], ds.BBox)
	}
	// Every level of the dataset (roll-ups publish above the indicators'
	// own levels); the map opens on the finest level an indicator uses.
	finest := -1
	for l := range levels {
		finest = max(finest, l)
	}
	for _, l := range ds.DatasetLevels {
		s.Levels = append(s.Levels, l.Level)
		if len(levels) == 0 {
			finest = max(finest, l.Level)
		}
	}
	sort.Ints(s.Levels)
	s.DefaultLevel = max(finest, 0)

	if cfg.GeoSight.ContextLayers.Enabled {
		types := cfg.GeoSight.ContextLayers.HazardTypes
		if len(types) == 0 {
			for _, t := range indicators.KnownHazardTypes {
				types = append(types, string(t))
			}
		}
		for _, t := range types {
			l, err := c.FindContextLayer(ctx, c.LayerName(indicators.HazardType(t)))
			if err != nil {
				return s, fmt.Errorf("reading the context layers: %w", err)
			}
			if l != nil {
				s.Layers = append(s.Layers, Layer{ID: l.ID, Name: l.Name})
			}
		}
	}

	bms, err := basemaps(ctx, c)
	if err != nil {
		return s, err
	}
	s.Basemaps = bms
	s.Overview = overview(cfg)
	return s, s.Validate()
}

type datasetBBox struct {
	BBox          []float64 `json:"bbox"`
	DatasetLevels []struct {
		Level int `json:"level"`
	} `json:"dataset_levels"`
}

func datasetDetail(ctx context.Context, c *geosight.Client, uuid string) (*datasetBBox, error) {
	resp, err := c.Do(ctx, http.MethodGet, "reference-datasets/"+url.PathEscape(uuid)+"/", nil, nil, "")
	if err != nil {
		return nil, fmt.Errorf("reading reference dataset %s: %w", uuid, err)
	}
	var d datasetBBox
	if err := json.Unmarshal(resp.Body, &d); err != nil {
		return nil, fmt.Errorf("reading reference dataset %s: %w", uuid, err)
	}
	return &d, nil
}

// basemaps lists the basemaps the user can use, in GeoSight's order.
func basemaps(ctx context.Context, c *geosight.Client) ([]int, error) {
	resp, err := c.Do(ctx, http.MethodGet, "basemaps/", url.Values{"page_size": {"100"}}, nil, "")
	if err != nil {
		return nil, fmt.Errorf("reading the basemaps: %w", err)
	}
	var p struct {
		Results []struct {
			ID int `json:"id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		return nil, fmt.Errorf("reading the basemaps: %w", err)
	}
	var ids []int
	for _, r := range p.Results {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// overview is the provenance text shown on the project's landing page.
func overview(cfg config.Config) string {
	var names []string
	for name, spec := range cfg.Sources {
		names = append(names, fmt.Sprintf("%s (%s)", name, spec.Kind))
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Built and kept up to date by hazardsync from live hazard feeds.\n\n")
	b.WriteString("Sources: " + strings.Join(names, ", ") + ". Each source's licence applies to its data " +
		"(USGS and NOAA/NHC: public domain; GDACS: EC JRC, attribution; NASA EONET/FIRMS: NASA open data; " +
		"Open-Meteo: CC BY 4.0; GloFAS: Copernicus, attribution; CAP: the issuing agency; ECMWF: CC BY 4.0).\n\n")
	b.WriteString("Early-warning layers are forecasts, not an activation: a level says what a forecast reaches in an area " +
		"and when (lead time in hours from the last sync). Exposure layers count people and children inside observed " +
		"hazard footprints. Each value carries its source events and method in its attributes.")
	return b.String()
}
