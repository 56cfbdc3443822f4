package daemon

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/hazardsync/hazardsync/adapter/runner"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/adapter/status"
	"github.com/hazardsync/hazardsync/indicators/grid"
)

// WritePreview writes what a dry run would send: a standalone map, GeoJSON
// and CSV, into dir. The areas' geometry comes spelled from the state dir
// when a start that was not a dry run kept it (keepAreaGeometry).
func (d *Daemon) WritePreview(dir string, res runner.SyncResult) ([]string, error) {
	areas := d.Runner.Areas()
	geom, done, err := d.loadAreaGeometry(len(areas))
	if err != nil {
		d.log.Warn("spelled area geometry unusable: the preview spells it", "err", err)
		geom = nil
	}
	defer done()
	if geom != nil {
		d.log.Debug("preview: area geometry from the state dir", "areas", geom.Len())
	}
	return status.WriteDryRunWith(dir, areas, geom, d.Runner.Indicators(), res.Current, res.Changed)
}

// areaGeometryKey names the areas' spelled geometry in the state dir: the
// area set and the spelling's version.
func (d *Daemon) areaGeometryKey() (string, bool) {
	k, ok := d.Runner.AreaSetKey()
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s-v%d", hex.EncodeToString(k[:12]), status.AreaGeometryVersion), true
}

// keepAreaGeometry spells the areas' geometry for later previews unless the
// state dir has it (a start that is not a dry run: once per area set).
func (d *Daemon) keepAreaGeometry(stateDir string) error {
	key, ok := d.areaGeometryKey()
	if !ok {
		return nil
	}
	c := state.NewAreaGeometryCache(stateDir, false)
	if r, _, found, err := c.Load(key); err == nil && found {
		return r.Close()
	}
	t0 := time.Now()
	g, err := status.EncodeAreaGeometry(d.Runner.Areas())
	if err != nil {
		return err
	}
	b := g.Encode()
	if err := c.Store(key, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	d.log.Info("area geometry spelled for previews", "bytes", len(b), "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// loadAreaGeometry reads the spelled geometry of n areas, nil when the
// state dir has none; done releases it (a mapped file is used in place).
func (d *Daemon) loadAreaGeometry(n int) (g *status.AreaGeometry, done func(), err error) {
	done = func() {}
	key, ok := d.areaGeometryKey()
	if !ok {
		return nil, done, nil
	}
	r, _, found, err := state.NewAreaGeometryCache(d.Runner.Config().StateDir, true).Load(key)
	if err != nil || !found {
		return nil, done, err
	}
	b, err := grid.EntryBytes(r)
	if err == nil {
		g, err = status.DecodeAreaGeometry(b, n)
	}
	if err != nil {
		r.Close()
		return nil, done, err
	}
	return g, func() { r.Close() }, nil
}
