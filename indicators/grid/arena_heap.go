//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package grid

import "errors"

// Without anonymous mappings the precompute lives on the Go heap.
func mapAnonymous(int) ([]byte, error) {
	return nil, errors.New("no anonymous mappings on this platform")
}

func unmapAnonymous([]byte) {}
