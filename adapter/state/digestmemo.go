package state

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DigestMemoFile is the digest memo's file in the state dir.
const DigestMemoFile = "input-digests.json"

// settle is how long a file must have been left alone before its digest is
// remembered: a write within the file system's timestamp granularity of
// the moment it was hashed could otherwise leave its identity unchanged.
const settle = 2 * time.Second

// DigestMemo remembers the digests of big input files (the population
// grids, 630 MB at country scale: 0.27 CPU-s to hash at every start) by
// their identity: device, inode, size, modification and status-change
// times, as git's index and make do. Any write to a file changes its
// status-change time, which no one can set back, and a file replaced by a
// rename is another inode, so a file whose identity is unchanged has the
// bytes it had when it was hashed. Files changed less than 2 s before they
// were hashed are not remembered (a write within the clock's granularity
// could go unseen). Where the platform has no such identity (not Unix) the
// memo remembers nothing and every file is hashed.
//
// The memo lives in the state dir (input-digests.json). ReadOnly (a dry
// run) reads it and never writes it; Save keeps only the files looked up
// since it was opened. A damaged memo is ignored, and replaced at the next
// Save. To force a re-hash, delete the file.
type DigestMemo struct {
	Dir      string
	ReadOnly bool
	now      func() time.Time // the clock (tests move it)
	old      map[string]memoEntry
	used     map[string]memoEntry
	changed  bool
}

type memoEntry struct {
	Method string       `json:"method"`
	ID     fileIdentity `json:"identity"`
	Digest string       `json:"digest"` // hex
}

// fileIdentity is what a write to the file changes.
type fileIdentity struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	CtimeNs int64  `json:"ctime_ns"`
}

type memoFile struct {
	Version int                  `json:"version"`
	Files   map[string]memoEntry `json:"files"`
}

const memoVersion = 1

// OpenDigestMemo reads the memo in dir. err reports a memo it could not use
// (it is then empty): a warning, never a reason not to start.
func OpenDigestMemo(dir string, readOnly bool) (*DigestMemo, error) {
	m := &DigestMemo{Dir: dir, ReadOnly: readOnly, now: time.Now, old: map[string]memoEntry{}, used: map[string]memoEntry{}}
	p := filepath.Join(dir, DigestMemoFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("digest memo %s: %w", p, err)
	}
	var f memoFile
	if err := json.Unmarshal(b, &f); err != nil {
		m.changed = true // rewritten at Save
		return m, fmt.Errorf("digest memo %s: %w (ignored)", p, err)
	}
	if f.Version != memoVersion {
		m.changed = true
		return m, nil // another build's format: start afresh
	}
	for k, e := range f.Files {
		m.old[k] = e
	}
	return m, nil
}

// Digest returns the digest of the open file f by method (a name that
// changes whenever compute's output does): the remembered one when f's
// identity is the one it was hashed at, else compute's, remembered when f
// was left alone while hashed. remembered says which.
func (m *DigestMemo) Digest(f *os.File, method string, compute func() ([]byte, error)) (digest []byte, remembered bool, err error) {
	key, err := filepath.Abs(f.Name())
	if err != nil {
		key = f.Name()
	}
	before, ok := identityOf(f)
	if e, found := m.old[key]; ok && found && e.Method == method && e.ID == before {
		if d, err := hex.DecodeString(e.Digest); err == nil {
			m.used[key] = e
			return d, true, nil
		}
	}
	hashedAt := m.now()
	d, err := compute()
	if err != nil {
		return nil, false, err
	}
	after, ok2 := identityOf(f)
	if ok && ok2 && before == after && before.settledBy(hashedAt) {
		e := memoEntry{Method: method, ID: after, Digest: hex.EncodeToString(d)}
		m.used[key], m.changed = e, true
	}
	return d, false, nil
}

func (id fileIdentity) settledBy(t time.Time) bool {
	last := max(id.MtimeNs, id.CtimeNs)
	return t.UnixNano()-last >= settle.Nanoseconds()
}

// Save writes the files looked up since the memo was opened (through a
// temporary file renamed into place), when anything changed; never when
// ReadOnly.
func (m *DigestMemo) Save() error {
	if m.ReadOnly || (!m.changed && len(m.used) == len(m.old)) {
		return nil
	}
	b, err := json.MarshalIndent(memoFile{Version: memoVersion, Files: m.used}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(m.Dir, DigestMemoFile+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(m.Dir, DigestMemoFile)); err != nil {
		return err
	}
	m.old, m.used, m.changed = m.used, map[string]memoEntry{}, false
	for k, e := range m.old {
		m.used[k] = e
	}
	return nil
}
