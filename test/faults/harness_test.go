// Package faults runs the hazardsync binary as a child process against a
// GeoSight fake living in the test process, and injects the faults an
// operator will meet: kill -9 mid-sync, a flaky GeoSight, hostile feeds and
// bad config edits. They are slow (minutes), so they only run when
// HAZARDSYNC_FAULTS=1 (make test-faults); plain `go test ./...` skips them.
package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
)

const (
	// apiKey is the key the fake accepts; every test asserts it never shows
	// in anything the daemon printed or served.
	apiKey  = "hs-faults-3f1b9c0e7d2a4b6f8e5c1a9d0b7e2f4c"
	apiUser = "faults@hazardsync.test"
	dataset = "6f3a2c1e-0000-4000-8000-0000000000fa"
)

var (
	binPath  string // the hazardsync binary under test
	repoRoot string
)

func TestMain(m *testing.M) {
	if os.Getenv("HAZARDSYNC_FAULTS") != "1" {
		fmt.Println("test/faults: skipped (set HAZARDSYNC_FAULTS=1 or run `make test-faults`)")
		os.Exit(0)
	}
	wd, _ := os.Getwd()
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	binPath = os.Getenv("HAZARDSYNC_BIN")
	if binPath == "" {
		dir, err := os.MkdirTemp("", "hazardsync-faults-bin")
		if err != nil {
			panic(err)
		}
		binPath = filepath.Join(dir, "hazardsync")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/hazardsync")
		cmd.Dir, cmd.Stdout, cmd.Stderr = repoRoot, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Println("building hazardsync:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	}
	code := m.Run()
	os.Exit(code)
}

// gs is a GeoSight fake serving the demo country's reference dataset.
func newGeoSight(t *testing.T) (*fake.Server, string) {
	t.Helper()
	as, _, err := areas.LoadFiles([]config.GeoFile{{
		Path: filepath.Join(repoRoot, "fixtures/demo/areas.geojson"), Level: -1, CodeProperty: "ucode",
		NameProperty: "name", LevelProperty: "admin_level", ParentProperty: "parent", PCodeProperty: "pcode",
	}})
	require.NoError(t, err)
	s := fake.New(fake.Options{
		Users:    []fake.User{{Key: apiKey, Email: apiUser, Role: fake.Creator}},
		Datasets: []fake.Dataset{{UUID: dataset, Name: "Demoland (faults)", Areas: as}},
	})
	u := s.Start()
	t.Cleanup(s.Close)
	return s, u
}

// site is a working directory with a config, links to the demo fixtures and
// a state dir, laid out like a deployment.
type site struct {
	t     *testing.T
	dir   string
	state string
	cfg   string
	tmpl  cfgParams
}

// cfgParams fill the config template.
type cfgParams struct {
	GeoSightURL string
	Listen      string
	// USGSFile is the summary feed the usgs source reads (under rot/).
	USGSFile string
	// Extra is YAML appended under sources: (indented 2).
	ExtraSources string
	// ExtraIndicators is YAML appended under indicators:.
	ExtraIndicators string
	Interval        string
	Timeout         string
	MaxRetries      int
}

const cfgTemplate = `# written by test/faults
geosight:
  url: {{.GeoSightURL}}
  user: {{.User}}
  dataset: {{.Dataset}}
  concurrency: 4
  timeout: {{.Timeout}}
  max_retries: {{.MaxRetries}}
geographies:
  from: file
  files:
    - path: areas.geojson
      code_property: ucode
      name_property: name
      level_property: admin_level
      parent_property: parent
      pcode_property: pcode
baseline:
  file: baseline.csv
  key_column: ucode
  population_column: population
  under18_column: under18
  schools_column: schools
  health_facilities_column: health_facilities
sources:
  usgs:
    url: file://rot/{{.USGSFile}}
    interval: {{.Interval}}
  gdacs:
    list_url: file://feeds/gdacs/eventlist.json
    geometry_url_template: file://feeds/gdacs/geometry_{type}_{id}_{episode}.geojson
    interval: {{.Interval}}
  cap:
    url: file://feeds/cap/index.atom
    geocode_table: feeds/cap/geocodes.csv
    interval: {{.Interval}}
{{.ExtraSources}}
indicators:
  - shortcode: HS_EQ_ALERT
    name: Earthquake alert level
    type: String
    codes: [none, green, orange, red]
    recipe: alert_level
    params: {hazard_types: [earthquake], phase: observed}
  - shortcode: HS_EQ_MMI_MAX
    name: Earthquake shaking, maximum MMI
    type: Float
    unit: MMI
    recipe: max_intensity
    params: {hazard_types: [earthquake], phase: observed, unit: MMI}
  - shortcode: HS_EQ_CHILD_MMI6
    name: Children exposed to strong shaking (MMI 6+)
    type: Integer
    unit: children
    recipe: children_exposed
    params: {hazard_types: [earthquake], phase: observed, unit: MMI, min_intensity: 6}
  - shortcode: HS_FL_ALERT
    name: Flood alert level (observed)
    type: String
    codes: [none, green, orange, red]
    recipe: alert_level
    params: {hazard_types: [flood], phase: observed}
  - shortcode: HS_POP_ANY
    name: People in any observed hazard footprint
    type: Integer
    unit: people
    recipe: population_exposed
    params: {phase: observed, min_severity: orange}
{{.ExtraIndicators}}
schedule:
  interval: {{.Interval}}
  jitter: 0s
  timezone: UTC
state_dir: state
http:
  listen: "{{.Listen}}"
log:
  level: debug
`

func newSite(t *testing.T, p cfgParams) *site {
	t.Helper()
	dir := t.TempDir()
	for _, l := range []string{"feeds", "areas.geojson", "baseline.csv"} {
		require.NoError(t, os.Symlink(filepath.Join(repoRoot, "fixtures/demo", l), filepath.Join(dir, l)))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rot"), 0o755))
	for _, f := range []string{"summary.geojson", "summary_next.geojson"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "fixtures/demo/feeds/usgs", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rot", f), b, 0o644))
	}
	s := &site{t: t, dir: dir, state: filepath.Join(dir, "state"), cfg: filepath.Join(dir, "hazardsync.yaml")}
	s.write(p)
	return s
}

func (s *site) write(p cfgParams) {
	s.t.Helper()
	s.tmpl = p
	s.writeRaw(renderConfig(s.t, p))
}

// renderConfig fills the template, defaults first.
func renderConfig(t *testing.T, p cfgParams) string {
	t.Helper()
	if p.Interval == "" {
		p.Interval = "1h"
	}
	if p.Timeout == "" {
		p.Timeout = "5s"
	}
	if p.USGSFile == "" {
		p.USGSFile = "summary.geojson"
	}
	if p.MaxRetries == 0 {
		p.MaxRetries = 5
	}
	if p.Listen == "" {
		p.Listen = "127.0.0.1:0"
	}
	var b bytes.Buffer
	data := struct {
		cfgParams
		User, Dataset string
	}{p, apiUser, dataset}
	require.NoError(t, template.Must(template.New("cfg").Parse(cfgTemplate)).Execute(&b, data))
	return b.String()
}

// writeRaw replaces the config atomically (as editors and config
// management do), so the watcher never reads half a file.
func (s *site) writeRaw(text string) {
	s.t.Helper()
	tmp := s.cfg + ".tmp"
	require.NoError(s.t, os.WriteFile(tmp, []byte(text), 0o644))
	require.NoError(s.t, os.Rename(tmp, s.cfg))
}

// output collects everything the daemon ever printed in this test, for the
// secret scan.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// env is the child's environment: the key comes from the environment as in
// production.
func childEnv() []string {
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "HAZARDSYNC_") {
			env = append(env, e)
		}
	}
	return append(env, config.EnvAPIKey+"="+apiKey)
}

// once runs `hazardsync once` to completion and returns its exit code and
// summary line.
func (s *site) once(out *output) (int, string) {
	s.t.Helper()
	var stdout bytes.Buffer
	cmd := exec.Command(binPath, "once", "-c", s.cfg)
	cmd.Dir, cmd.Env = s.dir, childEnv()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, out), out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(s.t, err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return code, lines[len(lines)-1]
}

// summaryField reads one key=value of a `once` summary line.
func summaryField(t *testing.T, line, key string) int {
	t.Helper()
	m := regexp.MustCompile(`\b` + key + `=(\d+)`).FindStringSubmatch(line)
	require.NotNil(t, m, "summary line %q has no %s", line, key)
	n, _ := strconv.Atoi(m[1])
	return n
}

// daemon is a running `hazardsync run`.
type daemon struct {
	cmd    *exec.Cmd
	addr   string // status server base URL ("" until the banner was read)
	exited chan struct{}
	err    error
}

var bannerAddr = regexp.MustCompile(`Status page and map:\s+(http://\S+)/`)

// start launches `hazardsync run`. When waitBanner is set it waits for the
// status server's address.
func (s *site) start(out *output, waitBanner bool) *daemon {
	s.t.Helper()
	cmd := exec.Command(binPath, "run", "-c", s.cfg)
	cmd.Dir, cmd.Env, cmd.Stderr = s.dir, childEnv(), out
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	require.NoError(s.t, cmd.Start())
	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = out.Write([]byte(line + "\n"))
			if m := bannerAddr.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	go func() {
		d.err = cmd.Wait()
		pw.Close()
		close(d.exited)
	}()
	if waitBanner {
		select {
		case d.addr = <-addr:
		case <-d.exited:
			s.t.Fatalf("daemon exited before serving: %v\n%s", d.err, tail(out.String(), 3000))
		case <-time.After(30 * time.Second):
			s.t.Fatalf("daemon did not print its banner in 30s\n%s", tail(out.String(), 3000))
		}
	}
	s.t.Cleanup(func() { d.kill() })
	return d
}

func (d *daemon) alive() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

func (d *daemon) kill() {
	if d.alive() {
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// stop sends SIGTERM and waits up to grace for a clean exit.
func (d *daemon) stop(t *testing.T, grace time.Duration) {
	t.Helper()
	require.NoError(t, d.cmd.Process.Signal(syscallTERM))
	select {
	case <-d.exited:
		require.NoError(t, d.err, "daemon exit status after SIGTERM")
	case <-time.After(grace):
		d.kill()
		t.Fatalf("daemon did not exit within %s of SIGTERM", grace)
	}
}

// status reads /api/status.
func (d *daemon) status(t *testing.T) statusSnapshot {
	t.Helper()
	var st statusSnapshot
	require.NoError(t, json.Unmarshal(d.get(t, "/api/status"), &st))
	return st
}

// statusSnapshot is the part of /api/status the fault tests read.
type statusSnapshot struct {
	LastRun struct {
		Started time.Time `json:"started"`
		Sent    int       `json:"sent"`
		Values  int       `json:"values"`
	} `json:"last_run"`
	Sources []struct {
		Name       string `json:"name"`
		Healthy    bool   `json:"healthy"`
		LastError  string `json:"last_error"`
		ErrorClass string `json:"error_class"`
		Events     int    `json:"events"`
		LastTry    string `json:"last_attempt"`
	} `json:"sources"`
	Delivery struct {
		Pending   int    `json:"pending"`
		LastError string `json:"last_error"`
	} `json:"delivery"`
	Reload struct {
		LastAttempt time.Time `json:"last_attempt"`
		OK          bool      `json:"ok"`
		Errors      []string  `json:"errors"`
	} `json:"reload"`
	Indicators []struct {
		Shortcode string `json:"shortcode"`
	} `json:"indicators"`
}

// scanServed fetches every page the daemon serves and asserts none carries
// the API key.
func (d *daemon) scanServed(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/", "/api/status", "/metrics", "/api/areas.geojson", "/healthz", "/readyz", "/pull/"} {
		noSecret(t, "GET "+p, d.get(t, p))
	}
}

// get fetches a path from the daemon's status server.
func (d *daemon) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := http.Get(d.addr + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// rssPeak is the process's peak resident set (VmHWM) in KiB.
func rssPeak(t *testing.T, pid int) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM needs /proc")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	require.NotNil(t, m)
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if cond() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// noSecret asserts the API key appears nowhere in what the daemon printed
// or served.
func noSecret(t *testing.T, where string, text []byte) {
	t.Helper()
	if bytes.Contains(text, []byte(apiKey)) {
		i := bytes.Index(text, []byte(apiKey))
		lo := max(0, i-200)
		t.Fatalf("the API key leaked into %s: …%s…", where, text[lo:min(len(text), i+len(apiKey)+50)])
	}
}

// valueKey is GeoSight's upsert key of a stored value.
func valueKey(v fake.StoredValue) string { return v.Shortcode + "|" + v.Date + "|" + v.GeomID }

func valueText(v fake.StoredValue) string {
	switch {
	case v.Text != nil:
		return "s:" + *v.Text
	case v.Number != nil:
		return "n:" + strconv.FormatFloat(*v.Number, 'g', 10, 64)
	}
	return "null"
}

func isZero(v fake.StoredValue) bool {
	return (v.Number != nil && *v.Number == 0) || (v.Text != nil && (*v.Text == "none" || *v.Text == ""))
}

// diffDelivered compares got (a GeoSight that lived through faults) with
// want (a fresh GeoSight fed by one clean run of the same config): every
// wanted value must be there with the same value, and anything else got
// holds must be an explicit reset (0 / "none") of a value that no longer
// applies. only, when set, limits both sides to some indicators.
func diffDelivered(got, want *fake.Server, only func(shortcode string) bool) (missing, wrong []string, n int) {
	g := map[string]fake.StoredValue{}
	for _, v := range got.Values() {
		g[valueKey(v)] = v
	}
	seen := map[string]bool{}
	for _, w := range want.Values() {
		if only != nil && !only(w.Shortcode) {
			continue
		}
		k := valueKey(w)
		seen[k] = true
		n++
		gv, ok := g[k]
		switch {
		case !ok:
			missing = append(missing, k+"="+valueText(w))
		case valueText(gv) != valueText(w):
			wrong = append(wrong, fmt.Sprintf("%s: got %s want %s", k, valueText(gv), valueText(w)))
		}
	}
	for k, v := range g {
		if only != nil && !only(v.Shortcode) {
			continue
		}
		if !seen[k] && !isZero(v) {
			wrong = append(wrong, fmt.Sprintf("%s: got %s, which a clean run does not produce", k, valueText(v)))
		}
	}
	return missing, wrong, n
}

// compareDelivered asserts diffDelivered finds nothing and returns how many
// values were checked.
func compareDelivered(t *testing.T, got, want *fake.Server, only func(shortcode string) bool) int {
	t.Helper()
	missing, wrong, n := diffDelivered(got, want, only)
	require.Empty(t, missing, "values a clean run delivers but the faulted GeoSight lacks")
	require.Empty(t, wrong, "values that differ from a clean run")
	require.NotZero(t, n, "the clean run delivered nothing: the comparison would prove nothing")
	return n
}

// reference runs one clean `once` of the site's config into a fresh fake
// and returns that fake: the values every faulted run must end up with.
func reference(t *testing.T, p cfgParams) *fake.Server {
	t.Helper()
	ref, u := newGeoSight(t)
	p.GeoSightURL = u
	s := newSite(t, p)
	var out output
	code, line := s.once(&out)
	require.Equal(t, 0, code, "clean reference run failed: %s\n%s", line, tail(out.String(), 3000))
	noSecret(t, "reference run output", []byte(out.String()))
	return ref
}
