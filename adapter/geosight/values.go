package geosight

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

var _ adapter.Sink = (*Client)(nil)

// valuePayload is one data-browser POST body.
type valuePayload struct {
	Shortcode  string         `json:"indicator_shortcode"`
	Date       string         `json:"date"`
	GeomID     string         `json:"geom_id"`
	Dataset    string         `json:"dataset_uuid"`
	AdminLevel int            `json:"admin_level"`
	Value      any            `json:"value"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Write delivers vals one POST each with bounded concurrency, calling ack
// once per value as soon as its fate is known. Codes not in the reference
// dataset are rejected without being sent. An auth failure stops the
// delivery: the values not yet answered are not acked (they stay queued).
func (c *Client) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	if len(vals) == 0 {
		return nil
	}
	known, err := c.knownCodes(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		ackMu   sync.Mutex
		authErr error
		wg      sync.WaitGroup
	)
	report := func(o adapter.Outcome) {
		ackMu.Lock()
		defer ackMu.Unlock()
		ack(o)
	}
	jobs := make(chan indicators.Value)
	for range c.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range jobs {
				if c.conc.acquire(ctx) != nil {
					continue // cancelled: left queued
				}
				t0 := time.Now()
				o := c.writeOne(ctx, v)
				c.conc.release(time.Since(t0), o.Retries > 0 || adapter.ClassOf(o.Err) == adapter.Retryable)
				if o.Err != nil && ctx.Err() != nil && adapter.ClassOf(o.Err) == adapter.Retryable {
					continue // cancelled mid-flight: unknown fate, leave it queued
				}
				if adapter.ClassOf(o.Err) == adapter.Auth {
					ackMu.Lock()
					if authErr == nil {
						authErr = o.Err
					}
					ackMu.Unlock()
					cancel()
					continue // nothing marked: the whole sink failed
				}
				report(o)
			}
		}()
	}
send:
	for _, v := range vals {
		if !known.disabled {
			if lvl, ok := known.levels[v.Code]; !ok {
				report(adapter.Outcome{Value: v, Err: setKey(adapter.Classify(adapter.Permanent, c.name, apiPrefix+"data-browser/",
					fmt.Errorf("unknown ucode %s not in dataset %s", v.Code, c.cfg.Dataset)), v.Key().String())})
				continue
			} else if lvl != v.AdminLevel {
				report(adapter.Outcome{Value: v, Err: setKey(adapter.Classify(adapter.Permanent, c.name, apiPrefix+"data-browser/",
					fmt.Errorf("ucode %s is admin level %d in dataset %s, value says %d", v.Code, lvl, c.cfg.Dataset, v.AdminLevel)), v.Key().String())})
				continue
			}
		}
		select {
		case jobs <- v:
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	if authErr != nil {
		c.log.Error("GeoSight refused the credentials; delivery stopped", "err", authErr)
		return authErr
	}
	return ctx.Err()
}

// Concurrency is how many value POSTs the client currently keeps in flight
// (adapted to the server; geosight.concurrency is the ceiling).
func (c *Client) Concurrency() int { return c.conc.Limit() }

// FixConcurrency pins the value POSTs in flight to n instead of adapting
// (how the client behaved before; the delivery benchmark compares the two).
func (c *Client) FixConcurrency(n int) {
	c.conc.mu.Lock()
	c.conc.fixed, c.conc.limit = true, max(1, n)
	c.conc.mu.Unlock()
	c.conc.cond.Broadcast()
}

// writeOne POSTs one value and reads GeoSight's odd success: HTTP 200 with
// the body 201.
func (c *Client) writeOne(ctx context.Context, v indicators.Value) adapter.Outcome {
	key := v.Key().String()
	if !v.Date.Valid() {
		return adapter.Outcome{Value: v, Err: setKey(adapter.Classify(adapter.Permanent, c.name, apiPrefix+"data-browser/",
			fmt.Errorf("date %q is not YYYY-MM-DD", v.Date)), key)}
	}
	p := valuePayload{Shortcode: v.Indicator, Date: string(v.Date), GeomID: v.Code, Dataset: c.cfg.Dataset,
		AdminLevel: v.AdminLevel, Value: v.Payload(), Attributes: v.Attributes}
	resp, attempts, err := c.do(ctx, http.MethodPost, "data-browser/", nil, p, key)
	if err != nil {
		return adapter.Outcome{Value: v, Err: err, Retries: max(attempts-1, 0)}
	}
	if resp.Status != http.StatusOK || !bytes.Equal(bytes.TrimSpace(resp.Body), []byte("201")) {
		return adapter.Outcome{Value: v, Retries: resp.Attempts - 1, Err: setKey(adapter.Classify(adapter.Permanent, c.name,
			apiPrefix+"data-browser/", fmt.Errorf("unexpected answer HTTP %d %q (want 200 with body 201)", resp.Status, snippet(resp.Body))), key)}
	}
	return adapter.Outcome{Value: v, Retries: resp.Attempts - 1}
}

// ValueFilter narrows a data-browser read-back.
type ValueFilter struct {
	Shortcodes  []string
	Codes       []string
	AdminLevels []int
	Date        indicators.Date
	From, To    indicators.Date
}

// RemoteValue is a value read back, with GeoSight's row id.
type RemoteValue struct {
	ID int
	indicators.Value
}

type valueRow struct {
	ID         int            `json:"id"`
	GeomID     string         `json:"geom_id"`
	Shortcode  string         `json:"indicator_shortcode"`
	Value      any            `json:"value"`
	Date       string         `json:"date"`
	AdminLevel *int           `json:"admin_level"`
	Attributes map[string]any `json:"attributes"`
}

// Values reads values back through /api/v1/data-browser/ (uncached, unlike
// /indicators/{id}/data/ which GeoSight caches for 7 days).
func (c *Client) Values(ctx context.Context, f ValueFilter) ([]RemoteValue, error) {
	q := url.Values{}
	if len(f.Shortcodes) > 0 {
		q.Set("indicator_shortcode__in", strings.Join(f.Shortcodes, ","))
	}
	if len(f.Codes) > 0 {
		q.Set("geom_id__in", strings.Join(f.Codes, ","))
	}
	if len(f.AdminLevels) > 0 {
		var ls []string
		for _, l := range f.AdminLevels {
			ls = append(ls, strconv.Itoa(l))
		}
		q.Set("admin_level__in", strings.Join(ls, ","))
	}
	if f.Date != "" {
		q.Set("date", string(f.Date))
	}
	if f.From != "" {
		q.Set("date__gte", string(f.From))
	}
	if f.To != "" {
		q.Set("date__lte", string(f.To))
	}
	rows, err := listAll[valueRow](ctx, c, "data-browser/", q)
	if err != nil {
		return nil, err
	}
	out := make([]RemoteValue, 0, len(rows))
	for _, r := range rows {
		v := indicators.Value{Indicator: r.Shortcode, Code: r.GeomID, Date: indicators.Date(r.Date), Attributes: r.Attributes}
		if r.AdminLevel != nil {
			v.AdminLevel = *r.AdminLevel
		}
		switch x := r.Value.(type) {
		case string:
			v.Type, v.Text = indicators.String, x
		case float64:
			v.Type, v.Number = indicators.Float, x
		}
		out = append(out, RemoteValue{ID: r.ID, Value: v})
	}
	return out, nil
}

// DeleteValues deletes value rows by id (a bare JSON array body; GeoSight
// answers 500 to {"ids": [...]}).
func (c *Client) DeleteValues(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := c.Do(ctx, http.MethodDelete, "data-browser/", nil, ids, "")
	return err
}
