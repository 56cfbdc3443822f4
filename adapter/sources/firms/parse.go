package firms

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter/fetch"
)

// Confidence is the detection confidence class shared by MODIS and VIIRS.
type Confidence int

const (
	ConfUnknown Confidence = iota
	ConfLow
	ConfNominal
	ConfHigh
)

func (c Confidence) String() string {
	switch c {
	case ConfLow:
		return "low"
	case ConfNominal:
		return "nominal"
	case ConfHigh:
		return "high"
	}
	return "unknown"
}

// ParseConfidence reads VIIRS classes (l/n/h or the words) and MODIS
// percentages (FIRMS: low < 30, nominal 30-79, high >= 80).
func ParseConfidence(s string) (Confidence, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "l", "low":
		return ConfLow, nil
	case "n", "nominal":
		return ConfNominal, nil
	case "h", "high":
		return ConfHigh, nil
	case "":
		return ConfUnknown, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 100 {
		return ConfUnknown, fmt.Errorf("confidence %q is neither l/n/h nor 0-100", s)
	}
	switch {
	case v >= 80:
		return ConfHigh, nil
	case v >= 30:
		return ConfNominal, nil
	}
	return ConfLow, nil
}

// Hotspot is one active-fire detection.
type Hotspot struct {
	Lat, Lon   float64
	AcqDate    string // YYYY-MM-DD (UTC)
	AcqTime    string // HHMM (UTC)
	At         time.Time
	Satellite  string
	Instrument string
	Confidence Confidence
	RawConf    string
	FRP        *float64 // MW
	// Bright is bright_ti4 (VIIRS) or brightness (MODIS), K.
	Bright   *float64
	DayNight string
}

// Key is the dedupe key: FIRMS rows have no ids.
func (h Hotspot) Key() string {
	return fmt.Sprintf("%.5f,%.5f,%s,%s,%s", h.Lat, h.Lon, h.AcqDate, h.AcqTime, h.Satellite)
}

// File is a parsed FIRMS CSV.
type File struct {
	// Sensor is VIIRS or MODIS, from the brightness columns.
	Sensor string
	// Hotspots is filled by ParseCSV; Scan hands them out one by one.
	Hotspots []Hotspot
	// Problems are rows that could not be read (line number and reason).
	Problems []error
}

const maxProblems = 20

// ParseCSV reads a FIRMS active-fire CSV held in memory and keeps every
// hotspot (tests, fuzzing, small files). Fetch uses Scan.
func ParseCSV(body []byte) (*File, error) {
	var hs []Hotspot
	f, err := Scan(bytes.NewReader(body), func(h *Hotspot) { hs = append(hs, *h) })
	if err != nil {
		return nil, err
	}
	f.Hotspots = hs
	return f, nil
}

// Scan reads a FIRMS active-fire CSV (area API, country API or the keyless
// 24h/7d files; MODIS or VIIRS columns; with or without instrument) row by
// row and passes each readable hotspot to keep. Only the current row is
// held, so memory does not grow with the file (a 7-day global VIIRS file
// is over 100 MB); the *Hotspot is reused, keep copies what it needs.
// A header-only file is a valid "no fires" answer.
func Scan(in io.Reader, keep func(*Hotspot)) (*File, error) {
	br := bufio.NewReaderSize(in, 64<<10)
	skipBOM(br)
	// The start of the body names what came instead of a CSV in errors.
	head, _ := br.Peek(4 << 10)
	if len(bytes.TrimSpace(head)) == 0 && len(head) < 4<<10 {
		return nil, errors.New("empty body where a FIRMS CSV was expected")
	}
	snippet := fetch.Snippet(head)
	r := csv.NewReader(br)
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	hdr, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	var missing []string
	for _, req := range []string{"latitude", "longitude", "acq_date", "acq_time"} {
		if _, ok := col[req]; !ok {
			missing = append(missing, req)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not a FIRMS CSV: header lacks %s (starts %q)", strings.Join(missing, ", "), snippet)
	}
	f := &File{Sensor: "MODIS"}
	bright := "brightness"
	if _, ok := col["bright_ti4"]; ok {
		f.Sensor, bright = "VIIRS", "bright_ti4"
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	nProblems := 0
	problem := func(line int, err error) {
		nProblems++
		if nProblems <= maxProblems {
			f.Problems = append(f.Problems, fmt.Errorf("line %d: %w", line, err))
		}
	}
	r.LazyQuotes = true
	var h Hotspot
	var strs interner
	for last := r.InputOffset(); ; last = r.InputOffset() {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("reading CSV: %w", err)
			}
			problem(pe.Line, pe.Err)
			// Each Read consumes at least one byte; stop rather than spin
			// should a reader ever fail to make progress.
			if r.InputOffset() == last {
				return nil, fmt.Errorf("reading CSV: no progress at byte %d: %w", last, err)
			}
			continue
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		line, _ := r.FieldPos(0)
		if err := parseRow(&h, rec, get, bright, &strs); err != nil {
			problem(line, err)
			continue
		}
		keep(&h)
	}
	if nProblems > maxProblems {
		f.Problems = append(f.Problems, fmt.Errorf("%d more unreadable rows not listed", nProblems-maxProblems))
	}
	return f, nil
}

// skipBOM drops a leading UTF-8 BOM or its mis-encoded form (fetch.TrimBOM
// for a stream).
func skipBOM(br *bufio.Reader) {
	for {
		if p, _ := br.Peek(6); string(p) == "\xc3\xaf\xc2\xbb\xc2\xbf" {
			_, _ = br.Discard(6)
			continue
		}
		if p, _ := br.Peek(3); string(p) == "\xef\xbb\xbf" {
			_, _ = br.Discard(3)
			continue
		}
		return
	}
}

// interner shares the few distinct dates, times, satellites and classes
// between rows, so kept hotspots do not each carry copies.
type interner map[string]string

func (in *interner) get(s string) string {
	if *in == nil {
		*in = interner{}
	}
	if v, ok := (*in)[s]; ok {
		return v
	}
	if len(*in) > 100_000 { // hostile input: stop sharing, stay bounded
		return strings.Clone(s)
	}
	s = strings.Clone(s)
	(*in)[s] = s
	return s
}

// parseRow fills h from one record (reused between rows: every field is
// set).
func parseRow(h *Hotspot, rec []string, get func([]string, string) string, bright string, strs *interner) error {
	*h = Hotspot{AcqDate: strs.get(get(rec, "acq_date")), Satellite: strs.get(get(rec, "satellite")),
		Instrument: strs.get(get(rec, "instrument")), DayNight: strs.get(get(rec, "daynight")), RawConf: strs.get(get(rec, "confidence"))}
	var err error
	if h.Lat, err = num(get(rec, "latitude"), -90, 90); err != nil {
		return fmt.Errorf("latitude: %w", err)
	}
	if h.Lon, err = num(get(rec, "longitude"), -180, 180); err != nil {
		return fmt.Errorf("longitude: %w", err)
	}
	at := get(rec, "acq_time")
	if len(at) < 4 && at != "" {
		at = strings.Repeat("0", 4-len(at)) + at // some exports drop leading zeros
	}
	h.AcqTime = strs.get(at)
	t, err := time.Parse("2006-01-02 1504", h.AcqDate+" "+at)
	if err != nil {
		return fmt.Errorf("acq_date/acq_time %q %q: want YYYY-MM-DD and HHMM", h.AcqDate, get(rec, "acq_time"))
	}
	h.At = t.UTC()
	if h.Confidence, err = ParseConfidence(h.RawConf); err != nil {
		return err
	}
	if s := get(rec, "frp"); s != "" {
		v, err := num(s, 0, 1e6)
		if err != nil {
			return fmt.Errorf("frp: %w", err)
		}
		h.FRP = &v
	}
	if s := get(rec, bright); s != "" {
		if v, err := num(s, 0, 1e4); err == nil {
			h.Bright = &v
		}
	}
	return nil
}

func num(s string, lo, hi float64) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%g out of range %g..%g", v, lo, hi)
	}
	return v, nil
}
