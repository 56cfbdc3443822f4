package project

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// Environment variables holding the editor login. Never in YAML: a
// password in a config file ends up in backups and tickets.
const (
	EnvUsername = "HAZARDSYNC_GEOSIGHT_USERNAME"
	EnvPassword = "HAZARDSYNC_GEOSIGHT_PASSWORD"
)

// ErrLoginRefused is returned when GeoSight does not accept the login.
var ErrLoginRefused = errors.New("GeoSight refused the login (wrong username or password, or an instance that only logs in through Azure B2C)")

// Editor is a logged-in session of GeoSight's project editor. It is not
// the API client: the editor endpoints take a Django session and a CSRF
// token, not the API key.
type Editor struct {
	base string
	// lang is the language prefix GeoSight's pages live under ("/en-us"):
	// Django's LocaleMiddleware redirects unprefixed page URLs, and a
	// redirected POST loses its body.
	lang     string
	http     *resty.Client
	password string
	log      *slog.Logger
}

// NewEditor returns an editor session for the instance at baseURL.
func NewEditor(baseURL string, timeout time.Duration, log *slog.Logger) (*Editor, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("geosight project editor: url %q is not an absolute URL", baseURL)
	}
	jar, _ := cookiejar.New(nil)
	if log == nil {
		log = slog.Default()
	}
	c := resty.New().
		SetBaseURL(u.String()).
		SetCookieJar(jar).
		SetTimeout(timeout).
		SetLogger(quietLogger{}).
		// A successful save answers 302 to the edit page: read the redirect
		// itself, never follow it (the page needs the frontend bundle).
		SetRedirectPolicy(resty.NoRedirectPolicy())
	return &Editor{base: u.String(), http: c, log: log}, nil
}

// SetTransport sends the session's requests through rt (tests record them).
func (e *Editor) SetTransport(rt http.RoundTripper) { e.http.SetTransport(rt) }

// csrf is the CSRF token Django set in the session's cookies.
func (e *Editor) csrf() string {
	u, _ := url.Parse(e.base)
	for _, ck := range e.http.GetClient().Jar.Cookies(u) {
		if ck.Name == "csrftoken" {
			return ck.Value
		}
	}
	return ""
}

// redirected tells a "302 Found" answer apart from a transport error:
// resty reports a refused redirect as an error with the response set.
func redirected(resp *resty.Response, err error) (*resty.Response, error) {
	if resp != nil && resp.StatusCode() >= 300 && resp.StatusCode() < 400 {
		return resp, nil
	}
	return resp, err
}

// Login opens a session as username. The password is kept only to redact
// it from errors.
func (e *Editor) Login(ctx context.Context, username, password string) error {
	if username == "" || password == "" {
		return fmt.Errorf("geosight project editor: set %s and %s in the environment (a GeoSight user with the Creator role)", EnvUsername, EnvPassword)
	}
	e.password = password
	// Any page sets the CSRF cookie; the login page does (its body may be an
	// error page on an instance without the frontend bundle: only the
	// cookie matters).
	resp, err := redirected(e.http.R().SetContext(ctx).Get("/login/"))
	if err != nil {
		return e.wrap("GET /login/", err)
	}
	loginPath := "/login/"
	if loc := resp.Header().Get("Location"); resp.StatusCode() == http.StatusFound && loc != "" {
		// i18n prefix (/en-us/login/): the login form lives there.
		if u, err := url.Parse(loc); err == nil {
			loginPath = u.Path
			if strings.HasSuffix(loginPath, "/login/") {
				e.lang = strings.TrimSuffix(loginPath, "/login/")
			}
		}
		if _, err := redirected(e.http.R().SetContext(ctx).Get(loginPath)); err != nil {
			return e.wrap("GET "+loginPath, err)
		}
	}
	token := e.csrf()
	if token == "" {
		return fmt.Errorf("geosight project editor: GET %s set no csrftoken cookie", loginPath)
	}
	resp, err = redirected(e.http.R().SetContext(ctx).
		SetHeader("X-CSRFToken", token).
		SetHeader("Referer", e.base+loginPath).
		SetFormData(map[string]string{"username": username, "password": password}).
		Post(loginPath))
	if err != nil {
		return e.wrap("POST "+loginPath, err)
	}
	if resp.StatusCode() != http.StatusFound {
		return fmt.Errorf("geosight project editor: POST %s answered %d: %w", loginPath, resp.StatusCode(), ErrLoginRefused)
	}
	e.log.Info("logged in to the GeoSight project editor", "user", username)
	return nil
}

// Exists tells whether a project with slug exists (GET /api/v1/dashboards/<slug>/).
func (e *Editor) Exists(ctx context.Context, slug string) (bool, error) {
	resp, err := e.http.R().SetContext(ctx).SetHeader("Accept", "application/json").Get("/api/v1/dashboards/" + url.PathEscape(slug) + "/")
	if err != nil {
		return false, e.wrap("GET /api/v1/dashboards/"+slug+"/", err)
	}
	switch resp.StatusCode() {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("geosight project editor: GET /api/v1/dashboards/%s/ answered %d: %s", slug, resp.StatusCode(), e.text(resp.Body()))
	}
}

// Data reads the project as the editor loads it (GET /api/dashboard/<slug>/data).
func (e *Editor) Data(ctx context.Context, slug string) (map[string]any, error) {
	path := "/api/dashboard/" + url.PathEscape(slug) + "/data"
	resp, err := e.http.R().SetContext(ctx).SetHeader("Accept", "application/json").Get(path)
	if err != nil {
		return nil, e.wrap("GET "+path, err)
	}
	if resp.StatusCode() != http.StatusOK {
		return nil, fmt.Errorf("geosight project editor: GET %s answered %d: %s", path, resp.StatusCode(), e.text(resp.Body()))
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		return nil, fmt.Errorf("geosight project editor: GET %s: %w", path, err)
	}
	return out, nil
}

// Save creates (slug == "") or updates the project from a form. GeoSight
// answers a good save with 302 to the edit page and a bad one with 400 and
// the reason in plain text.
func (e *Editor) Save(ctx context.Context, existingSlug string, f Form) error {
	path := e.lang + "/admin/project/create"
	if existingSlug != "" {
		path = e.lang + "/admin/project/" + url.PathEscape(existingSlug) + "/edit"
	}
	data, err := json.Marshal(f.Data)
	if err != nil {
		return err
	}
	form := map[string]string{"data": string(data)}
	for k, v := range f.Fields {
		form[k] = v
	}
	resp, err := redirected(e.http.R().SetContext(ctx).
		SetHeader("X-CSRFToken", e.csrf()).
		SetHeader("Referer", e.base+path).
		SetFormData(form).
		Post(path))
	if err != nil {
		return e.wrap("POST "+path, err)
	}
	switch code := resp.StatusCode(); {
	case code == http.StatusFound && strings.Contains(resp.Header().Get("Location"), "/admin/project/"):
		return nil
	case code == http.StatusFound && strings.Contains(resp.Header().Get("Location"), "login"),
		code == http.StatusForbidden:
		return fmt.Errorf("geosight project editor: POST %s answered %d: the user needs the Creator role (and edit rights on this project)", path, code)
	default:
		return fmt.Errorf("geosight project editor: POST %s answered %d: %s", path, code, e.text(resp.Body()))
	}
}

func (e *Editor) wrap(what string, err error) error {
	return fmt.Errorf("geosight project editor: %s: %s", what, e.text([]byte(err.Error())))
}

// text is a server answer fit for an error: short, password redacted.
func (e *Editor) text(b []byte) string {
	s := strings.TrimSpace(string(b))
	if e.password != "" {
		s = strings.ReplaceAll(s, e.password, "[redacted]")
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// quietLogger keeps resty from printing requests (form bodies carry the password).
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
