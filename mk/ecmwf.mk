# ECMWF ensemble cyclone tracks: the BUFR decoder's WMO master tables, fuzzing.

BUFR_TABLE_SRC := /usr/share/eccodes/definitions/bufr/tables/0/wmo
BUFR_TABLE_VERSIONS ?= 16,33,35

.PHONY: bufr-tables ecmwf-fuzz

## ecmwf-fuzz: fuzz the BUFR decoder and the track parser (with swaths) for FUZZTIME each
ecmwf-fuzz:
	$(GO) test ./internal/bufr -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/ecmwf -run '^$$' -fuzz '^FuzzParseTracks$$' -fuzztime $(FUZZTIME)

## bufr-tables: regenerate internal/bufr/tables_gen.go (WMO tables B and D) from Debian's libeccodes-data
bufr-tables:
	@test -d $(BUFR_TABLE_SRC) || { echo "installing libeccodes-data"; \
	  SUDO=$$(command -v sudo >/dev/null && [ $$(id -u) -ne 0 ] && echo sudo); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y libeccodes-data; }
	$(GO) run ./internal/bufr/gentables -src $(BUFR_TABLE_SRC) -versions $(BUFR_TABLE_VERSIONS) \
	  -origin "Debian libeccodes-data $$(dpkg-query -W -f='$${Version}' libeccodes-data 2>/dev/null || echo unknown)" \
	  -out internal/bufr/tables_gen.go
