# Exposure engine (indicators/grid): GDAL-written reader fixtures, the demo
# population grid, and the side-by-side comparison with geopandas and GDAL.

GRID_FIX := fixtures/grid
GRID_SRC := $(GRID_FIX)/src

.PHONY: grid-fixtures demo-grid bench-compare bench-grid bench-grid-rss python-geo

# Debian packages are installed on demand (CI and newcomers only need Go).
define need_apt
	@command -v $(1) >/dev/null 2>&1 || { echo "installing $(2)"; \
	  SUDO=$$(command -v sudo >/dev/null && [ $$(id -u) -ne 0 ] && echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $(2); }
endef

## grid-fixtures: small TIFFs written by gdal_translate in every layout the reader supports
grid-fixtures:
	$(call need_apt,gdal_translate,gdal-bin)
	mkdir -p $(GRID_SRC)
	# Source values follow a known formula (see indicators/grid/gdal_fixture_test.go).
	awk 'BEGIN{print "ncols 37\nnrows 29\nxllcorner 60\nyllcorner 10\ncellsize 0.01"; \
	  for(r=0;r<29;r++){l=""; for(c=0;c<37;c++){l=l sprintf("%s%d",c?" ":"",(r*7+c*3)%200)}; print l}}' > $(GRID_SRC)/int.asc
	awk 'BEGIN{print "ncols 37\nnrows 29\nxllcorner 60\nyllcorner 10\ncellsize 0.01\nNODATA_value -9999"; \
	  for(r=0;r<29;r++){l=""; for(c=0;c<37;c++){v=(r*7+c*3)%200+(c%4)*0.25; if(r==2&&c==5)v=-9999; l=l sprintf("%s%s",c?" ":"",v)}; print l}}' > $(GRID_SRC)/float.asc
	T="gdal_translate -q -a_srs EPSG:4326"; \
	$$T -ot Float32 -co TILED=NO -co COMPRESS=NONE $(GRID_SRC)/float.asc $(GRID_FIX)/f32_strip_none.tif && \
	$$T -ot Float32 -co TILED=NO -co COMPRESS=NONE -co ENDIANNESS=BIG $(GRID_SRC)/float.asc $(GRID_FIX)/f32_strip_none_bigendian.tif && \
	$$T -ot Float32 -co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=DEFLATE -co PREDICTOR=3 $(GRID_SRC)/float.asc $(GRID_FIX)/f32_tiled_deflate_pred3.tif && \
	$$T -ot Float32 -co TILED=NO -co BLOCKYSIZE=5 -co COMPRESS=LZW -co PREDICTOR=3 $(GRID_SRC)/float.asc $(GRID_FIX)/f32_strip_lzw_pred3.tif && \
	$$T -ot Float32 -co TILED=NO -co BLOCKYSIZE=4 -co COMPRESS=DEFLATE $(GRID_SRC)/float.asc $(GRID_FIX)/f32_strip_deflate.tif && \
	$$T -ot Float32 -co BIGTIFF=YES -co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=LZW $(GRID_SRC)/float.asc $(GRID_FIX)/f32_bigtiff_tiled_lzw.tif && \
	$$T -ot Int16 -a_nodata -1 -co TILED=NO -co BLOCKYSIZE=7 -co COMPRESS=DEFLATE -co PREDICTOR=2 $(GRID_SRC)/int.asc $(GRID_FIX)/i16_strip_deflate_pred2.tif && \
	$$T -ot Int16 -co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=LZW -co PREDICTOR=2 $(GRID_SRC)/int.asc $(GRID_FIX)/i16_tiled_lzw_pred2.tif && \
	$$T -ot Byte -co TILED=NO -co COMPRESS=LZW -co PREDICTOR=2 $(GRID_SRC)/int.asc $(GRID_FIX)/u8_strip_lzw_pred2.tif && \
	$$T -ot Byte -co TILED=YES -co BLOCKXSIZE=16 -co BLOCKYSIZE=16 -co COMPRESS=NONE $(GRID_SRC)/int.asc $(GRID_FIX)/u8_tiled_none.tif && \
	$$T -ot Byte -co BIGTIFF=YES -co TILED=NO -co COMPRESS=DEFLATE $(GRID_SRC)/int.asc $(GRID_FIX)/u8_bigtiff_strip_deflate.tif
	rm -f $(GRID_FIX)/*.aux.xml $(GRID_SRC)/*.aux.xml $(GRID_SRC)/*.prj
	ls -l $(GRID_FIX)

## demo-grid: regenerate the demo population grids (fixtures/demo/population/)
demo-grid:
	$(GO) run ./fixtures/demo/population/gen -out fixtures/demo/population

## bench-grid: the exposure-engine benchmarks, then the daemon-like peak-memory run
bench-grid:
	uptime
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./indicators/grid/...
	$(MAKE) --no-print-directory bench-grid-rss
	uptime

## bench-grid-rss: peak RSS of a fresh process with one engine reading the GeoTIFFs (build, then reload)
bench-grid-rss:
	$(GO) run ./indicators/grid/bench/daemonrss

## python-geo: Debian's geopandas, GDAL (with gdal-bin) and numpy, for the side-by-side benchmarks
python-geo:
	$(call need_apt,gdal_rasterize,gdal-bin)
	@/usr/bin/python3 -c 'import geopandas, osgeo.gdal, numpy' 2>/dev/null || { \
	  SUDO=$$(command -v sudo >/dev/null && [ $$(id -u) -ne 0 ] && echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y python3-geopandas python3-gdal python3-numpy; }

BENCH_DIR ?= $(shell mktemp -d /tmp/hazardsync-bench.XXXXXX)
## bench-compare: the same workload through geopandas overlay and GDAL rasterize + numpy, side by side
bench-compare: python-geo
	uptime
	$(GO) run ./indicators/grid/bench/compare -dir $(BENCH_DIR) -python /usr/bin/python3
