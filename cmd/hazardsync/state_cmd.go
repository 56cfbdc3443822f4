package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hazardsync/hazardsync/adapter/daemon"
	"github.com/hazardsync/hazardsync/adapter/state"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// stateCmd inspects and repairs the state: what was delivered, what is
// pending or rejected and why; check, backup, resend, purge.
//
// Reading commands (list, check, backup) work while the daemon runs: the
// daemon holds bbolt's exclusive lock, so they ask it for a consistent copy
// over its status server (GET /api/state/backup, behind http.token_file)
// and read that. Writing commands (resend, purge) need the daemon stopped:
// two writers on one bbolt file are not possible.
func stateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "state", Short: "Inspect and repair the state: delivered, pending and rejected values; check, backup, resend, purge"}
	var wait time.Duration
	c.PersistentFlags().DurationVar(&wait, "wait", time.Second, "how long to wait for the state's lock before asking a running daemon (or giving up)")
	c.AddCommand(stateBackupCmd(g, &wait), stateCheckCmd(g, &wait), stateListCmd(g, &wait), stateResendCmd(g, &wait), statePurgeCmd(g, &wait))
	return c
}

func stateBackupCmd(g *globals, wait *time.Duration) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent copy of the state database (also while the daemon runs, and of what is readable in a damaged one)",
		Long: `Write a consistent copy of the state database to --out (default
hazardsync-state-<UTC time>.db in the current directory). The copy is itself a
state database: to restore, stop hazardsync and put it in place as
<state_dir>/hazardsync.db.

While the daemon runs it holds the database's lock: the copy is then fetched
from the daemon's status server (http.listen, with http.token_file), which
copies it inside a read transaction. When the database is damaged, every
record still readable is copied into a new, healthy file (a salvage), and
the command says what could not be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if out == "" {
				out = "hazardsync-state-" + time.Now().UTC().Format("20060102T150405Z") + ".db"
			}
			tmp := out + ".part"
			_ = os.Remove(tmp)
			how, err := writeBackup(cfg, tmp, *wait)
			if err == nil {
				err = os.Rename(tmp, out)
			}
			if err != nil {
				_ = os.Remove(tmp)
				return &exitError{exitFailed, err}
			}
			// Prove the copy opens before calling it a backup.
			pending, err := checkCopy(out)
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("the backup %s is not usable: %w", out, err)}
			}
			fi, _ := os.Stat(out)
			first, rest, _ := strings.Cut(how, "\n")
			fmt.Fprintf(g.stdout, "wrote %s (%d bytes, %d values pending delivery; %s)\n", out, fi.Size(), pending, first)
			if rest != "" {
				fmt.Fprintln(g.stdout, rest)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "backup file to write")
	return c
}

// writeBackup writes a copy of the state to path and says how it got it.
func writeBackup(cfg config.Config, path string, wait time.Duration) (string, error) {
	st, err := state.Open(cfg.StateDir, state.Options{LockTimeout: wait})
	switch {
	case err == nil:
		defer st.Close()
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return "", err
		}
		_, err = st.Backup(f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return "copied from " + st.Path(), err
	case errors.Is(err, state.ErrLocked):
		addr, err := fetchFromDaemon(cfg, path)
		if err != nil {
			return "", err
		}
		return "copied by the running daemon at " + addr, nil
	case state.IsCorrupt(err):
		rep, serr := state.Salvage(filepath.Join(cfg.StateDir, state.FileName), path)
		if serr != nil {
			return "", serr
		}
		return "SALVAGED from a damaged file: what was still readable, by bucket:\n" + strings.TrimSpace(rep.String()), nil
	}
	return "", err
}

// fetchFromDaemon downloads the running daemon's copy of the state.
func fetchFromDaemon(cfg config.Config, path string) (string, error) {
	if cfg.HTTP.Listen == "" {
		return "", fmt.Errorf("the state in %s is locked by a running hazardsync and http.listen is empty, so it cannot be asked for a copy: stop it, or enable its status server", cfg.StateDir)
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return "", fmt.Errorf("http.listen %q: %w", cfg.HTTP.Listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, port)
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+strings.TrimPrefix(daemon.BackupPath, "GET "), nil)
	if err != nil {
		return "", err
	}
	if cfg.HTTP.TokenFile != "" {
		b, err := os.ReadFile(cfg.HTTP.TokenFile)
		if err != nil {
			return "", fmt.Errorf("http.token_file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		return "", fmt.Errorf("the state is locked by a running hazardsync, and asking it for a copy at %s failed: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("the running hazardsync at %s refused the backup: %s %s", addr, resp.Status, strings.TrimSpace(string(msg)))
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, resp.Body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return addr, err
}

// checkCopy opens a copy of a state file as a state (which checks it) and
// returns its outbox depth.
func checkCopy(path string) (int, error) {
	st, cleanup, err := openCopy(path)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	names, err := st.Sinks()
	if err != nil {
		return 0, err
	}
	total := 0
	for _, name := range names {
		n, err := st.Sink(name).PendingCount()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// openCopy opens a state file that is not in a state dir, through a
// private temporary one.
func openCopy(path string) (*state.Store, func(), error) {
	dir, err := os.MkdirTemp("", "hazardsync-state-copy")
	if err != nil {
		return nil, nil, err
	}
	if err := copyFile(path, filepath.Join(dir, state.FileName)); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	st, err := state.Open(dir, state.Options{LockTimeout: time.Second})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }, nil
}

// readState opens the state for reading: the file itself, or a copy from
// the running daemon. The returned note says which.
func readState(cfg config.Config, wait time.Duration) (*state.Store, string, func(), error) {
	st, err := state.Open(cfg.StateDir, state.Options{LockTimeout: wait})
	if err == nil {
		return st, "", func() { st.Close() }, nil
	}
	if !errors.Is(err, state.ErrLocked) {
		return nil, "", nil, err
	}
	tmp, err := os.CreateTemp("", "hazardsync-state-*.db")
	if err != nil {
		return nil, "", nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	addr, err := fetchFromDaemon(cfg, tmp.Name())
	if err != nil {
		return nil, "", nil, err
	}
	cp, cleanup, err := openCopy(tmp.Name())
	if err != nil {
		return nil, "", nil, err
	}
	return cp, "a copy from the running daemon at " + addr, cleanup, nil
}

func stateCheckCmd(g *globals, wait *time.Duration) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check the state database for damage (exit 1 when damaged)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			path := filepath.Join(cfg.StateDir, state.FileName)
			problems, err := state.Check(cfg.StateDir, state.Options{LockTimeout: *wait})
			if errors.Is(err, state.ErrLocked) {
				// The daemon has it: check the copy it makes, page for page.
				_, note, cleanup, rerr := readState(cfg, *wait)
				if rerr != nil {
					if state.IsCorrupt(rerr) {
						fmt.Fprintf(g.stdout, "%s (checked through the running daemon's copy):\n  %v\n", path, rerr)
						return &exitError{exitFailed, nil}
					}
					return &exitError{exitFailed, rerr}
				}
				cleanup()
				fmt.Fprintf(g.stdout, "%s: ok (checked %s)\n", path, note)
				return nil
			}
			if err != nil {
				return &exitError{exitFailed, err}
			}
			if len(problems) == 0 {
				fmt.Fprintf(g.stdout, "%s: ok\n", path)
				return nil
			}
			fmt.Fprintf(g.stdout, "%s is damaged:\n", path)
			for _, p := range problems {
				fmt.Fprintf(g.stdout, "  - %s\n", p)
			}
			fmt.Fprintf(g.stdout, "To recover: `hazardsync state backup` copies what is readable into a new file; put it in place of %s,\n"+
				"or move the damaged file aside (mv %s %s.damaged) and start fresh: everything is sent again once.\n", path, path, path)
			return &exitError{exitFailed, nil}
		},
	}
}

type filterFlags struct {
	sink, indicator, area, date, status string
}

func (f *filterFlags) add(c *cobra.Command, withStatus bool) {
	c.Flags().StringVar(&f.sink, "sink", "", "only this sink's records (default: every sink's)")
	c.Flags().StringVar(&f.indicator, "indicator", "", "only this indicator (shortcode)")
	c.Flags().StringVar(&f.area, "area", "", "only this area (ucode)")
	c.Flags().StringVar(&f.date, "date", "", "only this value date (YYYY-MM-DD)")
	if withStatus {
		c.Flags().StringVar(&f.status, "status", "", "only delivered, pending or rejected")
	}
}

func (f *filterFlags) filter() (state.Filter, error) {
	out := state.Filter{Sink: f.sink, Indicator: f.indicator, Code: f.area, Date: indicators.Date(f.date), Status: f.status}
	if f.date != "" && !out.Date.Valid() {
		return out, &exitError{exitInvalid, fmt.Errorf("--date %q is not YYYY-MM-DD", f.date)}
	}
	switch f.status {
	case "", state.StatusDelivered, state.StatusPending, state.StatusRejected:
	default:
		return out, &exitError{exitInvalid, fmt.Errorf("--status %q: want delivered, pending or rejected", f.status)}
	}
	return out, nil
}

func stateListCmd(g *globals, wait *time.Duration) *cobra.Command {
	var ff filterFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List values: delivered (when, and GeoSight's answer), pending, rejected (and why)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			st, note, cleanup, err := readState(cfg, *wait)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			defer cleanup()
			recs, err := st.List(f)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, r := range recs {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			if note != "" {
				fmt.Fprintf(g.stdout, "# read from %s\n", note)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "SINK\tSTATUS\tINDICATOR\tAREA\tDATE\tVALUE\tWHEN\tANSWER")
			counts := map[string]int{}
			for _, r := range recs {
				counts[r.Status]++
				when := ""
				if !r.At.IsZero() {
					when = r.At.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Sink, r.Status, r.Value.Indicator, r.Value.Code, r.Value.Date,
					valueText(r.Value), when, oneLine(r.Answer))
			}
			_ = tw.Flush()
			fmt.Fprintf(g.stdout, "%d delivered, %d pending, %d rejected\n", counts[state.StatusDelivered], counts[state.StatusPending], counts[state.StatusRejected])
			return nil
		},
	}
	ff.add(c, true)
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	return c
}

func valueText(v indicators.Value) string {
	if v.Type == indicators.String {
		return v.Text
	}
	return strconv.FormatFloat(v.Number, 'g', -1, 64)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// changeState runs change on the state opened for writing; a running
// daemon must be stopped first (it holds the lock).
func changeState(g *globals, wait time.Duration, change func(*state.Store) (string, error)) error {
	cfg, err := g.load()
	if err != nil {
		return err
	}
	st, err := state.Open(cfg.StateDir, state.Options{LockTimeout: wait})
	if errors.Is(err, state.ErrLocked) {
		err = fmt.Errorf("%w\nstop the daemon first (systemctl stop hazardsync): this command changes the state", err)
	}
	if err != nil {
		return &exitError{exitFailed, err}
	}
	defer st.Close()
	msg, err := change(st)
	if err != nil {
		return &exitError{exitFailed, err}
	}
	fmt.Fprintln(g.stdout, msg)
	return nil
}

func stateResendCmd(g *globals, wait *time.Duration) *cobra.Command {
	var ff filterFlags
	var all, rejected bool
	c := &cobra.Command{
		Use:   "resend",
		Short: "Queue delivered values again (an indicator, an area, a date, or --all); the next sync sends them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if f == (state.Filter{Sink: f.Sink}) && !all {
				return &exitError{exitInvalid, errors.New("say what to resend: --indicator, --area, --date, or --all for everything")}
			}
			return changeState(g, *wait, func(st *state.Store) (string, error) {
				n, err := st.Resend(f, rejected)
				return fmt.Sprintf("queued %d values; the next sync (or `hazardsync once`) delivers them", n), err
			})
		},
	}
	ff.add(c, false)
	c.Flags().BoolVar(&all, "all", false, "resend every delivered value")
	c.Flags().BoolVar(&rejected, "rejected", false, "also queue rejected values again (after fixing what GeoSight refused)")
	return c
}

func statePurgeCmd(g *globals, wait *time.Duration) *cobra.Command {
	var ff filterFlags
	var rejectedOnly bool
	c := &cobra.Command{
		Use:   "purge",
		Short: "Forget an indicator's or a sink's records (delivered, pending, rejected), or only rejected values (--rejected)",
		Long: `Forget records. --indicator X drops everything the state knows about X
(e.g. after removing it from the config): delivered records, pending values
(they are not sent) and rejections, in every sink or only in --sink S;
--sink S alone forgets everything delivered or queued for S (e.g. after
removing the sink from the config). --rejected drops only rejection records
(all, or those matching --indicator/--area/--date). Forgotten delivered
values are sent again by the next sync if they are still computed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if rejectedOnly {
				f.Status = state.StatusRejected
			} else if f.Indicator == "" && f.Sink == "" {
				return &exitError{exitInvalid, errors.New("say what to purge: --indicator X or --sink S (everything about it) or --rejected")}
			}
			return changeState(g, *wait, func(st *state.Store) (string, error) {
				res, err := st.Purge(f)
				return fmt.Sprintf("purged %d delivered, %d pending, %d rejected", res.Delivered, res.Pending, res.Rejected), err
			})
		},
	}
	ff.add(c, false)
	c.Flags().BoolVar(&rejectedOnly, "rejected", false, "only rejection records")
	return c
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}
