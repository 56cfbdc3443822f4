# PostGIS sink (adapter/sinks/postgis): tests against a real PostgreSQL with
# PostGIS, on a private cluster started for the run and stopped after it.

PG_VERSION ?= 15

.PHONY: postgis-deps postgis-test postgis-bench

## postgis-deps: Debian's postgresql-$(PG_VERSION) and its PostGIS 3, when missing
postgis-deps:
	@if [ -x /usr/lib/postgresql/$(PG_VERSION)/bin/initdb ] && \
	    [ -e /usr/share/postgresql/$(PG_VERSION)/extension/postgis.control ]; then \
	  echo "postgresql-$(PG_VERSION) with PostGIS present"; \
	else \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    postgresql-$(PG_VERSION) postgresql-$(PG_VERSION)-postgis-3; \
	fi

## postgis-test: the PostGIS sink's tests against a private cluster (initdb
## in a temporary folder, a free port on 127.0.0.1, stopped afterwards)
postgis-test: postgis-deps
	GO=$(GO) PG_BIN=/usr/lib/postgresql/$(PG_VERSION)/bin bash adapter/sinks/postgis/testdb.sh \
	  $(GO) test -count=1 ./adapter/sinks/postgis/...

## postgis-bench: value write throughput against one transaction per value
## (the baseline, same run), and the cost of a refused value in a batch
postgis-bench: postgis-deps
	GO=$(GO) PG_BIN=/usr/lib/postgresql/$(PG_VERSION)/bin bash adapter/sinks/postgis/testdb.sh \
	  $(GO) test -count=1 -run '^$$' -bench . -benchtime 5x ./adapter/sinks/postgis/
