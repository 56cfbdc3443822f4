# GeoSight client: contract suite and benchmarks (adapter/geosight).

.PHONY: contract-test geosight-test geosight-bench

## contract-test: the GeoSight client's contract tests against the in-process
## fake, or against a real GeoSight when GEOSIGHT_URL, GEOSIGHT_API_KEY,
## GEOSIGHT_USER and GEOSIGHT_DATASET are set (it creates uniquely named
## indicators, layers, tables and styles and deletes them afterwards)
contract-test:
	@if [ -n "$$GEOSIGHT_URL" ]; then echo "contract tests against $$GEOSIGHT_URL"; else echo "contract tests against the in-process fake"; fi
	$(GO) test -count=1 -v -run '^(TestContract|TestPublishFootprints)' ./adapter/geosight/

## geosight-test: every test of the GeoSight client, fake and pull feed
geosight-test:
	$(GO) vet ./adapter/geosight/...
	$(GO) test -count=1 ./adapter/geosight/...

## geosight-bench: delivery throughput and client CPU with 20 ms latency
geosight-bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./adapter/geosight/...
