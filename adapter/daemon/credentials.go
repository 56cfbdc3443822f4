package daemon

import (
	"context"
	"reflect"
	"sync/atomic"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// swapSink lets a reload replace the GeoSight client (a rotated API key,
// another user or new limits) while the runner keeps one Sink value; a
// delivery already under way finishes with the client it started with.
type swapSink struct {
	cur atomic.Pointer[geosight.Client]
	cfg atomic.Pointer[config.GeoSight]
}

var (
	_ adapter.Sink          = (*swapSink)(nil)
	_ adapter.FootprintSink = (*swapSink)(nil)
)

func (s *swapSink) Name() string { return s.cur.Load().Name() }
func (s *swapSink) Ensure(ctx context.Context, defs []indicators.Definition) error {
	return s.cur.Load().Ensure(ctx, defs)
}
func (s *swapSink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	return s.cur.Load().Write(ctx, vals, ack)
}
func (s *swapSink) PublishFootprints(ctx context.Context, events []indicators.Event) error {
	return s.cur.Load().PublishFootprints(ctx, events)
}

// swappableSink wraps the runner's GeoSight client once, before the daemon
// loop starts any goroutine.
func (d *Daemon) swappableSink() {
	c, ok := d.Runner.Sink.(*geosight.Client)
	if !ok {
		return
	}
	s := &swapSink{}
	s.cur.Store(c)
	g := d.Runner.Config().GeoSight
	s.cfg.Store(&g)
	d.Runner.Sink = s
}

// refreshCredentials rebuilds the GeoSight client when a reload changed its
// settings — above all a rotated API key (re-read from geosight.api_key_file
// on every reload). The embedded fake's credentials never change.
func (d *Daemon) refreshCredentials() {
	s, ok := d.Runner.Sink.(*swapSink)
	if !ok || d.fake != nil {
		return
	}
	g := d.Runner.Config().GeoSight
	if old := s.cfg.Load(); old != nil && sameClientConfig(*old, g) {
		return
	}
	c, err := geosight.NewClient(g, d.log)
	if err != nil {
		d.log.Error("GeoSight settings changed but the new client cannot be built; keeping the previous one", "err", err)
		return
	}
	c.SetFootprintHashes(s.cur.Load().FootprintHashes())
	c.SetIndicatorRecords(s.cur.Load().IndicatorRecords())
	s.cur.Store(c)
	s.cfg.Store(&g)
	d.mu.Lock()
	d.client = c
	d.mu.Unlock()
	d.log.Info("GeoSight client rebuilt: the reloaded geosight section differs")
}

// sameClientConfig compares the whole geosight section: a client is built
// from all of it, so any field that differs (context-layer hazard types,
// events table, a field added later) must rebuild it. Hand-picked fields
// once missed context_layers.hazard_types.
func sameClientConfig(a, b config.GeoSight) bool {
	return reflect.DeepEqual(a, b)
}
