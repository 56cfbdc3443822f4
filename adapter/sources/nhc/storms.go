package nhc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// CurrentStorms is the body of https://www.nhc.noaa.gov/CurrentStorms.json.
type CurrentStorms struct {
	ActiveStorms []Storm `json:"activeStorms"`
}

// Storm is one active storm.
type Storm struct {
	ID               string     `json:"id"`
	BinNumber        string     `json:"binNumber"`
	Name             string     `json:"name"`
	Classification   string     `json:"classification"`
	Intensity        flexString `json:"intensity"`
	Pressure         flexString `json:"pressure"`
	Latitude         string     `json:"latitude"`
	Longitude        string     `json:"longitude"`
	LatitudeNumeric  *float64   `json:"latitudeNumeric"`
	LongitudeNumeric *float64   `json:"longitudeNumeric"`
	MovementDir      flexString `json:"movementDir"`
	MovementSpeed    flexString `json:"movementSpeed"`
	LastUpdate       string     `json:"lastUpdate"`

	PublicAdvisory       *Product `json:"publicAdvisory"`
	ForecastAdvisory     *Product `json:"forecastAdvisory"`
	ForecastTrack        *Product `json:"forecastTrack"`
	TrackCone            *Product `json:"trackCone"`
	InitialWindExtent    *Product `json:"initialWindExtent"`
	ForecastWindRadiiGIS *Product `json:"forecastWindRadiiGIS"`
}

// Product is one advisory product reference.
type Product struct {
	AdvNum   string `json:"advNum"`
	Issuance string `json:"issuance"`
	URL      string `json:"url"`
	ZipFile  string `json:"zipFile"`
	KmzFile  string `json:"kmzFile"`
}

// flexString takes a JSON string or number (NHC sends "35" and 20).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or number, got %s", clip(string(b)))
	}
	*f = flexString(n.String())
	return nil
}

func (f flexString) float() (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(f)), 64)
	return v, err == nil
}

// ParseCurrentStorms decodes CurrentStorms.json. `{"activeStorms": []}` is
// the valid "no storms" answer; a body without the key is not.
func ParseCurrentStorms(body []byte) (*CurrentStorms, error) {
	var raw map[string]json.RawMessage
	if err := fetch.DecodeJSON(body, &raw); err != nil {
		return nil, err
	}
	as, ok := raw["activeStorms"]
	if !ok {
		return nil, fmt.Errorf("not a CurrentStorms.json: no \"activeStorms\" key (starts %q)", fetch.Snippet(body))
	}
	var cs CurrentStorms
	if string(bytes.TrimSpace(as)) == "null" {
		return &cs, nil
	}
	if err := json.Unmarshal(as, &cs.ActiveStorms); err != nil {
		return nil, fmt.Errorf("activeStorms: %w", fetch.JSONError(as, err))
	}
	return &cs, nil
}

// Advisory is the storm's version key: the cone's advisory number (what the
// footprints come from), else the track's, else the public advisory's, with
// lastUpdate as a tie-breaker for products without numbers.
func (s Storm) Advisory() string {
	for _, p := range []*Product{s.TrackCone, s.ForecastTrack, s.ForecastWindRadiiGIS, s.PublicAdvisory} {
		if p != nil && p.AdvNum != "" {
			return p.AdvNum
		}
	}
	return s.LastUpdate
}

// Issued is when the advisory behind the footprints was issued.
func (s Storm) Issued() time.Time {
	for _, p := range []*Product{s.TrackCone, s.ForecastTrack, s.PublicAdvisory} {
		if p != nil {
			if t, err := parseTime(p.Issuance); err == nil {
				return t
			}
		}
	}
	t, _ := parseTime(s.LastUpdate)
	return t
}

// Position is the current centre, from the numeric fields or "29.6N"/"77.7W".
func (s Storm) Position() (lon, lat float64, ok bool) {
	if s.LatitudeNumeric != nil && s.LongitudeNumeric != nil {
		return *s.LongitudeNumeric, *s.LatitudeNumeric, true
	}
	la, ok1 := hemi(s.Latitude, 'N', 'S')
	lo, ok2 := hemi(s.Longitude, 'E', 'W')
	return lo, la, ok1 && ok2
}

func hemi(s string, pos, neg byte) (float64, bool) {
	s = strings.TrimSpace(strings.ToUpper(s))
	if s == "" {
		return 0, false
	}
	sign := 1.0
	switch s[len(s)-1] {
	case pos:
		s = s[:len(s)-1]
	case neg:
		s, sign = s[:len(s)-1], -1
	}
	v, err := strconv.ParseFloat(s, 64)
	return sign * v, err == nil
}

func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04Z"} {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}
