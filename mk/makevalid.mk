## oracle-makevalid: compare the repair of invalid polygons with shapely's make_valid (GEOS); outside CI, needs python3-shapely
oracle-makevalid:
	@/usr/bin/python3 -c 'import shapely.validation' 2>/dev/null || { echo "needs Debian's python3-shapely: apt-get install python3-shapely"; exit 1; }
	$(GO) run ./internal/makevalidcheck -n 400 | /usr/bin/python3 internal/makevalidcheck/compare.py

.PHONY: oracle-makevalid
