package status

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
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

	csvBytes, err := valuesCSV(sorted)
	if err != nil {
		return nil, err
	}
	names := []string{"map.html", "values.geojson", "values.csv"}
	page, err := previewHTML(areas, defs, current, sorted, names)
	if err != nil {
		return nil, err
	}
	for i, b := range [][]byte{page, nil, csvBytes} {
		p := filepath.Join(dir, names[i])
		if b == nil { // values.geojson, streamed (see writeIndentedCollection)
			fc := areasCollection(areas, defs, sorted, false)
			if err := writeFileAtomicFunc(p, func(w io.Writer) error { return writeIndentedCollection(w, fc) }); err != nil {
				return files, fmt.Errorf("dry-run output: writing values.geojson: %w", err)
			}
		} else if err := writeFileAtomic(p, b); err != nil {
			return files, fmt.Errorf("dry-run output: %w", err)
		}
		files = append(files, p)
	}
	return files, nil
}

func valuesCSV(vals []indicators.Value) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"indicator", "ucode", "admin_level", "date", "value", "attributes"})
	for _, v := range vals {
		attrs := ""
		if len(v.Attributes) > 0 {
			b, err := json.Marshal(v.Attributes)
			if err != nil {
				return nil, fmt.Errorf("dry-run output: attributes of %s: %w", v.Key(), err)
			}
			attrs = string(b)
		}
		var value string
		switch p := v.Payload().(type) {
		case string:
			value = p
		case float64:
			value = strconv.FormatFloat(p, 'f', -1, 64)
		default:
			value = fmt.Sprint(p)
		}
		_ = w.Write([]string{v.Indicator, v.Code, strconv.Itoa(v.AdminLevel), string(v.Date), value, attrs})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func previewHTML(areas []indicators.Area, defs []indicators.Definition, current, changed []indicators.Value, files []string) ([]byte, error) {
	css, err := webFS.ReadFile("web/static/status.css")
	if err != nil {
		return nil, err
	}
	js, err := webFS.ReadFile("web/static/status.js")
	if err != nil {
		return nil, err
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
		// Our own embedded assets, so trusted as CSS/JS.
		CSS:     template.CSS(css),
		JS:      template.JS(js),
		MapData: areasCollection(areas, defs, current, true),
	}
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, "preview.html.tmpl", d); err != nil {
		return nil, fmt.Errorf("dry-run output: rendering map.html: %w", err)
	}
	return buf.Bytes(), nil
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
