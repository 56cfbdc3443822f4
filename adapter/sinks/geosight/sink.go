// Package geosight is the GeoSight-OS sink: it delivers values through
// adapter/geosight.Client (the client library stays there: the areas
// loader, the dashboard command and the pull feed use it too), publishes
// the hazard footprints as context layers when configured, and keeps the
// client's memory (footprint-layer hashes, indicator records) in the
// sink's own state so a restart or a rebuilt client uploads nothing twice.
package geosight

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hazardsync/hazardsync/adapter"
	gs "github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered type.
const Kind = config.GeoSightKind

// Config is the sink's section: the same keys as the geosight: section.
type Config struct {
	config.GeoSight `mapstructure:",squash"`
}

// NewConfig returns the defaults (those of the geosight: section).
func NewConfig() *Config { return &Config{GeoSight: *config.DefaultGeoSight()} }

// Validate checks the section.
func (c *Config) Validate() error { return c.GeoSight.Validate() }

// SetGeoSight makes this the config of the sink the geosight: section
// configures.
func (c *Config) SetGeoSight(g config.GeoSight) { c.GeoSight = g }

func init() {
	adapter.RegisterSink(Kind, "GeoSight-OS: indicator values over its REST API, footprints as context layers",
		NewConfig, func(c *Config, env adapter.SinkEnv) (adapter.Sink, error) {
			g := c.GeoSight
			if err := g.ResolveAPIKey(env.BaseDir); err != nil {
				return nil, fmt.Errorf("api_key_file: %w", err)
			}
			return New(env.Name, g, env.State, env.Logger)
		})
}

// Keys of the sink's state.
const (
	footprintHashesKey  = "footprint-hashes"
	indicatorRecordsKey = "indicator-records"
)

// Sink delivers to one GeoSight instance.
type Sink struct {
	name   string
	client *gs.Client
	cfg    config.GeoSight
	state  adapter.SinkState
	log    *slog.Logger
}

var (
	_ adapter.Sink          = (*Sink)(nil)
	_ adapter.FootprintSink = (*Sink)(nil)
)

// New builds the sink: a client for cfg, primed with what state kept
// (state may be nil: nothing is remembered).
func New(name string, cfg config.GeoSight, state adapter.SinkState, log *slog.Logger) (*Sink, error) {
	if log == nil {
		log = slog.Default()
	}
	c, err := gs.NewClient(cfg, log)
	if err != nil {
		return nil, err
	}
	c.SetName(name)
	s := &Sink{name: name, client: c, cfg: cfg, state: state, log: log}
	if state != nil {
		// Footprint layers unchanged since the last upload are not uploaded
		// again, across restarts and client rebuilds too.
		var hashes map[string]string
		if found, err := state.GetJSON(footprintHashesKey, &hashes); err != nil {
			log.Warn("reading footprint layer hashes failed", "err", err)
		} else if found {
			c.SetFootprintHashes(hashes)
		}
		// GeoSight never returns some indicator fields (unit): what was last
		// sent is kept so a restart does not PATCH every indicator again.
		var records map[string]string
		if found, err := state.GetJSON(indicatorRecordsKey, &records); err != nil {
			log.Warn("reading indicator records failed", "err", err)
		} else if found {
			c.SetIndicatorRecords(records)
		}
	}
	return s, nil
}

// Name implements adapter.Sink: the instance name.
func (s *Sink) Name() string { return s.name }

// Client is the GeoSight client the sink delivers with.
func (s *Sink) Client() *gs.Client { return s.client }

// Config is the section the sink was built from.
func (s *Sink) Config() config.GeoSight { return s.cfg }

// Ensure implements adapter.Sink and remembers what was sent.
func (s *Sink) Ensure(ctx context.Context, defs []indicators.Definition) error {
	err := s.client.Ensure(ctx, defs)
	s.save(indicatorRecordsKey, "indicator records", s.client.IndicatorRecords())
	return err
}

// Write implements adapter.Sink.
func (s *Sink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	return s.client.Write(ctx, vals, ack)
}

// PublishFootprints publishes the context layers (and the events table)
// when context_layers.enabled is set; otherwise it does nothing.
func (s *Sink) PublishFootprints(ctx context.Context, events []indicators.Event) error {
	if !s.cfg.ContextLayers.Enabled {
		return nil
	}
	err := s.client.PublishFootprints(ctx, events)
	s.save(footprintHashesKey, "footprint layer hashes", s.client.FootprintHashes())
	return err
}

func (s *Sink) save(key, what string, v map[string]string) {
	if s.state == nil {
		return
	}
	if err := s.state.PutJSON(key, v); err != nil {
		s.log.Warn("saving "+what+" failed", "err", err)
	}
}
