package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hazardsync/hazardsync/adapter"
)

// Options configure a Server.
type Options struct {
	// Token, when set, is required as `Authorization: Bearer <token>` on
	// every path except /healthz. Browsers may send it as the password of
	// HTTP Basic auth (any user name), so the page opens from a browser
	// prompt. Compared in constant time.
	Token string
	// Extra mounts other handlers (e.g. "/pull/" for the GeoSight pull feed,
	// "/geosight/" for the embedded fake). They do their own authentication
	// (GeoSight clients send their own Authorization header), so the status
	// token is not applied to them, and their bodies are not rewritten.
	Extra map[string]http.Handler
	// Raw mounts handlers behind the status token whose bodies are passed
	// through untouched (binary downloads: the state backup).
	Raw map[string]http.Handler
	// Redact lists secrets (API keys, tokens) that must never leave in a
	// response: every body the status routes write has them replaced. The
	// daemon redacts already; this is the second line of defence. Strings
	// shorter than 4 characters are ignored (they would mangle the output).
	Redact []string
	Logger *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Server serves the status routes. It implements http.Handler.
type Server struct {
	p       Provider
	opts    Options
	root    *http.ServeMux
	metrics http.Handler
	tokenH  [32]byte
	redact  *strings.Replacer
}

// NewServer builds the status server over p, serving reg on /metrics.
func NewServer(p Provider, reg prometheus.Gatherer, opts Options) *Server {
	s := &Server{p: p, opts: opts}
	if opts.Token != "" {
		s.tokenH = sha256.Sum256([]byte(opts.Token))
	}
	s.redact = redactor(opts.Redact)
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	// Uncompressed so redaction sees the text.
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true})

	own := http.NewServeMux()
	own.HandleFunc("GET /readyz", s.readyz)
	own.HandleFunc("GET /metrics", s.metrics.ServeHTTP)
	own.HandleFunc("GET /api/status", s.apiStatus)
	own.HandleFunc("GET /api/areas.geojson", s.apiAreas)
	own.HandleFunc("GET /api/footprints.geojson", s.apiFootprints)
	static, _ := fs.Sub(webFS, "web/static")
	own.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	own.HandleFunc("GET /{$}", s.page)

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	for pattern, h := range opts.Extra {
		root.Handle(pattern, h)
	}
	for pattern, h := range opts.Raw {
		root.Handle(pattern, s.authOnly(h))
	}
	root.Handle("/", s.protect(own))
	s.root = root
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.root.ServeHTTP(w, r) }

func (s *Server) log() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.Default()
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// protect applies the token check and response redaction to the status
// routes.
func (s *Server) protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !s.authorized(r) {
			w.Header().Add("WWW-Authenticate", `Basic realm="hazardsync status", charset="UTF-8"`)
			w.Header().Add("WWW-Authenticate", `Bearer realm="hazardsync status"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		if s.redact == nil {
			h.ServeHTTP(w, r)
			return
		}
		bw := &bufferedWriter{w: w, code: http.StatusOK}
		h.ServeHTTP(bw, r)
		body := []byte(s.redact.Replace(bw.buf.String()))
		w.Header().Del("Content-Length")
		w.WriteHeader(bw.code)
		_, _ = w.Write(body)
	})
}

// authOnly applies the token check alone.
func (s *Server) authOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			http.Error(w, "unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized compares digests, so the comparison takes the same time
// whatever the length or content of what was sent.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	var got string
	h := r.Header.Get("Authorization")
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		got = strings.TrimSpace(rest)
	} else if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	} else {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], s.tokenH[:]) == 1
}

// redactor replaces each secret in its raw, JSON-escaped and HTML-escaped
// spellings, since a secret can reach a body through any of them.
func redactor(secrets []string) *strings.Replacer {
	var pairs []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		add(sec)
		j, _ := json.Marshal(sec)
		add(string(j[1 : len(j)-1]))
		add(html.EscapeString(sec))
		add(strings.ReplaceAll(html.EscapeString(sec), "&#34;", "&quot;"))
	}
	if len(pairs) == 0 {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

type bufferedWriter struct {
	w    http.ResponseWriter
	code int
	buf  bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.w.Header() }
func (b *bufferedWriter) WriteHeader(code int)        { b.code = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

// Snapshot gathers the provider's state once.
func (s *Server) Snapshot() Snapshot {
	return buildSnapshot(s.p, s.now())
}

func buildSnapshot(p Provider, now time.Time) Snapshot {
	values := p.CurrentValues()
	snap := Snapshot{
		Generated:     now.UTC(),
		Info:          p.Info(),
		LastRun:       p.LastRun(),
		Sources:       p.SourceHealth(),
		Delivery:      p.Delivery(),
		Warnings:      append([]adapter.Warning(nil), p.Warnings()...), // a copy: levels are filled in below
		Reload:        p.Reload(),
		Indicators:    indicatorInfos(p.Indicators(), values),
		AreasPerLevel: map[int]int{},
		Values:        len(values),
	}
	levels := map[string]int{}
	for _, a := range p.Areas() {
		snap.AreasPerLevel[a.Level]++
		levels[a.Code] = a.Level
	}
	for i := range snap.Warnings {
		snap.Warnings[i].AdminLevel = levels[snap.Warnings[i].Code]
	}
	if snap.Sources == nil {
		snap.Sources = []adapter.SourceHealth{}
	}
	if snap.Warnings == nil {
		snap.Warnings = []adapter.Warning{}
	}
	snap.Ready, snap.ReadyReason = readiness(snap)
	return snap
}

// readiness is "serving with a valid config": the daemon only starts with
// a valid config (a refused edit leaves the previous one running, so it
// does not count), and it is ready once the first compute pass has values
// for /pull/ and the page. Delivery and source health are deliberately not
// part of it: a GeoSight outage must not take /pull/ out of a Kubernetes
// Service, and restarting the pod would not fix GeoSight. They are on
// /metrics (hazardsync_sink_up, hazardsync_source_up, …) and /api/status.
func readiness(s Snapshot) (bool, string) {
	if s.LastRun.Started.IsZero() && s.Values == 0 {
		return false, "no values computed yet (the first sync is still running)"
	}
	return true, ""
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	snap := s.Snapshot()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !snap.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %s\n", snap.ReadyReason)
		return
	}
	if snap.LastRun.Started.IsZero() {
		_, _ = fmt.Fprintln(w, "ready: values computed; the first delivery is still running")
	} else {
		_, _ = fmt.Fprintf(w, "ready: last sync %s\n", snap.LastRun.Started.UTC().Format(time.RFC3339))
	}
	if !snap.Reload.OK && len(snap.Reload.Errors) > 0 {
		// Said, not failed: the previous config is serving.
		_, _ = fmt.Fprintf(w, "note: the edit of %s was refused; the previous config keeps running (see /api/status)\n",
			snap.Reload.ConfigPath)
	}
}

func (s *Server) apiStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", s.Snapshot())
}

// apiAreas is the areas with their current values: json.Marshal's bytes of
// areasCollection, written by the preview's encoder (every feature on every
// core, no reflection: a country's areas are tens of MB of coordinates).
func (s *Server) apiAreas(w http.ResponseWriter, r *http.Request) {
	simplified := r.URL.Query().Get("simplify") != "0"
	values := s.p.CurrentValues()
	var buf bytes.Buffer
	err := func() error {
		attrs, err := (&attributesJSON{}).encode(values)
		if err != nil {
			return err
		}
		c, err := newAreasJSON(s.p.Areas(), s.p.Indicators(), values, attrs, simplified)
		if err != nil {
			return err
		}
		return writeAreasCollection(&buf, c, layoutCompact)
	}()
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, ctype string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// Serve listens on addr and serves until ctx is done, then shuts down
// gracefully (in-flight requests get up to 5 s).
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("status server: %w", err)
	}
	return s.ServeListener(ctx, ln)
}

// Timeouts bound every connection to the status server, so idle
// keep-alive connections, slow clients and stalled readers do not pile up
// (Prometheus, GeoSight's importer and browsers all keep connections open).
// A zero field takes its default.
type Timeouts struct {
	ReadHeader time.Duration // 10 s
	Read       time.Duration // 30 s: requests are GETs without bodies
	Write      time.Duration // 2 min: the largest /pull/ or GeoJSON answer on a slow link
	Idle       time.Duration // 2 min between requests on a keep-alive connection
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, 10*time.Second)
	def(&t.Read, 30*time.Second)
	def(&t.Write, 2*time.Minute)
	def(&t.Idle, 2*time.Minute)
	return t
}

// HTTPServer is the http.Server to serve h with: the timeouts above and
// server errors logged through log at WARN.
func HTTPServer(h http.Handler, t Timeouts, log *slog.Logger) *http.Server {
	t = t.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ServeListener is Serve on an existing listener (port 0 in tests).
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := HTTPServer(s, Timeouts{}, s.log())
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log().Info("status server listening", "addr", "http://"+ln.Addr().String()+"/")
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return fmt.Errorf("status server: %w", err)
}
