//go:build unix

package state

import (
	"os"

	"golang.org/x/sys/unix"
)

// identityOf is f's identity (DigestMemo); ok is false when it cannot be
// read.
func identityOf(f *os.File) (fileIdentity, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileIdentity{}, false
	}
	return fileIdentity{Dev: uint64(st.Dev), Ino: uint64(st.Ino), Size: st.Size,
		MtimeNs: st.Mtim.Nano(), CtimeNs: st.Ctim.Nano()}, true
}
