package eonet

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// Feed is the EONET v3 /events body.
type Feed struct {
	Title  string      `json:"title"`
	Events []FeedEvent `json:"events"`
}

// FeedEvent is one EONET event.
type FeedEvent struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description *string    `json:"description"`
	Link        string     `json:"link"`
	Closed      *string    `json:"closed"`
	Categories  []Category `json:"categories"`
	Sources     []Ref      `json:"sources"`
	Geometry    []Geometry `json:"geometry"`
}

// Category is an EONET category reference.
type Category struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Ref is an event's upstream source.
type Ref struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// Geometry is one element of the geometry time series.
type Geometry struct {
	MagnitudeValue *float64        `json:"magnitudeValue"`
	MagnitudeUnit  string          `json:"magnitudeUnit"`
	Date           string          `json:"date"`
	Type           string          `json:"type"`
	Coordinates    json.RawMessage `json:"coordinates"`
}

// Parse decodes an events body. The whole body must be an object with an
// events array; an empty array is a valid answer (no open events).
func Parse(body []byte) (*Feed, error) {
	var raw struct {
		Title  string           `json:"title"`
		Events *json.RawMessage `json:"events"`
	}
	if err := fetch.DecodeJSON(body, &raw); err != nil {
		return nil, err
	}
	if raw.Events == nil {
		return nil, fmt.Errorf("not an EONET events response: no \"events\" array (starts %q)", fetch.Snippet(body))
	}
	f := &Feed{Title: raw.Title}
	if err := json.Unmarshal(*raw.Events, &f.Events); err != nil {
		return nil, fmt.Errorf("events: %w", fetch.JSONError(*raw.Events, err))
	}
	return f, nil
}

// category ids are strings in v3 and numbers in v2; accept both.
func (c *Category) UnmarshalJSON(b []byte) error {
	var v struct {
		ID    json.RawMessage `json:"id"`
		Title string          `json:"title"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.Title = v.Title
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		c.ID = s
		return nil
	}
	c.ID = string(v.ID)
	return nil
}

func (g Geometry) orb() (orb.Geometry, error) {
	switch g.Type {
	case "Point":
		var c []float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil || len(c) < 2 {
			return nil, fmt.Errorf("point coordinates: want [lon, lat], got %s", snip(g.Coordinates))
		}
		return orb.Point{c[0], c[1]}, nil
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil {
			return nil, fmt.Errorf("polygon coordinates: %v", err)
		}
		var p orb.Polygon
		for i, r := range rings {
			var ring orb.Ring
			for _, c := range r {
				if len(c) < 2 {
					return nil, fmt.Errorf("polygon ring %d: position with %d numbers", i, len(c))
				}
				ring = append(ring, orb.Point{c[0], c[1]})
			}
			p = append(p, ring)
		}
		if len(p) == 0 {
			return nil, errors.New("polygon without rings")
		}
		return p, nil
	}
	return nil, fmt.Errorf("unsupported geometry type %q", g.Type)
}

func snip(b []byte) string {
	s := string(b)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
