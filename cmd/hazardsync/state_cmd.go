package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/hazardsync/hazardsync/adapter/state"
)

// stateCmd holds state-dir maintenance: backup (and its check).
func stateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "state", Short: "State directory maintenance"}
	var out string
	var wait time.Duration
	backup := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent copy of the state database (cursors, events, outbox, delivery history)",
		Long: `Write a consistent copy of the state database to --out (default
hazardsync-state-<UTC time>.db in the current directory). The copy is itself a
state database: to restore, stop hazardsync and put it in place as
<state_dir>/hazardsync.db.

The database is locked by a running daemon: stop it first (systemctl stop
hazardsync), or the command gives up after --wait.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			st, err := state.Open(cfg.StateDir, state.Options{LockTimeout: wait})
			if err != nil {
				return &exitError{exitFailed, err}
			}
			defer st.Close()
			if out == "" {
				out = "hazardsync-state-" + time.Now().UTC().Format("20060102T150405Z") + ".db"
			}
			tmp := out + ".part"
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			n, err := st.Backup(f)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp, out)
			}
			if err != nil {
				_ = os.Remove(tmp)
				return &exitError{exitFailed, err}
			}
			// Prove the copy opens before calling it a backup.
			dir, err := os.MkdirTemp("", "hazardsync-backup-check")
			if err != nil {
				return &exitError{exitFailed, err}
			}
			defer os.RemoveAll(dir)
			if err := copyFile(out, filepath.Join(dir, state.FileName)); err != nil {
				return &exitError{exitFailed, err}
			}
			chk, err := state.Open(dir, state.Options{LockTimeout: time.Second})
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("the backup %s does not open: %w", out, err)}
			}
			pending, err := chk.Pending()
			_ = chk.Close()
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("the backup %s is unreadable: %w", out, err)}
			}
			fmt.Fprintf(g.stdout, "wrote %s (%d bytes, %d values pending delivery)\n", out, n, len(pending))
			return nil
		},
	}
	backup.Flags().StringVarP(&out, "out", "o", "", "backup file to write")
	backup.Flags().DurationVar(&wait, "wait", 5*time.Second, "how long to wait for a running daemon to release the state")
	c.AddCommand(backup)
	return c
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}
