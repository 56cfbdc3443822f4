package usgs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// Detail is the part of a detail feed (feed/v1.0/detail/<id>.geojson) we
// read: where the ShakeMap contours and the PAGER exposures are.
type Detail struct {
	ID         string `json:"id"`
	Properties struct {
		Updated  *int64               `json:"updated"`
		Products map[string][]product `json:"products"`
	} `json:"properties"`
}

type product struct {
	Code       string         `json:"code"`
	UpdateTime int64          `json:"updateTime"`
	Properties map[string]any `json:"properties"`
	Contents   contents       `json:"contents"`
}

// contents maps a product's file names to where they are; products with no
// files carry an empty array instead of an object.
type contents map[string]struct {
	URL    string `json:"url"`
	Length int64  `json:"length"`
}

func (c *contents) UnmarshalJSON(b []byte) error {
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "[") {
		var none []json.RawMessage
		if err := json.Unmarshal(b, &none); err != nil {
			return err
		}
		*c = nil
		return nil
	}
	m := map[string]struct {
		URL    string `json:"url"`
		Length int64  `json:"length"`
	}{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*c = m
	return nil
}

// ParseDetail decodes a detail feed.
func ParseDetail(body []byte) (*Detail, error) {
	var d Detail
	if err := fetch.DecodeJSON(body, &d); err != nil {
		return nil, err
	}
	if d.ID == "" {
		return nil, fmt.Errorf("detail feed: no id")
	}
	return &d, nil
}

// content returns the URL of a file of the preferred (first) product of a
// type, e.g. ("shakemap", "download/cont_mmi.json").
func (d *Detail) content(typ, name string) string {
	ps := d.Properties.Products[typ]
	if len(ps) == 0 {
		return ""
	}
	return ps[0].Contents[name].URL
}

// ContourURL is the ShakeMap MMI contour file, if listed.
func (d *Detail) ContourURL() string { return d.content("shakemap", "download/cont_mmi.json") }

// ExposureURL is PAGER's population exposure file, if listed.
func (d *Detail) ExposureURL() string { return d.content("losspager", "json/exposures.json") }

// ShakeMapVersion is the ShakeMap product's own version, for provenance.
func (d *Detail) ShakeMapVersion() string {
	ps := d.Properties.Products["shakemap"]
	if len(ps) == 0 {
		return ""
	}
	if v, ok := ps[0].Properties["version"]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return strconv.FormatInt(ps[0].UpdateTime, 10)
}

// Exposure is PAGER's json/exposures.json (population per MMI degree).
type Exposure struct {
	PopulationExposure struct {
		MMI                []float64 `json:"mmi"`
		AggregatedExposure []float64 `json:"aggregated_exposure"`
		CountryExposures   []struct {
			CountryCode string    `json:"country_code"`
			Exposure    []float64 `json:"exposure"`
		} `json:"country_exposures"`
	} `json:"population_exposure"`
}

// ParseExposure reads exposures.json into properties: population per MMI
// degree ("pager_population_by_mmi": {"6": n, ...}), the population at MMI
// VI or more, and the same per country.
func ParseExposure(body []byte) (map[string]any, error) {
	var e Exposure
	if err := fetch.DecodeJSON(body, &e); err != nil {
		return nil, err
	}
	pe := e.PopulationExposure
	if len(pe.AggregatedExposure) == 0 {
		return nil, fmt.Errorf("exposures: no population_exposure.aggregated_exposure")
	}
	mmiAt := func(i int) float64 {
		if i < len(pe.MMI) {
			return pe.MMI[i]
		}
		return float64(i + 1) // PAGER lists MMI 1..10 in order
	}
	byMMI := map[string]float64{}
	var six float64
	for i, n := range pe.AggregatedExposure {
		m := mmiAt(i)
		byMMI[strconv.FormatFloat(m, 'f', -1, 64)] = n
		if m >= 6 {
			six += n
		}
	}
	out := map[string]any{"pager_population_by_mmi": byMMI, "pager_population_mmi6plus": six}
	if len(pe.CountryExposures) > 0 {
		byCountry := map[string]float64{}
		for _, c := range pe.CountryExposures {
			var s float64
			for i, n := range c.Exposure {
				if mmiAt(i) >= 6 {
					s += n
				}
			}
			byCountry[c.CountryCode] = s
		}
		out["pager_population_mmi6plus_by_country"] = byCountry
	}
	return out, nil
}
