package grid

import "syscall"

// adviseHugePages asks Linux to back a big mapping with transparent huge
// pages (2 MiB) where it allows them on request ("madvise" mode, Debian's
// default): loading the precompute then takes 512× fewer page faults, and
// the sweeps' scattered reads across ~1 GB miss the TLB less. Only advice:
// refused or unsupported, the mapping works as before.
func adviseHugePages(b []byte) {
	if len(b) >= 4<<20 {
		_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	}
}
