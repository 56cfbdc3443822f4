# Fault-proof operation: the real binary as a child process, killed with -9
# 50 times mid-sync, delivering through a GeoSight that fails, reading
# hostile feeds, and hot-reloading 20 edits of which half are invalid. Each
# run asserts the API key never appears in output or served pages.
# Takes about 1–2 minutes on 2 cores. Plain `go test ./...` skips it.
.PHONY: test-faults
test-faults: build
	HAZARDSYNC_FAULTS=1 HAZARDSYNC_BIN=$(abspath $(BIN)) $(GO) test -count=1 -v -timeout 10m ./test/faults/
