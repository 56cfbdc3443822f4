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
	values func() ([]indicators.Value, error)
	log    *slog.Logger
	now    func() time.Time
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
	recs := Build(vals, shortcodes, levels)
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
