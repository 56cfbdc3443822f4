#!/usr/bin/python3
"""exactextract as the reference for the grid engine's (area, footprint) pieces.

`make oracle-exactextract` runs, in DIR:
  gen      generate inputs unlike the test fixtures: a skewed population grid
           (most cells empty, a few dense cities, a nodata lake), a few hundred
           irregular areas (wiggly Voronoi cells, merged pairs, enclaves with
           holes), tens of footprints (geodesic circles, concave blobs and
           stars, rings, corridors narrower than a cell, footprints that follow
           admin boundaries or sit just inside one area, cones, grid-aligned
           rectangles); then the GEOS (shapely) intersection of every
           (area, footprint) pair and its geodesic area (pyproj.Geod, WGS84).
  (go run ./indicators/grid/oracle, then exactextract on pieces.geojson)
  compare  people: ours vs exactextract's sum over each piece; km²: ours vs
           the piece's geodesic area. Writes DIR/report.md and fails when a
           pair misses the target.

Only Debian's python3-shapely (1.8), python3-gdal, python3-pyproj and
python3-numpy are needed. Nothing here builds exactextract.
"""
import argparse
import csv
import json
import math
import sys

import numpy as np
from osgeo import gdal, osr
from pyproj import Geod
from shapely.geometry import (GeometryCollection, LineString, MultiPoint, MultiPolygon, Point, Polygon,
                              box, mapping, shape)
from shapely.geometry.polygon import orient
from shapely.ops import unary_union, voronoi_diagram

# The grid: 0.001° (≈ 108 m) over 2° × 1.6° in the southern tropics.
X0, Y0, D, W, H = 33.0, -13.4, 0.001, 2000, 1600
NODATA = -99999.0
DOMAIN = box(X0 + 0.02, Y0 - H * D + 0.02, X0 + W * D - 0.02, Y0 - 0.02)
GEOD = Geod(ellps="WGS84")
STEP = 0.002  # densify every edge to ≤ 0.002° so straight lon/lat edges ≈ geodesics


def densify_ring(coords, step=STEP):
    """Points every ≤ step along each edge, computed from the edge's smaller
    endpoint so two polygons sharing an edge get identical points."""
    out = []
    for a, b in zip(coords[:-1], coords[1:]):
        out.append(a)
        n = max(1, math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) / step))
        lo, hi = (a, b) if a <= b else (b, a)
        pts = [(lo[0] + (hi[0] - lo[0]) * k / n, lo[1] + (hi[1] - lo[1]) * k / n) for k in range(1, n)]
        out.extend(pts if a <= b else pts[::-1])
    out.append(coords[-1])
    return out


def wiggle(p):
    # A smooth displacement with gradient < 1 (a diffeomorphism: valid stays valid).
    x, y = p
    return (x + 0.003 * math.sin(2 * math.pi * y / 0.04 + 0.7), y + 0.003 * math.sin(2 * math.pi * x / 0.037 + 1.9))


def map_poly(g, f):
    if isinstance(g, MultiPolygon):
        return MultiPolygon([map_poly(p, f) for p in g.geoms])
    return Polygon(f(list(g.exterior.coords)), [f(list(r.coords)) for r in g.interiors])


SLIVER = 1e-6 * D * D  # a millionth of a cell
dropped = []


def polygonal(g):
    """The polygonal part of an overlay result without its slivers: GEOS
    leaves triangles of three nearly collinear points along boundaries an
    area shares with a footprint, which exactextract refuses ("Ring has
    fewer than 4 points"). Parts under a millionth of a cell are dropped and
    counted (dropped)."""
    ps = []

    def walk(x):
        if isinstance(x, Polygon):
            if x.is_empty:
                return
            if x.area < SLIVER:
                dropped.append(x.area)
                return
            holes = []
            for r in x.interiors:
                if Polygon(r).area < SLIVER:
                    dropped.append(Polygon(r).area)
                else:
                    holes.append(r.coords)
            ps.append(Polygon(x.exterior.coords, holes))
        elif isinstance(x, (MultiPolygon, GeometryCollection)):
            for p in x.geoms:
                walk(p)
    walk(g)
    if not ps:
        return None
    return ps[0] if len(ps) == 1 else MultiPolygon(ps)


def geodesic_km2(g):
    parts = g.geoms if isinstance(g, MultiPolygon) else [g]
    total = 0.0
    for p in parts:
        lon, lat = p.exterior.xy
        total += abs(GEOD.polygon_area_perimeter(lon, lat)[0])
        for r in p.interiors:
            lon, lat = r.xy
            total -= abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    return total / 1e6


# WGS84 authalic band function: the area between the equator and latitude φ
# per radian of longitude.
_A, _F = 6378137.0, 1 / 298.257223563
_B, _E2 = _A * (1 - _F), _F * (2 - _F)
_E = math.sqrt(_E2)
_GAUSS5 = [(-0.9061798459386640, 0.2369268850561891), (-0.5384693101056831, 0.4786286704993665),
           (0.0, 0.5688888888888889), (0.5384693101056831, 0.4786286704993665), (0.9061798459386640, 0.2369268850561891)]


def _band(phi):
    s = math.sin(phi)
    return _B * _B / 2 * (s / (1 - _E2 * s * s) + math.log((1 + _E * s) / (1 - _E * s)) / (2 * _E))


def lonlat_km2(g):
    """The WGS84 area of g with straight lon/lat edges, as GeoJSON, GEOS,
    exactextract and the grid engine read them (pyproj.Geod joins vertices by
    geodesics instead): ∮ band(φ) dλ by Green's theorem, each edge by 5-point
    Gauss–Legendre, relative to the band at the centroid against cancellation."""
    ref = _band(math.radians(g.centroid.y))

    def ring(coords):
        t = 0.0
        for (l0, p0), (l1, p1) in zip(coords[:-1], coords[1:]):
            q0, q1 = math.radians(p0), math.radians(p1)
            t += math.radians(l1 - l0) * sum(w * (_band(q0 + (x + 1) / 2 * (q1 - q0)) - ref) for x, w in _GAUSS5) / 2
        return abs(t)
    parts = g.geoms if isinstance(g, MultiPolygon) else [g]
    return sum(ring(list(p.exterior.coords)) - sum(ring(list(r.coords)) for r in p.interiors) for p in parts) / 1e6


def geodesic_circle(lon, lat, r_km, n=256):
    az = np.linspace(0, 360, n, endpoint=False)
    lons, lats, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, r_km * 1000.0))
    return Polygon(list(zip(lons, lats)))


def radial(lon, lat, radius_deg, fn, n=400):
    pts = []
    for k in range(n):
        t = 2 * math.pi * k / n
        r = radius_deg * fn(t)
        pts.append((lon + r * math.cos(t), lat + r * math.sin(t) * 0.97))
    return Polygon(pts)


def densify(g):
    return map_poly(g, densify_ring)


def gen(d, seed):
    rng = np.random.default_rng(seed)

    # Population: 70 % of cells empty, lognormal rural people, seven dense
    # cities, a lake of nodata.
    ys, xs = np.mgrid[0:H, 0:W]
    lon = X0 + (xs + 0.5) * D
    lat = Y0 - (ys + 0.5) * D
    pop = np.where(rng.random((H, W)) < 0.3, rng.lognormal(0.3, 1.0, (H, W)), 0.0)
    cities = []
    for _ in range(7):
        cx, cy = rng.uniform(X0 + 0.15, X0 + W * D - 0.15), rng.uniform(Y0 - H * D + 0.15, Y0 - 0.15)
        peak, sigma = rng.uniform(2000, 20000), rng.uniform(0.003, 0.012)
        city = peak * np.exp(-((lon - cx) ** 2 + (lat - cy) ** 2) / (2 * sigma ** 2))
        city[city < 0.5] = 0  # cities end; the countryside stays mostly empty
        pop += city
        cities.append((cx, cy))
    lake = ((lon - 34.55) / 0.09) ** 2 + ((lat + 14.1) / 0.05) ** 2 < 1
    pop = pop.astype(np.float32)
    pop[lake] = NODATA
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(f"{d}/pop.tif", W, H, 1, gdal.GDT_Float32, ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform((X0, D, 0, Y0, 0, -D))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(NODATA)
    band.WriteArray(pop)
    ds = None
    empty = float((pop == 0).mean())

    # Areas: wiggly Voronoi cells, some neighbours merged (concave), some
    # with an enclave cut out (holes).
    seeds = MultiPoint([(rng.uniform(DOMAIN.bounds[0], DOMAIN.bounds[2]), rng.uniform(DOMAIN.bounds[1], DOMAIN.bounds[3]))
                        for _ in range(330)])
    cells = [c.intersection(DOMAIN) for c in voronoi_diagram(seeds, envelope=DOMAIN).geoms]
    cells = [map_poly(densify(c), lambda cs: [wiggle(p) for p in cs]) for c in cells if isinstance(c, Polygon)]
    order = list(rng.permutation(len(cells)))
    merged, used = [], set()
    for i in order:
        if i in used:
            continue
        used.add(i)
        g = cells[i]
        if len(merged) < 45:
            for j in order:
                if j not in used and cells[j].touches(g) and cells[j].intersection(g).length > 0.01:
                    g = unary_union([g, cells[j]])
                    used.add(j)
                    break
        merged.append(g)
    areas = []
    for k, g in enumerate(merged):
        if k < 8 and isinstance(g, Polygon):
            c = g.representative_point()
            enclave = radial(c.x, c.y, 0.012, lambda t: 1 + 0.3 * math.sin(5 * t)).intersection(g.buffer(-0.004))
            if isinstance(enclave, Polygon) and enclave.area > 0:
                enclave = densify(orient(enclave))
                areas.append(("E%03d" % k, enclave))
                g = g.difference(enclave)
        areas.append(("A%03d" % k, g))
    areas = [(c, g) for c, g in areas if g.is_valid and g.area > 0]

    # Footprints.
    fps = []
    for k in range(14):
        if k < 5:  # centred on cities: dense cells on both boundaries
            cx, cy = cities[k % len(cities)]
        else:
            cx, cy = rng.uniform(33.2, 34.8), rng.uniform(-14.8, -13.6)
        fps.append(("circle%02d" % k, geodesic_circle(cx, cy, math.exp(rng.uniform(math.log(2), math.log(40))))))
    for k in range(6):
        a, b = rng.uniform(0, 6, 2)
        fps.append(("blob%02d" % k, radial(rng.uniform(33.3, 34.7), rng.uniform(-14.7, -13.7), rng.uniform(0.03, 0.15),
                                          lambda t, a=a, b=b: 1 + 0.35 * math.sin(3 * t + a) + 0.2 * math.sin(7 * t + b))))
    for k in range(4):
        fps.append(("star%02d" % k, radial(rng.uniform(33.3, 34.7), rng.uniform(-14.7, -13.7), rng.uniform(0.03, 0.12),
                                          lambda t: 0.4 + 0.6 * abs(math.cos(4.5 * t)), n=360)))
    for k in range(4):
        cx, cy = rng.uniform(33.3, 34.7), rng.uniform(-14.7, -13.7)
        r = rng.uniform(8, 30)
        outer, inner = geodesic_circle(cx, cy, r), geodesic_circle(cx + 0.01, cy, r * rng.uniform(0.3, 0.7))
        fps.append(("ring%02d" % k, Polygon(outer.exterior.coords, [inner.exterior.coords[::-1]])))
    for k, half in enumerate([0.0003, 0.0004, 0.0005, 0.0012]):  # corridors 0.6–2.4 cells wide
        x, y = rng.uniform(33.2, 33.6), rng.uniform(-14.8, -13.6)
        pts = [(x, y)]
        for _ in range(25):
            x, y = x + rng.uniform(0.02, 0.06), y + rng.uniform(-0.04, 0.04)
            pts.append((x, y))
        fps.append(("corridor%02d" % k, LineString(pts).buffer(half, resolution=4)))
    by_code = dict(areas)
    codes = [c for c, _ in areas if c.startswith("A")]
    for k in range(4):  # CAP-style: the union of an area and its neighbours, sharing their boundaries
        g = by_code[codes[rng.integers(len(codes))]]
        nb = [h for c, h in areas if h.touches(g) and h.intersection(g).length > 0.005][:2]
        fps.append(("admin%02d" % k, unary_union([g] + nb)))
    for k in range(3):  # wholly inside one area, close to its neighbours
        g = by_code[codes[rng.integers(len(codes))]]
        c = g.representative_point()
        fps.append(("inside%02d" % k, g.buffer(-0.0015).intersection(geodesic_circle(c.x, c.y, 8))))
    for k in range(3):  # cones
        x, y = rng.uniform(33.2, 33.8), rng.uniform(-14.6, -13.8)
        ang = rng.uniform(-0.5, 0.5)
        length, half = rng.uniform(0.5, 1.0), rng.uniform(0.08, 0.2)
        tip = (x + length * math.cos(ang), y + length * math.sin(ang))
        arc = [(tip[0] + half * math.cos(ang + t), tip[1] + half * math.sin(ang + t))
               for t in np.linspace(-math.pi / 2, math.pi / 2, 40)]
        fps.append(("cone%02d" % k, Polygon([(x, y)] + arc)))
    fps.append(("rect00", box(33.5, -14.2, 33.8, -14.0)))  # edges on cell lines
    fps.append(("rect01", box(34.1234, -14.6543, 34.5678, -14.2109)))
    fps = [(i, densify(orient(g)) if isinstance(g, Polygon) else g) for i, g in fps]
    fps = [(i, g) for i, g in fps if g.is_valid and not g.is_empty]

    def fc(items, key):
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {key: c}, "geometry": mapping(g)} for c, g in items]}

    with open(f"{d}/areas.geojson", "w") as f:
        json.dump(fc(areas, "code"), f)
    with open(f"{d}/footprints.geojson", "w") as f:
        json.dump(fc(fps, "id"), f)

    # GEOS pieces of every pair and their geodesic areas.
    pieces = []
    for fid, fg in fps:
        fb = fg.bounds
        for code, ag in areas:
            ab = ag.bounds
            if ab[0] > fb[2] or ab[2] < fb[0] or ab[1] > fb[3] or ab[3] < fb[1] or not ag.intersects(fg):
                continue
            p = polygonal(ag.intersection(fg))
            if p is None or p.area == 0:
                continue
            pieces.append((code, fid, p))
    with open(f"{d}/pieces.geojson", "w") as f:
        json.dump({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"piece": f"{c}|{i}"}, "geometry": mapping(p)} for c, i, p in pieces]}, f)
    with open(f"{d}/pieces.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["area", "footprint", "geodesic_km2", "lonlat_km2", "cells"])
        for c, i, p in pieces:
            w.writerow([c, i, repr(geodesic_km2(p)), repr(lonlat_km2(p)), repr(p.area / (D * D))])
    kinds = {}
    for i, _ in fps:
        kinds[i.rstrip("0123456789")] = kinds.get(i.rstrip("0123456789"), 0) + 1
    print(f"generated in {d}: {W}×{H} cells at {D}° ({empty:.0%} empty, {int(lake.sum())} nodata, "
          f"{float(pop[pop > 0].sum()):,.0f} people), {len(areas)} areas "
          f"({sum(1 for _, g in areas if isinstance(g, Polygon) and g.interiors)} with holes), "
          f"{len(fps)} footprints {kinds}, {len(pieces)} pieces; {len(dropped)} GEOS sliver parts dropped "
          f"(together {sum(dropped) / (D * D):.1e} cells)")


def pct(v, q):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(math.ceil(q * len(v))) - 1)]


def compare(d, rel_tol, people_floor, km2_floor):
    ours = {}
    with open(f"{d}/ours.csv") as f:
        for r in csv.DictReader(f):
            ours[(r["area"], r["footprint"])] = (float(r["people"]), float(r["km2"]), r["method"])
    geo = {}
    with open(f"{d}/pieces.csv") as f:
        for r in csv.DictReader(f):
            geo[(r["area"], r["footprint"])] = (float(r["geodesic_km2"]), float(r["lonlat_km2"]))
    ee = {}
    with open(f"{d}/exactextract.csv") as f:
        for r in csv.DictReader(f):
            a, fid = r["piece"].split("|")
            ee[(a, fid)] = float(r["people"] or 0)
    lines = []
    ok = True

    def out(s=""):
        print(s)
        lines.append(s)

    off_grid = [k for k, v in ours.items() if v[2] != "grid-exact"]
    out("# exactextract on GEOS pieces vs the grid engine, per (area, footprint) pair")
    out()
    out(f"{len(geo)} GEOS pieces with positive area; {len(ours)} pairs reported by the engine "
        f"({len(off_grid)} not on the grid). Tolerance per pair: relative {rel_tol:g}, or "
        f"{people_floor:g} people / {km2_floor:g} km², whichever is larger.")
    out()
    keys = sorted(set(geo) | set(ours))
    false_hits = sorted(set(ours) - set(geo))
    missed = sorted(set(geo) - set(ours))
    out(f"Pairs the engine reports without a GEOS piece (false hits): **{len(false_hits)}** {false_hits[:5]}; "
        f"GEOS pieces the engine does not report: **{len(missed)}** {missed[:5]}")
    out()
    for what, ref_of, ours_of, floor in [
        ("people (reference: exactextract sum over the piece)", lambda k: ee.get(k, 0.0) if k in geo else 0.0,
         lambda k: ours[k][0] if k in ours else 0.0, people_floor),
        ("km² (reference: pyproj.Geod area of the piece, geodesic edges)", lambda k: geo[k][0] if k in geo else 0.0,
         lambda k: ours[k][1] if k in ours else 0.0, km2_floor),
        ("km² (reference: exact WGS84 area of the piece with straight lon/lat edges, as the grid, GEOS and "
         "exactextract read polygons)", lambda k: geo[k][1] if k in geo else 0.0,
         lambda k: ours[k][1] if k in ours else 0.0, km2_floor),
        ("km², the two references against each other (geodesic vs straight lon/lat edges: a difference of "
         "definition, not an error)", lambda k: geo[k][0] if k in geo else 0.0,
         lambda k: geo[k][1] if k in geo else 0.0, float("inf")),
    ]:
        rels, worst, fails = [], [], 0
        for k in keys:
            ref, got = ref_of(k), ours_of(k)
            diff = abs(got - ref)
            if ref > 0:
                rels.append(diff / ref)
            tol = max(rel_tol * abs(ref), floor)
            if diff > tol:
                fails += 1
            rel = diff / ref if ref > 0 else float("inf")
            worst.append((diff / tol if math.isfinite(tol) else rel, k, ref, got, rel))
        worst.sort(reverse=True)
        out(f"## {what}")
        out()
        out(f"pairs compared {len(keys)}, relative difference over {len(rels)} pairs with a reference > 0: "
            f"median {pct(rels, 0.5):.2e}, p99 {pct(rels, 0.99):.2e}, max {max(rels) if rels else float('nan'):.2e}; "
            + (f"pairs beyond tolerance: **{fails}**" if math.isfinite(floor) else "not a check"))
        out()
        out("| area | footprint | reference | compared (ours) | relative | difference / tolerance |")
        out("|---|---|---|---|---|---|")
        for ratio, k, ref, got, rel in worst[:8]:
            out(f"| {k[0]} | {k[1]} | {ref:.9g} | {got:.9g} | {rel:.2e} | {ratio:.3f} |")
        out()
        ok = ok and fails == 0
    missing = [k for k in geo if k not in ee]
    if missing:
        out(f"exactextract returned nothing for {len(missing)} pieces, e.g. {missing[:3]}")
    with open(f"{d}/report.md", "w") as f:
        f.write("\n".join(lines) + "\n")
    out(("TARGET MET" if ok else "TARGET MISSED") + f" (report: {d}/report.md)")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["gen", "compare"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seed", type=int, default=20261202, help="gen: another seed, other data")
    ap.add_argument("--rel", type=float, default=1e-6)
    ap.add_argument("--people-floor", type=float, default=0.001)
    ap.add_argument("--km2-floor", type=float, default=1e-6)
    a = ap.parse_args()
    if a.step == "gen":
        gen(a.dir, a.seed)
        return 0
    return compare(a.dir, a.rel, a.people_floor, a.km2_floor)


if __name__ == "__main__":
    sys.exit(main())
