package geosight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// Style types GeoSight accepts (IndicatorForm choices).
const (
	StyleQuantitative = "Dynamic quantitative style."
	StyleQualitative  = "Dynamic qualitative style."
)

// RemoteIndicator is an indicator as GeoSight lists it (?fields=__all__).
// Unit stays nil on GeoSight 516c4db7, which never returns it.
type RemoteIndicator struct {
	ID          int            `json:"id"`
	Name        string         `json:"name"`
	Category    string         `json:"category"`
	Shortcode   string         `json:"shortcode"`
	Type        string         `json:"type"`
	StyleType   string         `json:"style_type"`
	Description *string        `json:"description"`
	Unit        *string        `json:"unit"`
	MinValue    *float64       `json:"min_value"`
	MaxValue    *float64       `json:"max_value"`
	StyleConfig map[string]any `json:"style_config"`
	AggUpper    string         `json:"aggregation_upper_level"`
}

// IndicatorFilter narrows FindIndicators; empty fields are not sent.
type IndicatorFilter struct {
	Shortcodes []string
	Category   string
	Query      string
}

// FindIndicators pages through /api/v1/indicators/ with filters.
func (c *Client) FindIndicators(ctx context.Context, f IndicatorFilter) ([]RemoteIndicator, error) {
	q := url.Values{"fields": {"__all__"}}
	switch len(f.Shortcodes) {
	case 0:
	case 1:
		q.Set("shortcode", f.Shortcodes[0])
	default:
		q.Set("shortcode__in", joinComma(f.Shortcodes))
	}
	if f.Category != "" {
		q.Set("category__name__in", f.Category)
	}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	return listAll[RemoteIndicator](ctx, c, "indicators/", q)
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// indicatorBody is what we send for a definition: form fields plus the
// dynamic-style flat keys (a nested style_config would be ignored).
func (c *Client) indicatorBody(d indicators.Definition) map[string]any {
	cat := d.Category
	if cat == "" {
		cat = c.cfg.Category
	}
	b := map[string]any{
		"name": d.Name, "shortcode": d.Shortcode, "category": cat, "type": string(d.Type),
		"description": d.Description, "unit": d.Unit, "min_value": d.MinValue, "max_value": d.MaxValue,
		"source": "hazardsync",
	}
	if d.Aggregation != "" {
		b["aggregation_upper_level"] = d.Aggregation
		b["aggregation_multiple_values"] = d.Aggregation
	}
	for k, v := range styleKeys(d) {
		b[k] = v
	}
	return b
}

// styleKeys are the definition's style flat keys with our defaults: a
// qualitative dynamic style for String, a quantitative one with a palette
// for numbers; def.Style overrides any key, style_type included.
func styleKeys(d indicators.Definition) map[string]any {
	m := map[string]any{}
	if d.Type == indicators.String {
		m["style_type"] = StyleQualitative
		m["color_palette"] = 1
	} else {
		m["style_type"] = StyleQuantitative
		m["color_palette"] = 1
		m["dynamic_classification"] = "Natural breaks."
		m["dynamic_class_num"] = 7
	}
	for k, v := range d.Style {
		m[k] = v
	}
	return m
}

// changed lists the fields where remote differs from our definition.
func (c *Client) changed(d indicators.Definition, r RemoteIndicator) []string {
	want := c.indicatorBody(d)
	var diff []string
	if r.Name != d.Name {
		diff = append(diff, "name")
	}
	if r.Type != string(d.Type) {
		diff = append(diff, "type")
	}
	if deref(r.Description) != d.Description {
		diff = append(diff, "description")
	}
	if r.Unit != nil {
		if *r.Unit != d.Unit {
			diff = append(diff, "unit")
		}
	} else if rec, ok := c.sentRecord(d.Shortcode); ok || d.Unit != "" {
		// GeoSight never returns unit: compare with what we last sent. With
		// no record and a unit to set, send it once.
		if !ok || rec != hiddenFingerprint(want) {
			diff = append(diff, "unit")
		}
	}
	if !sameFloat(r.MinValue, d.MinValue) {
		diff = append(diff, "min_value")
	}
	if !sameFloat(r.MaxValue, d.MaxValue) {
		diff = append(diff, "max_value")
	}
	if r.StyleType != want["style_type"] {
		diff = append(diff, "style_type")
	}
	for k, v := range want {
		switch k {
		case "style_type", "name", "shortcode", "category", "type", "description", "unit", "min_value",
			"max_value", "source", "aggregation_upper_level", "aggregation_multiple_values":
			continue
		}
		if r.StyleConfig == nil || !looseEqual(r.StyleConfig[k], v) {
			diff = append(diff, k)
		}
	}
	if d.Aggregation != "" && r.AggUpper != d.Aggregation {
		diff = append(diff, "aggregation_upper_level")
	}
	sort.Strings(diff)
	return diff
}

// hiddenFields are form fields GeoSight stores but never returns (unit is
// absent from the list, from fields=__all__ and from the detail view at
// 516c4db7), so "changed" for them is decided against what we last sent.
var hiddenFields = []string{"unit"}

// hiddenFingerprint is the record kept of the hidden fields of a body.
func hiddenFingerprint(body map[string]any) string {
	m := map[string]any{}
	for _, k := range hiddenFields {
		m[k] = body[k]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (c *Client) sentRecord(shortcode string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.sent[shortcode]
	return r, ok
}

func (c *Client) recordSent(shortcode string, body map[string]any) {
	c.mu.Lock()
	c.sent[shortcode] = hiddenFingerprint(body)
	c.mu.Unlock()
}

// IndicatorRecords is what was last sent of each indicator's fields that
// GeoSight does not return; the daemon keeps it in state and restores it
// with SetIndicatorRecords, so a repeat Ensure sends nothing.
func (c *Client) IndicatorRecords() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.sent))
	for k, v := range c.sent {
		out[k] = v
	}
	return out
}

// SetIndicatorRecords restores records saved from IndicatorRecords.
func (c *Client) SetIndicatorRecords(m map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range m {
		c.sent[k] = v
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// looseEqual compares JSON-ish values by their JSON text ("7" vs 7 differ
// only by quoting, which GeoSight may add).
func looseEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return true
	}
	sa, sb := fmt.Sprint(a), fmt.Sprint(b)
	return sa == sb || strconv.Quote(sa) == string(jb) || strconv.Quote(sb) == string(ja)
}

// Ensure finds every indicator by shortcode, creates the missing ones and
// PATCHes those whose definition changed; it never creates a duplicate.
func (c *Client) Ensure(ctx context.Context, defs []indicators.Definition) error {
	var errs []error
	for _, d := range defs {
		if err := c.ensureOne(ctx, d); err != nil {
			if adapter.ClassOf(err) == adapter.Auth {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Client) ensureOne(ctx context.Context, d indicators.Definition) error {
	if len(d.Codes) > 0 && d.Type == indicators.String {
		// Code lists live behind /api/v1/code-list/, which ignores API keys.
		c.log.Debug("code list not attached: GeoSight cannot create code lists through the API",
			"indicator", d.Shortcode, "codes", d.Codes)
	}
	found, err := c.FindIndicators(ctx, IndicatorFilter{Shortcodes: []string{d.Shortcode}})
	if err != nil {
		return setKey(err, d.Shortcode)
	}
	var remote *RemoteIndicator
	for i := range found {
		if found[i].Shortcode == d.Shortcode { // the filter is exact; be sure
			remote = &found[i]
			break
		}
	}
	body := c.indicatorBody(d)
	if remote == nil {
		resp, err := c.Do(ctx, http.MethodPost, "indicators/", nil, body, d.Shortcode)
		if err != nil {
			return err
		}
		var created RemoteIndicator
		if err := json.Unmarshal(resp.Body, &created); err != nil || created.ID == 0 {
			return adapter.Classify(adapter.Permanent, c.name, apiPrefix+"indicators/",
				fmt.Errorf("indicator %s: unexpected create response %s", d.Shortcode, snippet(resp.Body)))
		}
		c.log.Info("indicator created", "shortcode", d.Shortcode, "id", created.ID)
		c.setIndicatorID(d.Shortcode, created.ID)
		c.recordSent(d.Shortcode, body)
		return nil
	}
	c.setIndicatorID(d.Shortcode, remote.ID)
	diff := c.changed(d, *remote)
	if len(diff) == 0 {
		return nil
	}
	// PATCH merges over the stored object; category stays as the admin set it.
	delete(body, "category")
	path := fmt.Sprintf("indicators/%d/", remote.ID)
	if _, err := c.Do(ctx, http.MethodPatch, path, nil, body, d.Shortcode); err != nil {
		return err
	}
	c.recordSent(d.Shortcode, body)
	c.log.Info("indicator updated", "shortcode", d.Shortcode, "id", remote.ID, "fields", diff)
	return nil
}

func (c *Client) setIndicatorID(sc string, id int) {
	c.mu.Lock()
	c.indicatorIDs[sc] = id
	c.mu.Unlock()
}

// IndicatorID is the GeoSight id of an ensured indicator.
func (c *Client) IndicatorID(shortcode string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.indicatorIDs[shortcode]
	return id, ok
}

// DeleteIndicator deletes an indicator and, by cascade, its values.
func (c *Client) DeleteIndicator(ctx context.Context, id int) error {
	_, err := c.Do(ctx, http.MethodDelete, fmt.Sprintf("indicators/%d/", id), nil, nil, "")
	return err
}
