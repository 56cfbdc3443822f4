# hazardsync — every set-up and check a newcomer or CI needs.
# Only Go is assumed; anything else a target needs, the target installs.

GO       ?= go
BIN      ?= bin/hazardsync
DEMO     ?= fixtures/demo/hazardsync.yaml
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/hazardsync/hazardsync/adapter.Version=$(VERSION)

.PHONY: all build run test test-unit test-short bench lint fmt vet fuzz docs clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hazardsync

## run: the demo — bundled feeds, embedded GeoSight, status page on 127.0.0.1:8080
run: build
	$(BIN) run --config $(DEMO) --state-dir .demo-state

## test: every unit, golden, end-to-end and fuzz-seed test, the fault runs
## against the real binary, and the PostGIS sink against a real PostgreSQL
## (installed from Debian when missing; about 6 minutes on 2 cores)
test: test-unit test-faults postgis-test

## test-unit: everything but the fault runs and PostGIS (a few minutes)
test-unit:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

## bench: benchmarks with the figures the issues ask for
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

FUZZTIME ?= 20s
## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin .demo-state hazardsync-preview

# Targets contributed per area (benchmarks against other tools, contract
# tests against a real GeoSight, fault runs) live in mk/*.mk.
-include mk/*.mk
