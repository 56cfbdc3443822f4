// Package indicators is the pure-computation half of hazardsync: the hazard
// model, areas, indicator values and the recipes that turn hazards over areas
// into values. Nothing here touches the network or opens files on its own.
package indicators

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// HazardType names a kind of hazard. Values are lower_snake_case so they can
// be used in config, shortcodes and attributes unchanged.
type HazardType string

const (
	Earthquake      HazardType = "earthquake"
	TropicalCyclone HazardType = "tropical_cyclone"
	Flood           HazardType = "flood"
	Drought         HazardType = "drought"
	Wildfire        HazardType = "wildfire"
	Volcano         HazardType = "volcano"
	Tsunami         HazardType = "tsunami"
	Heat            HazardType = "heat"
	HeavyRain       HazardType = "heavy_rain"
	Wind            HazardType = "wind"
	SevereStorm     HazardType = "severe_storm"
	Landslide       HazardType = "landslide"
	DustStorm       HazardType = "dust"
	OtherHazard     HazardType = "other"
)

// KnownHazardTypes lists every hazard type, for config validation and docs.
var KnownHazardTypes = []HazardType{Earthquake, TropicalCyclone, Flood, Drought, Wildfire, Volcano,
	Tsunami, Heat, HeavyRain, Wind, SevereStorm, Landslide, DustStorm, OtherHazard}

// ParseHazardType accepts a known hazard type name (case-insensitive).
func ParseHazardType(s string) (HazardType, error) {
	t := HazardType(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range KnownHazardTypes {
		if k == t {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown hazard type %q", s)
}

// Phase says whether a hazard was observed or is forecast. Users must always
// see which: observed and forecast values never share an indicator.
type Phase string

const (
	Observed Phase = "observed"
	Forecast Phase = "forecast"
)

// ParsePhase accepts "observed" or "forecast".
func ParsePhase(s string) (Phase, error) {
	switch Phase(strings.ToLower(strings.TrimSpace(s))) {
	case Observed:
		return Observed, nil
	case Forecast:
		return Forecast, nil
	}
	return "", fmt.Errorf("unknown phase %q (want observed or forecast)", s)
}

// Severity is the normalised alert level shared by every source: the GDACS
// scale, which GeoSight users already read. The source's own value is kept in
// Event.NativeSeverity.
type Severity int

const (
	SeverityNone Severity = iota
	SeverityGreen
	SeverityOrange
	SeverityRed
)

var severityNames = [...]string{"none", "green", "orange", "red"}

func (s Severity) String() string {
	if s < SeverityNone || s > SeverityRed {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity accepts none/green/orange/red (case-insensitive), and
// "yellow" as orange's lower neighbour is NOT accepted silently: callers map
// source scales explicitly.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("unknown severity %q (want none, green, orange or red)", s)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Event is one hazard as one source reports it.
type Event struct {
	// ID is stable across updates and prefixed by the source: "usgs:us6000pi9w",
	// "gdacs:TC:1001253".
	ID string `json:"id"`
	// Source is the source instance name that produced the event.
	Source string `json:"source"`
	// Version is the source's own version key (USGS updated, GDACS episode,
	// NHC advisory, CAP sent). A changed version means recompute.
	Version string     `json:"version"`
	Type    HazardType `json:"type"`
	Phase   Phase      `json:"phase"`
	// Severity is normalised; NativeSeverity keeps the source's wording
	// ("PAGER yellow", "CAP Severe", "alertscore 1.5").
	Severity       Severity `json:"severity"`
	NativeSeverity string   `json:"native_severity,omitempty"`
	Title          string   `json:"title,omitempty"`
	// Issued is when the source issued this version; ValidFrom/ValidTo bound
	// when the hazard applies (forecast valid times, CAP onset/expires).
	Issued     time.Time   `json:"issued"`
	ValidFrom  time.Time   `json:"valid_from,omitzero"`
	ValidTo    time.Time   `json:"valid_to,omitzero"`
	Footprints []Footprint `json:"footprints,omitempty"`
	// Closed marks an event the source has ended (EONET closed, GDACS
	// iscurrent=false, CAP cancel). Its areas go back to none.
	Closed bool `json:"closed,omitempty"`
	// Areas lists area codes the source itself names (CAP geocodes mapped
	// through a code table): they count as covered even without geometry.
	Areas      []string       `json:"areas,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// LeadTime is how far ahead of its issue time a forecast event starts to
// apply; zero for observed events or when unknown.
func (e Event) LeadTime() time.Duration {
	if e.Phase != Forecast || e.Issued.IsZero() || e.ValidFrom.IsZero() || e.ValidFrom.Before(e.Issued) {
		return 0
	}
	return e.ValidFrom.Sub(e.Issued)
}

// ActiveAt reports whether the event applies at t: not closed, and not past
// its ValidTo when one is given.
func (e Event) ActiveAt(t time.Time) bool {
	if e.Closed {
		return false
	}
	return e.ValidTo.IsZero() || !t.After(e.ValidTo)
}

// Footprint is one piece of an event's geometry with its intensity band.
// Banded footprints are cumulative: a band's geometry covers everywhere the
// intensity is at least that band (MMI>=6 contains MMI>=7), which is how
// ShakeMap contours, wind radii and GDACS buffers are published.
type Footprint struct {
	Geometry orb.Geometry `json:"-"`
	// Band is the human label: "MMI 6", "34 kt", "Orange", "cone".
	Band string `json:"band,omitempty"`
	// Intensity is the numeric level of the band in Unit (6 for MMI 6, 34 for
	// 34 kt); zero when the source gives none.
	Intensity float64 `json:"intensity,omitempty"`
	Unit      string  `json:"unit,omitempty"`
	// Severity of this part; SeverityNone means "use the event's".
	Severity  Severity  `json:"severity,omitempty"`
	ValidFrom time.Time `json:"valid_from,omitzero"`
	ValidTo   time.Time `json:"valid_to,omitzero"`
	// Value carries a point measurement (a forecast variable at an area's
	// representative point, a fire's FRP) when the footprint is a point.
	Value *float64 `json:"value,omitempty"`
	// Member is the ensemble member (1-based) an ensemble footprint belongs
	// to; 0 for deterministic sources.
	Member int `json:"member,omitempty"`
}

// SeverityOr returns the footprint's own severity, or def when it has none.
func (f Footprint) SeverityOr(def Severity) Severity {
	if f.Severity != SeverityNone {
		return f.Severity
	}
	return def
}

type footprintJSON struct {
	Geometry *geojson.Geometry `json:"geometry"`
	footprintAlias
}

type footprintAlias Footprint

// MarshalJSON writes the geometry as GeoJSON so events can be persisted.
func (f Footprint) MarshalJSON() ([]byte, error) {
	var g *geojson.Geometry
	if f.Geometry != nil {
		g = geojson.NewGeometry(f.Geometry)
	}
	return json.Marshal(footprintJSON{Geometry: g, footprintAlias: footprintAlias(f)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *Footprint) UnmarshalJSON(b []byte) error {
	var fj footprintJSON
	if err := json.Unmarshal(b, &fj); err != nil {
		return err
	}
	*f = Footprint(fj.footprintAlias)
	if fj.Geometry != nil {
		f.Geometry = fj.Geometry.Geometry()
	}
	return nil
}
