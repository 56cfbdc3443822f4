package geosight

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hazardsync/hazardsync/adapter"
)

// StyleSpec is a library style with dynamic-style flat keys.
type StyleSpec struct {
	Name, Group, ValueType, StyleType string
	// Keys are flat keys: color_palette, dynamic_classification, ...
	Keys map[string]any
}

// RemoteStyle is a style as GeoSight returns it.
type RemoteStyle struct {
	ID          int            `json:"id"`
	Name        string         `json:"name"`
	Group       string         `json:"group"`
	ValueType   string         `json:"value_type"`
	StyleType   string         `json:"style_type"`
	StyleConfig map[string]any `json:"style_config"`
}

// FindStyle returns the style named exactly name, or nil.
func (c *Client) FindStyle(ctx context.Context, name string) (*RemoteStyle, error) {
	ss, err := listAll[RemoteStyle](ctx, c, "styles/", url.Values{"name": {name}})
	if err != nil {
		return nil, err
	}
	for i := range ss {
		if ss[i].Name == name {
			return &ss[i], nil
		}
	}
	return nil, nil
}

// CreateStyle creates a library style (the group key is "group", not
// "category"; a nested style_config would be ignored).
func (c *Client) CreateStyle(ctx context.Context, s StyleSpec) (*RemoteStyle, error) {
	body := map[string]any{"name": s.Name, "group": s.Group, "value_type": s.ValueType, "style_type": s.StyleType}
	for k, v := range s.Keys {
		body[k] = v
	}
	resp, err := c.Do(ctx, http.MethodPost, "styles/", nil, body, s.Name)
	if err != nil {
		return nil, err
	}
	var st RemoteStyle
	if err := json.Unmarshal(resp.Body, &st); err != nil || st.ID == 0 {
		return nil, adapter.Classify(adapter.Permanent, c.name, apiPrefix+"styles/",
			fmt.Errorf("unexpected create response %s", snippet(resp.Body)))
	}
	return &st, nil
}

// DeleteStyle deletes a style.
func (c *Client) DeleteStyle(ctx context.Context, id int) error {
	_, err := c.Do(ctx, http.MethodDelete, fmt.Sprintf("styles/%d/", id), nil, nil, "")
	return err
}
