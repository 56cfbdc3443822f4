# layer source (adapter/sources/layer): your own hazard layers as events.

.PHONY: layer-test layer-fixtures layer-fuzz

## layer-test: the layer source's tests (httptest GeoJSON / OGC API / ArcGIS services)
layer-test:
	go test ./adapter/sources/layer/...

## layer-fixtures: rewrite the demo flood extent from its generator, and the worked example's golden table
layer-fixtures:
	go test ./adapter/sources/layer/ -run 'TestDemoFloodExtentFixture|TestWorkedExampleChildrenExposed' -count=1 -update

## layer-fuzz: fuzz the page decoding, property mapping and geometry ingest (FUZZTIME each)
layer-fuzz:
	go test ./adapter/sources/layer/ -run '^$$' -fuzz '^FuzzIngest$$' -fuzztime $(or $(FUZZTIME),60s)
	go test ./adapter/sources/layer/ -run '^$$' -fuzz '^FuzzPropertyValue$$' -fuzztime $(or $(FUZZTIME),60s)
