"""Anchor for zonal totals: GDAL RasterizeLayer of the area ids onto the
population grid (cell-centre rule), then a numpy bincount of population.
Usage: gdal_zonal.py DIR  (reads DIR/areas.geojson, DIR/pop.tif; writes
DIR/gdal_totals.csv; prints JSON timings).
"""
import json
import sys
import time

import numpy as np
from osgeo import gdal, ogr

gdal.UseExceptions()
d = sys.argv[1]
t0 = time.perf_counter()
ds = gdal.Open(f"{d}/pop.tif")
band = ds.GetRasterBand(1)
pop = band.ReadAsArray()
nodata = band.GetNoDataValue()
t1 = time.perf_counter()
vec = ogr.Open(f"{d}/areas.geojson")
layer = vec.GetLayer()
mem = gdal.GetDriverByName("MEM").Create("", ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Int32)
mem.SetGeoTransform(ds.GetGeoTransform())
mem.SetProjection(ds.GetProjection())
gdal.RasterizeLayer(mem, [1], layer, options=["ATTRIBUTE=zone"])
zones = mem.GetRasterBand(1).ReadAsArray()
t2 = time.perf_counter()
valid = pop != nodata if nodata is not None else np.ones(pop.shape, bool)
totals = np.bincount(zones[valid].ravel(), weights=pop[valid].ravel().astype(np.float64), minlength=layer.GetFeatureCount() + 1)
t3 = time.perf_counter()
with open(f"{d}/gdal_totals.csv", "w") as f:
    f.write("area,population\n")
    for i in range(1, len(totals)):
        f.write(f"{i - 1},{totals[i]!r}\n")
print(json.dumps({"read_s": t1 - t0, "rasterize_s": t2 - t1, "bincount_s": t3 - t2, "total_s": t3 - t0,
                  "gdal": gdal.__version__}))
