// Package embedded is the sink kind of `geosight.url: embedded`: it starts
// the in-process GeoSight fake (adapter/geosight/fake) with the configured
// areas as its reference dataset, persisted under the state dir so it
// survives restarts as a real server would, delivers into it exactly like
// the geosight sink does into a real instance, and keeps the demo's
// project (the dashboard showing the indicators) up to date after each
// delivery, the way `hazardsync dashboard --apply` does on a real instance.
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	gssink "github.com/hazardsync/hazardsync/adapter/sinks/geosight"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered type.
const Kind = config.EmbeddedKind

// User is the account the embedded GeoSight knows.
const User = "demo@hazardsync.local"

// ProjectSlug is the slug of the project the embedded GeoSight serves.
const ProjectSlug = "hazardsync"

// editorLogin is the project-editor login the embedded GeoSight knows.
const editorLogin = "hazardsync-demo"

// PersistFile is the fake's file in the state dir.
const PersistFile = "embedded-geosight.json"

// Config is the sink's section: the geosight: section's keys (url is
// embedded; the dataset UUID names the fake's reference dataset).
type Config struct {
	config.GeoSight `mapstructure:",squash"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	g := *config.DefaultGeoSight()
	g.URL = config.EmbeddedURL
	return &Config{GeoSight: g}
}

// Validate checks the section.
func (c *Config) Validate() error {
	if c.URL != config.EmbeddedURL {
		return errors.Join(indicators.FieldError{Field: "url", Message: fmt.Sprintf("must be %q for the embedded GeoSight, got %q", config.EmbeddedURL, c.URL)},
			c.GeoSight.Validate())
	}
	return c.GeoSight.Validate()
}

// SetGeoSight makes this the config of the sink the geosight: section
// configures.
func (c *Config) SetGeoSight(g config.GeoSight) { c.GeoSight = g }

func init() {
	adapter.RegisterSink(Kind, "the embedded GeoSight fake (the demo): values browsable in-process, no account needed",
		NewConfig, func(c *Config, env adapter.SinkEnv) (adapter.Sink, error) { return New(c.GeoSight, env) })
}

// Sink is the embedded GeoSight and the geosight sink delivering into it.
type Sink struct {
	*gssink.Sink
	fake     *fake.Server
	url      string
	password string
	log      *slog.Logger

	mu     sync.Mutex
	defs   []indicators.Definition
	editor *project.Editor
}

var (
	_ adapter.Sink          = (*Sink)(nil)
	_ adapter.FootprintSink = (*Sink)(nil)
	_ adapter.Closer        = (*Sink)(nil)
)

// New starts the fake with env.Areas and builds the sink delivering into it.
func New(g config.GeoSight, env adapter.SinkEnv) (*Sink, error) {
	log := env.Logger
	if log == nil {
		log = slog.Default()
	}
	if env.Name != config.GeoSightSink {
		return nil, fmt.Errorf("the embedded GeoSight is the geosight: section's (url: %s); it cannot be sink %s", config.EmbeddedURL, env.Name)
	}
	if len(env.Areas) == 0 {
		return nil, errors.New("the embedded GeoSight needs the areas of geographies.files")
	}
	key, err := randomHex(32)
	if err != nil {
		return nil, err
	}
	persist := ""
	if env.StateDir != "" {
		persist = filepath.Join(env.StateDir, PersistFile)
	}
	f := fake.New(fake.Options{
		Users:       []fake.User{{Key: key, Email: User, Role: fake.Creator}},
		Datasets:    []fake.Dataset{{UUID: g.Dataset, Name: "hazardsync embedded dataset", Areas: env.Areas}},
		PersistPath: persist,
		Logger:      log.With("component", "embedded-geosight"),
	})
	u := f.Start()
	pw, err := randomHex(16)
	if err != nil {
		f.Close()
		return nil, err
	}
	f.AddEditorLogin(editorLogin, pw, User)
	g.URL, g.APIKey, g.User = u, config.Secret(key), User
	inner, err := gssink.New(env.Name, g, env.State, log)
	if err != nil {
		f.Close()
		return nil, err
	}
	log.Info("embedded GeoSight started", "url", u)
	return &Sink{Sink: inner, fake: f, url: u, password: pw, log: log}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// URL is the fake's base URL.
func (s *Sink) URL() string { return s.url }

// Fake is the embedded GeoSight fake.
func (s *Sink) Fake() *fake.Server { return s.fake }

// ProjectURL is where the embedded GeoSight serves its project's data.
func (s *Sink) ProjectURL() string { return s.url + "/api/dashboard/" + ProjectSlug + "/data" }

// Close stops the fake.
func (s *Sink) Close() { s.fake.Close() }

// Ensure implements adapter.Sink and remembers the definitions the project
// shows.
func (s *Sink) Ensure(ctx context.Context, defs []indicators.Definition) error {
	s.mu.Lock()
	s.defs = defs
	s.mu.Unlock()
	return s.Sink.Ensure(ctx, defs)
}

// Write implements adapter.Sink, then keeps the project.
func (s *Sink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	err := s.Sink.Write(ctx, vals, ack)
	s.keepProject()
	return err
}

// keepProject creates or updates the embedded GeoSight's project after a
// delivery (the indicators and footprint layers it shows exist only once
// delivered); a failure is logged, never fatal: the project is a view.
func (s *Sink) keepProject() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := config.Config{GeoSight: s.Config(), Indicators: s.defs}
	spec, err := project.Resolve(ctx, s.Client(), cfg, project.DefaultSettings())
	if err != nil {
		s.log.Debug("embedded GeoSight project not built yet", "err", err)
		return
	}
	if s.editor == nil {
		e, err := project.NewEditor(s.url, 10*time.Second, s.log)
		if err == nil {
			err = e.Login(ctx, editorLogin, s.password)
		}
		if err != nil {
			s.log.Warn("embedded GeoSight project editor login failed", "err", err)
			return
		}
		s.editor = e
	}
	out, err := project.Apply(ctx, s.editor, spec)
	if err != nil {
		s.log.Warn("embedded GeoSight project not saved", "err", err)
		return
	}
	if out != project.Unchanged {
		s.log.Info("embedded GeoSight project "+string(out), "slug", spec.Slug, "url", s.ProjectURL())
	}
}
