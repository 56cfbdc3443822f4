package areas

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hazardsync/hazardsync/indicators"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// LoadFacilities reads facility points (population.facilities, for the
// facilities_exposed recipe) from a CSV file (header with lon, lat, kind and
// id columns, in any order; name optional) or a GeoJSON FeatureCollection of
// Points (properties kind, id or the feature id, name).
// Rows that cannot be read are errors naming the line or feature.
func LoadFacilities(path string) ([]indicators.Facility, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("facilities: %w", err)
	}
	fs, err := ParseFacilities(b)
	if err != nil {
		return nil, fmt.Errorf("facilities %s: %w", path, err)
	}
	return fs, nil
}

// ParseFacilities reads CSV or GeoJSON facility data (see LoadFacilities).
func ParseFacilities(b []byte) ([]indicators.Facility, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return parseFacilitiesGeoJSON(t)
	}
	return parseFacilitiesCSV(b)
}

func parseFacilitiesCSV(b []byte) ([]indicators.Facility, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	hdr, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	var missing []string
	for _, k := range []string{"lon", "lat", "kind", "id"} {
		if _, ok := col[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("CSV header %v lacks column(s) %s (want lon, lat, kind, id)", hdr, strings.Join(missing, ", "))
	}
	var out []indicators.Facility
	var errs []error
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("CSV: %w", err) // a csv.ParseError names its line
		}
		line, _ := r.FieldPos(0)
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		lon, e1 := strconv.ParseFloat(get("lon"), 64)
		lat, e2 := strconv.ParseFloat(get("lat"), 64)
		f := indicators.Facility{ID: get("id"), Kind: get("kind"), Name: get("name"), Point: orb.Point{lon, lat}}
		if err := checkFacility(f, e1 != nil || e2 != nil); err != nil {
			errs = append(errs, fmt.Errorf("CSV line %d: %w", line, err))
			continue
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}

func checkFacility(f indicators.Facility, badNumber bool) error {
	switch {
	case badNumber:
		return errors.New("lon/lat is not a number")
	case f.Point[0] < -180 || f.Point[0] > 180 || f.Point[1] < -90 || f.Point[1] > 90 || f.Point[0] != f.Point[0] || f.Point[1] != f.Point[1]:
		return fmt.Errorf("lon/lat %v out of range", f.Point)
	case f.ID == "":
		return errors.New("id is empty")
	case f.Kind == "":
		return errors.New("kind is empty")
	}
	return nil
}

func parseFacilitiesGeoJSON(b []byte) ([]indicators.Facility, error) {
	var fc geojson.FeatureCollection
	if err := json.Unmarshal(b, &fc); err != nil {
		return nil, fmt.Errorf("GeoJSON: %w", err)
	}
	var out []indicators.Facility
	var errs []error
	for i, ft := range fc.Features {
		p, ok := ft.Geometry.(orb.Point)
		if !ok {
			errs = append(errs, fmt.Errorf("feature %d: geometry %T is not a Point", i, ft.Geometry))
			continue
		}
		id := ft.Properties.MustString("id", "")
		if id == "" && ft.ID != nil {
			id = fmt.Sprint(ft.ID)
		}
		f := indicators.Facility{ID: id, Kind: ft.Properties.MustString("kind", ""), Name: ft.Properties.MustString("name", ""), Point: p}
		if err := checkFacility(f, false); err != nil {
			errs = append(errs, fmt.Errorf("feature %d: %w", i, err))
			continue
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}
