# NHC, EONET and FIRMS sources: regenerate fixtures/demo feeds, fuzz the parsers.
.PHONY: fixtures-nhc-eonet-firms fuzz-nhc-eonet-firms

## fixtures-nhc-eonet-firms: regenerate NHC KMZ fixtures and the NHC/EONET/FIRMS demo feeds, then the goldens
fixtures-nhc-eonet-firms:
	$(GO) test ./adapter/sources/nhc -run TestGenerateFixtures -gen
	$(GO) test ./adapter/sources/eonet -run TestDemoFeed -gen
	$(GO) test ./adapter/sources/firms -run TestDemoFeed -gen
	$(GO) test ./adapter/sources/nhc ./adapter/sources/eonet ./adapter/sources/firms -update

FUZZTIME ?= 30s
## fuzz-nhc-eonet-firms: fuzz the KMZ/KML reader, CurrentStorms, EONET and FIRMS parsers for FUZZTIME each
fuzz-nhc-eonet-firms:
	$(GO) test ./adapter/sources/nhc -run '^$$' -fuzz '^FuzzReadKMZ$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/nhc -run '^$$' -fuzz '^FuzzParseCurrentStorms$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/eonet -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./adapter/sources/firms -run '^$$' -fuzz '^FuzzParseCSV$$' -fuzztime $(FUZZTIME)
