package pull

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// TokenParam is the query parameter carrying the pull token. GeoSight's
// "API With Geography" importer sends one plain GET to a configured URL
// and cannot add a header, so the secret has to ride in the URL.
const TokenParam = "token"

// WithTokens protects the feed: `?token=` must be queryToken (the pull
// token: GeoSight's importer can only put a secret in the URL), and
// `Authorization: Bearer` may carry either token (the status token is for
// headers only, never URLs). With both empty the feed stays open
// (loopback-only deployments). Tokens are compared as SHA-256 digests in
// constant time, and the token is removed from the request before the feed
// sees it, so nothing downstream can log or echo it. A refused request is
// logged with its path only, never its query.
func (h *Handler) WithTokens(queryToken, headerToken string) http.Handler {
	if queryToken == "" && headerToken == "" {
		return h
	}
	digest := func(s string) *[32]byte {
		if s == "" {
			return nil
		}
		d := sha256.Sum256([]byte(s))
		return &d
	}
	query, header := digest(queryToken), digest(headerToken)
	match := func(got string, want ...*[32]byte) bool {
		sum := sha256.Sum256([]byte(got))
		ok := 0
		for _, w := range want {
			if w != nil {
				// No early exit: the time taken does not say which one matched.
				ok |= subtle.ConstantTimeCompare(sum[:], w[:])
			}
		}
		return ok == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var ok, sent bool
		if q.Has(TokenParam) {
			got := q.Get(TokenParam)
			sent, ok = got != "", match(got, query)
		} else if scheme, rest, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
			got := strings.TrimSpace(rest)
			sent, ok = got != "", match(got, query, header)
		}
		if !ok {
			h.log.Warn("pull feed: request refused (missing or wrong token)", "path", r.URL.Path,
				"remote", r.RemoteAddr, "token_sent", sent)
			w.Header().Set("WWW-Authenticate", `Bearer realm="hazardsync pull feed"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "a valid ?" + TokenParam + "= (http.pull_token_file) is required"})
			return
		}
		if q.Has(TokenParam) {
			r2 := r.Clone(r.Context())
			q.Del(TokenParam)
			r2.URL.RawQuery = q.Encode()
			r2.RequestURI = r2.URL.RequestURI()
			r = r2
		}
		h.ServeHTTP(w, r)
	})
}
