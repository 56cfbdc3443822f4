package fetch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
)

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC) // a fake clock
	cases := []struct {
		name, value string
		want        time.Duration
	}{
		{"none", "", 0},
		{"seconds", "3", 3 * time.Second},
		{"seconds with spaces", " 7 ", 7 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"huge seconds do not overflow", "99999999999999", (1 << 30) * time.Second},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"RFC 850 date", now.Add(time.Minute).Format("Monday, 02-Jan-06 15:04:05 GMT"), time.Minute},
		{"garbage", "soon", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			assert.Equal(t, tc.want, RetryAfter(h, now))
		})
	}
}

func TestRetryPolicyWait(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	p := &RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, MaxRetryAfter: time.Minute}
	cases := []struct {
		name       string
		attempt    int
		retryAfter string
		lo, hi     time.Duration
	}{
		{"first retry: upper half of base", 1, "", 50 * time.Millisecond, 100 * time.Millisecond},
		{"doubles", 3, "", 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped at max", 9, "", 500 * time.Millisecond, time.Second},
		{"no overflow on a huge attempt", 200, "", 500 * time.Millisecond, time.Second},
		{"Retry-After raises the wait", 1, "7", 7 * time.Second, 7 * time.Second},
		{"Retry-After below the backoff does not shorten it", 9, "0", 500 * time.Millisecond, time.Second},
		{"Retry-After capped", 1, "3600", time.Minute, time.Minute},
		{"Retry-After as a date", 1, now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			for range 50 { // jitter: every draw within bounds
				d := p.Wait(tc.attempt, h, now)
				require.GreaterOrEqual(t, d, tc.lo)
				require.LessOrEqual(t, d, tc.hi)
			}
		})
	}
}

// TestGetRetries: the fetcher runs the same policy; counted on the server.
func TestGetRetries(t *testing.T) {
	cases := []struct {
		name      string
		fails     int // answers before a 200
		status    int
		header    string // Retry-After
		wantCalls int
		class     adapter.Class // 0: success
		text      string
		minGap    time.Duration
	}{
		{name: "5xx then success", fails: 2, status: 503, wantCalls: 3},
		{name: "5xx until retries run out", fails: 99, status: 502, wantCalls: 3, class: adapter.Retryable, text: "HTTP 502: down"},
		{name: "429 with Retry-After honoured", fails: 1, status: 429, header: "1", wantCalls: 2, minGap: time.Second},
		{name: "Retry-After past the timeout: not waited", fails: 99, status: 429, header: "3600", wantCalls: 1,
			class: adapter.Retryable, text: "HTTP 429"},
		{name: "4xx never retried", fails: 99, status: 404, wantCalls: 1, class: adapter.Permanent, text: "HTTP 404: down"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			var first, second atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				k := n.Add(1)
				switch k {
				case 1:
					first.Store(time.Now().UnixNano())
				case 2:
					second.Store(time.Now().UnixNano())
				}
				if int(k) > tc.fails {
					_, _ = w.Write([]byte("ok"))
					return
				}
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				http.Error(w, "down", tc.status)
			}))
			defer srv.Close()
			c := client(1<<20, 30*time.Second)
			c.retry.SetBackoff(c.rc, time.Millisecond, 2*time.Millisecond)
			// Streamed, and one connection at most: an answer dropped for a
			// retry must have its body closed by the policy, or the next
			// attempt waits for the connection until the timeout.
			c.rc.GetClient().Transport.(*http.Transport).MaxConnsPerHost = 1
			resp, err := c.Stream(context.Background(), Request{URL: srv.URL}, func(r io.Reader) error {
				b, err := io.ReadAll(r)
				assert.Equal(t, "ok", string(b))
				return err
			})
			assert.Equal(t, tc.wantCalls, int(n.Load()))
			if tc.class == 0 {
				require.NoError(t, err)
				assert.Equal(t, 200, resp.Status)
			} else {
				require.Error(t, err)
				assert.Equal(t, tc.class, adapter.ClassOf(err))
				assert.Contains(t, err.Error(), tc.text)
			}
			if tc.minGap > 0 {
				assert.GreaterOrEqual(t, time.Duration(second.Load()-first.Load()), tc.minGap)
			}
		})
	}
}

// A cancelled context ends a Retry-After wait at once.
func TestGetCancelStopsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := client(1<<20, 5*time.Minute)
	// Cancelled where resty starts to wait: after the answer came.
	var waits atomic.Int32
	c.retry.OnRetry = func(*resty.Response, error) { waits.Add(1); cancel() }
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, Request{URL: srv.URL})
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Equal(t, adapter.Retryable, adapter.ClassOf(err))
		assert.Contains(t, err.Error(), "HTTP 503 after retries, then context canceled")
	case <-time.After(20 * time.Second): // the wait it must not sit out is 30 s
		t.Fatal("still waiting after the context was cancelled")
	}
	assert.Equal(t, int32(1), n.Load())
	assert.Equal(t, int32(1), waits.Load())
}
