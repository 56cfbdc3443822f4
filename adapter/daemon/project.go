package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/hazardsync/hazardsync/adapter/geosight/project"
)

// embeddedEditor is the project-editor login the embedded GeoSight knows.
const embeddedEditor = "hazardsync-demo"

// ProjectSlug is the slug of the project the embedded GeoSight serves.
const ProjectSlug = "hazardsync"

// enableEmbeddedEditor gives the embedded GeoSight an editor login, so the
// daemon builds the demo's project the way `hazardsync dashboard --apply`
// does on a real instance.
func (d *Daemon) enableEmbeddedEditor() {
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	d.editorPassword = hex.EncodeToString(pw)
	d.fake.AddEditorLogin(embeddedEditor, d.editorPassword, EmbeddedUser)
}

// keepEmbeddedProject creates or updates the embedded GeoSight's project
// after a delivery (the indicators and footprint layers it shows exist only
// once delivered); a failure is logged, never fatal: the project is a view.
func (d *Daemon) keepEmbeddedProject() {
	if d.fake == nil || d.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec, err := project.Resolve(ctx, d.client, d.Runner.Config(), project.DefaultSettings())
	if err != nil {
		d.log.Debug("embedded GeoSight project not built yet", "err", err)
		return
	}
	if d.editor == nil {
		e, err := project.NewEditor(d.fakeURL, 10*time.Second, d.log)
		if err == nil {
			err = e.Login(ctx, embeddedEditor, d.editorPassword)
		}
		if err != nil {
			d.log.Warn("embedded GeoSight project editor login failed", "err", err)
			return
		}
		d.editor = e
	}
	out, err := project.Apply(ctx, d.editor, spec)
	if err != nil {
		d.log.Warn("embedded GeoSight project not saved", "err", err)
		return
	}
	if out != project.Unchanged {
		d.log.Info("embedded GeoSight project "+string(out), "slug", spec.Slug, "url", d.ProjectURL())
	}
}

// ProjectURL is where the embedded GeoSight serves its project's data ("" when not embedded).
func (d *Daemon) ProjectURL() string {
	if d.fakeURL == "" {
		return ""
	}
	return d.fakeURL + "/api/dashboard/" + ProjectSlug + "/data"
}
