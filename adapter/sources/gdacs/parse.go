package gdacs

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Item is one event of an event list (or the properties of a
// getepisodedata / geteventdata answer, which share the shape).
type Item struct {
	EventType         string          `json:"eventtype"`
	EventID           int64           `json:"eventid"`
	EpisodeID         int64           `json:"episodeid"`
	Name              string          `json:"name"`
	EventName         string          `json:"eventname"`
	Glide             string          `json:"glide"`
	AlertLevel        string          `json:"alertlevel"`
	AlertScore        *float64        `json:"alertscore"`
	EpisodeAlertLevel string          `json:"episodealertlevel"`
	EpisodeAlertScore *float64        `json:"episodealertscore"`
	IsCurrent         string          `json:"iscurrent"`
	IsTemporary       string          `json:"istemporary"`
	Country           string          `json:"country"`
	ISO3              string          `json:"iso3"`
	FromDate          string          `json:"fromdate"`
	ToDate            string          `json:"todate"`
	DateModified      string          `json:"datemodified"`
	Source            string          `json:"source"`
	URL               json.RawMessage `json:"url"`
	AffectedCountries []struct {
		ISO2 string `json:"iso2"`
		ISO3 string `json:"iso3"`
		Name string `json:"countryname"`
	} `json:"affectedcountries"`
	SeverityData struct {
		Severity float64 `json:"severity"`
		Text     string  `json:"severitytext"`
		Unit     string  `json:"severityunit"`
	} `json:"severitydata"`

	point orb.Point
}

// Key is the event's identity without the episode: "TC:1001253".
func (it *Item) Key() string { return it.EventType + ":" + strconv.FormatInt(it.EventID, 10) }

// GeometryURL is the list's own link to this episode's geometry, if any.
// The API writes url as an object; some captures have it as a JSON string.
func (it *Item) GeometryURL() string {
	var u struct {
		Geometry string `json:"geometry"`
	}
	if len(it.URL) == 0 {
		return ""
	}
	if err := json.Unmarshal(it.URL, &u); err == nil {
		return u.Geometry
	}
	var s string
	if err := json.Unmarshal(it.URL, &s); err == nil && json.Unmarshal([]byte(s), &u) == nil {
		return u.Geometry
	}
	return ""
}

// InCountry reports whether the event concerns an ISO3 country (the iso3
// field, a comma list at times, or affectedcountries).
func (it *Item) InCountry(iso3 string) bool {
	for _, c := range strings.Split(it.ISO3, ",") {
		if strings.EqualFold(strings.TrimSpace(c), iso3) {
			return true
		}
	}
	for _, c := range it.AffectedCountries {
		if strings.EqualFold(c.ISO3, iso3) {
			return true
		}
	}
	return false
}

// hazardTypes maps GDACS event types to ours.
var hazardTypes = map[string]indicators.HazardType{
	"EQ": indicators.Earthquake, "TC": indicators.TropicalCyclone, "FL": indicators.Flood,
	"DR": indicators.Drought, "VO": indicators.Volcano, "WF": indicators.Wildfire, "TS": indicators.Tsunami,
}

// ParseTime reads GDACS's naive timestamps as UTC (also with a zone or
// fractional seconds, in case).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable date %q", s)
}

// Severity maps the alertlevel string (not the scores, whose meaning
// differs between endpoints).
func Severity(it *Item) (indicators.Severity, string) {
	level := it.AlertLevel
	sev := levelSeverity(level)
	native := "GDACS " + level
	if it.AlertScore != nil {
		native += fmt.Sprintf(" (alertscore %s)", strconv.FormatFloat(*it.AlertScore, 'f', -1, 64))
	}
	return sev, native
}

func levelSeverity(level string) indicators.Severity {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "green":
		return indicators.SeverityGreen
	case "orange":
		return indicators.SeverityOrange
	case "red":
		return indicators.SeverityRed
	}
	return indicators.SeverityNone
}

type rawFeature struct {
	Geometry   *geojson.Geometry `json:"geometry"`
	Properties json.RawMessage   `json:"properties"`
}

// ParseEventList reads an event list (SEARCH, EVENTS4APP, eventsbyarea). An
// empty body (HTTP 204) is an empty list. Bad features are problems.
func ParseEventList(body []byte) ([]Item, []error, error) {
	if len(strings.TrimSpace(string(fetch.TrimBOM(body)))) == 0 {
		return nil, nil, nil
	}
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := fetch.DecodeJSON(body, &fc); err != nil {
		return nil, nil, err
	}
	if fc.Type != "FeatureCollection" {
		return nil, nil, fmt.Errorf("event list: type %q, want FeatureCollection", fc.Type)
	}
	var items []Item
	var problems []error
	for i, raw := range fc.Features {
		it, err := parseItem(raw)
		if err != nil {
			problems = append(problems, fmt.Errorf("event list feature %d: %w", i, err))
			continue
		}
		items = append(items, *it)
	}
	return items, problems, nil
}

// ParseEpisode reads a getepisodedata / geteventdata answer (one Feature).
func ParseEpisode(body []byte) (*Item, error) {
	var probe json.RawMessage
	if err := fetch.DecodeJSON(body, &probe); err != nil {
		return nil, err
	}
	return parseItem(probe)
}

func parseItem(raw []byte) (*Item, error) {
	var f rawFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	var it Item
	if err := json.Unmarshal(f.Properties, &it); err != nil {
		return nil, fmt.Errorf("properties: %v", err)
	}
	if _, ok := hazardTypes[it.EventType]; !ok {
		return nil, fmt.Errorf("event %d: unknown eventtype %q", it.EventID, it.EventType)
	}
	if it.EventID == 0 {
		return nil, fmt.Errorf("no eventid")
	}
	if _, err := ParseTime(it.DateModified); err != nil && it.DateModified != "" {
		return nil, fmt.Errorf("%s: datemodified: %w", it.Key(), err)
	}
	if f.Geometry != nil {
		if p, ok := f.Geometry.Geometry().(orb.Point); ok {
			if _, err := indicators.NormalizeGeometry(p); err == nil {
				it.point = p
			}
		}
	}
	return &it, nil
}

// BaseEvent maps an item to an observed event without footprints.
func BaseEvent(source string, it *Item) indicators.Event {
	sev, native := Severity(it)
	props := map[string]any{
		"gdacs_eventid":   it.EventID,
		"gdacs_episodeid": it.EpisodeID,
		"gdacs_source":    it.Source,
		"country":         it.Country,
		"iso3":            it.ISO3,
		"fromdate":        it.FromDate,
		"todate":          it.ToDate,
	}
	if it.Glide != "" {
		props["glide"] = it.Glide
	}
	if it.EpisodeAlertLevel != "" {
		props["episode_alertlevel"] = it.EpisodeAlertLevel
	}
	if it.SeverityData.Text != "" {
		props["severity_text"] = it.SeverityData.Text
		props["severity_value"] = it.SeverityData.Severity
		props["severity_unit"] = it.SeverityData.Unit
	}
	if it.IsTemporary == "true" {
		props["temporary"] = true
	}
	title := it.Name
	if title == "" {
		title = it.EventType + " " + strconv.FormatInt(it.EventID, 10)
	}
	issued, _ := ParseTime(it.DateModified)
	if issued.IsZero() {
		issued, _ = ParseTime(it.FromDate)
	}
	return indicators.Event{
		ID:             "gdacs:" + it.Key(),
		Source:         source,
		Version:        strconv.FormatInt(it.EpisodeID, 10),
		Type:           hazardTypes[it.EventType],
		Phase:          indicators.Observed,
		Severity:       sev,
		NativeSeverity: native,
		Title:          title,
		Issued:         issued,
		Closed:         strings.EqualFold(it.IsCurrent, "false"),
		Properties:     props,
	}
}

// Geometry is an episode's footprints split by phase.
type Geometry struct {
	Observed []indicators.Footprint
	Forecast []indicators.Footprint
	// Advisory is the TC advisory time: wind buffers after it are forecast.
	Advisory time.Time
}

// windBands are GDACS's TC wind buffers: cumulative (Green ⊇ Orange ⊇
// Red), labelled by the thresholds GDACS prints on its overall swaths
// ("60 km/h", "90 km/h") and the Cat-1 threshold for Red (120 km/h).
var windBands = map[string]struct {
	speed float64
	sev   indicators.Severity
}{
	"Poly_Green":  {60, indicators.SeverityGreen},
	"Poly_Orange": {90, indicators.SeverityOrange},
	"Poly_Red":    {120, indicators.SeverityRed},
}

type geomProps struct {
	Class        string `json:"Class"`
	PolygonLabel string `json:"polygonlabel"`
	PolygonDate  string `json:"polygondate"`
	FeatureType  string `json:"featuretype"`
	EventType    string `json:"eventtype"`
}

// ParseGeometry reads getgeometry for one episode into footprints:
//
//   - TC: per-time wind buffers Poly_Green/Orange/Red (featuretype
//     WindRadii) at or before the advisory time are observed, later ones are
//     forecast (each carries its valid time); Poly_Cones is a forecast
//     "cone" from the advisory to the last forecast time. The overall swaths
//     (Poly_Green "60 km/h" without a time) mix past and forecast, so they
//     are used only when there are no per-time buffers, as observed.
//     Track lines and track-point circles are not footprints.
//   - FL: Poly_Affected ("affected"); Poly_Global only when there is no
//     affected polygon.
//   - DR, WF and others: every Poly_* polygon, band from its label
//     ("affected area", "burnt area" for WF).
//
// Bad parts are problems; an error means the whole answer is unusable.
func ParseGeometry(body []byte) (*Geometry, []error, error) {
	var fc struct {
		Type     string       `json:"type"`
		Features []rawFeature `json:"features"`
	}
	if err := fetch.DecodeJSON(body, &fc); err != nil {
		return nil, nil, err
	}
	if fc.Type != "FeatureCollection" {
		return nil, nil, fmt.Errorf("geometry: type %q, want FeatureCollection", fc.Type)
	}
	type part struct {
		p geomProps
		g orb.Geometry
	}
	var parts []part
	var problems []error
	// Forecast times, also of buffers that are empty at that time.
	var times []time.Time
	for i, f := range fc.Features {
		var p geomProps
		if err := json.Unmarshal(f.Properties, &p); err != nil {
			problems = append(problems, fmt.Errorf("geometry feature %d: properties: %v", i, err))
			continue
		}
		if p.FeatureType == "WindRadii" {
			if t, err := ParseTime(p.PolygonDate); err == nil {
				times = append(times, t)
			}
		}
		if f.Geometry == nil || !strings.HasPrefix(p.Class, "Poly_") {
			continue
		}
		g, err := indicators.NormalizeGeometry(f.Geometry.Geometry())
		if errors.Is(err, indicators.ErrEmptyGeometry) {
			continue // GDACS writes a zero-size ring where winds of a band do not occur
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("geometry feature %d (%s %s): %w", i, p.Class, p.PolygonLabel, err))
			continue
		}
		if !indicators.IsPolygonal(g) {
			continue
		}
		parts = append(parts, part{p, g})
	}
	out := &Geometry{}
	// TC advisory time: the cone's date, else the earliest buffer time.
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, pt := range parts {
		if pt.p.Class == "Poly_Cones" {
			if t, err := ParseTime(pt.p.PolygonDate); err == nil {
				out.Advisory = t
			}
		}
	}
	if out.Advisory.IsZero() && len(times) > 0 {
		out.Advisory = times[0]
	}
	hasAffected := false
	for _, pt := range parts {
		if pt.p.Class == "Poly_Affected" {
			hasAffected = true
		}
	}
	for _, pt := range parts {
		p := pt.p
		switch {
		case p.FeatureType == "WindRadii":
			wb, ok := windBands[p.Class]
			t, err := ParseTime(p.PolygonDate)
			if !ok || err != nil {
				problems = append(problems, fmt.Errorf("wind buffer %s %q: no band or time", p.Class, p.PolygonLabel))
				continue
			}
			fp := indicators.Footprint{Geometry: pt.g, Band: fmt.Sprintf("%g km/h", wb.speed), Intensity: wb.speed,
				Unit: "km/h", Severity: wb.sev, ValidFrom: t, ValidTo: t}
			if t.After(out.Advisory) {
				out.Forecast = append(out.Forecast, fp)
			} else {
				out.Observed = append(out.Observed, fp)
			}
		case p.Class == "Poly_Cones":
			fp := indicators.Footprint{Geometry: pt.g, Band: "cone", ValidFrom: out.Advisory}
			if len(times) > 0 {
				fp.ValidTo = times[len(times)-1]
			}
			out.Forecast = append(out.Forecast, fp)
		case windBands[p.Class].speed > 0 && len(times) == 0:
			wb := windBands[p.Class]
			out.Observed = append(out.Observed, indicators.Footprint{Geometry: pt.g, Band: fmt.Sprintf("%g km/h", wb.speed),
				Intensity: wb.speed, Unit: "km/h", Severity: wb.sev})
		case windBands[p.Class].speed > 0:
			// an overall swath beside per-time buffers: see above
		case p.Class == "Poly_Global" && hasAffected:
		default:
			band := strings.ToLower(strings.TrimSpace(p.PolygonLabel))
			if band == "" {
				band = strings.ToLower(strings.TrimPrefix(p.Class, "Poly_"))
			}
			if p.EventType == "WF" && band == "affected area" {
				band = "burnt area"
			}
			out.Observed = append(out.Observed, indicators.Footprint{Geometry: pt.g, Band: band})
		}
	}
	sortFootprints(out.Observed)
	sortFootprints(out.Forecast)
	return out, problems, nil
}

// sortFootprints orders by time, then weakest band first, for stable output.
func sortFootprints(fps []indicators.Footprint) {
	sort.SliceStable(fps, func(i, j int) bool {
		if !fps[i].ValidFrom.Equal(fps[j].ValidFrom) {
			return fps[i].ValidFrom.Before(fps[j].ValidFrom)
		}
		return fps[i].Intensity < fps[j].Intensity
	})
}
