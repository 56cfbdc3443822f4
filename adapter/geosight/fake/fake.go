// Package fake is an in-process GeoSight-OS server that behaves as the
// "minimal faithful mock" of ../shared/geosight-api.md §7: the same paths,
// status codes, error bodies (plain-text 400s, JSON 403s that are never 401s,
// 301 on a missing trailing slash), pagination, upsert semantics and role
// checks. Tests use it as the other side of the client's contract, the demo
// uses it as the embedded GeoSight, and benchmarks inject faults into it.
package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

// Role is a GeoSight user role (dp/core/models/profile.py ROLES).
type Role int

const (
	Viewer      Role = 1
	Contributor Role = 2
	Creator     Role = 3
	SuperAdmin  Role = 4
)

// User is an API-key holder.
type User struct {
	Key   string
	Email string
	Role  Role
}

// Dataset is a local reference dataset with its entities.
type Dataset struct {
	UUID  string
	Name  string
	Areas []indicators.Area
}

// Options configure a fake.
type Options struct {
	Users    []User
	Datasets []Dataset
	// PersistPath, when set, is a JSON snapshot loaded at start, so the
	// demo's GeoSight survives a daemon restart. Value writes are appended to
	// PersistPath+".journal" (one line each) and folded into the snapshot
	// every CompactEvery lines; other changes rewrite the snapshot.
	PersistPath string
	// CompactEvery is how many journal lines trigger a new snapshot (0 =
	// max(50,000, values stored)); 1 rewrites the whole state on every
	// value, as the fake did before the journal.
	CompactEvery int
	Logger       *slog.Logger
}

// Faults are injected before (and for resets, sometimes after) handling a
// request under /api/.
type Faults struct {
	// ErrorRate is the share of requests answered 502 without processing.
	ErrorRate float64
	// Latency is added to every request.
	Latency time.Duration
	// ResetRate is the share of connections reset; half of them after the
	// request was processed (the client cannot know it succeeded).
	ResetRate float64
	// StallRate is the share of requests that stall for Stall before being
	// processed (the request is processed even if the client gave up).
	StallRate float64
	Stall     time.Duration
	// Model, when set, answers at a real server's speed (RealGeoSight).
	Model *ServerModel
}

// Indicator as stored.
type Indicator struct {
	ID          int            `json:"id"`
	Name        string         `json:"name"`
	Category    string         `json:"category"`
	Shortcode   string         `json:"shortcode"`
	Type        string         `json:"type"`
	StyleType   string         `json:"style_type"`
	Description *string        `json:"description"`
	Source      *string        `json:"source"`
	Unit        *string        `json:"unit"`
	MinValue    *float64       `json:"min_value"`
	MaxValue    *float64       `json:"max_value"`
	AggUpper    string         `json:"aggregation_upper_level"`
	AggMultiple string         `json:"aggregation_multiple_values"`
	StyleConfig map[string]any `json:"style_config"`
	Owner       string         `json:"owner"`
	CreatedAt   time.Time      `json:"created_at"`
	ModifiedAt  time.Time      `json:"modified_at"`
}

// Value is one stored indicator value.
type Value struct {
	ID          int            `json:"id"`
	IndicatorID int            `json:"indicator_id"`
	Date        string         `json:"date"`
	GeomID      string         `json:"geom_id"`
	AdminLevel  int            `json:"admin_level"`
	Number      *float64       `json:"value"`
	Text        *string        `json:"value_str"`
	Attributes  map[string]any `json:"attributes"`
	DatasetUUID string         `json:"dataset_uuid"`
	// Writes counts POSTs that hit this row (1 = written once).
	Writes int `json:"writes"`
}

// ContextLayer as stored, with its Cloud Native GIS features.
type ContextLayer struct {
	ID          int              `json:"id"`
	Name        string           `json:"name"`
	Category    string           `json:"category"`
	LayerType   string           `json:"layer_type"`
	Description string           `json:"description"`
	Styles      any              `json:"styles"`
	Owner       string           `json:"owner"`
	Columns     []string         `json:"columns"`
	Features    []map[string]any `json:"features"`
	// Uploads counts replace and append requests that succeeded.
	Uploads   int       `json:"uploads"`
	CreatedAt time.Time `json:"created_at"`
	nextRowID int
}

// RelatedTable as stored.
type RelatedTable struct {
	ID               int              `json:"id"`
	Name             string           `json:"name"`
	Description      string           `json:"description"`
	FieldsDefinition []map[string]any `json:"fields_definition"`
	Owner            string           `json:"owner"`
	CreatedAt        time.Time        `json:"created_at"`
	Rows             []TableRow       `json:"rows"`
}

// TableRow is one related-table row.
type TableRow struct {
	ID         int            `json:"id"`
	Properties map[string]any `json:"properties"`
}

// Style is a library style.
type Style struct {
	ID        int            `json:"id"`
	Name      string         `json:"name"`
	Group     string         `json:"group"`
	ValueType string         `json:"value_type"`
	StyleType string         `json:"style_type"`
	Config    map[string]any `json:"style_config"`
	Owner     string         `json:"owner"`
	CreatedAt time.Time      `json:"created_at"`
}

type state struct {
	NextID     int                   `json:"next_id"`
	Indicators map[int]*Indicator    `json:"indicators"`
	Values     map[string]*Value     `json:"values"`
	Layers     map[int]*ContextLayer `json:"context_layers"`
	Tables     map[int]*RelatedTable `json:"related_tables"`
	Styles     map[int]*Style        `json:"styles"`
}

// Server is the fake; it is an http.Handler.
type Server struct {
	opts     Options
	log      *slog.Logger
	users    map[string]User
	datasets map[string]*datasetIndex

	mu      sync.Mutex
	st      state
	counts  map[string]int
	maxBody map[string]int
	faults  Faults
	rng     *rand.Rand

	httpSrv *httptest.Server
	// proj is the project editor's state (project.go).
	proj *projectStore

	journal      *os.File // value upserts since the last snapshot
	journalLines int

	model *modelState
}

type datasetIndex struct {
	Dataset
	byCode map[string]indicators.Area
	// entityID numbers the entities as the server's table would.
	entityID map[string]int
}

// New builds a fake. A PersistPath that cannot be read starts empty (and
// says so in the log).
func New(o Options) *Server {
	s := &Server{opts: o, log: o.Logger, users: map[string]User{}, datasets: map[string]*datasetIndex{},
		counts: map[string]int{}, maxBody: map[string]int{}, rng: rand.New(rand.NewPCG(1, 2))}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, u := range o.Users {
		s.users[u.Key] = u
	}
	for _, d := range o.Datasets {
		di := &datasetIndex{Dataset: d, byCode: map[string]indicators.Area{}, entityID: map[string]int{}}
		for i, a := range d.Areas {
			di.byCode[a.Code] = a
			di.entityID[a.Code] = i + 1
		}
		s.datasets[d.UUID] = di
	}
	s.st = state{NextID: 1, Indicators: map[int]*Indicator{}, Values: map[string]*Value{},
		Layers: map[int]*ContextLayer{}, Tables: map[int]*RelatedTable{}, Styles: map[int]*Style{}}
	if o.PersistPath != "" {
		if b, err := os.ReadFile(o.PersistPath); err == nil {
			var st state
			if err := json.Unmarshal(b, &st); err != nil {
				s.log.Warn("fake geosight: ignoring unreadable state file", "path", o.PersistPath, "err", err)
			} else {
				s.adopt(st)
			}
		}
		s.replayJournal()
	}
	return s
}

// journalEntry is one value upsert as appended to the journal.
type journalEntry struct {
	Value  *Value `json:"v"`
	NextID int    `json:"n"`
}

func (s *Server) journalPath() string { return s.opts.PersistPath + ".journal" }

// replayJournal applies the value upserts written since the snapshot. A
// torn last line (a crash mid-write) is dropped: its value was never
// acknowledged.
func (s *Server) replayJournal() {
	b, err := os.ReadFile(s.journalPath())
	if err != nil {
		return
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
			break // no newline: torn
		}
		var e journalEntry
		if json.Unmarshal(line, &e) != nil || e.Value == nil {
			continue
		}
		v := e.Value
		s.st.Values[valueKey(v.IndicatorID, v.Date, v.GeomID)] = v
		if e.NextID > s.st.NextID {
			s.st.NextID = e.NextID
		}
		s.journalLines++
	}
}

// persistValue records one value upsert; called with s.mu held, before the
// POST is answered.
func (s *Server) persistValue(v *Value) {
	if s.opts.PersistPath == "" {
		return
	}
	limit := s.opts.CompactEvery
	if limit <= 0 {
		limit = max(50_000, len(s.st.Values))
	}
	if s.journalLines+1 >= limit {
		s.persist() // a new snapshot holds this value too
		return
	}
	if s.journal == nil {
		f, err := os.OpenFile(s.journalPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			s.log.Error("fake geosight: cannot open journal; saving a snapshot", "path", s.journalPath(), "err", err)
			s.persist()
			return
		}
		s.journal = f
	}
	b, err := json.Marshal(journalEntry{Value: v, NextID: s.st.NextID})
	if err == nil {
		_, err = s.journal.Write(append(b, '\n'))
	}
	if err != nil {
		s.log.Error("fake geosight: cannot append to journal; saving a snapshot", "err", err)
		s.persist()
		return
	}
	s.journalLines++
}

func (s *Server) adopt(st state) {
	if st.NextID > 0 {
		s.st.NextID = st.NextID
	}
	for k, v := range st.Indicators {
		s.st.Indicators[k] = v
	}
	for k, v := range st.Values {
		s.st.Values[k] = v
	}
	for k, v := range st.Layers {
		for _, f := range v.Features {
			if id, ok := f["id"].(float64); ok && int(id) >= v.nextRowID {
				v.nextRowID = int(id) + 1
			}
		}
		s.st.Layers[k] = v
	}
	for k, v := range st.Tables {
		s.st.Tables[k] = v
	}
	for k, v := range st.Styles {
		s.st.Styles[k] = v
	}
}

// persist writes the state; called with s.mu held after a change.
func (s *Server) persist() {
	if s.opts.PersistPath == "" {
		return
	}
	b, err := json.Marshal(s.st)
	if err != nil {
		s.log.Error("fake geosight: cannot encode state", "err", err)
		return
	}
	tmp := s.opts.PersistPath + ".tmp"
	if err := os.MkdirAll(filepath.Dir(s.opts.PersistPath), 0o755); err == nil {
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, s.opts.PersistPath)
		}
		if err != nil {
			s.log.Error("fake geosight: cannot save state", "path", s.opts.PersistPath, "err", err)
			return
		}
	}
	// The snapshot holds everything: start an empty journal. (A crash just
	// before this replays values the snapshot already has: harmless.)
	if s.journal != nil {
		_ = s.journal.Close()
		s.journal = nil
	}
	if err := os.Remove(s.journalPath()); err != nil && !os.IsNotExist(err) {
		s.log.Error("fake geosight: cannot reset journal", "path", s.journalPath(), "err", err)
	}
	s.journalLines = 0
}

func (s *Server) newID() int {
	id := s.st.NextID
	s.st.NextID++
	return id
}

// Start serves on a real listener on 127.0.0.1 and returns the base URL.
func (s *Server) Start() string {
	s.httpSrv = httptest.NewServer(s)
	return s.httpSrv.URL
}

// Close stops the listener started by Start and closes the journal.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.CloseClientConnections()
		s.httpSrv.Close()
	}
	s.mu.Lock()
	if s.journal != nil {
		_ = s.journal.Close()
		s.journal = nil
	}
	s.mu.Unlock()
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// RequestCount counts requests seen with method ("" = any) whose path starts
// with pathPrefix.
func (s *Server) RequestCount(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.counts {
		m, p, _ := strings.Cut(k, " ")
		if (method == "" || m == method) && strings.HasPrefix(p, pathPrefix) {
			n += c
		}
	}
	return n
}

// LargestBody is the largest request body seen on paths starting with prefix.
func (s *Server) LargestBody(pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.maxBody {
		if strings.HasPrefix(p, pathPrefix) && c > n {
			n = c
		}
	}
	return n
}

// StoredValue is a value as tests see it.
type StoredValue struct {
	Value
	Shortcode string
}

// Values returns every stored value, sorted by id.
func (s *Server) Values() []StoredValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StoredValue, 0, len(s.st.Values))
	for _, v := range s.st.Values {
		sc := ""
		if ind := s.st.Indicators[v.IndicatorID]; ind != nil {
			sc = ind.Shortcode
		}
		cp := *v
		cp.Attributes = maps.Clone(v.Attributes)
		out = append(out, StoredValue{Value: cp, Shortcode: sc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Indicators returns every indicator, sorted by id.
func (s *Server) Indicators() []Indicator {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Indicator, 0, len(s.st.Indicators))
	for _, v := range sortedByID(s.st.Indicators) {
		out = append(out, *v)
	}
	return out
}

// ContextLayers returns every context layer with its features, by id.
func (s *Server) ContextLayers() []ContextLayer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ContextLayer, 0, len(s.st.Layers))
	for _, v := range sortedByID(s.st.Layers) {
		cp := *v
		cp.Features = append([]map[string]any(nil), v.Features...)
		cp.Columns = append([]string(nil), v.Columns...)
		out = append(out, cp)
	}
	return out
}

// RelatedTables returns every related table with its rows, by id.
func (s *Server) RelatedTables() []RelatedTable {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RelatedTable, 0, len(s.st.Tables))
	for _, v := range sortedByID(s.st.Tables) {
		cp := *v
		cp.Rows = append([]TableRow(nil), v.Rows...)
		out = append(out, cp)
	}
	return out
}

// maxRequestBody mirrors nginx client_max_body_size 15M.
const maxRequestBody = 15 << 20

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.Method+" "+r.URL.Path]++
	f := s.faults
	roll := func() float64 { return s.rng.Float64() }
	errRoll, resetRoll, stallRoll, afterRoll := roll(), roll(), roll(), roll()
	s.mu.Unlock()

	if r.URL.Path == "/" && r.Method == http.MethodGet {
		s.serveIndex(w, r)
		return
	}
	if s.serveEditor(w, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if f.Model != nil {
			// Read the body first: the model needs it, and handlers read
			// it again from the copy.
			body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			release, ok := s.modelWait(f.Model, r, body)
			if !ok {
				badGateway(w)
				return
			}
			defer release()
		}
		if f.StallRate > 0 && stallRoll < f.StallRate {
			// A stalled server keeps working after the client gave up.
			time.Sleep(f.Stall)
		}
		if f.ResetRate > 0 && resetRoll < f.ResetRate {
			if afterRoll < 0.5 {
				rec := httptest.NewRecorder()
				s.serveAPI(rec, r)
			}
			resetConn(w)
			return
		}
		if f.ErrorRate > 0 && errRoll < f.ErrorRate {
			badGateway(w)
			return
		}
	}
	s.serveAPI(w, r)
}

// badGateway is nginx's 502 page.
func badGateway(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"))
}

// resetConn closes the connection with RST so the client sees a reset.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/api/v1/") {
		writeJSON(w, http.StatusNotFound, detail("Not found."))
		return
	}
	// Django APPEND_SLASH: any method, 301 to the slashed path.
	if !strings.HasSuffix(p, "/") {
		loc := p + "/"
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	var body []byte
	if r.Body != nil {
		b, err := readAllLimited(r, maxRequestBody)
		if err != nil {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write([]byte("<html><head><title>413 Request Entity Too Large</title></head></html>\n"))
			return
		}
		body = b
		s.mu.Lock()
		if len(b) > s.maxBody[p] {
			s.maxBody[p] = len(b)
		}
		s.mu.Unlock()
	}
	u, authErr := s.authenticate(r)
	if authErr != "" {
		writeJSON(w, http.StatusForbidden, detail(authErr))
		return
	}
	req := &request{w: w, r: r, user: u, body: body, parts: strings.Split(strings.Trim(strings.TrimPrefix(p, "/api/v1/"), "/"), "/")}
	s.route(req)
}

func readAllLimited(r *http.Request, limit int64) ([]byte, error) {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := r.Body.Read(buf)
		n += int64(k)
		if n > limit {
			return nil, fmt.Errorf("too large")
		}
		b.Write(buf[:k])
		if err != nil {
			return []byte(b.String()), nil
		}
	}
}

// authenticate follows dp/core/auth.py BearerAuthentication: no header is
// anonymous; every failure is a 403 detail (never 401).
func (s *Server) authenticate(r *http.Request) (*User, string) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return nil, ""
	}
	words := strings.Fields(h)
	kw := strings.ToLower(words[0])
	if kw != "token" && kw != "bearer" {
		return nil, ""
	}
	switch {
	case len(words) == 1:
		return nil, "Invalid token header. No credentials provided."
	case len(words) > 2:
		return nil, "Invalid token header. Token string should not contain spaces."
	}
	u, ok := s.users[words[1]]
	if !ok {
		return nil, "Invalid token."
	}
	if r.Header.Get("GeoSight-User-Key") != u.Email {
		return nil, "Invalid email!."
	}
	return &u, ""
}

type request struct {
	w     http.ResponseWriter
	r     *http.Request
	user  *User
	body  []byte
	parts []string
}

func (q *request) isAdmin() bool { return q.user != nil && q.user.Role >= SuperAdmin }

// needRole answers 403 when the user is anonymous or below role.
func (q *request) needRole(role Role) bool {
	if q.user == nil {
		writeJSON(q.w, http.StatusForbidden, detail("Authentication credentials were not provided."))
		return false
	}
	if q.user.Role < role {
		writeJSON(q.w, http.StatusForbidden, detail("You do not have permission to perform this action."))
		return false
	}
	return true
}

// owns checks object-level write: owner or admin.
func (q *request) owns(owner string) bool {
	if q.isAdmin() || (q.user != nil && q.user.Email == owner) {
		return true
	}
	writeJSON(q.w, http.StatusForbidden, detail("You don't have permission to access this resource"))
	return false
}

func detail(msg string) map[string]any { return map[string]any{"detail": msg} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// badText is Django's HttpResponseBadRequest: plain text, text/html.
func badText(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(msg))
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

func notFound(w http.ResponseWriter) { writeJSON(w, http.StatusNotFound, detail("Not found.")) }

// serverErrorPage is Django's production (DEBUG=False) 500 page.
func serverErrorPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"))
}

func methodNotAllowed(w http.ResponseWriter, m string) {
	writeJSON(w, http.StatusMethodNotAllowed, detail(fmt.Sprintf("Method \"%s\" not allowed.", m)))
}

func (s *Server) route(q *request) {
	switch q.parts[0] {
	case "indicators":
		s.routeIndicators(q)
	case "data-browser":
		s.routeDataBrowser(q)
	case "context-layers":
		s.routeContextLayers(q)
	case "related-tables":
		s.routeRelatedTables(q)
	case "styles":
		s.routeStyles(q)
	case "reference-datasets":
		s.routeDatasets(q)
	default:
		notFound(q.w)
	}
}
