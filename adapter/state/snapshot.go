package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// OpenSnapshot opens a private copy of the state in dir, for `once
// --dry-run`: the run reads the real cursors, events, ledger and delivery
// history, and whatever it writes goes to the copy, which Close deletes. The
// state dir is left byte-identical (it is not even created when missing).
// The copy is taken inside a read-only transaction, so it is consistent.
func OpenSnapshot(dir string, opts ...Options) (*Store, error) {
	o := optionsOf(opts)
	if dir == "" {
		return nil, errors.New("state: no state dir given")
	}
	tmp, err := os.MkdirTemp("", "hazardsync-dry-run-")
	if err != nil {
		return nil, fmt.Errorf("state: dry-run copy: %w", err)
	}
	fail := func(err error) (*Store, error) {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	src := filepath.Join(dir, FileName)
	switch _, err := os.Stat(src); {
	case err == nil:
		if err := copyDB(src, filepath.Join(tmp, FileName), o); err != nil {
			return fail(err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fail(fmt.Errorf("state: %w", err))
	}
	o.NoSync = true // the copy is thrown away
	s, err := Open(tmp, o)
	if err != nil {
		return fail(err)
	}
	s.scratch = tmp
	return s, nil
}

func copyDB(src, dst string, o Options) error {
	db, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: o.LockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return fmt.Errorf("state dir %s is in use by another hazardsync process (could not lock %s within %s)", filepath.Dir(src), src, o.LockTimeout)
		}
		return fmt.Errorf("state: open %s read-only: %w", src, err)
	}
	defer db.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("state: dry-run copy: %w", err)
	}
	err = db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(f); return err })
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("state: copying %s for the dry run: %w", src, err)
	}
	return nil
}
