package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

func TestWithTokens(t *testing.T) {
	const pullTok, statusTok = "pull-secret-6b1f0c", "status-secret-93aa1e"
	var logs bytes.Buffer
	h := New(func() ([]indicators.Value, error) { return sample(), nil }).
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	cases := []struct {
		name    string
		query   string
		header  string
		target  string
		auth    string
		want    int
		records int
	}{
		{"no token configured: open", "", "", "/pull/", "", http.StatusOK, 4},
		{"a status token alone closes the feed", "", statusTok, "/pull/", "", http.StatusUnauthorized, 0},
		{"the status token is not for URLs", pullTok, statusTok, "/pull/?token=" + statusTok, "", http.StatusUnauthorized, 0},
		{"pull token as bearer", pullTok, "", "/pull/", "Bearer " + pullTok, http.StatusOK, 4},
		{"no token sent", pullTok, statusTok, "/pull/", "", http.StatusUnauthorized, 0},
		{"wrong token", pullTok, statusTok, "/pull/?token=guess-123456", "", http.StatusUnauthorized, 0},
		{"prefix of the token", pullTok, "", "/pull/?token=" + pullTok[:6], "", http.StatusUnauthorized, 0},
		{"empty token", pullTok, "", "/pull/?token=", "", http.StatusUnauthorized, 0},
		{"pull token in the query", pullTok, statusTok, "/pull/?token=" + pullTok, "", http.StatusOK, 4},
		{"query token with filters", pullTok, "", "/pull/?indicator=EQ_MAX_MMI&token=" + pullTok, "", http.StatusOK, 1},
		{"status token as bearer", pullTok, statusTok, "/pull/", "Bearer " + statusTok, http.StatusOK, 4},
		{"a wrong query token is not rescued by a header", pullTok, "", "/pull/?token=x", "Bearer " + pullTok, http.StatusUnauthorized, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, c.target, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			h.WithTokens(c.query, c.header).ServeHTTP(rec, req)
			require.Equal(t, c.want, rec.Code, rec.Body.String())
			if c.want == http.StatusOK {
				var f Feed
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &f))
				assert.Equal(t, c.records, f.Count)
			}
			assert.NotContains(t, rec.Body.String(), pullTok)
		})
	}
	assert.Contains(t, logs.String(), "request refused")
	for _, secret := range []string{pullTok, statusTok, "guess-123456"} {
		assert.NotContains(t, logs.String(), secret, "tokens never reach the logs")
	}
}

// FuzzWithTokens: whatever a client sends, the feed answers 200 only to the
// pull token in ?token= or either token as a Bearer header, and neither
// token ever reaches the logs or the body of a refusal.
func FuzzWithTokens(f *testing.F) {
	const pullTok, statusTok = "pull-secret-6b1f0c", "status-secret-93aa1e"
	f.Add("token="+pullTok, "")
	f.Add("indicator=A&token="+pullTok+"&token=x", "")
	f.Add("", "Bearer "+statusTok)
	f.Add("token=", "Bearer "+pullTok)
	f.Add("token=%zz", "bearer  "+pullTok+" ")
	f.Add("%3Btoken="+pullTok, "Basic abc")
	f.Fuzz(func(t *testing.T, rawQuery, auth string) {
		var logs bytes.Buffer
		h := New(func() ([]indicators.Value, error) { return sample(), nil }).
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))).WithTokens(pullTok, statusTok)
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/pull/", RawQuery: rawQuery},
			Header: http.Header{}, RemoteAddr: "192.0.2.1:1234"}
		req = req.WithContext(context.Background())
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		q, _ := url.ParseQuery(rawQuery)
		bearer := ""
		if scheme, rest, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			bearer = strings.TrimSpace(rest)
		}
		allowed := (q.Has(TokenParam) && q.Get(TokenParam) == pullTok) ||
			(!q.Has(TokenParam) && (bearer == pullTok || bearer == statusTok))
		if rec.Code == http.StatusOK && !allowed {
			t.Fatalf("200 without a valid token: query %q auth %q", rawQuery, auth)
		}
		if allowed && rec.Code == http.StatusUnauthorized {
			t.Fatalf("valid token refused: query %q auth %q", rawQuery, auth)
		}
		for _, secret := range []string{pullTok, statusTok} {
			if strings.Contains(logs.String(), secret) {
				t.Fatalf("token in the logs: %s", logs.String())
			}
			if rec.Code != http.StatusOK && strings.Contains(rec.Body.String(), secret) {
				t.Fatalf("token in a refusal: %s", rec.Body.String())
			}
		}
	})
}
