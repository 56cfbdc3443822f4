// Command oracle runs the grid engine on the inputs `make
// oracle-exactextract` generates (a population GeoTIFF, areas and
// footprints as GeoJSON) and writes one row per (area, footprint) pair the
// engine reports: the people and km² of area ∩ footprint. The Python side
// (exactextract_oracle.py) compares them with exactextract run on the GEOS
// intersections of the same pairs and with their geodesic areas.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	hsareas "github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/indicators/grid"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

func main() {
	dir := flag.String("dir", "", "directory holding pop.tif, areas.geojson and footprints.geojson; ours.csv is written there")
	flag.Parse()
	if *dir == "" {
		log.Fatal("oracle: -dir is required")
	}
	if err := run(*dir); err != nil {
		log.Fatalf("oracle: %v", err)
	}
}

func run(dir string) error {
	areaFC, err := readFC(dir + "/areas.geojson")
	if err != nil {
		return err
	}
	fpFC, err := readFC(dir + "/footprints.geojson")
	if err != nil {
		return err
	}
	var areas []indicators.Area
	for _, f := range areaFC.Features {
		areas = append(areas, indicators.Area{Code: f.Properties.MustString("code"), Geometry: f.Geometry})
	}
	t0 := time.Now()
	pop, closer, err := hsareas.OpenGrid(dir + "/pop.tif")
	if err != nil {
		return err
	}
	defer closer.Close()
	e, err := grid.NewEngine(areas, grid.Options{Grid: pop})
	if err != nil {
		return err
	}
	build := time.Since(t0)
	out, err := os.Create(dir + "/ours.csv")
	if err != nil {
		return err
	}
	defer out.Close()
	w := csv.NewWriter(out)
	w.Write([]string{"area", "footprint", "people", "km2", "method"})
	t0 = time.Now()
	pairs := 0
	for _, f := range fpFC.Features {
		id := f.Properties.MustString("id")
		xs, err := e.Expose([]orb.Geometry{f.Geometry})
		if err != nil {
			return fmt.Errorf("footprint %s: %w", id, err)
		}
		for _, x := range xs {
			method := x.Method
			if method == "" {
				method = e.Method()
			}
			w.Write([]string{x.Code, id, strconv.FormatFloat(x.Population, 'g', 17, 64),
				strconv.FormatFloat(x.AreaKm2, 'g', 17, 64), method})
			pairs++
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	fmt.Printf("grid engine: %d areas, %d footprints, %d pairs (precompute %s, cycle %s) → %s/ours.csv\n",
		len(areas), len(fpFC.Features), pairs, build.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), dir)
	return nil
}

func readFC(path string) (*geojson.FeatureCollection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}
