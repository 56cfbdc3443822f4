package status

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

// maxPreviewRows bounds the "would be sent" table in map.html; values.csv
// always has every row.
const maxPreviewRows = 2000

// WriteDryRun writes the `once --dry-run` preview into dir:
//   - map.html: the status page's map of the current values, with its data,
//     script and style inlined (opens from file://, offline), plus what
//     would be sent;
//   - values.geojson: the areas with the values that would be sent as
//     properties (full geometry, for QGIS or GeoSight uploads);
//   - values.csv: indicator,ucode,admin_level,date,value,attributes (JSON)
//     for every value that would be sent.
//
// It returns the paths written.
func WriteDryRun(dir string, areas []indicators.Area, defs []indicators.Definition, current, changed []indicators.Value) (files []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dry-run output: %w", err)
	}
	sorted := append([]indicators.Value(nil), changed...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Indicator != b.Indicator {
			return a.Indicator < b.Indicator
		}
		if a.AdminLevel != b.AdminLevel {
			return a.AdminLevel < b.AdminLevel
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Date < b.Date
	})

	// Attributes are encoded once per map: values.geojson and values.csv
	// show the same ones, and the values to send share their maps with the
	// current ones.
	attrs := attributesJSON{}
	currentAttrs, err := attrs.encode(current)
	if err != nil {
		return nil, fmt.Errorf("dry-run output: %w", err)
	}
	sentAttrs, err := attrs.encode(sorted)
	if err != nil {
		return nil, fmt.Errorf("dry-run output: %w", err)
	}
	names := []string{"map.html", "values.geojson", "values.csv"}

	// map.html inlines the current values on simplified geometry, streamed
	// into the page between the template's halves.
	mapJSON, err := newAreasJSON(areas, defs, current, currentAttrs, true)
	if err != nil {
		return nil, fmt.Errorf("dry-run output: %w", err)
	}
	head, tail, err := previewHTML(areas, defs, current, sorted, names)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, names[0])
	if err := writeFileAtomicFunc(p, func(w io.Writer) error {
		if _, err := w.Write(head); err != nil {
			return err
		}
		if err := writeAreasCollection(w, mapJSON, layoutCompact); err != nil {
			return err
		}
		_, err := w.Write(tail)
		return err
	}); err != nil {
		return files, fmt.Errorf("dry-run output: writing map.html: %w", err)
	}
	files = append(files, p)

	sent, err := newAreasJSON(areas, defs, sorted, sentAttrs, false)
	if err != nil {
		return files, fmt.Errorf("dry-run output: %w", err)
	}
	p = filepath.Join(dir, names[1])
	if err := writeFileAtomicFunc(p, func(w io.Writer) error { return writeAreasCollection(w, sent, layoutLines) }); err != nil {
		return files, fmt.Errorf("dry-run output: writing values.geojson: %w", err)
	}
	files = append(files, p)

	p = filepath.Join(dir, names[2])
	if err := writeFileAtomicFunc(p, func(w io.Writer) error { return writeValuesCSV(w, sorted, sentAttrs) }); err != nil {
		return files, fmt.Errorf("dry-run output: writing values.csv: %w", err)
	}
	return append(files, p), nil
}

// writeValuesCSV writes values.csv; attrs[i] is vals[i]'s attributes as
// JSON (attributesJSON).
func writeValuesCSV(w io.Writer, vals []indicators.Value, attrs [][]byte) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"indicator", "ucode", "admin_level", "date", "value", "attributes"})
	var num []byte
	for i, v := range vals {
		var value string
		switch p := v.Payload().(type) {
		case string:
			value = p
		case float64:
			num = strconv.AppendFloat(num[:0], p, 'f', -1, 64)
			value = string(num)
		default:
			value = fmt.Sprint(p)
		}
		if err := cw.Write([]string{v.Indicator, v.Code, strconv.Itoa(v.AdminLevel), string(v.Date), value, string(attrs[i])}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// mapDataMarker stands for the map data while the page is rendered: a NUL
// appears nowhere else in the page (html/template writes none, and the
// embedded script and style have none).
const mapDataMarker = "\x00hs-map-data\x00"

// previewHTML renders map.html in two halves, before and after its map
// data: the areas' GeoJSON as writeAreasCollection spells it, which is what
// html/template's own JSON escaping of areasCollection gave, byte for byte.
func previewHTML(areas []indicators.Area, defs []indicators.Definition, current, changed []indicators.Value, files []string) (head, tail []byte, err error) {
	css, err := webFS.ReadFile("web/static/status.css")
	if err != nil {
		return nil, nil, err
	}
	js, err := webFS.ReadFile("web/static/status.js")
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UTC()
	snap := Snapshot{Generated: now, Indicators: indicatorInfos(defs, current), AreasPerLevel: map[int]int{}, Values: len(current)}
	for _, a := range areas {
		snap.AreasPerLevel[a.Level]++
	}
	pv := &preview{Current: len(current), Changed: len(changed), Files: files}
	changedBy := map[string]int{}
	for _, v := range changed {
		changedBy[v.Indicator]++
	}
	for _, ii := range snap.Indicators {
		pv.PerInd = append(pv.PerInd, previewCount{Shortcode: ii.Shortcode, Name: ii.Name, Current: ii.Values, Changed: changedBy[ii.Shortcode]})
	}
	pv.Rows = changed
	if len(pv.Rows) > maxPreviewRows {
		pv.Rows, pv.RowsCapped = pv.Rows[:maxPreviewRows], true
	}
	d := pageData{
		Snapshot: snap, Now: now, Preview: pv,
		// Our own embedded assets and our own HTML-escaped JSON, so
		// trusted as CSS/JS.
		CSS:     template.CSS(css),
		JS:      template.JS(js),
		MapData: template.JS(mapDataMarker),
	}
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, "preview.html.tmpl", d); err != nil {
		return nil, nil, fmt.Errorf("dry-run output: rendering map.html: %w", err)
	}
	page := buf.Bytes()
	if n := bytes.Count(page, []byte(mapDataMarker)); n != 1 {
		return nil, nil, fmt.Errorf("dry-run output: rendering map.html: the map data's place appears %d times", n)
	}
	at := bytes.Index(page, []byte(mapDataMarker))
	return page[:at], page[at+len(mapDataMarker):], nil
}

// writeFileAtomic writes via a temporary file so a reader never sees half a
// preview.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
