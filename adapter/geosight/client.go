// Package geosight is the GeoSight-OS REST API client and the adapter.Sink
// that delivers indicator values, footprints and event tables into it. Every
// rule it follows is in ../shared/geosight-api.md; see README.md.
package geosight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"golang.org/x/time/rate"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/config"
)

// SinkName is the sink's name in logs, metrics and errors.
const SinkName = "geosight"

// apiPrefix is GeoSight's API root (not language-prefixed).
const apiPrefix = "/api/v1/"

// Client talks to one GeoSight-OS instance.
type Client struct {
	cfg   config.GeoSight
	base  string
	key   string
	name  string       // the sink's name in logs and errors (SetName)
	base0 *slog.Logger // the logger given, before the sink name is added
	log   *slog.Logger
	rc    *resty.Client
	// retry is the retry policy rc runs (SetBackoff changes it).
	retry *fetch.RetryPolicy

	// bodyLimit overrides MaxBodyBytes (tests exercise chunking with it).
	bodyLimit int

	mu           sync.Mutex
	indicatorIDs map[string]int
	entities     *entityCache
	layers       map[string]int    // layer name → id
	layerHashes  map[string]string // layer name → content hash last published
	tableID      int
	tableHash    string
	sent         map[string]string // shortcode → hiddenFingerprint last sent

	// conc adapts the value POSTs in flight (geosight.concurrency is its
	// ceiling).
	conc *adaptive
}

// NewClient builds a client. The API key comes from cfg.APIKey and is only
// ever placed in the Authorization header.
func NewClient(cfg config.GeoSight, logger *slog.Logger) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("geosight: url must be an http(s) URL, got %q", cfg.URL)
	}
	if cfg.APIKey.Reveal() == "" {
		return nil, errors.New("geosight: no API key (set " + config.EnvAPIKey + " or geosight.api_key_file)")
	}
	if cfg.User == "" {
		return nil, errors.New("geosight: user (the API key owner's e-mail) is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.Category == "" {
		cfg.Category = "Hazards"
	}
	if cfg.EntityRefresh <= 0 {
		cfg.EntityRefresh = 6 * time.Hour
	}
	c := &Client{
		cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), key: cfg.APIKey.Reveal(),
		name: SinkName, base0: logger, log: logger.With("sink", SinkName),
		indicatorIDs: map[string]int{}, layers: map[string]int{}, layerHashes: map[string]string{},
		sent: map[string]string{},
	}
	c.conc = newAdaptive(cfg.Concurrency)
	c.conc.onChange = func(n int, why string) {
		c.log.Debug("delivery concurrency", "in_flight", n, "max", cfg.Concurrency, "why", why)
	}
	c.retry = &fetch.RetryPolicy{Retries: cfg.MaxRetries, Base: 250 * time.Millisecond, Max: 15 * time.Second,
		OnRetry: c.logRetry}
	if cfg.RequestsPerSecond > 0 {
		// Burst 1: the cap holds from the first request on.
		c.retry.Limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), 1)
	}
	c.rc = c.retry.Apply(resty.New()).
		SetBaseURL(c.base).
		// Each attempt, its body included, has the timeout.
		SetTimeout(cfg.Timeout).
		SetResponseBodyLimit(maxResponseBytes).
		SetHeader("User-Agent", "hazardsync (+https://github.com/hazardsync/hazardsync)").
		SetHeader("Accept", "application/json").
		// A redirected POST becomes a GET that "succeeds" with a list
		// (geosight-api.md §0.7): only GETs may follow.
		SetRedirectPolicy(resty.RedirectPolicyFunc(func(req *http.Request, via []*http.Request) error {
			if via[0].Method != http.MethodGet || len(via) > 3 {
				return http.ErrUseLastResponse
			}
			return nil
		}))
	c.rc.SetLogger(restyLogger{c})
	// Pool enough idle connections for the worker count.
	if t, ok := c.rc.GetClient().Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = cfg.Concurrency * 2
	}
	return c, nil
}

// Name is the sink name.
func (c *Client) Name() string { return c.name }

// SetName names the client as its sink is configured (a second GeoSight
// sink, "staging", says so in its logs and errors); before any use.
func (c *Client) SetName(name string) {
	if name == "" {
		return
	}
	c.name, c.log = name, c.base0.With("sink", name)
}

// SetBackoff changes the retry backoff (base doubles per attempt up to max,
// with jitter; a Retry-After still waits longer). Tests and benchmarks
// shorten it.
func (c *Client) SetBackoff(base, max time.Duration) {
	c.retry.SetBackoff(c.rc, base, max)
}

// SetTransport replaces the HTTP transport (the contract suite wraps it to
// count and record requests).
func (c *Client) SetTransport(rt http.RoundTripper) { c.rc.SetTransport(rt) }

// Transport is the HTTP transport in use.
func (c *Client) Transport() http.RoundTripper { return c.rc.GetClient().Transport }

// SetBodyLimit changes the largest upload body (0 = MaxBodyBytes).
func (c *Client) SetBodyLimit(n int) { c.bodyLimit = n }

// HTTPError is a non-2xx answer, with GeoSight's text kept verbatim.
type HTTPError struct {
	Status int
	// Body is the response body as sent (plain text for GeoSight's
	// HttpResponseBadRequest, JSON otherwise), trimmed to 2 KB.
	Body string
	// Detail is the "detail" of a JSON error body, when there is one.
	Detail string
	// RetryAfter is the server's Retry-After, when given.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Body
	}
	if e.Status == http.StatusBadRequest {
		return msg // kept verbatim: it is what the operator needs to see
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, msg)
}

// StatusOf returns the HTTP status behind err (0 when there is none).
func StatusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// Response is a successful answer.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
	// Attempts is how many requests it took (1 = no retry).
	Attempts int
}

// Do sends one API request with retries on transport errors, timeouts,
// 5xx and 429 (honouring Retry-After), and returns a classified error
// otherwise. path is relative to /api/v1/ and must end with "/"; body is
// JSON-encoded unless it is []byte. key names the value or object for
// errors.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any, key string) (*Response, error) {
	resp, _, err := c.do(ctx, method, path, query, body, key)
	return resp, err
}

// do is Do that also reports how many attempts were made.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, key string) (*Response, int, error) {
	return c.doAccept(ctx, "", method, path, query, body, key)
}

// doAccept is do with another Accept header than application/json (""
// keeps it): GeoSight's GeoJSON renderers answer 406 to application/json.
func (c *Client) doAccept(ctx context.Context, accept, method, path string, query url.Values, body any, key string) (*Response, int, error) {
	if !strings.HasSuffix(path, "/") {
		// Never rely on APPEND_SLASH: a 301 turns a POST into a GET.
		path += "/"
	}
	full := apiPrefix + strings.TrimPrefix(path, "/")
	shown := full
	if len(query) > 0 {
		shown += "?" + query.Encode()
	}
	var payload []byte
	if body != nil {
		switch b := body.(type) {
		case []byte:
			payload = b
		default:
			var err error
			if payload, err = json.Marshal(body); err != nil {
				return nil, 0, c.classify(err, shown, key)
			}
		}
	}
	r := c.rc.R().SetContext(ctx).
		SetHeader("Authorization", "Token "+c.key).
		SetHeader("GeoSight-User-Key", c.cfg.User)
	if accept != "" {
		r.SetHeader("Accept", accept)
	}
	if len(query) > 0 {
		r.SetQueryParamsFromValues(query)
	}
	if payload != nil {
		r.SetHeader("Content-Type", "application/json").SetBody(payload)
	}
	// resty runs the retries (fetch.RetryPolicy, set in NewClient).
	resp, err := c.answer(r.Execute(method, full))
	attempts := max(r.Attempt, 1)
	if err != nil {
		return nil, attempts, c.classify(err, shown, key)
	}
	resp.Attempts = attempts
	return resp, attempts, nil
}

// maxResponseBytes bounds a response body.
const maxResponseBytes = 256 << 20

// answer turns resty's result into a Response, or an *HTTPError for a
// non-2xx status, or a transportError.
func (c *Client) answer(resp *resty.Response, err error) (*Response, error) {
	if err != nil {
		return nil, transportError{err}
	}
	st := resp.StatusCode()
	if st >= 200 && st < 300 {
		return &Response{Status: st, Body: resp.Body(), Header: resp.Header()}, nil
	}
	return nil, httpError(resp)
}

// httpError is the *HTTPError of a non-2xx answer.
func httpError(resp *resty.Response) *HTTPError {
	st, b := resp.StatusCode(), resp.Body()
	he := &HTTPError{Status: st, Body: verbatim(b)}
	var d struct {
		Detail any `json:"detail"`
	}
	if json.Unmarshal(b, &d) == nil && d.Detail != nil {
		if s, ok := d.Detail.(string); ok {
			he.Detail = s
		} else {
			he.Detail = fmt.Sprint(d.Detail)
		}
	}
	if st >= 300 && st < 400 {
		he.Body = "redirect to " + resp.Header().Get("Location") + " refused (GeoSight needs the trailing slash; a redirected POST would become a GET)"
	}
	he.RetryAfter = fetch.RetryAfter(resp.Header(), time.Now())
	return he
}

// logRetry is the "retrying" debug line for each attempt resty repeats.
func (c *Client) logRetry(resp *resty.Response, err error) {
	if err == nil {
		err = httpError(resp)
	}
	var shown string
	if raw := resp.Request.RawRequest; raw != nil {
		shown = raw.URL.RequestURI()
	}
	c.log.Debug("retrying", "method", resp.Request.Method, "url", c.redact(shown), "attempt", resp.Request.Attempt,
		"err", c.redact(err.Error()))
}

// transportError marks a connection-level failure (reset, timeout, DNS).
type transportError struct{ err error }

func (e transportError) Error() string { return e.err.Error() }
func (e transportError) Unwrap() error { return e.err }

// classify maps an error to the adapter classes: transport, timeouts, 5xx
// and 429 are Retryable; 401/403 Auth; anything else Permanent.
func (c *Client) classify(err error, shown, key string) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*adapter.Error); ok {
		return err
	}
	class := adapter.Permanent
	var he *HTTPError
	var te transportError
	switch {
	case errors.As(err, &he):
		switch {
		case he.Status == http.StatusTooManyRequests || he.Status >= 500:
			class = adapter.Retryable
		case he.Status == http.StatusForbidden || he.Status == http.StatusUnauthorized:
			class = adapter.Auth
		}
	case errors.Is(err, context.Canceled):
		class = adapter.Retryable
	case errors.Is(err, resty.ErrResponseBodyTooLarge):
		err = fmt.Errorf("answer larger than %d bytes: %w", maxResponseBytes, err)
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded):
		class = adapter.Retryable
		err = errors.New(c.redact(err.Error()))
	}
	return setKey(adapter.Classify(class, c.name, shown, err), key)
}

// redact removes the API key from any text that might echo a request.
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

// verbatim keeps an error body as sent (GeoSight's plain-text messages may
// end in a space), bounded.
func verbatim(b []byte) string {
	if len(b) > 2048 {
		return string(b[:2048]) + "…"
	}
	return string(b)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2048 {
		s = s[:2048] + "…"
	}
	return s
}

// page is GeoSight's pagination envelope.
type page[T any] struct {
	Next      *string `json:"next"`
	Count     int     `json:"count"`
	Page      int     `json:"page"`
	TotalPage int     `json:"total_page"`
	PageSize  int     `json:"page_size"`
	Results   []T     `json:"results"`
}

// listAll pages through a list endpoint following total_page/next; a 404
// "Invalid page." past the end (a list that shrank meanwhile) ends paging.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	q := maps.Clone(query)
	if q == nil {
		q = url.Values{}
	}
	if q.Get("page_size") == "" {
		q.Set("page_size", "500")
	}
	var out []T
	for n := 1; ; n++ {
		q.Set("page", strconv.Itoa(n))
		resp, err := c.Do(ctx, http.MethodGet, path, q, nil, "")
		if err != nil {
			var he *HTTPError
			if n > 1 && errors.As(err, &he) && he.Status == http.StatusNotFound && he.Detail == "Invalid page." {
				return out, nil
			}
			return nil, err
		}
		var p page[T]
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			return nil, adapter.Classify(adapter.Permanent, c.name, apiPrefix+path, fmt.Errorf("decoding page %d: %w", n, err))
		}
		out = append(out, p.Results...)
		if p.Next == nil || *p.Next == "" || n >= p.TotalPage || len(p.Results) == 0 {
			return out, nil
		}
	}
}

// setKey records the value key in a classified error.
func setKey(err error, key string) error {
	var e *adapter.Error
	if errors.As(err, &e) && e.Key == "" {
		e.Key = key
	}
	return err
}

// restyLogger routes resty's own messages to slog at debug, redacted.
type restyLogger struct{ c *Client }

func (l restyLogger) Errorf(format string, v ...any) {
	l.c.log.Debug("http", "msg", l.c.redact(fmt.Sprintf(format, v...)))
}
func (l restyLogger) Warnf(format string, v ...any) {
	l.c.log.Debug("http", "msg", l.c.redact(fmt.Sprintf(format, v...)))
}
func (l restyLogger) Debugf(format string, v ...any) {
	l.c.log.Debug("http", "msg", l.c.redact(fmt.Sprintf(format, v...)))
}
