# State store (adapter/state) and scheduler (adapter/schedule).

.PHONY: state-test state-bench

## state-test: store and scheduler tests under the race detector, including the
## SIGKILL-mid-ack crash test (it re-runs the test binary as a child process)
state-test:
	$(GO) vet ./adapter/state/... ./adapter/schedule/...
	$(GO) test -race -count=1 ./adapter/state/... ./adapter/schedule/...

## state-bench: cost of Enqueue+Ack per value, with and without fsync
state-bench:
	$(GO) test -run '^$$' -bench . -benchmem ./adapter/state/
