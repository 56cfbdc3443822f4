# USGS and GDACS sources: demo feeds and golden files.
.PHONY: demo-feeds-usgs-gdacs golden-usgs-gdacs test-usgs-gdacs
demo-feeds-usgs-gdacs:
	go run ./fixtures/demo/feeds/usgs/gen
	go run ./fixtures/demo/feeds/gdacs/gen
golden-usgs-gdacs:
	go test ./adapter/sources/usgs ./adapter/sources/gdacs -update
test-usgs-gdacs:
	go test ./adapter/sources/usgs/... ./adapter/sources/gdacs/...
