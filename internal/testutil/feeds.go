package testutil

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FeedServer serves handler on a local listener closed when the test ends.
func FeedServer(t testing.TB, handler http.Handler) *httptest.Server {
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// ServeBody answers every request with body (200).
func ServeBody(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }
}

// SlowBody announces 1000 bytes, sends prefix and then stalls until the
// client gives up (or 5 s pass), to exercise read timeouts mid-body.
func SlowBody(prefix []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(prefix)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// AssertFetchError checks a whole-feed failure: an error that names the
// source (source=<name>) and the URL and contains every string in want.
func AssertFetchError(t testing.TB, err error, source, url string, want ...string) {
	t.Helper()
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "source="+source)
	assert.Contains(t, msg, url)
	for _, w := range want {
		assert.Contains(t, msg, w)
	}
}
