# exactextract as the reference for exposure per (area, footprint) piece,
# outside CI (indicators/grid/oracle/). This file never builds exactextract:
# pass a ready binary, e.g.
#   make oracle-exactextract EXACTEXTRACT=/opt/exactextract/bin/exactextract

EXACTEXTRACT ?=
ORACLE_DIR   ?=
ORACLE_SEED  ?= 20261202
ORACLE_PY    := /usr/bin/python3
ORACLE_DEBS  := python3-shapely python3-gdal python3-pyproj python3-numpy gdal-bin

.PHONY: oracle-exactextract

## oracle-exactextract: grid engine vs exactextract on GEOS pieces and pyproj geodesic areas (EXACTEXTRACT=/path/to/binary)
oracle-exactextract:
	@if [ -z "$(EXACTEXTRACT)" ]; then \
	  echo "oracle-exactextract: set EXACTEXTRACT to a ready exactextract binary (e.g. EXACTEXTRACT=/usr/local/bin/exactextract);"; \
	  echo "this target does not build it. exactextract is at https://github.com/isciences/exactextract (not packaged in Debian)."; \
	  exit 2; fi
	@[ -x "$(EXACTEXTRACT)" ] || { echo "oracle-exactextract: EXACTEXTRACT=$(EXACTEXTRACT) is not an executable file"; exit 2; }
	@$(ORACLE_PY) -c 'import shapely, osgeo.gdal, pyproj, numpy' 2>/dev/null && command -v gdalinfo >/dev/null || { \
	  echo "installing $(ORACLE_DEBS)"; \
	  SUDO=$$(command -v sudo >/dev/null && [ $$(id -u) -ne 0 ] && echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $(ORACLE_DEBS); }
	@echo "exactextract: $$($(EXACTEXTRACT) --help | head -1)"
	@set -e; d="$(ORACLE_DIR)"; [ -n "$$d" ] || d=$$(mktemp -d /tmp/hazardsync-oracle.XXXXXX); mkdir -p "$$d"; \
	  set -x; \
	  $(ORACLE_PY) indicators/grid/oracle/exactextract_oracle.py gen --dir "$$d" --seed $(ORACLE_SEED); \
	  $(GO) run ./indicators/grid/oracle -dir "$$d"; \
	  "$(EXACTEXTRACT)" -r pop:"$$d/pop.tif" -p "$$d/pieces.geojson" -f piece -s 'people=sum(pop)' -o "$$d/exactextract.csv"; \
	  $(ORACLE_PY) indicators/grid/oracle/exactextract_oracle.py compare --dir "$$d"
