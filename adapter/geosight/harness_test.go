package geosight_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

const (
	testKey     = "4f1c0ffee0ddba11deadbeef0123456789abcdef0123456789abcdef01234567"
	testUser    = "sync-bot@example.org"
	testDataset = "6f3a2c1e-0000-4000-8000-000000000001"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// target is the GeoSight the contract tests run against: the fake, or a real
// instance when GEOSIGHT_URL, GEOSIGHT_API_KEY, GEOSIGHT_USER and
// GEOSIGHT_DATASET are set.
type target struct {
	cfg    config.GeoSight
	fake   *fake.Server // nil against a real GeoSight
	client *geosight.Client
	logs   *syncBuffer
	prefix string    // unique per test: shortcodes and names start with it
	rec    *recorder // make contract-record: every exchange, for the transcript
	sent   *counter  // every request the test's clients made
	http   *http.Client
}

// counter counts requests by method and path, against the fake or a real
// server alike.
type counter struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string // "METHOD /path"
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen = append(c.seen, req.Method+" "+req.URL.Path)
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// count is how many requests with method went to paths starting with prefix.
func (c *counter) count(method, prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		m, p, _ := strings.Cut(s, " ")
		if m == method && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

func (tg *target) real() bool { return tg.fake == nil }

// demoAreas is Demoland: admin0 and its four admin1 quadrants.
func demoAreas() []indicators.Area {
	box := func(x0, y0, x1, y1 float64) orb.Polygon {
		return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
	}
	return []indicators.Area{
		{Code: "DML_V1", Name: "Demoland", Level: 0, Geometry: box(60, 10, 64, 14)},
		{Code: "DML_0001_V1", Name: "North West", Level: 1, Parents: []string{"DML_V1"}, Geometry: box(60, 12, 62, 14)},
		{Code: "DML_0002_V1", Name: "North East", Level: 1, Parents: []string{"DML_V1"}, Geometry: box(62, 12, 64, 14)},
		{Code: "DML_0003_V1", Name: "South West", Level: 1, Parents: []string{"DML_V1"}, Geometry: box(60, 10, 62, 12)},
		{Code: "DML_0004_V1", Name: "South East", Level: 1, Parents: []string{"DML_V1"}, Geometry: box(62, 10, 64, 12)},
	}
}

func newFake() *fake.Server {
	return fake.New(fake.Options{
		Users: []fake.User{
			{Key: testKey, Email: testUser, Role: fake.Creator},
			{Key: "viewer-key", Email: "viewer@example.org", Role: fake.Viewer},
			{Key: "contrib-key", Email: "contrib@example.org", Role: fake.Contributor},
			{Key: "other-creator-key", Email: "other@example.org", Role: fake.Creator},
			{Key: "admin-key", Email: "admin@example.org", Role: fake.SuperAdmin},
		},
		Datasets: []fake.Dataset{{UUID: testDataset, Name: "Demoland", Areas: demoAreas()}},
	})
}

func baseConfig(url string) config.GeoSight {
	d := config.Defaults().GeoSight
	d.URL, d.User, d.Dataset, d.APIKey = url, testUser, testDataset, config.Secret(testKey)
	d.Timeout = 5 * time.Second
	return d
}

func newTarget(t testing.TB) *target {
	t.Helper()
	tg := &target{logs: &syncBuffer{}}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	tg.prefix = "HSCT_" + strings.ToUpper(hex.EncodeToString(rnd[:])) + "_"
	if u := os.Getenv("GEOSIGHT_URL"); u != "" {
		tg.cfg = config.Defaults().GeoSight
		tg.cfg.URL, tg.cfg.User, tg.cfg.Dataset = u, os.Getenv("GEOSIGHT_USER"), os.Getenv("GEOSIGHT_DATASET")
		tg.cfg.APIKey = config.Secret(os.Getenv("GEOSIGHT_API_KEY"))
		if tg.cfg.User == "" || tg.cfg.Dataset == "" || tg.cfg.APIKey == "" {
			t.Fatal("GEOSIGHT_URL is set: GEOSIGHT_API_KEY, GEOSIGHT_USER and GEOSIGHT_DATASET are needed too")
		}
	} else {
		tg.fake = newFake()
		url := tg.fake.Start()
		t.Cleanup(tg.fake.Close)
		tg.cfg = baseConfig(url)
	}
	var next http.RoundTripper = http.DefaultTransport
	if dir := os.Getenv(recordEnv); dir != "" && !tg.real() {
		t.Fatal(recordEnv + " records a real GeoSight: set GEOSIGHT_URL too")
	} else if dir != "" {
		tg.attachRecorder(t, dir)
		next = tg.rec
		// One request at a time: ids are then numbered as on replay.
		tg.cfg.Concurrency = 1
	}
	tg.sent = &counter{next: next}
	tg.http = &http.Client{Transport: tg.sent, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tg.client = tg.newClient(t, tg.cfg)
	return tg
}

func (tg *target) newClient(t testing.TB, cfg config.GeoSight) *geosight.Client {
	t.Helper()
	log := slog.New(slog.NewTextHandler(tg.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := geosight.NewClient(cfg, log)
	require.NoError(t, err)
	c.SetBackoff(5*time.Millisecond, 50*time.Millisecond)
	if tg.sent != nil {
		tg.sent.next = c.Transport()
		if tg.rec != nil {
			tg.rec.next = c.Transport()
			tg.sent.next = tg.rec
		}
		c.SetTransport(tg.sent)
	}
	return c
}

// raw sends one request outside the client (for headers the client never
// sends) through the counting and recording transport.
func (tg *target) raw(t testing.TB, method, path string, header map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, strings.TrimRight(tg.cfg.URL, "/")+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+tg.cfg.APIKey.Reveal())
	req.Header.Set("GeoSight-User-Key", tg.cfg.User)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := tg.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// codes returns two ucodes of the dataset at one level.
func (tg *target) codes(t testing.TB) (level int, codes []string) {
	t.Helper()
	for _, lvl := range []int{1, 2, 0} {
		ents, err := tg.client.Entities(context.Background(), lvl)
		require.NoError(t, err)
		for _, e := range ents {
			codes = append(codes, e.Ucode)
		}
		if len(codes) >= 2 {
			return lvl, codes[:2]
		}
		codes = nil
	}
	t.Fatal("the dataset has no level with two entities")
	return 0, nil
}

// def is a unique test indicator, deleted (with its values) at cleanup.
func (tg *target) def(t testing.TB, name string, typ indicators.ValueType) indicators.Definition {
	t.Helper()
	d := indicators.Definition{Shortcode: tg.prefix + name, Name: "hazardsync contract " + tg.prefix + name,
		Category: "hazardsync contract tests", Type: typ, Unit: "people", Recipe: "presence"}
	t.Cleanup(func() {
		if id, ok := tg.client.IndicatorID(d.Shortcode); ok {
			_ = tg.client.DeleteIndicator(context.Background(), id)
		}
	})
	return d
}

// collect gathers outcomes by key.
type collect struct {
	mu  sync.Mutex
	out map[indicators.Key][]adapter.Outcome
}

func newCollect() *collect { return &collect{out: map[indicators.Key][]adapter.Outcome{}} }

func (c *collect) ack(o adapter.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out[o.Value.Key()] = append(c.out[o.Value.Key()], o)
}

func (c *collect) all() []adapter.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []adapter.Outcome
	for _, os := range c.out {
		out = append(out, os...)
	}
	return out
}
