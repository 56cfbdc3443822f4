package state

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The memo's file in the state dir is DigestMemoFile, kept by a FileCache
// keyed by the memo's format version (another build's format is simply
// not found, and replaced at the next Save).
const (
	digestMemoPrefix  = "input-digests-v"
	digestMemoVersion = "1"
	DigestMemoFile    = digestMemoPrefix + digestMemoVersion + ".json"
)

func digestMemoCache(dir string, readOnly bool) FileCache {
	return FileCache{Dir: dir, ReadOnly: readOnly, Prefix: digestMemoPrefix, Ext: ".json"}
}

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
// The memo lives in the state dir (input-digests-v1.json). ReadOnly (a dry
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

// OpenDigestMemo reads the memo in dir. err reports a memo it could not use
// (it is then empty): a warning, never a reason not to start.
func OpenDigestMemo(dir string, readOnly bool) (*DigestMemo, error) {
	m := &DigestMemo{Dir: dir, ReadOnly: readOnly, now: time.Now, old: map[string]memoEntry{}, used: map[string]memoEntry{}}
	r, _, found, err := digestMemoCache(dir, true).Load(digestMemoVersion)
	if err == nil && found {
		defer r.Close()
		var b []byte
		if b, err = io.ReadAll(r); err == nil {
			err = json.Unmarshal(b, &m.old)
		}
	}
	if err != nil {
		m.old, m.changed = map[string]memoEntry{}, true // rewritten at Save
		return m, fmt.Errorf("digest memo %s: %w (ignored)", filepath.Join(dir, DigestMemoFile), err)
	}
	if m.old == nil { // the file said null
		m.old, m.changed = map[string]memoEntry{}, true
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
	b, err := json.MarshalIndent(m.used, "", "  ")
	if err != nil {
		return err
	}
	if err := digestMemoCache(m.Dir, false).Store(digestMemoVersion, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return err
	}
	m.old, m.used, m.changed = m.used, map[string]memoEntry{}, false
	for k, e := range m.old {
		m.used[k] = e
	}
	return nil
}
