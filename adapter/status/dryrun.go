package status

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hazardsync/hazardsync/indicators"
)

// valuesCoordScale rounds values.geojson's coordinates to 1e-7° (at most
// 0.6 cm; boundaries are not drawn that finely). Such coordinates are
// written with integer arithmetic; the shortest digits of unrounded
// doubles cost ~0.45 CPU-s per preview at bench-e2e's country (3.4 M
// coordinates), most of what the file costs.
const valuesCoordScale = 1e7

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
	return WriteDryRunWith(dir, areas, nil, defs, current, changed)
}

// WriteDryRunWith is WriteDryRun with the areas' geometry already spelled
// (EncodeAreaGeometry of these areas; nil: spelled here). The files are
// the same bytes either way.
func WriteDryRunWith(dir string, areas []indicators.Area, geom *AreaGeometry, defs []indicators.Definition, current, changed []indicators.Value) (files []string, err error) {
	if geom != nil && geom.Len() != len(areas) {
		return nil, fmt.Errorf("dry-run output: geometry of %d areas for %d areas", geom.Len(), len(areas))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dry-run output: %w", err)
	}
	// Sorted through an index (ties in changed's order): moving the values
	// themselves through sort.SliceStable's reflection cost more.
	order := make([]int32, len(changed))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &changed[i], &changed[j]
		return cmp.Or(strings.Compare(a.Indicator, b.Indicator), cmp.Compare(a.AdminLevel, b.AdminLevel),
			strings.Compare(a.Code, b.Code), strings.Compare(string(a.Date), string(b.Date)), cmp.Compare(i, j))
	})
	sorted := make([]indicators.Value, len(changed))
	for k, i := range order {
		sorted[k] = changed[i]
	}

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
	mapJSON.geom = geom
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
	sent.scale, sent.geom = valuesCoordScale, geom
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
// JSON (attributesJSON). Rows are spelled as encoding/csv writes them
// (TestValuesCSVIsEncodingCSV), without its per-field writes.
func writeValuesCSV(w io.Writer, vals []indicators.Value, attrs [][]byte) error {
	b := make([]byte, 0, 128<<10)
	b = append(b, "indicator,ucode,admin_level,date,value,attributes\n"...)
	for i, v := range vals {
		b = appendCSVField(b, v.Indicator)
		b = append(b, ',')
		b = appendCSVField(b, v.Code)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(v.AdminLevel), 10)
		b = append(b, ',')
		b = appendCSVField(b, string(v.Date))
		b = append(b, ',')
		switch p := v.Payload().(type) {
		case string:
			b = appendCSVField(b, p)
		case float64:
			b = strconv.AppendFloat(b, p, 'f', -1, 64) // digits, '.', '-', never quoted
		default:
			b = appendCSVField(b, fmt.Sprint(p))
		}
		b = append(b, ',')
		b = appendCSVField(b, attrs[i])
		b = append(b, '\n')
		if len(b) > 120<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	_, err := w.Write(b)
	return err
}

// appendCSVField appends f as encoding/csv's Writer does with its
// defaults: quoted (quotes doubled) when it holds a comma, quote, CR or LF,
// starts with a space, or is `\.`.
func appendCSVField[S ~string | ~[]byte](b []byte, f S) []byte {
	quote := len(f) == 2 && f[0] == '\\' && f[1] == '.'
	for i := 0; i < len(f) && !quote; i++ {
		c := f[i]
		quote = c == ',' || c == '"' || c == '\r' || c == '\n'
	}
	if !quote && len(f) > 0 {
		var r rune
		if f[0] < utf8.RuneSelf {
			r = rune(f[0])
		} else {
			r, _ = utf8.DecodeRuneInString(string(f[:min(len(f), utf8.UTFMax)]))
		}
		quote = unicode.IsSpace(r)
	}
	if !quote {
		return append(b, f...)
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			b = append(b, f[start:i+1]...)
			b = append(b, '"')
			start = i + 1
		}
	}
	b = append(b, f[start:]...)
	return append(b, '"')
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
