//go:build !unix

package state

import (
	"io"
	"os"
)

// mapFile: no mappings on this platform; the file is read.
func mapFile(*os.File, int64) (io.ReadCloser, bool) { return nil, false }
