package layer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/project"

	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// collection is the envelope of one page from any of the three services:
// GeoJSON, OGC API – Features (links, numberMatched) and ArcGIS f=geojson
// (exceededTransferLimit, error bodies sent with HTTP 200).
type collection struct {
	Type                  string            `json:"type"`
	Features              []json.RawMessage `json:"features"`
	CRS                   json.RawMessage   `json:"crs"`
	Links                 []link            `json:"links"`
	NumberMatched         *int              `json:"numberMatched"`
	ExceededTransferLimit bool              `json:"exceededTransferLimit"`
	Properties            json.RawMessage   `json:"properties"`
	Error                 *arcgisError      `json:"error"`
	SpatialReference      *spatialReference `json:"spatialReference"`
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
	Type string `json:"type"`
}

type arcgisError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

type spatialReference struct {
	WKID       int `json:"wkid"`
	LatestWKID int `json:"latestWkid"`
}

// decodeCollection reads a page. A single Feature is accepted as a
// collection of one (some GeoJSON files are written that way).
func decodeCollection(body []byte) (*collection, error) {
	var c collection
	if err := fetch.DecodeJSON(body, &c); err != nil {
		return nil, err
	}
	if c.Error != nil {
		return &c, nil
	}
	switch c.Type {
	case "FeatureCollection":
	case "Feature":
		c.Features = []json.RawMessage{fetch.TrimBOM(body)}
	default:
		return nil, fmt.Errorf("expected a GeoJSON FeatureCollection, got type %q (%s)", c.Type, fetch.Snippet(body))
	}
	if len(c.Properties) > 0 && !c.ExceededTransferLimit {
		// ArcGIS puts exceededTransferLimit under the collection's properties.
		var p struct {
			ExceededTransferLimit bool `json:"exceededTransferLimit"`
		}
		if json.Unmarshal(c.Properties, &p) == nil {
			c.ExceededTransferLimit = p.ExceededTransferLimit
		}
	}
	return &c, nil
}

// crsKind classifies a CRS identifier.
type crsKind int

const (
	crsCRS84    crsKind = iota + 1 // lon/lat
	crsEPSG4326                    // lat/lon axis order in OGC services
	crsOther
)

func classifyCRS(name string) crsKind {
	n := strings.ToLower(strings.Trim(strings.TrimSpace(name), "<>"))
	n = strings.TrimPrefix(strings.TrimPrefix(n, "https://"), "http://")
	switch {
	case n == "crs84" || n == "ogc:crs84" || n == "urn:ogc:def:crs:ogc:1.3:crs84" || n == "urn:ogc:def:crs:ogc::crs84" ||
		n == "www.opengis.net/def/crs/ogc/1.3/crs84" || n == "www.opengis.net/def/crs/ogc/0/crs84":
		return crsCRS84
	case n == "epsg:4326" || n == "www.opengis.net/def/crs/epsg/0/4326" ||
		strings.HasPrefix(n, "urn:ogc:def:crs:epsg:") && strings.HasSuffix(n, ":4326"):
		return crsEPSG4326
	}
	return crsOther
}

const reprojectHint = "only WGS84 lon/lat (EPSG:4326 or OGC CRS84) is accepted; publish or export the layer in EPSG:4326 (e.g. ogr2ogr -t_srs EPSG:4326)"

// checkMemberCRS checks a GeoJSON crs member (GeoJSON 2008; RFC 7946 dropped
// it, but GDAL and many agencies still write it).
func checkMemberCRS(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m struct {
		Type       string `json:"type"`
		Properties struct {
			Name string `json:"name"`
			Href string `json:"href"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("GeoJSON crs member is not understood (%s); %s", fetch.Snippet(raw), reprojectHint)
	}
	name := m.Properties.Name
	if name == "" {
		name = m.Properties.Href
	}
	if classifyCRS(name) == crsOther {
		return fmt.Errorf("GeoJSON crs member says %q; %s", nonEmptyText(name, fetch.Snippet(raw)), reprojectHint)
	}
	return nil
}

func nonEmptyText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rawFeature is a feature as served, with how to read its coordinates.
type rawFeature struct {
	raw []byte
	// swap: the page declared EPSG:4326 in an OGC service, where that CRS
	// means lat/lon axis order.
	swap bool
}

// mapper turns features into footprints and events for one layer.
type mapper struct {
	layer      string
	m          Mapping
	fixedType  indicators.HazardType
	hazMap     map[string]string
	phase      indicators.Phase
	sevFixed   indicators.Severity
	sevMap     map[string]indicators.Severity
	sevDefault *indicators.Severity
	intMap     map[string]float64
	// configHash makes versions change when the mapping changes, so the
	// daemon recomputes after an edit to the severity map.
	configHash string
}

func newMapper(layer string, m Mapping) (*mapper, error) {
	mp := &mapper{layer: layer, m: m, hazMap: lowerKeys(m.HazardTypeMap), intMap: lowerKeys(m.Intensity.Map),
		sevMap: map[string]indicators.Severity{}}
	var err error
	if m.HazardType != "" {
		if mp.fixedType, err = indicators.ParseHazardType(m.HazardType); err != nil {
			return nil, err
		}
	}
	if mp.phase, err = indicators.ParsePhase(m.Phase); err != nil {
		return nil, err
	}
	if m.Severity.Value != "" {
		if mp.sevFixed, err = indicators.ParseSeverity(m.Severity.Value); err != nil {
			return nil, err
		}
	}
	for k, v := range lowerKeys(m.Severity.Map) {
		s, err := indicators.ParseSeverity(v)
		if err != nil {
			return nil, fmt.Errorf("severity.map.%s: %w", k, err)
		}
		mp.sevMap[k] = s
	}
	if m.Severity.Default != "" {
		s, err := indicators.ParseSeverity(m.Severity.Default)
		if err != nil {
			return nil, fmt.Errorf("severity.default: %w", err)
		}
		mp.sevDefault = &s
	}
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	mp.configHash = hex.EncodeToString(h[:8])
	return mp, nil
}

// mapped is one feature ready to join its event.
type mapped struct {
	featureID string
	key       string // event id suffix; "" = the layer's single event
	typ       indicators.HazardType
	fp        indicators.Footprint
	native    string
	version   string
	title     string
	issued    time.Time
	hash      [32]byte
}

// result is one ingest: events plus what was skipped and why.
type result struct {
	Events   []indicators.Event
	Problems []error
	Features int // features read
	Mapped   int // features that became footprints
	Empty    int // features with empty geometry, skipped
}

// build maps every feature and groups them into events. It never stops at
// a bad feature: that feature's problem is recorded and the rest go on.
func (mp *mapper) build(features []rawFeature, issued time.Time) result {
	res := result{Features: len(features)}
	var all []mapped
	for i, rf := range features {
		m, empty, probs := mp.feature(rf, i)
		res.Problems = append(res.Problems, probs...)
		if empty {
			res.Empty++
		}
		if m != nil {
			all = append(all, *m)
		}
	}
	type group struct {
		typ   indicators.HazardType
		items []mapped
	}
	groups := map[string]*group{}
	var order []string
	for _, m := range all {
		g := groups[m.key]
		if g == nil {
			g = &group{typ: m.typ}
			groups[m.key] = g
			order = append(order, m.key)
		}
		if m.typ != g.typ {
			res.Problems = append(res.Problems, fmt.Errorf("layer %s: feature %s: hazard type %s differs from %s of other features of event %s; skipped",
				mp.layer, m.featureID, m.typ, g.typ, mp.eventID(m.key)))
			continue
		}
		g.items = append(g.items, m)
		res.Mapped++
	}
	sort.Strings(order)
	for _, key := range order {
		g := groups[key]
		res.Events = append(res.Events, mp.event(key, g.typ, g.items, issued))
	}
	return res
}

func (mp *mapper) eventID(key string) string {
	if key == "" {
		return "layer:" + mp.layer
	}
	return "layer:" + mp.layer + ":" + key
}

func (mp *mapper) event(key string, typ indicators.HazardType, items []mapped, fallbackIssued time.Time) indicators.Event {
	e := indicators.Event{ID: mp.eventID(key), Source: mp.layer, Type: typ, Phase: mp.phase,
		Properties: map[string]any{"layer": mp.layer, "features": len(items)}}
	hashes := make([]string, 0, len(items))
	versions := map[string]bool{}
	for i, it := range items {
		fp := it.fp
		if i == 0 || fp.Severity > e.Severity {
			e.Severity, e.NativeSeverity = fp.Severity, it.native
		}
		if e.Title == "" {
			e.Title = it.title
		}
		if it.issued.After(e.Issued) {
			e.Issued = it.issued
		}
		if !fp.ValidFrom.IsZero() && (e.ValidFrom.IsZero() || fp.ValidFrom.Before(e.ValidFrom)) {
			e.ValidFrom = fp.ValidFrom
		}
		if fp.ValidTo.After(e.ValidTo) {
			e.ValidTo = fp.ValidTo
		}
		e.Footprints = append(e.Footprints, fp)
		hashes = append(hashes, hex.EncodeToString(it.hash[:]))
		if it.version != "" {
			versions[it.version] = true
		}
	}
	if e.Issued.IsZero() {
		e.Issued = fallbackIssued
	}
	if e.Title == "" {
		e.Title = fmt.Sprintf("%s (layer %s)", strings.ReplaceAll(string(typ), "_", " "), mp.layer)
		if key != "" {
			e.Title = fmt.Sprintf("%s %s (layer %s)", strings.ReplaceAll(string(typ), "_", " "), key, mp.layer)
		}
	}
	if mp.m.VersionProperty != "" {
		vs := make([]string, 0, len(versions))
		for v := range versions {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		e.Version = strings.Join(vs, "|")
	} else {
		// Sorted so that paging order does not change the version.
		sort.Strings(hashes)
		h := sha256.New()
		h.Write([]byte(mp.configHash))
		for _, s := range hashes {
			h.Write([]byte(s))
		}
		e.Version = "sha256:" + hex.EncodeToString(h.Sum(nil)[:12])
	}
	return e
}

// feature maps one feature. It returns nil with problems when the feature
// cannot be used, and empty=true for a feature without geometry.
func (mp *mapper) feature(rf rawFeature, idx int) (out *mapped, empty bool, problems []error) {
	f, err := geojson.UnmarshalFeature(rf.raw)
	if err != nil || f == nil {
		return nil, false, []error{fmt.Errorf("layer %s: feature #%d: not a GeoJSON feature: %v", mp.layer, idx+1, errOr(err, "null"))}
	}
	fid := mp.featureID(f, idx)
	if f.Type != "Feature" {
		return nil, false, []error{fmt.Errorf("layer %s: feature %s: type is %q, want Feature", mp.layer, fid, f.Type)}
	}
	props := map[string]any(f.Properties)
	if props == nil {
		props = map[string]any{}
	}
	fail := func(err error) (*mapped, bool, []error) { return nil, false, append(problems, err) }
	get := func(setting, name string) (any, error) {
		v, ok := lookup(props, name)
		if !ok || v == nil {
			return nil, &MissingPropertyError{Layer: mp.layer, Feature: fid, Property: name, Setting: setting, Have: propertyNames(props)}
		}
		return v, nil
	}
	bad := func(setting, name string, format string, a ...any) error {
		return fmt.Errorf("layer %s: feature %s: property %q (%s): %s", mp.layer, fid, name, setting, fmt.Sprintf(format, a...))
	}

	m := &mapped{featureID: fid, hash: sha256.Sum256(rf.raw)}

	// Hazard type.
	m.typ = mp.fixedType
	if name := mp.m.HazardTypeProperty; name != "" {
		v, err := get("hazard_type_property", name)
		if err != nil {
			return fail(err)
		}
		s, _ := text(v)
		want := s
		if t, ok := mp.hazMap[strings.ToLower(s)]; ok {
			want = t
		}
		t, err := indicators.ParseHazardType(want)
		if err != nil {
			return fail(bad("hazard_type_property", name, "%v; map it with hazard_type_map", err))
		}
		m.typ = t
	}

	// Severity.
	m.fp.Severity = mp.sevFixed
	if name := mp.m.Severity.Property; name != "" {
		v, err := get("severity.property", name)
		if err != nil {
			return fail(err)
		}
		s, _ := text(v)
		m.native = s
		if sev, ok := mp.sevMap[strings.ToLower(s)]; ok {
			m.fp.Severity = sev
		} else if mp.sevDefault != nil {
			m.fp.Severity = *mp.sevDefault
		} else {
			return fail(bad("severity.property", name, "value %q is not in severity.map (%s) and no severity.default is set", s, mapKeys(mp.sevMap)))
		}
	}

	// Intensity and band.
	in := mp.m.Intensity
	if name := in.Property; name != "" {
		v, err := get("intensity.property", name)
		if err != nil {
			return fail(err)
		}
		if len(mp.intMap) > 0 {
			s, _ := text(v)
			x, ok := mp.intMap[strings.ToLower(s)]
			if !ok {
				return fail(bad("intensity.property", name, "value %q is not in intensity.map", s))
			}
			m.fp.Intensity = x
		} else {
			x, err := number(v)
			if err != nil {
				return fail(bad("intensity.property", name, "%v", err))
			}
			m.fp.Intensity = x
		}
		m.fp.Unit = in.Unit
	}
	switch {
	case in.BandProperty != "":
		v, err := get("intensity.band_property", in.BandProperty)
		if err != nil {
			return fail(err)
		}
		m.fp.Band, _ = text(v)
	case m.native != "":
		m.fp.Band = m.native
	case in.Property != "":
		m.fp.Band = fmt.Sprintf("%g %s", m.fp.Intensity, in.Unit)
	}

	// Event id, version, title.
	for _, s := range []struct {
		setting, name string
		into          *string
	}{{"event_id_property", mp.m.EventIDProperty, &m.key}, {"version_property", mp.m.VersionProperty, &m.version},
		{"title_property", mp.m.TitleProperty, &m.title}} {
		if s.name == "" {
			continue
		}
		v, err := get(s.setting, s.name)
		if err != nil {
			return fail(err)
		}
		t, _ := text(v)
		if t == "" {
			return fail(bad(s.setting, s.name, "is empty"))
		}
		*s.into = t
	}
	if mp.m.EventIDProperty == "" && mp.m.HazardTypeProperty != "" {
		m.key = string(m.typ) // one event per hazard type in the layer
	}

	// Times.
	for _, t := range []struct {
		setting string
		tm      TimeMapping
		into    *time.Time
	}{{"issued", mp.m.Issued, &m.issued}, {"valid_from", mp.m.ValidFrom, &m.fp.ValidFrom}, {"valid_to", mp.m.ValidTo, &m.fp.ValidTo}} {
		if t.tm.Property == "" {
			continue
		}
		v, err := get(t.setting+".property", t.tm.Property)
		if err != nil {
			return fail(err)
		}
		tt, err := parseTime(v, t.tm.Format)
		if err != nil {
			return fail(bad(t.setting+".property", t.tm.Property, "%v", err))
		}
		*t.into = tt
	}
	if !m.fp.ValidFrom.IsZero() && !m.fp.ValidTo.IsZero() && m.fp.ValidTo.Before(m.fp.ValidFrom) {
		return fail(fmt.Errorf("layer %s: feature %s: valid_to %s is before valid_from %s", mp.layer, fid,
			m.fp.ValidTo.Format(time.RFC3339), m.fp.ValidFrom.Format(time.RFC3339)))
	}

	// Geometry last: mapping errors matter more than a skipped empty shape.
	g := f.Geometry
	if isEmpty(g) {
		return nil, true, problems
	}
	if rf.swap {
		g = project.Geometry(orb.Clone(g), func(p orb.Point) orb.Point { return orb.Point{p[1], p[0]} })
	}
	for _, msg := range ringProblems(g) {
		problems = append(problems, fmt.Errorf("layer %s: feature %s: %s", mp.layer, fid, msg))
	}
	ng, err := indicators.NormalizeGeometry(g)
	if err != nil {
		if errors.Is(err, indicators.ErrEmptyGeometry) {
			return fail(fmt.Errorf("layer %s: feature %s: no valid polygon left after dropping invalid rings; skipped", mp.layer, fid))
		}
		return fail(fmt.Errorf("layer %s: feature %s: invalid geometry: %v", mp.layer, fid, err))
	}
	if err := checkNormalized(ng); err != nil {
		return fail(fmt.Errorf("layer %s: feature %s: geometry could not be normalised (%v); skipped", mp.layer, fid, err))
	}
	m.fp.Geometry = ng
	return m, false, problems
}

// checkNormalized guards against a shape NormalizeGeometry cannot repair: a
// ring whose longitudes wind around the globe comes back open or wrongly
// oriented, and would poison every overlay downstream.
func checkNormalized(g orb.Geometry) error {
	var polys []orb.Polygon
	switch t := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{t}
	case orb.MultiPolygon:
		polys = t
	case orb.Collection:
		for _, c := range t {
			if err := checkNormalized(c); err != nil {
				return err
			}
		}
	}
	for _, p := range polys {
		for i, r := range p {
			if len(r) < 4 || r[0] != r[len(r)-1] {
				return fmt.Errorf("ring %d is not closed", i)
			}
			if (i == 0) != (ringArea(r) > 0) {
				return fmt.Errorf("ring %d cannot be oriented (does it wind around the globe?)", i)
			}
			for _, pt := range r {
				if pt[0] < -180 || pt[0] > 180 {
					return fmt.Errorf("longitude %g outside -180..180 after the antimeridian split", pt[0])
				}
			}
		}
	}
	return nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func mapKeys[V any](m map[string]V) string {
	return "known: " + strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// featureID names a feature in problems: its GeoJSON id, the configured id
// property, a usual id property, or its position in the layer.
func (mp *mapper) featureID(f *geojson.Feature, idx int) string {
	if s, ok := text(f.ID); ok && s != "" {
		return s
	}
	names := []string{"objectid", "fid", "id", "gid"}
	if mp.m.FeatureIDProperty != "" {
		names = append([]string{mp.m.FeatureIDProperty}, names...)
	}
	for _, n := range names {
		if v, ok := lookup(f.Properties, n); ok {
			if s, ok := text(v); ok && s != "" {
				return s
			}
		}
	}
	return fmt.Sprintf("#%d", idx+1)
}

// isEmpty: no geometry, or a geometry without a single position.
func isEmpty(g orb.Geometry) bool {
	switch t := g.(type) {
	case nil:
		return true
	case orb.Point:
		return false
	case orb.MultiPoint:
		return len(t) == 0
	case orb.LineString:
		return len(t) == 0
	case orb.MultiLineString:
		for _, l := range t {
			if len(l) > 0 {
				return false
			}
		}
		return true
	case orb.Ring:
		return len(t) == 0
	case orb.Polygon:
		for _, r := range t {
			if len(r) > 0 {
				return false
			}
		}
		return true
	case orb.MultiPolygon:
		for _, p := range t {
			if !isEmpty(p) {
				return false
			}
		}
		return true
	case orb.Collection:
		for _, c := range t {
			if !isEmpty(c) {
				return false
			}
		}
		return true
	case orb.Bound:
		return t.IsEmpty()
	}
	return false
}

// ringProblems reports rings NormalizeGeometry would drop: fewer than three
// distinct positions, or no area at all.
func ringProblems(g orb.Geometry) []string {
	var out []string
	check := func(prefix string, p orb.Polygon) {
		for i, r := range p {
			what := "shell"
			if i > 0 {
				what = fmt.Sprintf("hole %d", i)
			}
			distinct := map[orb.Point]bool{}
			for _, pt := range r {
				distinct[pt] = true
			}
			switch {
			case len(distinct) < 3:
				out = append(out, fmt.Sprintf("%s%s has %d distinct positions (a ring needs 3); dropped", prefix, what, len(distinct)))
			case ringArea(r) == 0:
				out = append(out, fmt.Sprintf("%s%s has no area (all positions on one line); dropped", prefix, what))
			default:
				if at, bad := indicators.SelfIntersection(r); bad {
					out = append(out, fmt.Sprintf("%s%s crosses itself near (%g, %g): kept, but areas over it may be wrong; fix the layer", prefix, what, at[0], at[1]))
				}
			}
		}
	}
	switch t := g.(type) {
	case orb.Polygon:
		check("", t)
	case orb.MultiPolygon:
		for i, p := range t {
			check(fmt.Sprintf("polygon %d ", i), p)
		}
	case orb.Collection:
		for _, c := range t {
			out = append(out, ringProblems(c)...)
		}
	}
	return out
}

func ringArea(r orb.Ring) float64 {
	var s float64
	for i := range r {
		j := (i + 1) % len(r)
		s += r[i][0]*r[j][1] - r[j][0]*r[i][1]
	}
	return s / 2
}

// bytesFeatures splits a page into raw features.
func bytesFeatures(c *collection, swap bool) []rawFeature {
	out := make([]rawFeature, 0, len(c.Features))
	for _, f := range c.Features {
		out = append(out, rawFeature{raw: bytes.TrimSpace(f), swap: swap})
	}
	return out
}
