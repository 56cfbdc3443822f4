"""Compare hazardsync's MakeValid with shapely's make_valid (GEOS).

Reads makevalidcheck's JSON on stdin; prints, per kind, how many repairs
agree in area (relative 1e-9) and in polygon and hole counts.
"""
import json
import sys

from shapely.geometry import Polygon
from shapely.validation import make_valid

stats = {}
for r in json.load(sys.stdin):
    s = stats.setdefault(r["kind"], {"cases": 0, "area_mismatch": 0, "count_mismatch": 0, "max_rel": 0.0})
    m = make_valid(Polygon(r["rings"][0], r["rings"][1:]))
    polys = []
    for g in getattr(m, "geoms", [m]):
        if g.geom_type == "Polygon":
            polys.append(g)
        elif g.geom_type == "MultiPolygon":
            polys.extend(g.geoms)
    area = sum(p.area for p in polys)
    mine = 0.0 if r.get("err") else r["area"]
    rel = abs(mine - area) / area if area > 0 else abs(mine)
    s["cases"] += 1
    s["max_rel"] = max(s["max_rel"], rel)
    if rel > 1e-9:
        s["area_mismatch"] += 1
    elif (len(polys), sum(len(p.interiors) for p in polys)) != (r.get("parts", 0), r.get("holes", 0)):
        s["count_mismatch"] += 1
for kind, s in sorted(stats.items()):
    print(f"{kind}: {s['cases']} polygons, area differs in {s['area_mismatch']} (max relative {s['max_rel']:.3g}), "
          f"polygon/hole counts differ in {s['count_mismatch']}")
