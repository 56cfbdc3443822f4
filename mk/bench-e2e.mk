# End-to-end benchmark on a generated country (test/benche2e): `once
# --dry-run` processes and syncs inside one daemon-like process, beside the
# Python pipeline (geopandas overlay + area, GDAL zonal totals) on the same
# files, in the same run.

E2E_DIR ?= $(or $(TMPDIR),/tmp)/hazardsync-e2e

.PHONY: bench-e2e bench-e2e-small

## bench-e2e: a seeded country (5,040 + 90 areas, 1e8-cell grid, 200 layer footprints, 11 indicators), cold / unchanged / 10%-moved syncs vs Python
bench-e2e: python-geo
	uptime
	$(GO) run ./test/benche2e -dir $(E2E_DIR) -python /usr/bin/python3
	uptime

## bench-e2e-small: the same on a small country, without Python (a smoke test, seconds)
bench-e2e-small:
	$(GO) run ./test/benche2e -small -python "" -dir $(E2E_DIR)-small
