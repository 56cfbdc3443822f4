package geosight

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

var _ adapter.FootprintSink = (*Client)(nil)

// MaxBodyBytes keeps every upload below Django's DATA_UPLOAD_MAX_MEMORY_SIZE
// (2.5 MB, enforced on JSON from DRF 3.17.2) with room to spare.
const MaxBodyBytes = 1800 << 10

// CloudNativeLayerType is the layer type whose features are uploaded.
const CloudNativeLayerType = "Cloud Native GIS Layer"

// RemoteLayer is a context layer as GeoSight returns it.
type RemoteLayer struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Category  string `json:"category"`
	LayerType string `json:"layer_type"`
	// Styles come only from the detail view: the list omits them.
	Styles any `json:"styles"`
	// OGCAPI and CloudNativeID stay empty until the first data upload
	// (GeoSight creates the Cloud Native GIS layer lazily).
	OGCAPI        string `json:"ogc_api"`
	CloudNativeID *int   `json:"cloud_native_gis_layer_id"`
	// LabelConfig is the layer's own label config as GeoSight serves it:
	// the JSON text GeoSight's form stored (see DefaultLabelConfig), or
	// null when the layer was created without one.
	LabelConfig any `json:"label_config"`
}

// DefaultLabelConfig is the label config GeoSight's own context-layer
// editor saves for a new Cloud Native GIS layer (LabelFormConfig: the
// LabelStyle defaults and an empty text, so no label is drawn), as the JSON
// text its hidden form field carries. GeoSight's dashboard passes a Cloud
// Native GIS layer's label_config to its label code, which destructures
// {text, style} from it and throws on null ("Cannot destructure property
// 'text' of 'e' as it is null", seen on 516c4db7), so every layer gets one.
// It must be sent as text: the form field is a CharField, so a JSON object
// would be stored as Python's repr of a dict, which the browser cannot
// parse. GeoSight keeps the text and serves it back as it was sent.
const DefaultLabelConfig = `{"text":"","style":{"minZoom":0,"maxZoom":24,"fontFamily":"\"Rubik\", sans-serif",` +
	`"fontSize":13,"fontColor":"#000000","fontWeight":300,"strokeColor":"#FFFFFF","strokeWeight":0,` +
	`"haloColor":"#FFFFFF","haloWeight":2}}`

// HasLabelConfig says whether a layer carries a label config the
// dashboard's label code can read (a JSON object, or text holding one).
func (l *RemoteLayer) HasLabelConfig() bool {
	switch v := l.LabelConfig.(type) {
	case map[string]any:
		return true
	case string:
		var m map[string]any
		return json.Unmarshal([]byte(v), &m) == nil && m != nil
	}
	return false
}

// LayerSpec describes a Cloud Native GIS layer to create.
type LayerSpec struct {
	Name, Category, Description string
	// Styles are MapLibre style layers.
	Styles []map[string]any
	// LabelConfig is the label config as JSON text; empty means
	// DefaultLabelConfig.
	LabelConfig string
}

// FindContextLayer returns the layer named exactly name, or nil. The list
// omits styles, so a match is read again through its detail view.
func (c *Client) FindContextLayer(ctx context.Context, name string) (*RemoteLayer, error) {
	ls, err := listAll[RemoteLayer](ctx, c, "context-layers/", url.Values{"name": {name}})
	if err != nil {
		return nil, err
	}
	for i := range ls {
		if ls[i].Name == name {
			return c.ContextLayer(ctx, ls[i].ID)
		}
	}
	return nil, nil
}

// ContextLayer reads one layer through its detail view (with styles).
func (c *Client) ContextLayer(ctx context.Context, id int) (*RemoteLayer, error) {
	path := fmt.Sprintf("context-layers/%d/", id)
	resp, err := c.Do(ctx, http.MethodGet, path, nil, nil, "")
	if err != nil {
		return nil, err
	}
	var l RemoteLayer
	if err := json.Unmarshal(resp.Body, &l); err != nil || l.ID == 0 {
		return nil, adapter.Classify(adapter.Permanent, c.name, apiPrefix+path,
			fmt.Errorf("unexpected context layer %s", snippet(resp.Body)))
	}
	return &l, nil
}

// CreateContextLayer creates a Cloud Native GIS layer (create is not
// idempotent: callers look up by name first).
func (c *Client) CreateContextLayer(ctx context.Context, s LayerSpec) (*RemoteLayer, error) {
	body := map[string]any{"name": s.Name, "category": s.Category, "layer_type": CloudNativeLayerType,
		"description": s.Description}
	if s.Styles != nil {
		body["styles"] = s.Styles
	}
	body["label_config"] = DefaultLabelConfig
	if s.LabelConfig != "" {
		body["label_config"] = s.LabelConfig
	}
	resp, err := c.Do(ctx, http.MethodPost, "context-layers/", nil, body, s.Name)
	if err != nil {
		return nil, err
	}
	var l RemoteLayer
	if err := json.Unmarshal(resp.Body, &l); err != nil || l.ID == 0 {
		return nil, adapter.Classify(adapter.Permanent, c.name, apiPrefix+"context-layers/",
			fmt.Errorf("unexpected create response %s", snippet(resp.Body)))
	}
	return &l, nil
}

// EnsureLabelConfig gives a layer made without a label config (by an
// earlier hazardsync, or by hand through the API) GeoSight's default one,
// with a PATCH; a layer that has one is left alone and nothing is sent.
// It reports whether it changed the layer.
func (c *Client) EnsureLabelConfig(ctx context.Context, l *RemoteLayer) (bool, error) {
	if l == nil || l.HasLabelConfig() {
		return false, nil
	}
	path := fmt.Sprintf("context-layers/%d/", l.ID)
	resp, err := c.Do(ctx, http.MethodPatch, path, nil, map[string]any{"label_config": DefaultLabelConfig}, l.Name)
	if err != nil {
		return false, fmt.Errorf("setting the label config of context layer %q: %w", l.Name, err)
	}
	var got RemoteLayer
	if err := json.Unmarshal(resp.Body, &got); err != nil || !got.HasLabelConfig() {
		return false, adapter.Classify(adapter.Permanent, c.name, apiPrefix+path,
			fmt.Errorf("context layer %q kept no label config: %s", l.Name, snippet(resp.Body)))
	}
	l.LabelConfig = got.LabelConfig
	return true, nil
}

// DeleteContextLayer deletes a layer.
func (c *Client) DeleteContextLayer(ctx context.Context, id int) error {
	_, err := c.Do(ctx, http.MethodDelete, fmt.Sprintf("context-layers/%d/", id), nil, nil, "")
	return err
}

// ReplaceFeatures replaces a layer's features: the first chunk through
// data/replace/, the rest appended through data/features/, every body under
// MaxBodyBytes. It returns how many upload requests it made. A feature too
// big for one body on its own is skipped and reported.
func (c *Client) ReplaceFeatures(ctx context.Context, layerID int, features []*geojson.Feature) (int, error) {
	if len(features) == 0 {
		return c.emptyLayer(ctx, layerID)
	}
	chunks, skipped, err := chunkFeatures(features, c.maxBody())
	if err != nil {
		return 0, err
	}
	uploads := 0
	for i, body := range chunks {
		path := fmt.Sprintf("context-layers/%d/data/features/", layerID)
		if i == 0 {
			path = fmt.Sprintf("context-layers/%d/data/replace/", layerID)
		}
		if _, err := c.Do(ctx, http.MethodPost, path, nil, body, ""); err != nil {
			return uploads, err
		}
		uploads++
	}
	if len(skipped) > 0 {
		return uploads, adapter.Classify(adapter.Partial, c.name, fmt.Sprintf("%scontext-layers/%d/data/", apiPrefix, layerID),
			fmt.Errorf("%d feature(s) larger than %d bytes not uploaded: %s", len(skipped), c.maxBody(), strings.Join(skipped, ", ")))
	}
	return uploads, nil
}

// emptyLayer removes every feature of a layer. GeoSight rejects an empty
// FeatureCollection on data/replace/ (geopandas finds no geometry column)
// and deletes at most one feature per DELETE on data/features/, but a DELETE
// without a filter on a one-feature layer deletes that feature: so replace
// with one placeholder (the footprint columns, empty), then delete it.
func (c *Client) emptyLayer(ctx context.Context, layerID int) (int, error) {
	ph := geojson.NewFeature(orb.Point{0, 0})
	for _, k := range footprintColumns {
		ph.Properties[k] = ""
	}
	ph.Properties["intensity"] = 0.0
	body, err := json.Marshal(geojson.FeatureCollection{Type: "FeatureCollection", Features: []*geojson.Feature{ph}})
	if err != nil {
		return 0, err
	}
	if _, err := c.Do(ctx, http.MethodPost, fmt.Sprintf("context-layers/%d/data/replace/", layerID), nil, body, ""); err != nil {
		return 0, err
	}
	if _, err := c.Do(ctx, http.MethodDelete, fmt.Sprintf("context-layers/%d/data/features/", layerID), nil, nil, ""); err != nil {
		return 1, err
	}
	return 2, nil
}

func (c *Client) maxBody() int {
	if c.bodyLimit > 0 {
		return c.bodyLimit
	}
	return MaxBodyBytes
}

// chunkFeatures packs features into FeatureCollection bodies of at most
// limit bytes; there is always at least one (possibly empty) chunk so a
// replace happens even when nothing is left.
func chunkFeatures(features []*geojson.Feature, limit int) ([][]byte, []string, error) {
	const head, tail = `{"type":"FeatureCollection","features":[`, `]}`
	var chunks [][]byte
	var skipped []string
	var cur bytes.Buffer
	n := 0
	flush := func() {
		cur.WriteString(tail)
		chunks = append(chunks, append([]byte(nil), cur.Bytes()...))
		cur.Reset()
		n = 0
	}
	cur.WriteString(head)
	for _, f := range features {
		b, err := json.Marshal(f)
		if err != nil {
			return nil, nil, err
		}
		if len(head)+len(b)+len(tail) > limit {
			skipped = append(skipped, fmt.Sprint(f.Properties["event_id"]))
			continue
		}
		if n > 0 && cur.Len()+1+len(b)+len(tail) > limit {
			flush()
			cur.WriteString(head)
		}
		if n > 0 {
			cur.WriteByte(',')
		}
		cur.Write(b)
		n++
	}
	flush()
	return chunks, skipped, nil
}

// LayerFeatures reads a layer's features back (flat rows).
func (c *Client) LayerFeatures(ctx context.Context, layerID int) ([]map[string]any, error) {
	return listAll[map[string]any](ctx, c, fmt.Sprintf("context-layers/%d/data/features/", layerID), nil)
}

// LayerAttributes lists a layer's attribute (column) names.
func (c *Client) LayerAttributes(ctx context.Context, layerID int) ([]string, error) {
	rows, err := listAll[struct {
		Name string `json:"attribute_name"`
	}](ctx, c, fmt.Sprintf("context-layers/%d/attributes/", layerID), nil)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Name
	}
	return out, nil
}

// severityColours colour footprints by normalised severity (GDACS colours).
var severityColours = []any{"match", []any{"get", "severity"},
	"red", "#d7191c", "orange", "#fd8d3c", "green", "#31a354", "#9e9e9e"}

// FootprintStyles is the MapLibre style of a footprint layer: fill and
// outline for areas, circles for points, coloured by severity.
func FootprintStyles() []map[string]any {
	src := "00000000-0000-0000-0000-000000000000" // GeoSight substitutes the layer's source
	return []map[string]any{
		{"id": "hazardsync-fill", "type": "fill", "source": src, "source-layer": "default",
			"filter": []any{"==", []any{"geometry-type"}, "Polygon"},
			"paint":  map[string]any{"fill-color": severityColours, "fill-opacity": 0.35}},
		{"id": "hazardsync-outline", "type": "line", "source": src, "source-layer": "default",
			"filter": []any{"==", []any{"geometry-type"}, "Polygon"},
			"paint":  map[string]any{"line-color": severityColours, "line-width": 1.5}},
		{"id": "hazardsync-line", "type": "line", "source": src, "source-layer": "default",
			"filter": []any{"==", []any{"geometry-type"}, "LineString"},
			"paint":  map[string]any{"line-color": severityColours, "line-width": 2}},
		{"id": "hazardsync-point", "type": "circle", "source": src, "source-layer": "default",
			"filter": []any{"==", []any{"geometry-type"}, "Point"},
			"paint": map[string]any{"circle-color": severityColours, "circle-radius": 5,
				"circle-stroke-color": "#ffffff", "circle-stroke-width": 1}},
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// footprintFeatures turns events into features with one fixed column set
// (appending a feature with a new property would fail with `column "x" does
// not exist`), sorted for a stable content hash.
func footprintFeatures(events []indicators.Event) []*geojson.Feature {
	evs := append([]indicators.Event(nil), events...)
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	var out []*geojson.Feature
	for _, e := range evs {
		for _, fp := range e.Footprints {
			if fp.Geometry == nil {
				continue
			}
			f := geojson.NewFeature(fp.Geometry)
			validFrom, validTo := fp.ValidFrom, fp.ValidTo
			if validFrom.IsZero() {
				validFrom = e.ValidFrom
			}
			if validTo.IsZero() {
				validTo = e.ValidTo
			}
			// Keep in step with footprintColumns.
			f.Properties = geojson.Properties{
				"event_id": e.ID, "source": e.Source, "hazard_type": string(e.Type), "title": e.Title,
				"phase": string(e.Phase), "severity": fp.SeverityOr(e.Severity).String(),
				"native_severity": e.NativeSeverity, "band": fp.Band, "intensity": fp.Intensity, "unit": fp.Unit,
				"issued": fmtTime(e.Issued), "valid_from": fmtTime(validFrom), "valid_to": fmtTime(validTo),
				"version": e.Version,
			}
			out = append(out, f)
		}
	}
	return out
}

// footprintColumns are the properties footprintFeatures writes.
var footprintColumns = []string{"event_id", "source", "hazard_type", "title", "phase", "severity",
	"native_severity", "band", "intensity", "unit", "issued", "valid_from", "valid_to", "version"}

// LayerName is the context layer of one hazard type.
func (c *Client) LayerName(t indicators.HazardType) string {
	return c.cfg.ContextLayers.NamePrefix + string(t)
}

// PublishFootprints publishes active events' footprints as one Cloud Native
// GIS context layer per hazard type (geosight.context_layers), skipping a
// layer whose content hash is unchanged since the last publish, and the
// active events as a related table when geosight.events_table is enabled.
func (c *Client) PublishFootprints(ctx context.Context, events []indicators.Event) error {
	now := time.Now()
	var active []indicators.Event
	for _, e := range events {
		if e.ActiveAt(now) {
			active = append(active, e)
		}
	}
	var errs []error
	if c.cfg.ContextLayers.Enabled {
		for _, t := range c.layerTypes(active) {
			if err := c.publishLayer(ctx, t, active); err != nil {
				if adapter.ClassOf(err) == adapter.Auth {
					return err
				}
				errs = append(errs, err)
			}
		}
	}
	if c.cfg.EventsTable.Enabled {
		if err := c.publishEventsTable(ctx, active); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// layerTypes are the configured hazard types, or every type with active
// events plus those published before (so a layer empties when its last
// event ends).
func (c *Client) layerTypes(active []indicators.Event) []indicators.HazardType {
	set := map[indicators.HazardType]bool{}
	if len(c.cfg.ContextLayers.HazardTypes) > 0 {
		for _, s := range c.cfg.ContextLayers.HazardTypes {
			if t, err := indicators.ParseHazardType(s); err == nil {
				set[t] = true
			}
		}
	} else {
		for _, e := range active {
			set[e.Type] = true
		}
		c.mu.Lock()
		for _, t := range indicators.KnownHazardTypes {
			if _, ok := c.layerHashes[c.LayerName(t)]; ok {
				set[t] = true
			}
		}
		c.mu.Unlock()
	}
	var out []indicators.HazardType
	for t := range set {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (c *Client) publishLayer(ctx context.Context, t indicators.HazardType, active []indicators.Event) error {
	var evs []indicators.Event
	for _, e := range active {
		if e.Type == t {
			evs = append(evs, e)
		}
	}
	name := c.LayerName(t)
	feats := footprintFeatures(evs)
	h := sha256.New()
	for _, f := range feats {
		b, _ := json.Marshal(f)
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	hash := hex.EncodeToString(h.Sum(nil))
	c.mu.Lock()
	prev, id := c.layerHashes[name], c.layers[name]
	c.mu.Unlock()
	if prev == hash {
		c.log.Debug("footprint layer unchanged; not uploaded", "layer", name)
		return nil
	}
	if id == 0 {
		l, err := c.FindContextLayer(ctx, name)
		if err != nil {
			return err
		}
		if l == nil {
			l, err = c.CreateContextLayer(ctx, LayerSpec{Name: name, Category: c.cfg.ContextLayers.Category,
				Description: fmt.Sprintf("%s footprints published by hazardsync; coloured by severity.", t),
				Styles:      FootprintStyles()})
			if err != nil {
				return err
			}
			c.log.Info("context layer created", "layer", name, "id", l.ID)
		} else if fixed, err := c.EnsureLabelConfig(ctx, l); err != nil {
			return err
		} else if fixed {
			c.log.Info("context layer given a label config", "layer", name, "id", l.ID)
		}
		id = l.ID
		c.mu.Lock()
		c.layers[name] = id
		c.mu.Unlock()
	}
	n, err := c.ReplaceFeatures(ctx, id, feats)
	if err != nil && adapter.ClassOf(err) != adapter.Partial {
		return err
	}
	c.mu.Lock()
	c.layerHashes[name] = hash
	c.mu.Unlock()
	c.log.Info("footprints published", "layer", name, "features", len(feats), "uploads", n)
	return err
}

// FootprintHashes returns the content hash of each layer as last published,
// so the runner can persist it and restore it with SetFootprintHashes.
func (c *Client) FootprintHashes() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.layerHashes)+1)
	for k, v := range c.layerHashes {
		out[k] = v
	}
	if c.tableHash != "" {
		out[eventsTableHashKey] = c.tableHash
	}
	return out
}

// SetFootprintHashes restores hashes saved from FootprintHashes.
func (c *Client) SetFootprintHashes(h map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range h {
		if k == eventsTableHashKey {
			c.tableHash = v
			continue
		}
		c.layerHashes[k] = v
	}
}
