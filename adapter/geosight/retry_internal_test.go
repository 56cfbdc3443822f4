package geosight

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
)

// arrivals is a test server that answers the n-th request (1-based) with
// answer and records when each request arrived.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
	srv   *httptest.Server
}

func newArrivals(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *arrivals {
	a := &arrivals{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.times = append(a.times, time.Now())
		n := len(a.times)
		a.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.times)
}

// gap is the time between the arrivals of request i and i+1 (0-based).
func (a *arrivals) gap(i int) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.times[i+1].Sub(a.times[i])
}

func status(code int, body string, header ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

// then answers first for the first k requests and next afterwards.
func then(k int, first, next func(int, http.ResponseWriter, *http.Request)) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		if n <= k {
			first(n, w, r)
			return
		}
		next(n, w, r)
	}
}

// hangUp closes the connection without an answer (a transport error).
func hangUp(_ int, w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// TestRetryPolicy: what resty's retries (fetch.RetryPolicy) do for the
// GeoSight client, counted on the server's side; the only time asserted is
// a lower bound (the wait a Retry-After asked for), which load cannot break.
func TestRetryPolicy(t *testing.T) {
	ok := status(http.StatusOK, "201")
	cases := []struct {
		name       string
		answer     func(int, http.ResponseWriter, *http.Request)
		maxRetries int
		wantCalls  int
		class      adapter.Class // 0: success
		text       string
		minGap     time.Duration // between the first two requests
	}{
		{name: "429 with Retry-After seconds honoured", maxRetries: 2, wantCalls: 2, minGap: time.Second,
			answer: then(1, status(http.StatusTooManyRequests, "slow down", "Retry-After", "1"), ok)},
		{name: "429 with Retry-After HTTP date honoured", maxRetries: 2, wantCalls: 2, minGap: time.Second,
			// Second resolution: two seconds ahead is more than one from now.
			answer: then(1, func(n int, w http.ResponseWriter, r *http.Request) {
				status(http.StatusTooManyRequests, "", "Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))(n, w, r)
			}, ok)},
		{name: "5xx then success", maxRetries: 2, wantCalls: 3,
			answer: then(2, status(http.StatusBadGateway, "<html>bad gateway</html>"), ok)},
		{name: "5xx retried up to max_retries, then Retryable", maxRetries: 2, wantCalls: 3,
			class: adapter.Retryable, text: "HTTP 503: busy", answer: status(http.StatusServiceUnavailable, "busy")},
		{name: "max_retries 0: one attempt", maxRetries: 0, wantCalls: 1,
			class: adapter.Retryable, text: "HTTP 500", answer: status(http.StatusInternalServerError, "")},
		{name: "transport error retried, then Retryable", maxRetries: 3, wantCalls: 4,
			class: adapter.Retryable, text: "EOF", answer: hangUp},
		{name: "400 never retried, Permanent with the server's text", maxRetries: 5, wantCalls: 1,
			class: adapter.Permanent, text: "Value is not float ", answer: status(http.StatusBadRequest, "Value is not float ")},
		{name: "404 never retried", maxRetries: 5, wantCalls: 1,
			class: adapter.Permanent, text: "HTTP 404: Not found.", answer: status(http.StatusNotFound, `{"detail":"Not found."}`)},
		{name: "403 never retried, Auth", maxRetries: 5, wantCalls: 1,
			class: adapter.Auth, text: "HTTP 403: Invalid email!.", answer: status(http.StatusForbidden, `{"detail":"Invalid email!."}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newArrivals(t, tc.answer)
			c := retryClient(t, a.srv.URL, tc.maxRetries, nil)
			resp, err := c.Do(context.Background(), http.MethodPost, "data-browser/", nil, map[string]any{"v": 1}, "K")
			assert.Equal(t, tc.wantCalls, a.count(), "requests the server saw")
			if tc.class == 0 {
				require.NoError(t, err)
				assert.Equal(t, tc.wantCalls, resp.Attempts)
				assert.Equal(t, "201", string(resp.Body))
			} else {
				require.Error(t, err)
				assert.Equal(t, tc.class, adapter.ClassOf(err))
				assert.Contains(t, err.Error(), tc.text)
				assert.Contains(t, err.Error(), "key=K")
				assert.NotContains(t, err.Error(), "secret-key-123")
			}
			if tc.minGap > 0 {
				assert.GreaterOrEqual(t, a.gap(0), tc.minGap, "the server's Retry-After was waited for")
			}
		})
	}
}

// retryClient is testClient with maxRetries and a debug log into logs.
func retryClient(t *testing.T, url string, maxRetries int, logs *bytes.Buffer) *Client {
	t.Helper()
	c := testClient(t, url)
	cfg := c.cfg
	cfg.MaxRetries = maxRetries
	var log *slog.Logger
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := NewClient(cfg, log)
	require.NoError(t, err)
	c.SetBackoff(time.Millisecond, 2*time.Millisecond)
	return c
}

// Each repeated attempt is logged once as "retrying" (the last failed one
// is not: nothing follows it), and the POST body is sent again in full.
func TestRetryingLoggedPerRepeatedAttempt(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	a := newArrivals(t, func(n int, w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		mu.Lock()
		bodies = append(bodies, b.String())
		mu.Unlock()
		status(http.StatusBadGateway, "down")(n, w, r)
	})
	var logs bytes.Buffer
	c := retryClient(t, a.srv.URL, 2, &logs)
	_, err := c.Do(context.Background(), http.MethodPost, "data-browser/", map[string][]string{"x": {"1"}}, map[string]any{"v": 1}, "")
	require.Error(t, err)
	assert.Equal(t, 3, a.count())
	assert.Equal(t, []string{`{"v":1}`, `{"v":1}`, `{"v":1}`}, bodies)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var retrying []string
	for _, l := range lines {
		if strings.Contains(l, "msg=retrying") {
			retrying = append(retrying, l)
		}
	}
	require.Len(t, retrying, 2, logs.String())
	assert.Contains(t, retrying[0], "attempt=1")
	assert.Contains(t, retrying[1], "attempt=2")
	assert.Contains(t, retrying[0], "url=\"/api/v1/data-browser/?x=1\"")
	assert.Contains(t, retrying[0], "HTTP 502: down")
	assert.NotContains(t, logs.String(), "secret-key-123")
}

// A cancelled context ends the retries at once, also in the middle of a
// long backoff or Retry-After wait; the request seen is not repeated.
func TestCancelStopsRetrying(t *testing.T) {
	cases := []struct {
		name   string
		answer func(int, http.ResponseWriter, *http.Request)
	}{
		{"during backoff", status(http.StatusServiceUnavailable, "")},
		{"during Retry-After", status(http.StatusTooManyRequests, "", "Retry-After", "120")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a := newArrivals(t, tc.answer)
			c := retryClient(t, a.srv.URL, 5, nil)
			c.SetBackoff(time.Minute, time.Minute)
			// Cancelled where resty starts to wait: after the answer came.
			var waits int
			c.retry.OnRetry = func(*resty.Response, error) { waits++; cancel() }
			done := make(chan error, 1)
			go func() {
				_, err := c.Do(ctx, http.MethodPost, "data-browser/", nil, map[string]any{}, "")
				done <- err
			}()
			select {
			case err := <-done:
				require.Error(t, err)
				assert.Equal(t, adapter.Retryable, adapter.ClassOf(err), "the value stays queued")
				assert.ErrorIs(t, err, context.Canceled)
			case <-time.After(30 * time.Second): // the wait it must not sit out is a minute or more
				t.Fatal("still retrying after the context was cancelled")
			}
			assert.Equal(t, 1, a.count())
			assert.Equal(t, 1, waits)
		})
	}
}

// A Retry-After that would outlast the context's deadline is not waited
// for: the server's answer comes back at once.
func TestRetryAfterPastDeadlineNotWaited(t *testing.T) {
	a := newArrivals(t, status(http.StatusTooManyRequests, "quota", "Retry-After", "3600"))
	c := retryClient(t, a.srv.URL, 5, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Do(ctx, http.MethodGet, "indicators/", nil, nil, "")
	require.Error(t, err)
	assert.Equal(t, adapter.Retryable, adapter.ClassOf(err))
	assert.Contains(t, err.Error(), "HTTP 429: quota")
	assert.Equal(t, 1, a.count())
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, time.Hour, he.RetryAfter)
}

// The rate limiter holds every attempt, retries included, and a cancelled
// context ends its wait. At one request per 1000 s the first request
// passes and nothing else may reach the server within the test: counts,
// not timings.
func TestRateLimitHoldsAttempts(t *testing.T) {
	cases := []struct {
		name     string
		answer   func(int, http.ResponseWriter, *http.Request)
		parallel int
	}{
		{"other requests wait", status(http.StatusOK, "201"), 4},
		{"retries wait too", status(http.StatusBadGateway, ""), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newArrivals(t, tc.answer)
			c := testClient(t, a.srv.URL)
			cfg := c.cfg
			cfg.RequestsPerSecond, cfg.MaxRetries = 0.001, 3
			c, err := NewClient(cfg, nil)
			require.NoError(t, err)
			c.SetBackoff(time.Millisecond, time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			errs := make(chan error, tc.parallel)
			for range tc.parallel {
				go func() {
					_, err := c.Do(ctx, http.MethodPost, "data-browser/", nil, map[string]any{}, "")
					errs <- err
				}()
			}
			require.Eventually(t, func() bool { return a.count() == 1 }, 30*time.Second, 5*time.Millisecond)
			held := tc.parallel
			if tc.parallel > 1 {
				// The one that got through returns; the others are held.
				require.NoError(t, <-errs)
				held--
			}
			time.Sleep(200 * time.Millisecond) // a window in which the limiter must let nothing through
			cancel()
			for range held {
				err := <-errs
				require.Error(t, err)
				assert.Equal(t, adapter.Retryable, adapter.ClassOf(err))
			}
			assert.Equal(t, 1, a.count(), "one request in the window")
		})
	}
}
