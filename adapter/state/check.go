package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// CorruptError is a damaged database file. bbolt trusts its pages and
// panics (or faults on the memory map) when they are wrong; every way into
// the file goes through guarded calls that turn that into this error, so a
// damaged file stops the daemon with instructions instead of a stack trace
// and a restart loop.
type CorruptError struct {
	Path string
	// Problem says what is wrong, in bbolt's words where it has any.
	Problem string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state: %s is damaged: %s. To recover: stop hazardsync; "+
		"`hazardsync state check` shows what is wrong; `hazardsync state backup` copies what is still readable "+
		"into a new file; then either put that copy in place of %s or move the damaged file aside "+
		"(mv %s %s.damaged) and start fresh (everything is sent again once; GeoSight's upsert keeps that safe)",
		e.Path, e.Problem, e.Path, e.Path, e.Path)
}

// IsCorrupt reports whether err comes from a damaged database file.
func IsCorrupt(err error) bool {
	var ce *CorruptError
	return errors.As(err, &ce)
}

// guardedDB is the bbolt handle with the same View/Update the store uses,
// each turning a panic or a memory fault inside bbolt into a CorruptError.
// Code in this package keeps calling s.db.View/s.db.Update and is guarded
// without knowing it.
type guardedDB struct {
	*bolt.DB
	path string
}

// View runs fn in a read transaction, guarded.
func (g guardedDB) View(fn func(*bolt.Tx) error) (err error) {
	defer g.judge(&err)
	return guardedView(g.DB, g.path, fn)
}

// guardedView is View with the guard alone (verify uses it: judging its
// own panics would recurse).
func guardedView(db *bolt.DB, path string, fn func(*bolt.Tx) error) (err error) {
	defer guard(path, &err)()
	return db.View(fn)
}

// Update runs fn in a write transaction, guarded. bbolt rolls the
// transaction back on the way out of a panic, so the locks are released
// before we recover.
func (g guardedDB) Update(fn func(*bolt.Tx) error) (err error) {
	defer g.judge(&err)
	defer guard(g.path, &err)()
	return g.DB.Update(fn)
}

// judge checks the file after a recovered panic: damage found confirms the
// CorruptError (with what is wrong); a file that checks out means the panic
// was a bug, and saying "damaged" would send the operator to the wrong fix.
func (g guardedDB) judge(err *error) {
	var ce *CorruptError
	if !errors.As(*err, &ce) {
		return
	}
	if problems := verify(g.DB, g.path); len(problems) > 0 {
		*err = &CorruptError{Path: g.path, Problem: strings.Join(problems, "; ")}
		return
	}
	*err = fmt.Errorf("state: internal error in the state store (%s checks out, so this is a bug: please report it): %s", g.path, ce.Problem)
}

// guard makes memory faults on this goroutine panics (bbolt reads pages
// straight from the memory map: a truncated file faults instead of
// erroring) and returns the deferred half that recovers them.
func guard(path string, err *error) func() {
	old := debug.SetPanicOnFault(true)
	return func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			*err = &CorruptError{Path: path, Problem: fmt.Sprintf("reading it failed inside bbolt (%v)", p)}
		}
	}
}

// openBolt opens the file, with the same guard: bbolt reads the meta pages
// and the freelist while opening.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	// Walk the pages before bbolt sees the file: a panic inside bolt.Open
	// would leave the file locked by this process.
	if _, serr := os.Stat(path); serr == nil {
		if problems := walkPages(path); len(problems) > 0 && !lockedByOther(path) {
			return nil, &CorruptError{Path: path, Problem: strings.Join(problems, "; ")}
		}
	}
	defer guard(path, &err)()
	db, err = bolt.Open(path, 0o600, o)
	if err != nil && isFormatErr(err) {
		return nil, &CorruptError{Path: path, Problem: err.Error()}
	}
	return db, err
}

// isFormatErr tells bbolt's "this is not a (valid) bbolt file" errors from
// I/O and locking errors.
func isFormatErr(err error) bool {
	switch {
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return true
	}
	// Short files fail with unexported errors ("file size too small").
	return strings.Contains(err.Error(), "file size too small")
}

// maxCheckErrors bounds the problems reported: one is enough to refuse the
// file, a few help to judge how bad it is.
const maxCheckErrors = 5

// verify checks the whole file: our page walk first (it proves every
// offset bbolt will follow stays inside the file, as a fault in bbolt's
// checker goroutine would kill the process), then every key and value read
// on this guarded goroutine, then bbolt's Check for the rest (unreachable
// and doubly used pages, key order).
func verify(db *bolt.DB, path string) []string {
	// The page walk reads the file, not the map, and must pass before bbolt
	// follows any pointer on its checker goroutine.
	if problems := walkPages(path); len(problems) > 0 {
		return problems
	}
	var problems []string
	err := guardedView(db, path, func(tx *bolt.Tx) error {
		if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walkBucket(b) }); err != nil {
			return err
		}
		for err := range tx.Check() {
			if len(problems) < maxCheckErrors {
				problems = append(problems, err.Error())
			}
		}
		return nil
	})
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			err = errors.New(ce.Problem)
		}
		problems = append(problems, err.Error())
	}
	return problems
}

// walkBucket touches every key and value under b.
func walkBucket(b *bolt.Bucket) error {
	var sum byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				if err := walkBucket(sub); err != nil {
					return err
				}
			}
			continue
		}
		for _, x := range k {
			sum ^= x
		}
		for _, x := range v {
			sum ^= x
		}
	}
	_ = sum
	return nil
}

// checkOpen refuses a damaged file at open with every problem found.
func checkOpen(db *bolt.DB, path string) error {
	if problems := verify(db, path); len(problems) > 0 {
		return &CorruptError{Path: path, Problem: strings.Join(problems, "; ")}
	}
	return nil
}

// Check opens the state database in dir and reports what is wrong with it
// (no problems: healthy). It takes the file's lock like the daemon does
// (opening read-only would leave bbolt's freelist to be read in its checker
// goroutine, unguarded), so it waits for a running daemon up to
// opts.LockTimeout; it writes nothing.
func Check(dir string, opts ...Options) (problems []string, err error) {
	o := optionsOf(opts)
	path := dirPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	db, err := openBolt(path, &bolt.Options{Timeout: o.LockTimeout})
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			return []string{ce.Problem}, nil
		}
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, lockedErr(dir, path, o.LockTimeout)
		}
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	defer db.Close()
	return verify(db, path), nil
}

func dirPath(dir string) string { return filepath.Join(dir, FileName) }

func lockedErr(dir, path string, wait time.Duration) error {
	return fmt.Errorf("state dir %s is in use by another hazardsync process (could not lock %s within %s): %w", dir, path, wait, ErrLocked)
}
