// Package fetch is the one HTTP GET every source uses: conditional requests
// (ETag / Last-Modified), a response size limit read as a stream, a
// per-request timeout, file:// URLs (the demo and tests replay recorded
// feeds), redaction of keys in URLs, and classified errors that name the
// source and URL.
package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
)

// Client fetches for one source instance.
type Client struct {
	source  string
	cfg     config.Fetch
	rc      *resty.Client
	baseDir string // relative file:// URLs resolve against it
}

// ForSource returns the client of the source env was built for: its name,
// the daemon's fetch limits, and the config's directory for relative
// file:// URLs.
func ForSource(env adapter.Env) *Client {
	c := New(env.Name, env.Fetch)
	c.baseDir = env.BaseDir
	return c
}

// New returns a client for source with the daemon's fetch limits.
func New(source string, cfg config.Fetch) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	rc := resty.New().
		SetRetryCount(2).
		SetRetryWaitTime(500*time.Millisecond).
		SetRetryMaxWaitTime(5*time.Second).
		AddRetryCondition(func(r *resty.Response, err error) bool {
			if err != nil {
				return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
			}
			return r.StatusCode() == http.StatusTooManyRequests || r.StatusCode() >= 500
		}).
		SetDoNotParseResponse(true).
		SetHeader("User-Agent", cfg.UserAgent).
		// resty's own logger prints request URLs, which may carry keys
		// (FIRMS MAP_KEY, ArcGIS tokens): our errors say what went wrong.
		SetLogger(silent{})
	return &Client{source: source, cfg: cfg, rc: rc}
}

// silent discards resty's log lines.
type silent struct{}

func (silent) Errorf(string, ...any) {}
func (silent) Warnf(string, ...any)  {}
func (silent) Debugf(string, ...any) {}

// Request is one GET.
type Request struct {
	URL   string
	Query url.Values
	// ETag / LastModified from the previous response make the GET
	// conditional; a 304 (or an unchanged file) comes back as NotModified.
	ETag         string
	LastModified string
	Headers      map[string]string
	// MaxBytes overrides the configured size limit (0 = configured).
	MaxBytes int64
	// Accept lists extra non-2xx statuses that are answers, not errors
	// (GDACS says "no events" with 204 or 404).
	Accept []int
	// Secrets are replaced by "REDACTED" wherever the URL is shown.
	Secrets []string
}

// Response is a fetched body.
type Response struct {
	Body         []byte
	URL          string // redacted
	Status       int
	ETag         string
	LastModified string
	NotModified  bool
	Header       http.Header
}

// Get performs the request.
func (c *Client) Get(ctx context.Context, req Request) (*Response, error) {
	return c.get(ctx, req, nil)
}

// Stream is Get for bodies too large to hold at once (FIRMS global files):
// a successful body is handed to read as a stream, still cut at the size
// limit, and Response.Body stays nil. A failure to read the body (timeout,
// size limit, connection) comes back classified as Get would; any other
// error of read comes back as read returned it, for the caller to classify.
func (c *Client) Stream(ctx context.Context, req Request, read func(io.Reader) error) (*Response, error) {
	return c.get(ctx, req, read)
}

func (c *Client) get(ctx context.Context, req Request, read func(io.Reader) error) (*Response, error) {
	full := req.URL
	if len(req.Query) > 0 {
		sep := "?"
		if strings.Contains(full, "?") {
			sep = "&"
		}
		full += sep + req.Query.Encode()
	}
	shown := Redact(full, req.Secrets...)
	limit := req.MaxBytes
	if limit <= 0 {
		limit = c.cfg.MaxBodyBytes
	}
	if strings.HasPrefix(full, "file://") {
		return c.getFile(full, shown, req, limit, read)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	r := c.rc.R().SetContext(ctx)
	for k, v := range req.Headers {
		r.SetHeader(k, v)
	}
	if req.ETag != "" {
		r.SetHeader("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		r.SetHeader("If-Modified-Since", req.LastModified)
	}
	resp, err := r.Get(full)
	if err != nil {
		// When retries ran out of time, say what the server last answered.
		if resp != nil && resp.StatusCode() > 0 {
			err = fmt.Errorf("HTTP %d after retries, then %v", resp.StatusCode(), err)
		}
		return nil, adapter.Classify(adapter.Retryable, c.source, shown, errors.New(redactErr(err, req.Secrets)))
	}
	raw := resp.RawBody()
	defer raw.Close()
	out := &Response{URL: shown, Status: resp.StatusCode(), Header: resp.Header(),
		ETag: resp.Header().Get("ETag"), LastModified: resp.Header().Get("Last-Modified")}
	if resp.StatusCode() == http.StatusNotModified {
		out.NotModified = true
		out.ETag, out.LastModified = nonEmpty(out.ETag, req.ETag), nonEmpty(out.LastModified, req.LastModified)
		return out, nil
	}
	st := resp.StatusCode()
	if read != nil && (st >= 200 && st < 300 || accepted(req.Accept, st)) {
		return out, c.stream(ctx, raw, limit, shown, adapter.Retryable, read)
	}
	body, err := readLimited(ctx, raw, limit)
	if err != nil {
		class := adapter.Retryable
		if errors.Is(err, errTooLarge) {
			class = adapter.Permanent
		}
		return nil, adapter.Classify(class, c.source, shown, err)
	}
	out.Body = body
	if st >= 200 && st < 300 || accepted(req.Accept, st) {
		return out, nil
	}
	msg := fmt.Errorf("HTTP %d: %s", st, Snippet(body))
	if st == http.StatusTooManyRequests || st >= 500 {
		return out, adapter.Classify(adapter.Retryable, c.source, shown, msg)
	}
	if st == http.StatusUnauthorized || st == http.StatusForbidden {
		return out, adapter.Classify(adapter.Auth, c.source, shown, msg)
	}
	return out, adapter.Classify(adapter.Permanent, c.source, shown, msg)
}

var errTooLarge = errors.New("response too large")

func readLimited(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading body: timed out after %d bytes: %w", len(b), ctx.Err())
		}
		return nil, fmt.Errorf("reading body after %d bytes: %w", len(b), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes (fetch.max_body_bytes)", errTooLarge, limit)
	}
	return b, nil
}

// stream hands r to read, cut at limit, and classifies a failure to read
// the body itself (class for transport errors, Permanent for the limit).
func (c *Client) stream(ctx context.Context, r io.Reader, limit int64, shown string, class adapter.Class, read func(io.Reader) error) error {
	lr := &limitedReader{r: r, left: limit, limit: limit}
	err := read(lr)
	switch {
	case lr.err == nil || errors.Is(lr.err, io.EOF):
		return err
	case errors.Is(lr.err, errTooLarge):
		return adapter.Classify(adapter.Permanent, c.source, shown, lr.err)
	case ctx.Err() != nil:
		return adapter.Classify(class, c.source, shown, fmt.Errorf("reading body: timed out after %d bytes: %w", lr.n, ctx.Err()))
	}
	return adapter.Classify(class, c.source, shown, fmt.Errorf("reading body after %d bytes: %w", lr.n, lr.err))
}

// limitedReader fails with errTooLarge past left bytes and remembers the
// first error it returned, so a parser's wrapped error can be told apart
// from a failed read.
type limitedReader struct {
	r           io.Reader
	left, limit int64
	n           int64
	err         error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	l.left -= int64(n)
	if l.left < 0 {
		l.err = fmt.Errorf("%w: more than %d bytes (fetch.max_body_bytes)", errTooLarge, l.limit)
		return 0, l.err
	}
	if err != nil {
		l.err = err
	}
	return n, err
}

func (c *Client) getFile(full, shown string, req Request, limit int64, read func(io.Reader) error) (*Response, error) {
	u, err := url.Parse(full)
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, c.source, shown, err)
	}
	p := u.Path
	if u.Host != "" && u.Host != "localhost" { // file://relative/path
		p = filepath.Join(u.Host, u.Path)
	}
	p = config.ResolvePath(c.baseDir, p)
	st, err := os.Stat(p)
	if err != nil {
		return nil, adapter.Classify(adapter.Retryable, c.source, shown, unwrapPath(err))
	}
	etag := fmt.Sprintf(`"%x-%x"`, st.Size(), st.ModTime().UnixNano())
	out := &Response{URL: shown, Status: 200, ETag: etag, LastModified: st.ModTime().UTC().Format(http.TimeFormat)}
	if req.ETag != "" && req.ETag == etag {
		out.NotModified = true
		return out, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, adapter.Classify(adapter.Retryable, c.source, shown, unwrapPath(err))
	}
	defer f.Close()
	if read != nil {
		return out, c.stream(context.Background(), f, limit, shown, adapter.Permanent, read)
	}
	body, err := readLimited(context.Background(), f, limit)
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, c.source, shown, err)
	}
	out.Body = body
	return out, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

func accepted(list []int, st int) bool {
	for _, s := range list {
		if s == st {
			return true
		}
	}
	return false
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Redact replaces every secret in s by REDACTED (also URL-escaped forms).
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, "REDACTED")
		s = strings.ReplaceAll(s, url.QueryEscape(sec), "REDACTED")
	}
	return s
}

func redactErr(err error, secrets []string) string { return Redact(err.Error(), secrets...) }

// Snippet is the start of a body for error messages: one line, at most 200
// characters.
func Snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}

// JSONError turns a json decoding error into one that names where in the
// body it happened (line, column, byte offset), for "malformed feed" errors.
func JSONError(body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if len(body) == 0 {
		return fmt.Errorf("empty body where JSON was expected")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON input") {
		return fmt.Errorf("malformed JSON: truncated at byte %d (line %d): %v", len(body), Line(body, int64(len(body))), err)
	}
	if off < 0 {
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if off > 0 {
		off-- // Offset counts the bytes read, the offending one included
	}
	line, col := LineCol(body, off)
	return fmt.Errorf("malformed JSON at line %d, column %d (byte %d): %v", line, col, off, err)
}

// LineCol converts a byte offset into 1-based line and column.
func LineCol(b []byte, off int64) (int, int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// Line is the 1-based line of a byte offset.
func Line(b []byte, off int64) int { l, _ := LineCol(b, off); return l }

// DecodeJSON unmarshals a body, with a positioned error on failure. A UTF-8
// BOM (and its mis-encoded form seen in GDACS captures) is skipped first.
func DecodeJSON(body []byte, v any) error {
	body = TrimBOM(body)
	if err := json.Unmarshal(body, v); err != nil {
		return JSONError(body, err)
	}
	return nil
}

// TrimBOM drops a leading UTF-8 BOM, or the BOM mis-encoded as UTF-8 of
// Latin-1 (c3 af c2 bb c2 bf), and leading whitespace.
func TrimBOM(b []byte) []byte {
	for {
		switch {
		case len(b) >= 6 && string(b[:6]) == "\xc3\xaf\xc2\xbb\xc2\xbf":
			b = b[6:]
		case len(b) >= 3 && string(b[:3]) == "\xef\xbb\xbf":
			b = b[3:]
		default:
			return b
		}
	}
}
