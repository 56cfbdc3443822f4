//go:build unix

package state

import (
	"bytes"
	"os"
	"syscall"
)

// mappedFile is a precompute file mapped read-only (grid.MappedEntry): the
// engine reads its arrays in place. Reads through it serve the same bytes.
type mappedFile struct {
	*bytes.Reader
	f *os.File
	b []byte
}

func (m *mappedFile) Bytes() []byte { return m.b }

func (m *mappedFile) Close() error {
	err := syscall.Munmap(m.b)
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mapFile maps f's size bytes; ok is false when it cannot (the caller then
// reads the file).
func mapFile(f *os.File, size int64) (*mappedFile, bool) {
	if size <= 0 || int64(int(size)) != size {
		return nil, false
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return &mappedFile{Reader: bytes.NewReader(b), f: f, b: b}, true
}
