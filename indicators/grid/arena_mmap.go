//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package grid

import "syscall"

func mapAnonymous(size int) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err == nil {
		adviseHugePages(b)
	}
	return b, err
}

func unmapAnonymous(b []byte) { syscall.Munmap(b) }
