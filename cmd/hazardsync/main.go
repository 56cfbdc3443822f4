// Command hazardsync pulls hazard feeds, computes child-centred indicators
// per area and pushes them into GeoSight-OS. See README.md.
package main

import (
	"os"
)

func main() {
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}
