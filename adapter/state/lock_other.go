//go:build !unix

package state

// lockedByOther cannot tell on this platform; bbolt's own lock timeout
// still applies.
func lockedByOther(string) bool { return false }
