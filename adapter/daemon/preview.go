package daemon

import (
	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/status"
)

// WritePreview writes what a dry run would send: a standalone map, GeoJSON
// and CSV, into dir.
func (d *Daemon) WritePreview(dir string, res runner.SyncResult) ([]string, error) {
	return status.WriteDryRun(dir, d.Runner.Areas(), d.Runner.Indicators(), res.Current, res.Changed)
}
