// Package pull serves the latest indicator values as JSON that GeoSight's
// own "API With Geography" long-format importer can harvest
// (dp/geosight/importer/importers/api/): one unauthenticated GET, records
// at the key_feature_list path, one record per value with the ucode, the
// indicator shortcode, the value, the admin level and the date. Settings to
// enter in GeoSight are in ../README.md.
package pull

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

// RecordsKey is the key_feature_list to configure in GeoSight.
const RecordsKey = "results"

// Record is one value as the importer reads it.
type Record struct {
	Ucode      string `json:"ucode"`
	AdminLevel int    `json:"admin_level"`
	Indicator  string `json:"indicator_shortcode"`
	// Value is a number, or a string for String indicators.
	Value any `json:"value"`
	// Date is YYYY-MM-DD (date_time_data_format "%Y-%m-%d").
	Date string `json:"date"`
	// Timestamp is midnight UTC of Date in unix seconds (10 digits, what
	// the importer's "timestamp" format expects).
	Timestamp  int64          `json:"timestamp"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// Feed is the document served.
type Feed struct {
	GeneratedAt string   `json:"generated_at"`
	Count       int      `json:"count"`
	Results     []Record `json:"results"`
}

// Handler serves the feed.
type Handler struct {
	values    func() ([]indicators.Value, error)
	catalogue func() Catalogue
	log       *slog.Logger
	now       func() time.Time
}

// Catalogue is what the feed must cover: every configured indicator at every
// area of its levels. GeoSight's importer fails a run on an empty results
// list (UnboundLocalError: line_idx, and a failure mail), so an area without
// a current value is served its explicit 0 / "none", dated Today.
type Catalogue struct {
	Indicators []indicators.Definition
	Areas      []indicators.Area
	// Today is the date of the latest sync.
	Today indicators.Date
	// Ready is false until a sync has completed: zeros served before it
	// would overwrite GeoSight's real values.
	Ready bool
}

// WithCatalogue makes the feed complete: see Catalogue.
func (h *Handler) WithCatalogue(f func() Catalogue) *Handler {
	h.catalogue = f
	return h
}

// covers reports whether def has a value for areas of level: its
// admin_levels, and for a roll-up its base level and the levels above.
func covers(def indicators.Definition, level int) bool {
	if def.RollupFrom != nil && level > *def.RollupFrom {
		return false
	}
	return def.AtLevel(level)
}

// Complete returns vals plus, for every configured indicator and area it
// covers without a value, that area's explicit 0 / "none" dated cat.Today.
func Complete(vals []indicators.Value, cat Catalogue) []indicators.Value {
	type key struct{ indicator, code string }
	have := make(map[key]bool, len(vals))
	for _, v := range vals {
		have[key{v.Indicator, v.Code}] = true
	}
	out := append([]indicators.Value(nil), vals...)
	for _, def := range cat.Indicators {
		for _, a := range cat.Areas {
			if !covers(def, a.Level) || have[key{def.Shortcode, a.Code}] {
				continue
			}
			v := indicators.Value{Indicator: def.Shortcode, Code: a.Code, AdminLevel: a.Level, Date: cat.Today, Type: def.Type}
			out = append(out, v.Zero())
		}
	}
	return out
}

// New returns a handler reading values through values on each request.
func New(values func() ([]indicators.Value, error)) *Handler {
	return &Handler{values: values, log: slog.Default(), now: time.Now}
}

// WithLogger sets the logger for read failures.
func (h *Handler) WithLogger(l *slog.Logger) *Handler {
	h.log = l
	return h
}

// Build turns values into the feed, filtered by indicator shortcodes and
// admin levels (empty = all), sorted for stable output.
func Build(vals []indicators.Value, shortcodes map[string]bool, levels map[int]bool) []Record {
	out := make([]Record, 0, len(vals))
	for _, v := range vals {
		if len(shortcodes) > 0 && !shortcodes[v.Indicator] {
			continue
		}
		if len(levels) > 0 && !levels[v.AdminLevel] {
			continue
		}
		t, err := time.Parse(time.DateOnly, string(v.Date))
		if err != nil {
			continue // not a GeoSight day: the importer would reject it anyway
		}
		out = append(out, Record{Ucode: v.Code, AdminLevel: v.AdminLevel, Indicator: v.Indicator,
			Value: v.Payload(), Date: string(v.Date), Timestamp: t.Unix(), Attributes: v.Attributes})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Indicator != b.Indicator {
			return a.Indicator < b.Indicator
		}
		if a.Ucode != b.Ucode {
			return a.Ucode < b.Ucode
		}
		return a.Date < b.Date
	})
	return out
}

// ServeHTTP answers GET/HEAD with the feed. Query: indicator=A,B and
// admin_level=1,2 narrow it (one importer per indicator is the usual
// GeoSight set-up). An unchanged feed answers 304 to If-None-Match.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "method not allowed"})
		return
	}
	q := r.URL.Query()
	shortcodes := map[string]bool{}
	for _, s := range splitList(q["indicator"]) {
		shortcodes[s] = true
	}
	levels := map[int]bool{}
	for _, s := range splitList(q["admin_level"]) {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "admin_level must be integers, got " + strconv.Quote(s)})
			return
		}
		levels[n] = true
	}
	vals, err := h.values()
	if err != nil {
		h.log.Error("pull feed: cannot read values", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "values are not available right now"})
		return
	}
	if h.catalogue != nil {
		cat := h.catalogue()
		if !cat.Ready {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "no sync has completed yet; nothing to import"})
			return
		}
		known := map[string]bool{}
		for _, d := range cat.Indicators {
			known[d.Shortcode] = true
		}
		for sc := range shortcodes {
			if !known[sc] {
				writeJSON(w, http.StatusNotFound, map[string]string{"detail": "indicator " + strconv.Quote(sc) + " is not configured"})
				return
			}
		}
		vals = Complete(vals, cat)
	}
	recs := Build(vals, shortcodes, levels)
	if len(recs) == 0 {
		// An empty list fails GeoSight's import run; say why instead.
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "no values match this feed's filter"})
		return
	}
	body, err := json.Marshal(recs)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"detail": err.Error()})
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && match == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, Feed{GeneratedAt: h.now().UTC().Format(time.RFC3339), Count: len(recs), Results: recs})
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}
