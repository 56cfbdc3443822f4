package project_test

// The project editor's contract, recorded from a real GeoSight-OS and
// replayed against the fake. The same scenario (log in, create with
// mistakes, create, read back, update, the refusals) runs against either
// server; what the real one answered is committed, and `make test` runs the
// scenario against the fake and requires the same status, content type,
// redirect, plain-text message and JSON shape at every step. The fake's ids
// differ from the server's, so requests are made by the scenario rather
// than replayed byte for byte.
//
// Record (a real GeoSight with the demo's indicators on it, see
// ../shared/geosight-real): GEOSIGHT_EDITOR_RECORD=1 GEOSIGHT_URL=...
// GEOSIGHT_API_KEY=... GEOSIGHT_USER=... HAZARDSYNC_CONFIG=<config for it>
// HAZARDSYNC_GEOSIGHT_USERNAME=... HAZARDSYNC_GEOSIGHT_PASSWORD=...
// go test -run TestEditorTranscript ./adapter/geosight/project/

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	_ "github.com/hazardsync/hazardsync/adapter/sinks/all"
	_ "github.com/hazardsync/hazardsync/adapter/sources/all"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// exchange is one recorded request and what came back, normalised.
type exchange struct {
	Step        string `json:"step"`
	Method      string `json:"method"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Location    string `json:"location,omitempty"`
	// Text is a plain-text or HTML body verbatim (GeoSight's messages);
	// Shape is a JSON body's structure (keys and value kinds).
	Text  string `json:"text,omitempty"`
	Shape any    `json:"shape,omitempty"`
}

// recorder is an http.RoundTripper that keeps every exchange of a step.
type recorder struct {
	mu   sync.Mutex
	step string
	out  []exchange
	base string
	slug string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	x := exchange{Step: r.step, Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		x.ContentType = mt
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			x.Location = u.Path
			if u.RawQuery != "" {
				x.Location += "?" + u.RawQuery
			}
		}
	}
	switch {
	case x.ContentType == "application/json":
		var v any
		if json.Unmarshal(body, &v) == nil {
			x.Shape = shapeOf(v)
		}
	case x.Status >= 400:
		x.Text = pageText(body)
	}
	r.mu.Lock()
	r.out = append(r.out, x)
	r.mu.Unlock()
	return resp, nil
}

var (
	titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>`)
	paraRE  = regexp.MustCompile(`(?is)<p>(.*?)</p>`)
)

// pageText is what a body says: GeoSight's plain-text messages verbatim; of
// an HTML page (Django's error pages), its title and first paragraph.
func pageText(body []byte) string {
	b := strings.TrimSpace(string(body))
	if l := strings.ToLower(b); !strings.HasPrefix(l, "<!doctype") && !strings.HasPrefix(l, "<html") {
		return b
	}
	var title, para string
	if m := titleRE.FindStringSubmatch(b); m != nil {
		title = strings.TrimSpace(m[1])
	}
	if m := paraRE.FindStringSubmatch(b); m != nil {
		para = strings.TrimSpace(m[1])
	}
	return "page: " + title + " | " + para
}

// shapeOf is a JSON value's structure: objects keep their keys, arrays the
// merged shape of their elements, scalars their kind. A {"detail": ...}
// error keeps its message.
func shapeOf(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if d, ok := x["detail"].(string); ok && len(x) == 1 {
			return map[string]any{"detail": d}
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = shapeOf(e)
		}
		return out
	case []any:
		merged := map[string]any{}
		var scalar any
		for _, e := range x {
			switch s := shapeOf(e).(type) {
			case map[string]any:
				for k, v := range s {
					if _, ok := merged[k]; !ok || merged[k] == "null" {
						merged[k] = v
					}
				}
			default:
				scalar = s
			}
		}
		if len(merged) > 0 {
			return []any{merged}
		}
		if scalar != nil {
			return []any{scalar}
		}
		return []any{}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

const transcriptSlug = "hazardsync-transcript"

// runEditorScenario runs the editor scenario against a server; cleanup
// deletes what it created (real servers only).
func runEditorScenario(t *testing.T, base string, client *geosight.Client, spec project.Spec, user, pass string) []exchange {
	ctx := context.Background()
	spec.Slug, spec.Name = transcriptSlug, "hazardsync transcript"
	rec := &recorder{base: base, slug: spec.Slug}
	e, err := project.NewEditor(base, 60*time.Second, nil)
	require.NoError(t, err)
	e.SetTransport(rec)

	rec.step = "login"
	require.NoError(t, e.Login(ctx, user, pass))

	rec.step = "exists before create"
	exists, err := e.Exists(ctx, spec.Slug)
	require.NoError(t, err)
	require.False(t, exists, "a project %s is left from an earlier run: delete it", spec.Slug)

	rec.step = "create with an empty extent"
	f, err := project.Build(spec)
	require.NoError(t, err)
	f.Data["extent"] = []any{}
	require.Error(t, e.Save(ctx, "", f))

	rec.step = "create with an unknown indicator"
	f, _ = project.Build(spec)
	f.Data["indicators"] = append(f.Data["indicators"].([]any), map[string]any{"id": 987654})
	require.Error(t, e.Save(ctx, "", f))

	rec.step = "create with an empty layer structure"
	f, _ = project.Build(spec)
	f.Data["context_layers_structure"] = map[string]any{}
	require.Error(t, e.Save(ctx, "", f))

	rec.step = "create"
	f, _ = project.Build(spec)
	require.NoError(t, e.Save(ctx, "", f))
	if client != nil {
		t.Cleanup(func() {
			_, err := client.Do(context.Background(), http.MethodDelete, "dashboards/"+spec.Slug+"/", nil, nil, "")
			assert.NoError(t, err, "deleting the transcript project")
		})
	}

	rec.step = "create again with the same slug"
	require.Error(t, e.Save(ctx, "", f))

	rec.step = "exists after create"
	exists, err = e.Exists(ctx, spec.Slug)
	require.NoError(t, err)
	require.True(t, exists)

	rec.step = "read back"
	served, err := e.Data(ctx, spec.Slug)
	require.NoError(t, err)

	rec.step = "apply with nothing changed"
	out, err := project.Apply(ctx, e, spec)
	require.NoError(t, err)
	require.Equal(t, project.Unchanged, out)

	rec.step = "update"
	spec.Indicators[0].Name += " (renamed)"
	f, changed, err := project.Update(served, spec)
	require.NoError(t, err)
	require.True(t, changed)
	require.NoError(t, e.Save(ctx, spec.Slug, f))

	rec.step = "read back after update"
	served, err = e.Data(ctx, spec.Slug)
	require.NoError(t, err)
	var names []string
	for _, l := range served["indicator_layers"].([]any) {
		for _, li := range l.(map[string]any)["indicators"].([]any) {
			names = append(names, li.(map[string]any)["name"].(string))
		}
	}
	require.Contains(t, names, spec.Indicators[0].Name, "the layer's legend name follows the config")

	// Refusals, on raw requests.
	raw := func(step string, withSession, withCSRF bool, method, path string, form url.Values) {
		rec.step = step
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Transport: rec, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if withSession {
			re, err := project.NewEditor(base, 60*time.Second, nil)
			require.NoError(t, err)
			inner := &cookieThief{}
			re.SetTransport(inner)
			require.NoError(t, re.Login(ctx, user, pass))
			u, _ := url.Parse(base)
			jar.SetCookies(u, inner.cookies)
		}
		req, err := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if withCSRF {
			u, _ := url.Parse(base)
			for _, c := range jar.Cookies(u) {
				if c.Name == "csrftoken" {
					req.Header.Set("X-CSRFToken", c.Value)
				}
			}
			req.Header.Set("Referer", base+path)
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	f, _ = project.Build(spec)
	b, _ := json.Marshal(f.Data)
	form := url.Values{"data": {string(b)}, "name": {"x"}, "slug": {"hazardsync-transcript-2"}}
	raw("create without a session", false, false, http.MethodPost, "/en-us/admin/project/create", form)
	raw("create without the CSRF token", true, false, http.MethodPost, "/en-us/admin/project/create", form)
	raw("project data without a session", false, false, http.MethodGet, "/api/dashboard/"+spec.Slug+"/data", nil)
	raw("unprefixed editor path", true, true, http.MethodGet, "/admin/project/create", nil)
	return rec.out
}

// cookieThief records the cookies a login set (to hand them to a raw client).
type cookieThief struct{ cookies []*http.Cookie }

func (c *cookieThief) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		for _, ck := range resp.Cookies() {
			c.cookies = append(c.cookies, ck)
		}
	}
	return resp, err
}

func TestEditorTranscript(t *testing.T) {
	path := testutil.Fixture(t, "geosight", "project", "editor-transcript.json")
	if os.Getenv("GEOSIGHT_EDITOR_RECORD") != "" {
		cfg, err := config.Load(os.Getenv("HAZARDSYNC_CONFIG"), config.Overrides{StateDir: t.TempDir()})
		require.NoError(t, err)
		client, err := geosight.NewClient(cfg.GeoSight, nil)
		require.NoError(t, err)
		spec, err := project.Resolve(context.Background(), client, cfg, project.DefaultSettings())
		require.NoError(t, err)
		got := runEditorScenario(t, cfg.GeoSight.URL, client, spec,
			os.Getenv(project.EnvUsername), os.Getenv(project.EnvPassword))
		b, err := json.MarshalIndent(map[string]any{
			"recorded_from": "GeoSight-OS 516c4db7 (../shared/geosight-real), " + time.Now().UTC().Format("2006-01-02"),
			"exchanges":     got,
		}, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
		t.Logf("recorded %d exchanges into %s", len(got), path)
		return
	}

	var want struct {
		Exchanges []exchange `json:"exchanges"`
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &want))

	w := newWorld(t)
	got := runEditorScenario(t, w.url, nil, w.spec(t), "creator", "creator-pass")
	byStep := func(xs []exchange) map[string][]exchange {
		m := map[string][]exchange{}
		for _, x := range xs {
			m[x.Step] = append(m[x.Step], x)
		}
		return m
	}
	g, r := byStep(got), byStep(want.Exchanges)
	var steps []string
	for s := range r {
		steps = append(steps, s)
	}
	sort.Strings(steps)
	for _, s := range steps {
		rw, fk := r[s], g[s]
		if !assert.Len(t, fk, len(rw), "step %q: number of requests", s) {
			continue
		}
		for i := range rw {
			assert.Empty(t, shapeDiff(normShape(rw[i].Shape), normShape(fk[i].Shape), "body"),
				"step %q, request %d: the fake's JSON has the real GeoSight's shape", s, i+1)
			rw[i].Shape, fk[i].Shape = nil, nil
			assert.Equal(t, rw[i], fk[i], "step %q, request %d: the fake answers as the real GeoSight did", s, i+1)
		}
	}
}

// normShape makes a JSON shape comparable: a "null" where the other side
// has a value is a difference of data, not of contract, so nulls are kept
// as they are but nested maps are re-encoded for a stable comparison.
func normShape(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// freeForm are objects whose keys are data, not contract (styles, configs).
var freeForm = map[string]bool{"style_config": true, "paint": true, "config": true, "parameters": true, "label_styles": true, "configuration": true}

// shapeDiff lists where two JSON shapes differ as contract: keys present on
// one side only, or kinds that differ. A null on either side, an empty
// array, or the keys of a free-form object are data, not contract.
func shapeDiff(want, got any, path string) []string {
	if want == nil && got == nil {
		return nil
	}
	if want == "null" || got == "null" {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: object on the server, %v in the fake", path, got)}
		}
		var out []string
		last := path[strings.LastIndex(path, ".")+1:]
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				if !freeForm[last] {
					out = append(out, fmt.Sprintf("%s.%s: missing in the fake", path, k))
				}
				continue
			}
			out = append(out, shapeDiff(v, gv, path+"."+k)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok && !freeForm[last] {
				out = append(out, fmt.Sprintf("%s.%s: only in the fake", path, k))
			}
		}
		sort.Strings(out)
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: array on the server, %v in the fake", path, got)}
		}
		if len(w) == 0 || len(g) == 0 {
			return nil
		}
		return shapeDiff(w[0], g[0], path+"[]")
	default:
		if want != got {
			return []string{fmt.Sprintf("%s: %v on the server, %v in the fake", path, want, got)}
		}
	}
	return nil
}
