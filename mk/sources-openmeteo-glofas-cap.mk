# Open-Meteo forecast, GloFAS flood and CAP sources: demo feeds, goldens, fuzzing.
.PHONY: fixtures-openmeteo-glofas-cap fuzz-openmeteo-glofas-cap

## fixtures-openmeteo-glofas-cap: regenerate the Open-Meteo/GloFAS demo replays, then the goldens
fixtures-openmeteo-glofas-cap:
	$(GO) run ./fixtures/demo/feeds/openmeteo/gen
	$(GO) test ./adapter/sources/openmeteo ./adapter/sources/glofas ./adapter/sources/cap -run 'Golden' -update
	$(GO) test ./adapter/sources/openmeteo ./adapter/sources/glofas ./adapter/sources/cap

FUZZTIME ?= 30s
## fuzz-openmeteo-glofas-cap: fuzz the Open-Meteo JSON, flood, CAP XML, Atom/RSS and geometry-string parsers for FUZZTIME each
fuzz-openmeteo-glofas-cap:
	$(GO) test ./adapter/sources/openmeteo -run '^$$' -fuzz '^FuzzParseResponse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/glofas -run '^$$' -fuzz '^FuzzFloodEvents$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/cap -run '^$$' -fuzz '^FuzzParseAlert$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/cap -run '^$$' -fuzz '^FuzzParseIndex$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/cap -run '^$$' -fuzz '^FuzzGeometryStrings$$' -fuzztime $(FUZZTIME)
