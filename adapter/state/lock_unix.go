//go:build unix

package state

import (
	"os"
	"syscall"
)

// lockedByOther reports whether another process holds bbolt's lock on the
// file, without waiting: a page walk that races a live writer can see torn
// pages, and that is not damage.
func lockedByOther(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
