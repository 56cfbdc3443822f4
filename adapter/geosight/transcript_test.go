package geosight_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
)

// Transcripts are the contract suite's requests and a real GeoSight's
// answers (make contract-record), replayed against the fake by
// TestTranscriptsReplayOnFake. When the two disagree, the transcript wins.

// recordEnv names the folder make contract-record writes transcripts to.
const recordEnv = "GEOSIGHT_RECORD"

const transcriptDir = "../../fixtures/geosight/transcripts"

// Placeholders written instead of secrets and per-run values.
const (
	keyPlaceholder    = "[key]"
	userPlaceholder   = "[user]"
	prefixPlaceholder = "HSCT_PREFIX_"
	hostPlaceholder   = "http://geosight.test"
	timePlaceholder   = "<time>"
)

// Exchange is one recorded request and its answer.
type Exchange struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"` // with the query
	Header   map[string]string `json:"header,omitempty"`
	Body     json.RawMessage   `json:"body,omitempty"`
	BodyText string            `json:"body_text,omitempty"` // a body that is not JSON
	Status   int               `json:"status"`
	Type     string            `json:"content_type,omitempty"`
	Location string            `json:"location,omitempty"`
	Resp     json.RawMessage   `json:"response,omitempty"`
	RespText string            `json:"response_text,omitempty"`
}

// Transcript is one contract test's exchanges, in order.
type Transcript struct {
	Test      string     `json:"test"`
	Server    string     `json:"server"`
	Exchanges []Exchange `json:"exchanges"`
}

// raw is an exchange as seen on the wire, normalised when written.
type raw struct {
	method, path string
	header       http.Header
	body         []byte
	status       int
	respHeader   http.Header
	resp         []byte
}

// recorder is a RoundTripper that keeps every exchange.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []raw
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	r.mu.Lock()
	r.log = append(r.log, raw{method: req.Method, path: req.URL.RequestURI(), header: req.Header.Clone(), body: body,
		status: resp.StatusCode, respHeader: resp.Header.Clone(), resp: rb})
	r.mu.Unlock()
	return resp, nil
}

// normaliser replaces per-run values: the key, the user, the test prefix,
// host names, timestamps and resource ids (numbered by first appearance).
type normaliser struct {
	key, user, prefix, base string
	ids                     map[string]string // "kind:123" → "<id:kind:1>"
	seq                     map[string]int
}

var (
	timeRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}`)
	pathIDRE = regexp.MustCompile(`/api/v1/([a-z-]+)/(\d+)/`)
	prefixRE = regexp.MustCompile(`HSCT_[0-9A-F]{8}_`)
)

// kindOf is the resource kind a path is about: "indicators", or
// "related-tables/data" for the rows of a table (their ids are another
// sequence than the tables').
func kindOf(path string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/"), "?")
	var parts []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if strings.ContainsAny(s, "0123456789<") { // ids, uuids, placeholders
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "/")
}

func (n *normaliser) text(s string) string {
	if n.key != "" {
		s = strings.ReplaceAll(s, n.key, keyPlaceholder)
	}
	if n.base != "" {
		s = strings.ReplaceAll(s, n.base, hostPlaceholder)
	}
	if n.prefix != "" {
		s = strings.ReplaceAll(s, n.prefix, prefixPlaceholder)
	}
	s = prefixRE.ReplaceAllString(s, prefixPlaceholder)
	return pathIDRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := pathIDRE.FindStringSubmatch(m)
		if tok, ok := n.ids[sub[1]+":"+sub[2]]; ok {
			return "/api/v1/" + sub[1] + "/" + tok + "/"
		}
		return m
	})
}

// id maps a resource id to its placeholder, adding it when learn is set.
func (n *normaliser) id(kind string, v float64, learn bool) (string, bool) {
	k := kind + ":" + strconv.FormatInt(int64(v), 10)
	if tok, ok := n.ids[k]; ok {
		return tok, true
	}
	if !learn || v != float64(int64(v)) {
		return "", false
	}
	n.seq[kind]++
	tok := fmt.Sprintf("<id:%s:%d>", kind, n.seq[kind])
	n.ids[k] = tok
	return tok, true
}

// idKeys are JSON keys holding resource ids, with their kind ("" = the
// kind of the path).
var idKeys = map[string]string{"id": "", "indicator_id": "indicators"}

// learn numbers the resource ids of a response before it is normalised, so
// a url naming an id is rewritten wherever it comes in the object.
func (n *normaliser) learn(v any, kind string) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if kk, ok := idKeys[k]; ok {
				if f, isNum := x[k].(float64); isNum {
					if kk == "" {
						kk = kind
					}
					n.id(kk, f, true)
					continue
				}
			}
			n.learn(x[k], kind)
		}
	case []any:
		for _, e := range x {
			n.learn(e, kind)
		}
	}
}

// value normalises decoded JSON with the ids known so far; times only in
// answers (a request's date is part of what is asked).
func (n *normaliser) value(v any, kind string, answer bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if kk, ok := idKeys[k]; ok {
				if f, isNum := e.(float64); isNum {
					if kk == "" {
						kk = kind
					}
					if tok, ok := n.id(kk, f, false); ok {
						x[k] = tok
						continue
					}
				}
			}
			x[k] = n.value(e, kind, answer)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = n.value(e, kind, answer)
		}
		return x
	case string:
		if answer && timeRE.MatchString(x) {
			return timePlaceholder
		}
		return n.text(x)
	}
	return v
}

// body normalises a body: JSON (placeholders in) or text.
func (n *normaliser) body(b []byte, kind string, answer bool) (json.RawMessage, string) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, n.text(string(b))
	}
	if answer {
		n.learn(v, kind)
	}
	out, _ := json.Marshal(n.value(v, kind, answer))
	return out, ""
}

func (n *normaliser) exchange(r raw) Exchange {
	kind := kindOf(r.path)
	e := Exchange{Method: r.method, Path: n.text(r.path), Status: r.status, Type: r.respHeader.Get("Content-Type"),
		Header: map[string]string{}}
	for _, h := range []string{"Accept", "Content-Type", "Authorization", "GeoSight-User-Key"} {
		if v := r.header.Get(h); v != "" {
			if h == "GeoSight-User-Key" && v == n.user {
				v = userPlaceholder
			}
			e.Header[h] = n.text(v)
		}
	}
	e.Body, e.BodyText = n.body(r.body, kind, false)
	if loc := r.respHeader.Get("Location"); loc != "" {
		e.Location = n.text(loc)
	}
	e.Resp, e.RespText = n.body(r.resp, kind, true)
	return e
}

// attachRecorder wraps the target's clients' transport with a recorder and
// writes the transcript when the test ends (make contract-record).
func (tg *target) attachRecorder(t testing.TB, dir string) {
	tg.rec = &recorder{next: http.DefaultTransport}
	t.Cleanup(func() {
		n := &normaliser{key: tg.cfg.APIKey.Reveal(), user: tg.cfg.User, prefix: tg.prefix,
			base: strings.TrimRight(tg.cfg.URL, "/"), ids: map[string]string{}, seq: map[string]int{}}
		tr := Transcript{Test: t.Name(), Server: "GeoSight-OS 516c4db7 (../shared/geosight-real)"}
		tg.rec.mu.Lock()
		for _, r := range tg.rec.log {
			tr.Exchanges = append(tr.Exchanges, n.exchange(r))
		}
		tg.rec.mu.Unlock()
		b, err := json.MarshalIndent(tr, "", " ")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, t.Name()+".json"), append(b, '\n'), 0o644)
		}
		if err != nil {
			t.Errorf("writing transcript: %v", err)
		}
	})
}

// replayFake is the fake as the recorded server was set up: the demo areas
// as the reference dataset and a super admin holding the key.
func replayFake(t *testing.T) *fake.Server {
	t.Helper()
	as, _, err := areas.LoadFiles([]config.GeoFile{{Path: "../../fixtures/demo/areas.geojson", Level: -1,
		CodeProperty: "ucode", NameProperty: "name", LevelProperty: "admin_level", ParentProperty: "parent"}})
	require.NoError(t, err)
	return fake.New(fake.Options{
		Users:    []fake.User{{Key: testKey, Email: testUser, Role: fake.SuperAdmin}},
		Datasets: []fake.Dataset{{UUID: testDataset, Name: "Demoland", Areas: as}},
	})
}

var tokenRE = regexp.MustCompile(`<id:[a-z/-]+:\d+>`)

// bind learns placeholder → fake id from a recorded and a fake answer.
func bind(rec, got any, ids map[string]string) {
	switch x := rec.(type) {
	case string:
		if tokenRE.MatchString(x) && x == tokenRE.FindString(x) {
			if f, ok := got.(float64); ok {
				if _, seen := ids[x]; !seen {
					ids[x] = strconv.FormatInt(int64(f), 10)
				}
			}
		}
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			for k, v := range x {
				bind(v, g[k], ids)
			}
		}
	case []any:
		if g, ok := got.([]any); ok {
			for i := range x {
				if i < len(g) {
					bind(x[i], g[i], ids)
				}
			}
		}
	}
}

// substitute puts the fake's ids and credentials into a recorded request.
func substitute(s string, ids map[string]string, base string) string {
	s = tokenRE.ReplaceAllStringFunc(s, func(tok string) string {
		if v, ok := ids[tok]; ok {
			return v
		}
		return "0"
	})
	s = strings.ReplaceAll(s, keyPlaceholder, testKey)
	return strings.ReplaceAll(s, hostPlaceholder, base)
}

// substituteJSON replaces placeholder strings that stand for numbers.
func substituteJSON(b []byte, ids map[string]string, base string) []byte {
	quoted := regexp.MustCompile(`"(<id:[a-z/-]+:\d+>)"`)
	b = quoted.ReplaceAllFunc(b, func(m []byte) []byte {
		if v, ok := ids[string(m[1:len(m)-1])]; ok {
			return []byte(v)
		}
		return []byte("0")
	})
	return []byte(substitute(string(b), ids, base))
}

// shapeDiff lists where got's JSON shape differs from want's: the same keys,
// the same JSON types (an id placeholder stands for a number, a time
// placeholder for a string), the same array lengths.
func shapeDiff(path string, want, got any, out *[]string) {
	typ := func(v any) string {
		switch x := v.(type) {
		case nil:
			return "null"
		case bool:
			return "bool"
		case float64:
			return "number"
		case string:
			if tokenRE.MatchString(x) && x == tokenRE.FindString(x) {
				return "number"
			}
			return "string"
		case []any:
			return "array"
		case map[string]any:
			return "object"
		}
		return fmt.Sprintf("%T", v)
	}
	if tw, tgot := typ(want), typ(got); tw != tgot {
		*out = append(*out, fmt.Sprintf("%s: %s in the transcript, %s from the fake", path, tw, tgot))
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		var keys []string
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: only in the fake", path, k))
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing from the fake", path, k))
				continue
			}
			shapeDiff(path+"."+k, w[k], gv, out)
		}
	case []any:
		g := got.([]any)
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: %d items in the transcript, %d from the fake", path, len(w), len(g)))
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			shapeDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	}
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// dedupe folds item indexes so one difference repeated over a list is
// reported once.
func dedupe(diffs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range diffs {
		d = indexRE.ReplaceAllString(d, "[]")
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// mediaType is a Content-Type without spacing differences.
func mediaType(ct string) string {
	return strings.ToLower(strings.ReplaceAll(ct, " ", ""))
}

// TestTranscriptsReplayOnFake replays every recorded request against a fresh
// fake and requires the recorded status, content type, body shape and, for
// errors, the exact message.
func TestTranscriptsReplayOnFake(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(transcriptDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no transcripts: run make contract-record against a real GeoSight")
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			var tr Transcript
			require.NoError(t, json.Unmarshal(b, &tr))
			f := replayFake(t)
			base := f.Start()
			t.Cleanup(f.Close)
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			ids := map[string]string{}
			for i, e := range tr.Exchanges {
				where := fmt.Sprintf("#%d %s %s", i, e.Method, e.Path)
				var body io.Reader
				switch {
				case e.Body != nil:
					body = bytes.NewReader(substituteJSON(e.Body, ids, base))
				case e.BodyText != "":
					body = strings.NewReader(substitute(e.BodyText, ids, base))
				}
				req, err := http.NewRequest(e.Method, base+substitute(e.Path, ids, base), body)
				require.NoError(t, err)
				for k, v := range e.Header {
					if k == "GeoSight-User-Key" && v == userPlaceholder {
						v = testUser
					}
					req.Header.Set(k, substitute(v, ids, base))
				}
				resp, err := noFollow.Do(req)
				require.NoError(t, err, where)
				rb, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				require.NoError(t, err)
				if !assert.Equal(t, e.Status, resp.StatusCode, "%s: status (fake body %s)", where, rb) {
					continue
				}
				if e.Type != "" || len(rb) > 0 {
					assert.Equal(t, mediaType(e.Type), mediaType(resp.Header.Get("Content-Type")), "%s: content type", where)
				}
				if e.Location != "" {
					assert.Equal(t, e.Location, strings.Replace(resp.Header.Get("Location"), base, hostPlaceholder, 1), "%s: Location", where)
				}
				n := &normaliser{base: base, ids: map[string]string{}, seq: map[string]int{}}
				if e.Resp == nil {
					got := string(rb)
					if timeRE.MatchString(got) {
						got = timePlaceholder
					}
					assert.Equal(t, e.RespText, n.text(got), "%s: body text", where)
					continue
				}
				var want, got any
				require.NoError(t, json.Unmarshal(e.Resp, &want))
				if !assert.NoError(t, json.Unmarshal(rb, &got), "%s: the fake's body is not JSON: %s", where, rb) {
					continue
				}
				bind(want, got, ids)
				if e.Status >= 400 {
					// Error texts are part of the contract: compare them whole.
					gotN := n.value(got, kindOf(e.Path), true)
					assert.Equal(t, want, gotN, "%s: error body", where)
					continue
				}
				var diffs []string
				shapeDiff("body", want, got, &diffs)
				assert.Empty(t, dedupe(diffs), "%s: body shape", where)
			}
		})
	}
}
