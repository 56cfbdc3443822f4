package status

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

//go:embed web
var webFS embed.FS

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":     formatInt,
	"numf":    formatFloat,
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ts":      formatTime,
	"dur":     formatDuration,
	"payload": func(v indicators.Value) string { return formatPayload(v) },
	"attrs":   formatAttrs,
	"lower":   strings.ToLower,
}).ParseFS(webFS, "web/templates/*.tmpl"))

// pageData is what the templates render: the snapshot plus how to embed
// the assets (linked when served, inlined in the standalone preview).
type pageData struct {
	Snapshot
	Now time.Time
	// Live pages link /static assets and refresh; the dry-run file inlines
	// them and its data.
	Live    bool
	CSS     template.CSS
	JS      template.JS
	MapData any
	Preview *preview
}

// preview is the dry-run part of the standalone map.
type preview struct {
	Current    int
	Changed    int
	PerInd     []previewCount
	Rows       []indicators.Value
	RowsCapped bool
	Files      []string
}

type previewCount struct {
	Shortcode, Name  string
	Current, Changed int
}

// Ago is t relative to the page's time, for humans ("4 min ago").
func (d pageData) Ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	dt := d.Now.Sub(t)
	switch {
	case dt < 0:
		return "in " + roughDuration(-dt)
	case dt < 10*time.Second:
		return "just now"
	default:
		return roughDuration(dt) + " ago"
	}
}

// HealthyCount is how many enabled sources are healthy, of how many.
func (d pageData) HealthyCount() (int, int) {
	ok, n := 0, 0
	for _, s := range d.Sources {
		if !s.Enabled {
			continue
		}
		n++
		if s.Healthy {
			ok++
		}
	}
	return ok, n
}

func (d pageData) HealthyOK() int    { ok, _ := d.HealthyCount(); return ok }
func (d pageData) EnabledCount() int { _, n := d.HealthyCount(); return n }

// TotalAreas counts areas over all levels.
func (d pageData) TotalAreas() int {
	n := 0
	for _, c := range d.AreasPerLevel {
		n += c
	}
	return n
}

// Levels lists admin levels with their area counts, in order.
func (d pageData) Levels() []string {
	ls := make([]int, 0, len(d.AreasPerLevel))
	for l := range d.AreasPerLevel {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = fmt.Sprintf("admin %d: %s", l, formatInt(d.AreasPerLevel[l]))
	}
	return out
}

func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
}

func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	snap := s.Snapshot()
	d := pageData{Snapshot: snap, Now: snap.Generated, Live: true}
	var buf bytes.Buffer
	if err := pageTmpl.ExecuteTemplate(&buf, "status.html.tmpl", d); err != nil {
		s.log().Error("rendering status page", "err", err)
		http.Error(w, "rendering status page failed; see the daemon log", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Everything is same-origin; error texts from feeds are shown on the
	// page, so nothing inline or foreign may run.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(buf.Bytes())
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "—"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}

// formatInt groups thousands with a thin space, which reads the same in
// every locale.
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return formatInt(int(f))
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func formatPayload(v indicators.Value) string {
	switch p := v.Payload().(type) {
	case string:
		return p
	case float64:
		if v.Type == indicators.Float && p != math.Trunc(p) {
			return strconv.FormatFloat(p, 'f', -1, 64)
		}
		return formatFloat(p)
	default:
		return fmt.Sprint(p)
	}
}

// formatAttrs is attributes as compact "k=v" text for tables.
func formatAttrs(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(m[k])
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ", ")
}
