"""Anchor for intersection areas: geopandas overlay of footprints x areas,
then geodesic-ish areas through an equal-area CRS (EPSG:6933), as a Python
user would do it. Usage: geopandas_overlay.py DIR  (reads DIR/areas.geojson,
DIR/footprints.geojson; writes DIR/geopandas_pairs.csv; prints JSON timings).
"""
import json
import sys
import time

import geopandas as gpd

d = sys.argv[1]
t0 = time.perf_counter()
areas = gpd.read_file(f"{d}/areas.geojson")
fps = gpd.read_file(f"{d}/footprints.geojson")
t1 = time.perf_counter()
pieces = gpd.overlay(fps[["fp", "geometry"]], areas[["area", "geometry"]], how="intersection", keep_geom_type=True)
t2 = time.perf_counter()
pieces["km2"] = pieces.to_crs("EPSG:6933").area / 1e6
t3 = time.perf_counter()
pieces[["fp", "area", "km2"]].to_csv(f"{d}/geopandas_pairs.csv", index=False)
print(json.dumps({"read_s": t1 - t0, "overlay_s": t2 - t1, "area_s": t3 - t2, "total_s": t3 - t1,
                  "pairs": int(len(pieces)), "geopandas": gpd.__version__}))
