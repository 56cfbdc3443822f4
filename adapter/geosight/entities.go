package geosight

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// Dataset is a reference dataset as listed by GeoSight.
type Dataset struct {
	UUID          string   `json:"uuid"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	PossibleIDs   []string `json:"possible_id_types"`
	DatasetLevels []struct {
		Level     int    `json:"level"`
		LevelName string `json:"level_name"`
		URL       string `json:"url"`
	} `json:"dataset_levels"`
}

// Entity is one geography of a reference dataset. GeoSight's parents carry
// wrong admin levels (observed at 516c4db7: the nearest parent says 0), so
// only their ucodes are read.
type Entity struct {
	Name       string `json:"name"`
	Ucode      string `json:"ucode"`
	AdminLevel int    `json:"admin_level"`
	Parents    []struct {
		Ucode   string `json:"ucode"`
		Default string `json:"default"`
	} `json:"parents"`
}

// ParentCodes are the parents' ucodes, nearest first (GeoSight lists them
// bottom to top).
func (e Entity) ParentCodes() []string {
	var out []string
	for _, p := range e.Parents {
		code := p.Ucode
		if code == "" {
			code = p.Default
		}
		if code != "" {
			out = append(out, code)
		}
	}
	return out
}

// Datasets lists the reference datasets the user can see.
func (c *Client) Datasets(ctx context.Context) ([]Dataset, error) {
	return listAll[Dataset](ctx, c, "reference-datasets/", nil)
}

// Entities lists the dataset's entities at one admin level.
func (c *Client) Entities(ctx context.Context, level int) ([]Entity, error) {
	q := url.Values{"admin_level": {strconv.Itoa(level)}, "page_size": {"1000"}}
	return listAll[Entity](ctx, c, "reference-datasets/"+url.PathEscape(c.cfg.Dataset)+"/entity/", q)
}

// GeoJSONAccept is the Accept header for ?format=geojson: GeoSight renders
// it as application/geo+json and answers 406 "Could not satisfy the request
// Accept header." to a plain application/json.
const GeoJSONAccept = "application/geo+json"

// EntityGeometries reads the entities of one level as GeoJSON
// (?format=geojson: a FeatureCollection without pagination).
func (c *Client) EntityGeometries(ctx context.Context, level int) (*geojson.FeatureCollection, error) {
	q := url.Values{"admin_level": {strconv.Itoa(level)}, "format": {"geojson"}}
	path := "reference-datasets/" + url.PathEscape(c.cfg.Dataset) + "/entity/"
	resp, _, err := c.doAccept(ctx, GeoJSONAccept, http.MethodGet, path, q, nil, "")
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(resp.Body)
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, c.name, apiPrefix+path, fmt.Errorf("entity GeoJSON: %w", err))
	}
	return fc, nil
}

// Areas returns the reference dataset's areas at levels with names, levels,
// parents and geometries, for geographies.from: geosight.
func (c *Client) Areas(ctx context.Context, levels []int) ([]indicators.Area, error) {
	var out []indicators.Area
	for _, lvl := range levels {
		ents, err := c.Entities(ctx, lvl)
		if err != nil {
			return nil, err
		}
		fc, err := c.EntityGeometries(ctx, lvl)
		if err != nil {
			return nil, err
		}
		geoms := map[string]*geojson.Feature{}
		for _, f := range fc.Features {
			if code, _ := f.Properties["ucode"].(string); code != "" {
				geoms[code] = f
			}
		}
		for _, e := range ents {
			a := indicators.Area{Code: e.Ucode, Name: e.Name, Level: e.AdminLevel, Parents: e.ParentCodes()}
			if f := geoms[e.Ucode]; f != nil && f.Geometry != nil {
				// Invalid boundaries are repaired as GEOS make_valid does
				// and reported, as for areas from files.
				raw, problems, err := indicators.RepairPolygonal(f.Geometry)
				var g orb.Geometry
				if err == nil {
					g, err = indicators.NormalizeGeometry(raw)
				}
				if err != nil {
					return nil, adapter.Classify(adapter.Permanent, c.name, "reference-datasets entity geojson",
						fmt.Errorf("area %s: %w", e.Ucode, err))
				}
				if len(problems) > 0 {
					c.log.Warn("invalid area geometry repaired as GEOS make_valid would", "ucode", e.Ucode,
						"problems", strings.Join(problems, "; "), "polygons", len(indicators.Polygons(g)))
				}
				a.Geometry = g
			}
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Level != out[j].Level {
			return out[i].Level < out[j].Level
		}
		return out[i].Code < out[j].Code
	})
	return out, nil
}

// entityCache is the dataset's ucode → admin level map values are checked
// against before sending (unknown codes would trigger GeoRepo lookups).
type entityCache struct {
	levels  map[string]int
	fetched time.Time
	// disabled: the server has no local reference-dataset endpoint (a
	// GeoRepo-backed deployment); codes are then not pre-checked.
	disabled bool
}

// knownCodes returns the cached entity index, refreshing it when older than
// geosight.entity_refresh.
func (c *Client) knownCodes(ctx context.Context) (*entityCache, error) {
	c.mu.Lock()
	cur := c.entities
	c.mu.Unlock()
	if cur != nil && time.Since(cur.fetched) < c.cfg.EntityRefresh {
		return cur, nil
	}
	next := &entityCache{levels: map[string]int{}, fetched: time.Now()}
	ds, err := c.dataset(ctx)
	switch {
	case err != nil && StatusOf(err) == http.StatusNotFound:
		if cur == nil || !cur.disabled {
			c.log.Warn("reference dataset not served by GeoSight (GeoRepo-backed?); codes are not pre-checked",
				"dataset", c.cfg.Dataset)
		}
		next.disabled = true
	case err != nil:
		if cur != nil && adapter.ClassOf(err) == adapter.Retryable {
			c.log.Warn("entity refresh failed; keeping the previous list", "err", err)
			return cur, nil
		}
		return nil, err
	default:
		for _, l := range ds.DatasetLevels {
			ents, err := c.Entities(ctx, l.Level)
			if err != nil {
				return nil, err
			}
			for _, e := range ents {
				next.levels[e.Ucode] = e.AdminLevel
			}
		}
		c.log.Info("reference dataset entities loaded", "dataset", c.cfg.Dataset, "entities", len(next.levels))
	}
	c.mu.Lock()
	c.entities = next
	c.mu.Unlock()
	return next, nil
}

func (c *Client) dataset(ctx context.Context) (*Dataset, error) {
	resp, err := c.Do(ctx, http.MethodGet, "reference-datasets/"+url.PathEscape(c.cfg.Dataset)+"/", nil, nil, "")
	if err != nil {
		return nil, err
	}
	var d Dataset
	if err := json.Unmarshal(resp.Body, &d); err != nil {
		return nil, adapter.Classify(adapter.Permanent, c.name, "reference-datasets", err)
	}
	return &d, nil
}

// RefreshEntities forces the next write to re-read the dataset's entities.
func (c *Client) RefreshEntities() {
	c.mu.Lock()
	c.entities = nil
	c.mu.Unlock()
}
