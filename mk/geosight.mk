# GeoSight client: contract suite and benchmarks (adapter/geosight).

.PHONY: contract-test contract-record geosight-test geosight-bench

## contract-test: the GeoSight client's contract tests against the in-process
## fake, or against a real GeoSight when GEOSIGHT_URL, GEOSIGHT_API_KEY,
## GEOSIGHT_USER and GEOSIGHT_DATASET are set (it creates uniquely named
## indicators, layers, tables and styles and deletes them afterwards)
contract-test:
	@if [ -n "$$GEOSIGHT_URL" ]; then echo "contract tests against $$GEOSIGHT_URL"; else echo "contract tests against the in-process fake"; fi
	$(GO) test -count=1 -v -run '^(TestContract|TestPublishFootprints)' ./adapter/geosight/

## contract-record: the contract suite against a real GeoSight (the same
## GEOSIGHT_* variables, required here), every request and answer written to
## fixtures/geosight/transcripts/ (key redacted, ids, names and times
## normalised); make test replays them against the fake
contract-record:
	@if [ -z "$$GEOSIGHT_URL" ]; then echo "contract-record needs a real GeoSight: set GEOSIGHT_URL, GEOSIGHT_API_KEY, GEOSIGHT_USER, GEOSIGHT_DATASET"; exit 2; fi
	mkdir -p fixtures/geosight/transcripts
	rm -f fixtures/geosight/transcripts/*.json
	GEOSIGHT_RECORD=$(CURDIR)/fixtures/geosight/transcripts $(GO) test -count=1 -v -run '^(TestContract|TestPublishFootprints)' ./adapter/geosight/

## geosight-test: every test of the GeoSight client, fake and pull feed
geosight-test:
	$(GO) vet ./adapter/geosight/...
	$(GO) test -count=1 ./adapter/geosight/...

## geosight-bench: delivery values/s at a real GeoSight's speed (fixed 4 in
## flight vs adaptive, same run) and the embedded GeoSight's push rate
geosight-bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./adapter/geosight/...
