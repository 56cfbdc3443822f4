package status

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
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
	"lead":    leadText,
	"leadcls": leadClass,
	"join":    strings.Join,
	"human":   func(s string) string { return strings.ReplaceAll(s, "_", " ") },
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

// AsOf is the time the latest values were computed for (the replay time
// in the demo): hazard times on the page are read on this clock, never
// against the wall clock.
func (d pageData) AsOf() time.Time {
	switch {
	case !d.LastRun.AsOf.IsZero():
		return d.LastRun.AsOf
	case !d.LastRun.Started.IsZero():
		return d.LastRun.Started
	}
	return d.Now
}

// Replay says whether the as-of clock differs from the wall clock by more
// than a sync would take (demo, backfill), so the page names both.
func (d pageData) Replay() bool {
	if d.LastRun.AsOf.IsZero() || d.LastRun.Started.IsZero() {
		return false
	}
	dt := d.LastRun.Started.Sub(d.LastRun.AsOf)
	return dt > time.Hour || dt < -time.Hour
}

// For is how long before the as-of time t was ("6.0 h"), for how long an
// area has been at its level.
func (d pageData) For(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	dt := d.AsOf().Sub(t)
	if dt < time.Minute {
		return "just raised"
	}
	return roughDuration(dt)
}

// IndName is an indicator's configured name, or its shortcode when it has
// none.
func (d pageData) IndName(shortcode string) string {
	for _, i := range d.Indicators {
		if i.Shortcode == shortcode && i.Name != "" {
			return i.Name
		}
	}
	return shortcode
}

// FailingSources names the enabled sources that are not healthy.
func (d pageData) FailingSources() []string {
	var out []string
	for _, s := range d.Sources {
		if s.Enabled && !s.Healthy {
			out = append(out, s.Name)
		}
	}
	return out
}

// leadClass buckets a lead time for colour: the sooner, the stronger.
func leadClass(h float64) string {
	switch {
	case h <= 0:
		return "lead-now"
	case h <= 12:
		return "lead-12"
	case h <= 24:
		return "lead-24"
	case h <= 48:
		return "lead-48"
	case h <= 72:
		return "lead-72"
	}
	return "lead-long"
}

func leadText(h float64) string {
	if h <= 0 {
		return "now"
	}
	return formatFloat(math.Round(h)) + " h"
}

// warnArea is one area in the summary: every hazard that puts it at a
// level, the soonest lead time and the most children at risk among them.
type warnArea struct {
	Code, Name     string
	AdminLevel     int
	Hazards        []string
	LeadTimeHours  float64
	ChildrenAtRisk float64
}

// warnLevel is one early-warning level in the summary.
type warnLevel struct {
	Level string
	Areas []warnArea
	// Shown are the first areas by urgency; More is how many are not named.
	Shown []warnArea
	More  int
}

// summaryNames is how many areas each level names in the summary.
const summaryNames = 8

// WarnLevels groups the warnings by level (alert first), one entry per
// area, the most urgent first: soonest lead time, then most children.
func (d pageData) WarnLevels() []warnLevel {
	byLevel := map[string]map[string]*warnArea{}
	for _, w := range d.Warnings {
		l := strings.ToLower(w.Level)
		if byLevel[l] == nil {
			byLevel[l] = map[string]*warnArea{}
		}
		a := byLevel[l][w.Code]
		if a == nil {
			name := w.Name
			if name == "" {
				name = w.Code
			}
			a = &warnArea{Code: w.Code, Name: name, AdminLevel: w.AdminLevel, LeadTimeHours: w.LeadTimeHours}
			byLevel[l][w.Code] = a
		}
		if h := w.Hazard; h != "" && !slices.Contains(a.Hazards, h) {
			a.Hazards = append(a.Hazards, h)
		}
		a.LeadTimeHours = math.Min(a.LeadTimeHours, w.LeadTimeHours)
		a.ChildrenAtRisk = math.Max(a.ChildrenAtRisk, w.ChildrenAtRisk)
	}
	levels := make([]string, 0, len(byLevel))
	for l := range byLevel {
		levels = append(levels, l)
	}
	sort.Slice(levels, func(i, j int) bool {
		ri, rj := levelRank(levels[i]), levelRank(levels[j])
		if ri != rj {
			return ri > rj
		}
		return levels[i] < levels[j]
	})
	out := make([]warnLevel, 0, len(levels))
	for _, l := range levels {
		wl := warnLevel{Level: l}
		for _, a := range byLevel[l] {
			sort.Strings(a.Hazards)
			wl.Areas = append(wl.Areas, *a)
		}
		sort.Slice(wl.Areas, func(i, j int) bool { return urgentFirst(wl.Areas[i], wl.Areas[j]) })
		wl.Shown = wl.Areas[:min(len(wl.Areas), summaryNames)]
		wl.More = len(wl.Areas) - len(wl.Shown)
		out = append(out, wl)
	}
	return out
}

func urgentFirst(a, b warnArea) bool {
	if a.LeadTimeHours != b.LeadTimeHours {
		return a.LeadTimeHours < b.LeadTimeHours
	}
	if a.AdminLevel != b.AdminLevel {
		return a.AdminLevel > b.AdminLevel // districts before their provinces
	}
	if a.ChildrenAtRisk != b.ChildrenAtRisk {
		return a.ChildrenAtRisk > b.ChildrenAtRisk
	}
	return a.Name < b.Name
}

func levelRank(l string) int {
	switch l {
	case "alert":
		return 3
	case "warning":
		return 2
	case "watch":
		return 1
	}
	return 0
}

// childrenAtRisk is the summary's headline: over the deepest admin level
// that has warnings (so provinces do not count their districts again),
// each area once with its largest children-at-risk figure.
type childrenAtRisk struct {
	Total      float64
	Areas      int
	AdminLevel int
}

func (d pageData) ChildrenAtRisk() childrenAtRisk {
	deepest := -1
	for _, w := range d.Warnings {
		deepest = max(deepest, w.AdminLevel)
	}
	per := map[string]float64{}
	for _, w := range d.Warnings {
		if w.AdminLevel == deepest {
			per[w.Code] = math.Max(per[w.Code], w.ChildrenAtRisk)
		}
	}
	out := childrenAtRisk{Areas: len(per), AdminLevel: deepest}
	for _, v := range per {
		out.Total += v
	}
	return out
}

// SortedWarnings is the warnings table's order: level, then the soonest
// lead time, then the most children at risk.
func (d pageData) SortedWarnings() []adapter.Warning {
	out := append([]adapter.Warning(nil), d.Warnings...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := levelRank(strings.ToLower(out[i].Level)), levelRank(strings.ToLower(out[j].Level))
		if ri != rj {
			return ri > rj
		}
		return urgentFirst(warnArea{Name: out[i].Name, AdminLevel: out[i].AdminLevel, LeadTimeHours: out[i].LeadTimeHours, ChildrenAtRisk: out[i].ChildrenAtRisk},
			warnArea{Name: out[j].Name, AdminLevel: out[j].AdminLevel, LeadTimeHours: out[j].LeadTimeHours, ChildrenAtRisk: out[j].ChildrenAtRisk})
	})
	return out
}

// hazardCount is how many areas one hazard puts at any warning level.
type hazardCount struct {
	Hazard string
	Areas  int
}

// HazardCounts lists the hazards behind the warnings, most areas first.
func (d pageData) HazardCounts() []hazardCount {
	areas := map[string]map[string]bool{}
	for _, w := range d.Warnings {
		h := w.Hazard
		if h == "" {
			h = d.IndName(w.Indicator)
		}
		if areas[h] == nil {
			areas[h] = map[string]bool{}
		}
		areas[h][w.Code] = true
	}
	out := make([]hazardCount, 0, len(areas))
	for h, codes := range areas {
		out = append(out, hazardCount{Hazard: h, Areas: len(codes)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Areas != out[j].Areas {
			return out[i].Areas > out[j].Areas
		}
		return out[i].Hazard < out[j].Hazard
	})
	return out
}
