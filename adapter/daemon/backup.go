package daemon

import (
	"fmt"
	"net/http"
	"time"
)

// BackupPath serves a consistent copy of the state database while the
// daemon runs: bbolt copies it inside a read transaction, and the daemon
// holds the file's lock, so `hazardsync state backup` asks it here instead
// of opening the file (behind http.token_file like the status page).
const BackupPath = "GET /api/state/backup"

func (d *Daemon) backupHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hazardsync-state-%s.db"`,
			time.Now().UTC().Format("20060102T150405Z")))
		if _, err := d.Store.Backup(w); err != nil {
			// Headers are gone once bytes are: the client sees a short body
			// and its check of the copy fails.
			d.log.Error("state backup over HTTP failed", "err", err)
		}
	})
}
