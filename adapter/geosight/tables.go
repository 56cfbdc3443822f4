package geosight

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// eventsTableHashKey holds the events table's hash among FootprintHashes.
const eventsTableHashKey = "related-table:events"

// Field is one related-table column.
type Field struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"` // string, number or date
}

// RemoteTable is a related table as GeoSight returns it.
type RemoteTable struct {
	ID               int     `json:"id"`
	Name             string  `json:"name"`
	URL              string  `json:"url"`
	FieldsDefinition []Field `json:"fields_definition"`
}

// FindRelatedTable returns the table named exactly name, or nil.
func (c *Client) FindRelatedTable(ctx context.Context, name string) (*RemoteTable, error) {
	ts, err := listAll[RemoteTable](ctx, c, "related-tables/", url.Values{"name": {name}})
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].Name == name {
			return &ts[i], nil
		}
	}
	return nil, nil
}

// CreateRelatedTable creates a table with its fields_definition.
func (c *Client) CreateRelatedTable(ctx context.Context, name, description string, fields []Field) (*RemoteTable, error) {
	body := map[string]any{"name": name, "description": description, "fields_definition": fields}
	resp, err := c.Do(ctx, http.MethodPost, "related-tables/", nil, body, name)
	if err != nil {
		return nil, err
	}
	var t RemoteTable
	if err := json.Unmarshal(resp.Body, &t); err != nil || t.ID == 0 {
		return nil, adapter.Classify(adapter.Permanent, c.name, apiPrefix+"related-tables/",
			fmt.Errorf("unexpected create response %s", snippet(resp.Body)))
	}
	return &t, nil
}

// DeleteRelatedTable deletes a table.
func (c *Client) DeleteRelatedTable(ctx context.Context, id int) error {
	_, err := c.Do(ctx, http.MethodDelete, fmt.Sprintf("related-tables/%d/", id), nil, nil, "")
	return err
}

// ReplaceRows replaces every row: DELETE data/ then POSTs of at most
// MaxBodyBytes each (row PUT is broken upstream, rows have no natural key).
// It returns how many POSTs it made.
func (c *Client) ReplaceRows(ctx context.Context, tableID int, rows []map[string]any) (int, error) {
	path := fmt.Sprintf("related-tables/%d/data/", tableID)
	if _, err := c.Do(ctx, http.MethodDelete, path, nil, nil, ""); err != nil {
		return 0, err
	}
	posts := 0
	var cur bytes.Buffer
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		cur.WriteByte(']')
		_, err := c.Do(ctx, http.MethodPost, path, nil, append([]byte(nil), cur.Bytes()...), "")
		cur.Reset()
		n = 0
		if err == nil {
			posts++
		}
		return err
	}
	for _, r := range rows {
		b, err := json.Marshal(map[string]any{"properties": r})
		if err != nil {
			return posts, err
		}
		if n > 0 && cur.Len()+1+len(b)+1 > c.maxBody() {
			if err := flush(); err != nil {
				return posts, err
			}
		}
		if n == 0 {
			cur.WriteByte('[')
		} else {
			cur.WriteByte(',')
		}
		cur.Write(b)
		n++
	}
	return posts, flush()
}

// TableRows reads a table's rows (properties only).
func (c *Client) TableRows(ctx context.Context, tableID int) ([]map[string]any, error) {
	rows, err := listAll[struct {
		ID         int            `json:"id"`
		Properties map[string]any `json:"properties"`
	}](ctx, c, fmt.Sprintf("related-tables/%d/data/", tableID), nil)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = r.Properties
	}
	return out, nil
}

// EventsTableFields is the events table's fields_definition.
var EventsTableFields = []Field{
	{"event_id", "Event", "string"}, {"source", "Source", "string"}, {"hazard_type", "Hazard type", "string"},
	{"phase", "Phase", "string"}, {"severity", "Severity", "string"}, {"native_severity", "Source severity", "string"},
	{"title", "Title", "string"}, {"issued", "Issued", "date"}, {"valid_from", "Valid from", "date"},
	{"valid_to", "Valid to", "date"}, {"version", "Version", "string"}, {"areas", "Areas", "string"},
}

func eventRows(events []indicators.Event) []map[string]any {
	evs := append([]indicators.Event(nil), events...)
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	rows := make([]map[string]any, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, map[string]any{
			"event_id": e.ID, "source": e.Source, "hazard_type": string(e.Type), "phase": string(e.Phase),
			"severity": e.Severity.String(), "native_severity": e.NativeSeverity, "title": e.Title,
			"issued": fmtTime(e.Issued), "valid_from": fmtTime(e.ValidFrom), "valid_to": fmtTime(e.ValidTo),
			"version": e.Version, "areas": strings.Join(e.Areas, ","),
		})
	}
	return rows
}

func (c *Client) publishEventsTable(ctx context.Context, active []indicators.Event) error {
	rows := eventRows(active)
	b, _ := json.Marshal(rows)
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:])
	c.mu.Lock()
	prev, id := c.tableHash, c.tableID
	c.mu.Unlock()
	if prev == hash {
		return nil
	}
	name := c.cfg.EventsTable.Name
	if id == 0 {
		t, err := c.FindRelatedTable(ctx, name)
		if err != nil {
			return err
		}
		if t == nil {
			if t, err = c.CreateRelatedTable(ctx, name, "Active hazard events published by hazardsync.", EventsTableFields); err != nil {
				return err
			}
		}
		id = t.ID
	}
	n, err := c.ReplaceRows(ctx, id, rows)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.tableID, c.tableHash = id, hash
	c.mu.Unlock()
	c.log.Info("events table published", "table", name, "rows", len(rows), "posts", n)
	return nil
}
