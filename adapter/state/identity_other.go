//go:build !unix

package state

import "os"

// identityOf: no status-change time here, so nothing is remembered.
func identityOf(*os.File) (fileIdentity, bool) { return fileIdentity{}, false }
