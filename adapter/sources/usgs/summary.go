package usgs

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Summary is a USGS summary GeoJSON feed.
type Summary struct {
	Type     string `json:"type"`
	Metadata struct {
		Generated int64  `json:"generated"`
		URL       string `json:"url"`
		Title     string `json:"title"`
		Count     int    `json:"count"`
	} `json:"metadata"`
	Features []json.RawMessage `json:"features"`
}

// Feature is one event of a summary feed (the detail feed uses the same
// shape plus products).
type Feature struct {
	ID         string `json:"id"`
	Properties struct {
		Mag     *float64 `json:"mag"`
		MagType string   `json:"magType"`
		Place   string   `json:"place"`
		Time    *int64   `json:"time"`
		Updated *int64   `json:"updated"`
		URL     string   `json:"url"`
		Detail  string   `json:"detail"`
		Felt    *int     `json:"felt"`
		CDI     *float64 `json:"cdi"`
		MMI     *float64 `json:"mmi"`
		Alert   *string  `json:"alert"`
		Status  string   `json:"status"`
		Tsunami int      `json:"tsunami"`
		Sig     int      `json:"sig"`
		Net     string   `json:"net"`
		IDs     string   `json:"ids"`
		Sources string   `json:"sources"`
		Types   string   `json:"types"`
		Type    string   `json:"type"`
		Title   string   `json:"title"`
	} `json:"properties"`
	Geometry struct {
		Type        string    `json:"type"`
		Coordinates []float64 `json:"coordinates"`
	} `json:"geometry"`
}

// ParseSummary decodes a summary feed. Features are decoded one by one so a
// single bad feature becomes a problem, not a failed feed.
func ParseSummary(body []byte) ([]Feature, []error, error) {
	var s Summary
	if err := fetch.DecodeJSON(body, &s); err != nil {
		return nil, nil, err
	}
	if s.Type != "FeatureCollection" {
		return nil, nil, fmt.Errorf("summary feed: type %q, want FeatureCollection", s.Type)
	}
	var out []Feature
	var problems []error
	for i, raw := range s.Features {
		var f Feature
		if err := json.Unmarshal(raw, &f); err != nil {
			problems = append(problems, fmt.Errorf("feature %d: %v", i, err))
			continue
		}
		if err := f.check(); err != nil {
			problems = append(problems, fmt.Errorf("feature %d (%s): %w", i, f.ID, err))
			continue
		}
		out = append(out, f)
	}
	return out, problems, nil
}

func (f *Feature) check() error {
	switch {
	case f.ID == "":
		return fmt.Errorf("no id")
	case f.Properties.Time == nil:
		return fmt.Errorf("no time")
	case f.Properties.Updated == nil:
		return fmt.Errorf("no updated")
	case f.Geometry.Type != "Point" || len(f.Geometry.Coordinates) < 2:
		return fmt.Errorf("geometry is not a Point with coordinates")
	}
	if _, err := indicators.NormalizeGeometry(f.Point()); err != nil {
		return err
	}
	return nil
}

// Point is the epicentre (lon, lat).
func (f *Feature) Point() orb.Point {
	return orb.Point{f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]}
}

// Aliases are every id the event is known by, the preferred one first.
func (f *Feature) Aliases() []string {
	out := []string{f.ID}
	for _, a := range splitCommaList(f.Properties.IDs) {
		if a != f.ID {
			out = append(out, a)
		}
	}
	return out
}

// HasType reports whether the summary lists a product type (",shakemap,").
func (f *Feature) HasType(t string) bool {
	for _, x := range splitCommaList(f.Properties.Types) {
		if x == t {
			return true
		}
	}
	return false
}

// splitCommaList reads USGS's comma-wrapped lists (",us,at,").
func splitCommaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Severity from PAGER when it has spoken, else from magnitude.
//
// PAGER: green→green, yellow→orange (estimated 1–99 deaths or US$1–100M
// losses: already worth acting on), orange→orange, red→red.
//
// Without PAGER (most events): M < 6.0 green, 6.0 ≤ M < 6.5 orange,
// M ≥ 6.5 red. This follows the magnitude-only rule of the IFRC GO ADAM
// importer (<6.2 green, 6–6.5 orange, >6.5 red; hazard-sources §2.2) with
// its overlapping bands resolved at 6.0 and 6.5.
func Severity(alert *string, mag *float64) (indicators.Severity, string) {
	if alert != nil && *alert != "" {
		a := strings.ToLower(*alert)
		native := "PAGER " + a
		switch a {
		case "green":
			return indicators.SeverityGreen, native
		case "yellow", "orange":
			return indicators.SeverityOrange, native
		case "red":
			return indicators.SeverityRed, native
		}
		return indicators.SeverityNone, native
	}
	if mag == nil {
		return indicators.SeverityNone, "no PAGER alert, no magnitude"
	}
	native := fmt.Sprintf("M %.1f (no PAGER alert)", *mag)
	switch {
	case *mag >= 6.5:
		return indicators.SeverityRed, native
	case *mag >= 6.0:
		return indicators.SeverityOrange, native
	}
	return indicators.SeverityGreen, native
}

// RadiusKm is the fallback footprint when there is no ShakeMap: a rough
// radius of MMI ≥ VI shaking, r = 10^(0.5·M − 1.9) km, at least 5 km.
//
// Rough rule, not a published formula: typical intensity attenuation
// (MMI ≈ a + 1.5·M − 3·log10 R) makes the radius of a fixed intensity grow
// as 10^(M/2); the constant was set so that the M7.3 ShakeMap in the shared
// samples (cont_mmi.json, MMI 6 area ≈ 8,900 km², equivalent radius ≈ 53
// km) gives ≈ 56 km. It gives 7 km at M5.5, 32 km at M6.8, 100 km at M7.8.
func RadiusKm(mag float64) float64 {
	return math.Max(5, math.Pow(10, 0.5*mag-1.9))
}

// FallbackIntensity is the MMI level the radius stands for.
const FallbackIntensity = 6

// BaseEvent maps a summary feature to an event without footprints; id is
// the canonical id (the first id the event was seen under).
func BaseEvent(source, canonical string, f *Feature) indicators.Event {
	p := f.Properties
	sev, native := Severity(p.Alert, p.Mag)
	props := map[string]any{
		"usgs_id":  f.ID,
		"place":    p.Place,
		"url":      p.URL,
		"net":      p.Net,
		"status":   p.Status,
		"tsunami":  p.Tsunami,
		"sig":      p.Sig,
		"mag_type": p.MagType,
	}
	if p.Mag != nil {
		props["magnitude"] = *p.Mag
	}
	if len(f.Geometry.Coordinates) >= 3 {
		props["depth_km"] = f.Geometry.Coordinates[2]
	}
	if p.Alert != nil {
		props["pager_alert"] = *p.Alert
	}
	if p.MMI != nil {
		props["max_mmi"] = *p.MMI
	}
	if p.Felt != nil {
		props["felt_reports"] = *p.Felt
	}
	if a := f.Aliases(); len(a) > 1 {
		props["aliases"] = a
	}
	if p.Type != "" && p.Type != "earthquake" {
		props["usgs_type"] = p.Type
	}
	title := p.Title
	if title == "" {
		title = p.Place
	}
	return indicators.Event{
		ID:             "usgs:" + canonical,
		Source:         source,
		Version:        strconv.FormatInt(*p.Updated, 10),
		Type:           indicators.Earthquake,
		Phase:          indicators.Observed,
		Severity:       sev,
		NativeSeverity: native,
		Title:          title,
		Issued:         msTime(*p.Time),
		Properties:     props,
	}
}

// RadiusFootprint is the magnitude-based fallback footprint.
func RadiusFootprint(f *Feature) (indicators.Footprint, bool) {
	if f.Properties.Mag == nil {
		return indicators.Footprint{}, false
	}
	r := RadiusKm(*f.Properties.Mag)
	return indicators.Footprint{Geometry: indicators.Circle(f.Point(), r, 64), Band: "M-radius",
		Intensity: FallbackIntensity, Unit: "MMI"}, true
}
