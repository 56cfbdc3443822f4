package daemon

import (
	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/status"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

// provider feeds the status server from the daemon and its runner.
type provider struct{ d *Daemon }

var (
	_ status.Provider       = provider{}
	_ status.EventsProvider = provider{}
)

func (p provider) SourceHealth() []adapter.SourceHealth { return p.d.Runner.SourceHealth() }
func (p provider) Delivery() adapter.DeliveryHealth     { return p.d.Runner.Delivery() }
func (p provider) LastRun() adapter.RunSummary          { return p.d.Runner.LastRun() }
func (p provider) Areas() []indicators.Area             { return p.d.Runner.Areas() }
func (p provider) Indicators() []indicators.Definition  { return p.d.Runner.Indicators() }
func (p provider) CurrentValues() []indicators.Value    { return p.d.Runner.CurrentValues() }
func (p provider) Warnings() []adapter.Warning          { return p.d.Runner.Warnings() }
func (p provider) ActiveEvents() []indicators.Event     { return p.d.Runner.ActiveEvents() }
func (p provider) Reload() adapter.ReloadState          { return p.d.ReloadState() }
func (p provider) Info() status.Info {
	cfg := p.d.Runner.Config()
	info := status.Info{
		Version: adapter.Version, Started: p.d.started, ConfigPath: p.d.opts.ConfigPath, StateDir: cfg.StateDir,
		GeoSightURL: cfg.GeoSight.URL, DryRun: p.d.opts.DryRun, Embedded: p.d.EmbeddedURL() != "", EmbeddedURL: p.d.EmbeddedURL(),
		ProjectURL: p.d.ProjectURL(),
	}
	p.d.mu.RLock()
	g, ok := p.d.setup.Exposure.(*grid.Engine)
	p.d.mu.RUnlock()
	if ok {
		share := g.AreaCoverage().Share
		info.GridCoverage = &share
	}
	return info
}
