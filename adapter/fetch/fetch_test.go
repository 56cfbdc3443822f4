package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
)

func client(limit int64, timeout time.Duration) *Client {
	return New("src", config.Fetch{Timeout: timeout, MaxBodyBytes: limit, UserAgent: "hazardsync-test"})
}

func TestConditionalGET(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "hazardsync-test", r.Header.Get("User-Agent"))
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Fri, 27 Nov 2026 06:00:00 GMT")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := client(1<<20, 5*time.Second)
	r, err := c.Get(context.Background(), Request{URL: srv.URL})
	require.NoError(t, err)
	assert.Equal(t, `{"ok":true}`, string(r.Body))
	assert.Equal(t, `"v1"`, r.ETag)
	r2, err := c.Get(context.Background(), Request{URL: srv.URL, ETag: r.ETag, LastModified: r.LastModified})
	require.NoError(t, err)
	assert.True(t, r2.NotModified)
	assert.Equal(t, `"v1"`, r2.ETag, "the validators carry over a 304")
}

func TestErrorsAreClassifiedAndNameSourceAndURL(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(strings.Repeat("x", 5000))) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "upstream broke", 500) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", 404) })
	mux.HandleFunc("/403", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad key", 403) })
	mux.HandleFunc("/204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := client(1000, 300*time.Millisecond)
	cases := []struct {
		path   string
		class  adapter.Class
		expect string
		accept []int
	}{
		{"/big", adapter.Permanent, "more than 1000 bytes", nil},
		{"/500", adapter.Retryable, "HTTP 500", nil},
		{"/404", adapter.Permanent, "HTTP 404: gone", nil},
		{"/403", adapter.Auth, "HTTP 403", nil},
		{"/slow", adapter.Retryable, "timed out", nil},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			_, err := c.Get(context.Background(), Request{URL: srv.URL + tc.path, Accept: tc.accept})
			require.Error(t, err)
			assert.Equal(t, tc.class, adapter.ClassOf(err))
			assert.Contains(t, err.Error(), tc.expect)
			assert.Contains(t, err.Error(), "source=src")
			assert.Contains(t, err.Error(), "url="+srv.URL+tc.path)
		})
	}
	r, err := c.Get(context.Background(), Request{URL: srv.URL + "/404", Accept: []int{404}})
	require.NoError(t, err, "an accepted status is an answer")
	assert.Equal(t, 404, r.Status)
	_, err = c.Get(context.Background(), Request{URL: srv.URL + "/204"})
	require.NoError(t, err)
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 400) }))
	defer srv.Close()
	_, err := client(1000, time.Second).Get(context.Background(), Request{URL: srv.URL + "/api/MYKEY123/x", Secrets: []string{"MYKEY123"}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "MYKEY123")
	assert.Contains(t, err.Error(), "/api/REDACTED/x")
	// Transport errors carry the URL too.
	_, err = client(1000, time.Second).Get(context.Background(), Request{URL: "http://127.0.0.1:1/k=MYKEY123", Secrets: []string{"MYKEY123"}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "MYKEY123")
}

func TestFileURLs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "feed.json"), []byte(`[1]`), 0o644))
	c := ForSource(adapter.Env{Name: "src", Fetch: config.Fetch{Timeout: time.Second, MaxBodyBytes: 1000}, BaseDir: dir})
	for _, u := range []string{"file://feed.json", "file://" + filepath.Join(dir, "feed.json")} {
		r, err := c.Get(context.Background(), Request{URL: u})
		require.NoError(t, err, u)
		assert.Equal(t, "[1]", string(r.Body))
		r2, err := c.Get(context.Background(), Request{URL: u, ETag: r.ETag})
		require.NoError(t, err)
		assert.True(t, r2.NotModified, "an unchanged file is not modified")
	}
	_, err := c.Get(context.Background(), Request{URL: "file://missing.json"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.json")
}

func TestJSONErrorsNamePosition(t *testing.T) {
	t.Parallel()
	var v any
	err := DecodeJSON([]byte("{\n  \"a\": 1,\n  \"b\": ]\n}"), &v)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 3, column 8")
	err = DecodeJSON([]byte(`{"a": [1, 2`), &v)
	assert.Contains(t, err.Error(), "truncated")
	err = DecodeJSON(nil, &v)
	assert.Contains(t, err.Error(), "empty body")
	var typed struct{ A int }
	err = DecodeJSON([]byte(`{"A": "x"}`), &typed)
	assert.Contains(t, err.Error(), "line 1")
	require.NoError(t, DecodeJSON([]byte("\xef\xbb\xbf{\"A\":1}"), &typed), "UTF-8 BOM skipped")
	require.NoError(t, DecodeJSON([]byte("\xc3\xaf\xc2\xbb\xc2\xbf{\"A\":2}"), &typed), "mis-encoded BOM skipped")
	assert.Equal(t, 2, typed.A)
	var se *json.SyntaxError
	assert.False(t, errors.As(err, &se))
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"a":1}`))
	f.Add([]byte("\xc3\xaf\xc2\xbb\xc2\xbf[1,2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if err := DecodeJSON(b, &v); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

// TestStream: the body reaches the reader as a stream, never as Body; the
// size limit, timeouts and HTTP errors come back classified as Get's do,
// and the reader's own error comes back as it is.
func TestStream(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(strings.Repeat("x", 3000))) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(strings.Repeat("x", 5000))) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", 404) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.csv"), []byte(strings.Repeat("y", 5000)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ok.csv"), []byte(strings.Repeat("y", 3000)), 0o644))
	errParse := errors.New("parser says no")
	cases := []struct {
		name    string
		url     string
		read    func([]byte) error
		n       int
		class   adapter.Class
		errText string
	}{
		{name: "http body streamed", url: srv.URL + "/ok", n: 3000},
		{name: "file body streamed", url: "file://" + filepath.Join(dir, "ok.csv"), n: 3000},
		{name: "http over the limit", url: srv.URL + "/big", class: adapter.Permanent, errText: "more than 4096 bytes"},
		{name: "file over the limit", url: "file://" + filepath.Join(dir, "big.csv"), class: adapter.Permanent, errText: "more than 4096 bytes"},
		{name: "http status", url: srv.URL + "/404", class: adapter.Permanent, errText: "HTTP 404: gone"},
		{name: "timeout mid-body", url: srv.URL + "/slow", class: adapter.Retryable, errText: "timed out after 3 bytes"},
		{name: "reader's own error", url: srv.URL + "/ok", read: func([]byte) error { return errParse }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := client(4096, 300*time.Millisecond)
			var n int
			resp, err := c.Stream(context.Background(), Request{URL: tc.url}, func(r io.Reader) error {
				b, err := io.ReadAll(r)
				n = len(b)
				if err != nil {
					return fmt.Errorf("parsing: %w", err)
				}
				if tc.read != nil {
					return tc.read(b)
				}
				return nil
			})
			switch {
			case tc.read != nil:
				require.ErrorIs(t, err, errParse)
				var ce *adapter.Error
				assert.False(t, errors.As(err, &ce), "the caller classifies its own errors")
			case tc.errText != "":
				require.Error(t, err)
				assert.Equal(t, tc.class, adapter.ClassOf(err), "%v", err)
				assert.Contains(t, err.Error(), tc.errText)
				assert.Contains(t, err.Error(), "source=src")
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.n, n)
				assert.Nil(t, resp.Body, "a streamed body is not kept")
			}
		})
	}
}
