// Package ecmwf is the ECMWF ensemble tropical cyclone track source: the
// latest run's track file (BUFR edition 4, decoded by internal/bufr), one
// forecast event per storm with every member's track and, per member and
// wind threshold, the swath its wind radii sweep. See README.md.
package ecmwf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "ecmwf"

// DefaultRoot is ECMWF's own open-data server; public cloud mirrors serve
// the same layout under other roots.
const DefaultRoot = "https://data.ecmwf.int/forecasts"

// DefaultPath is the ensemble track file of a run in ECMWF's open-data
// layout: [root]/[yyyymmdd]/[HH]z/[model]/[resol]/[stream]/[yyyymmdd][HH]0000-[step][U]-[stream]-[type].[format].
const DefaultPath = "{yyyymmdd}/{HH}z/ifs/0p25/enfo/{yyyymmdd}{HH}0000-240h-enfo-tf.bufr"

// DefaultHRESPath is the deterministic (HRES) track file of a run; its
// {stream} and {step} depend on the run hour and the IFS cycle (see
// hresLayouts).
const DefaultHRESPath = "{yyyymmdd}/{HH}z/ifs/0p25/{stream}/{yyyymmdd}{HH}0000-{step}h-{stream}-tf.bufr"

// layout is one stream and file length a run's track file may be under.
type layout struct{ stream, step string }

// hresLayouts are where a run's HRES track file may be, tried in order (a
// 404 moves to the next). ECMWF's open-data documentation: up to IFS cycle
// 50r1 (May 2026) the 00/12 UTC runs are stream oper to 240 h and the
// 06/18 UTC runs stream scda to 90 h; 50r1 retires scda, its 06/18 UTC runs
// move to oper and run to 144 h (the dissemination schedule of stream oper:
// steps 0–90 by 1, 93–144 by 3 at 06/18 UTC). Mirrors and replays of older
// runs keep the old names, so scda stays as the last try. The 144 h and
// oper/90 names of 06/18 UTC track files are our reading of those pages, not
// yet seen on the server; path overrides them.
func hresLayouts(run time.Time) []layout {
	if run.Hour() == 6 || run.Hour() == 18 {
		return []layout{{"oper", "144"}, {"oper", "90"}, {"scda", "90"}}
	}
	return []layout{{"oper", "240"}}
}

// Streams: the ensemble's track file, or the deterministic run's.
const (
	StreamEnsemble = "enfo"
	StreamHRES     = "hres"
)

// Attribution is what CC BY 4.0 asks every use of the data to say.
const Attribution = "ECMWF"

// Config is the ecmwf source's section.
type Config struct {
	// Root and Path make the file URL; Path's {yyyymmdd} and {HH} are the
	// run, {stream} and {step} the file's stream and length (enfo/240 for
	// the ensemble; for hres oper/240, and at 06/18 UTC oper/144, oper/90
	// then scda/90, tried in turn).
	Root string `mapstructure:"root"`
	Path string `mapstructure:"path"`
	// Stream is enfo (the ensemble, default) or hres: the deterministic
	// run's file, yielded as a one-member forecast (events ecmwf-hres:<id>).
	// With hres, path defaults to the HRES layout and cycles may add 6, 18.
	Stream string `mapstructure:"stream"`
	// Cycles are the run hours (UTC) to look for.
	Cycles []int `mapstructure:"cycles"`
	// DelayHours is how long after its nominal time a run is normally
	// published; younger runs are not asked for.
	DelayHours int `mapstructure:"delay_hours"`
	// Lookback is how many runs back to probe for the latest available one.
	Lookback int `mapstructure:"lookback"`
	// Run pins one run (RFC 3339 or YYYYMMDDHH) for replays and the demo.
	Run string `mapstructure:"run"`
	// IncludeDeterministic counts the deterministic (HRES) track a file may
	// carry as one more member; by default only ensemble members count.
	IncludeDeterministic bool `mapstructure:"include_deterministic"`
	// ThresholdsMS are the wind speeds (m/s) to build swaths for.
	ThresholdsMS []float64 `mapstructure:"thresholds_ms"`
	// MaxBodyBytes limits the track file download.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
}

// DefaultConfig is the config with its defaults.
func DefaultConfig() *Config {
	return &Config{Root: DefaultRoot, Path: DefaultPath, Stream: StreamEnsemble, Cycles: []int{0, 12}, DelayHours: 8, Lookback: 4,
		ThresholdsMS: []float64{18, 26, 33}, MaxBodyBytes: 32 << 20}
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if u, err := url.Parse(c.Root); c.Root == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		bad("root", "must be an http(s) or file:// URL, got %q", c.Root)
	}
	if c.Stream != StreamEnsemble && c.Stream != StreamHRES {
		bad("stream", "must be %s (ensemble) or %s (deterministic), got %q", StreamEnsemble, StreamHRES, c.Stream)
	}
	if !strings.Contains(c.Path, "{yyyymmdd}") || !strings.Contains(c.Path, "{HH}") {
		bad("path", "must contain {yyyymmdd} and {HH}, got %q", c.Path)
	}
	if len(c.Cycles) == 0 {
		bad("cycles", "give at least one run hour")
	}
	for i, h := range c.Cycles {
		if h < 0 || h > 23 {
			bad(fmt.Sprintf("cycles[%d]", i), "must be 0..23, got %d", h)
		}
	}
	if c.DelayHours < 0 || c.DelayHours > 48 {
		bad("delay_hours", "must be 0..48, got %d", c.DelayHours)
	}
	if c.Lookback < 1 || c.Lookback > 20 {
		bad("lookback", "must be 1..20, got %d", c.Lookback)
	}
	if c.Run != "" {
		if _, err := parseRun(c.Run); err != nil {
			bad("run", "%v", err)
		}
	}
	if len(c.ThresholdsMS) == 0 {
		bad("thresholds_ms", "give at least one wind speed")
	}
	for i, t := range c.ThresholdsMS {
		if t <= 0 || t > 100 {
			bad(fmt.Sprintf("thresholds_ms[%d]", i), "must be in (0, 100] m/s, got %g", t)
		}
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<30 {
		bad("max_body_bytes", "must be 1 KiB..1 GiB, got %d", c.MaxBodyBytes)
	}
	return errors.Join(errs...)
}

func parseRun(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006010215"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 or YYYYMMDDHH, got %q", s)
}

func init() {
	adapter.Register(Kind, "ECMWF ensemble tropical cyclone tracks (BUFR): per-member wind swaths for strike probability", DefaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env), nil
		})
}

// Source polls ECMWF open data.
type Source struct {
	cfg    Config
	env    adapter.Env
	client *fetch.Client
}

var _ adapter.Source = (*Source)(nil)

// New builds the source.
func New(cfg *Config, env adapter.Env) *Source {
	if env.Now == nil {
		env.Now = time.Now
	}
	c := *cfg
	if c.Stream == StreamHRES && c.Path == DefaultPath {
		c.Path = DefaultHRESPath
	}
	return &Source{cfg: c, env: env, client: fetch.ForSource(env)}
}

// URL is the first place the track file of a run is looked for.
func (s *Source) URL(run time.Time) string { return s.URLs(run)[0] }

// URLs are the places the track file of a run may be, in the order they are
// tried: one for the ensemble, one per layout for HRES (hresLayouts). A
// path without {stream} or {step} gives one URL.
func (s *Source) URLs(run time.Time) []string {
	layouts := []layout{{"enfo", "240"}}
	if s.cfg.Stream == StreamHRES {
		layouts = hresLayouts(run)
	}
	var out []string
	for _, l := range layouts {
		p := strings.NewReplacer("{yyyymmdd}", run.Format("20060102"), "{HH}", run.Format("15"),
			"{stream}", l.stream, "{step}", l.step).Replace(s.cfg.Path)
		u := strings.TrimRight(s.cfg.Root, "/") + "/" + strings.TrimLeft(p, "/")
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// candidates are the runs to probe, newest first.
func (s *Source) candidates() []time.Time {
	if s.cfg.Run != "" {
		r, _ := parseRun(s.cfg.Run)
		return []time.Time{r}
	}
	latest := s.env.Now().UTC().Add(-time.Duration(s.cfg.DelayHours) * time.Hour)
	hours := append([]int(nil), s.cfg.Cycles...)
	sort.Sort(sort.Reverse(sort.IntSlice(hours)))
	var out []time.Time
	day := time.Date(latest.Year(), latest.Month(), latest.Day(), 0, 0, 0, 0, time.UTC)
	for len(out) < s.cfg.Lookback {
		for _, h := range hours {
			r := day.Add(time.Duration(h) * time.Hour)
			if !r.After(latest) && len(out) < s.cfg.Lookback {
				out = append(out, r)
			}
		}
		day = day.AddDate(0, 0, -1)
	}
	return out
}

const (
	runKey = "run"
	urlKey = "url"
)

// Fetch finds the newest published run not older than the one held, GETs
// its track file (conditionally when it is the held run) and returns every
// storm in it as the complete set: storms absent from a newer run end.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	held, _ := parseRun(cur.Extra[runKey])
	for _, run := range s.candidates() {
		if !held.IsZero() && run.Before(held) {
			break
		}
		urls := s.URLs(run)
		if run.Equal(held) {
			// The held file first, conditionally: it is where the run was.
			if i := slices.Index(urls, cur.Extra[urlKey]); i > 0 {
				urls = append([]string{cur.Extra[urlKey]}, slices.Delete(urls, i, i+1)...)
			}
		}
		for i, u := range urls {
			req := fetch.Request{URL: u, MaxBytes: s.cfg.MaxBodyBytes, Accept: []int{http.StatusNotFound}}
			if run.Equal(held) && u == cur.Extra[urlKey] {
				req.ETag, req.LastModified = cur.ETag, cur.LastModified
			}
			resp, err := s.client.Get(ctx, req)
			if err != nil {
				// A missing local file is a run not there yet, unless it is
				// the pinned run's last chance.
				if strings.HasPrefix(u, "file://") && errors.Is(err, fs.ErrNotExist) && (s.cfg.Run == "" || i < len(urls)-1) {
					continue
				}
				return adapter.Batch{}, err
			}
			if resp.NotModified {
				return adapter.Batch{NotModified: true, Cursor: cur}, nil
			}
			if resp.Status == http.StatusNotFound {
				s.env.Logger.Debug("run not published yet", "run", run.Format(time.RFC3339), "url", resp.URL)
				continue
			}
			return s.batch(run, u, resp)
		}
	}
	if held.IsZero() {
		return adapter.Batch{}, adapter.Classify(adapter.Retryable, s.env.Name, s.URL(s.candidates()[0]),
			fmt.Errorf("no track file among the last %d runs", len(s.candidates())))
	}
	return adapter.Batch{NotModified: true, Cursor: cur}, nil
}

// batch turns a run's track file into the complete set of its storms; the
// cursor keeps the URL asked for (u), where the next poll looks first.
func (s *Source) batch(run time.Time, u string, resp *fetch.Response) (adapter.Batch, error) {
	storms, err := ParseTracks(resp.Body)
	if err != nil {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, fmt.Errorf("track file: %w", err))
	}
	b := adapter.Batch{Complete: true, Cursor: adapter.Cursor{ETag: resp.ETag, LastModified: resp.LastModified,
		Versions: map[string]string{}, Extra: map[string]string{runKey: run.Format(time.RFC3339), urlKey: u}}}
	for _, st := range storms {
		ev, ok := s.event(st, resp.URL)
		if !ok {
			continue
		}
		b.Events = append(b.Events, ev)
		b.Cursor.Versions[ev.ID] = ev.Version
	}
	return b, nil
}

// EventID is the storm's id across runs: the tracker's storm identifier
// (e.g. 06L; 70–79 are ECMWF's own labels for storms not yet named).
func EventID(stormID string) string { return "ecmwf:" + strings.ToLower(stormID) }

// HRESEventID is the id of a storm's deterministic forecast (stream hres).
func HRESEventID(stormID string) string { return "ecmwf-hres:" + strings.ToLower(stormID) }

// counted says whether a member counts towards probabilities: with stream
// hres the deterministic track alone.
func (s *Source) counted(m Member) bool {
	if s.cfg.Stream == StreamHRES {
		return m.Kind == "deterministic"
	}
	return m.Kind != "deterministic" || s.cfg.IncludeDeterministic
}

func (s *Source) event(st Storm, fileURL string) (indicators.Event, bool) {
	var members []Member
	validTo := st.Run
	for _, m := range st.Members {
		if !s.counted(m) || len(m.Points) == 0 {
			continue
		}
		members = append(members, m)
		if t := m.Points[len(m.Points)-1].Time; t.After(validTo) {
			validTo = t
		}
	}
	if len(members) == 0 {
		return indicators.Event{}, false
	}
	name := st.Name
	if name == "" || name == st.ID {
		name = st.ID
	} else {
		name = fmt.Sprintf("%s (%s)", name, st.ID)
	}
	sev, native := severity(members)
	props := map[string]any{
		"storm_id":     st.ID,
		"storm_name":   st.Name,
		"run":          st.Run.Format(time.RFC3339),
		"members":      members,
		"member_count": len(members),
		"attribution":  Attribution,
		"licence":      "CC BY 4.0",
		"url":          fileURL,
	}
	if st.ObservedLat != nil && st.ObservedLon != nil {
		props["observed_lat"], props["observed_lon"] = *st.ObservedLat, *st.ObservedLon
	}
	id, what := EventID(st.ID), "ensemble"
	if s.cfg.Stream == StreamHRES {
		id, what = HRESEventID(st.ID), "HRES"
		props["stream"] = StreamHRES
	}
	return indicators.Event{
		ID: id, Source: s.env.Name, Version: st.Run.Format(time.RFC3339),
		Type: indicators.TropicalCyclone, Phase: indicators.Forecast,
		Severity: sev, NativeSeverity: native,
		Title:  fmt.Sprintf("%s, ECMWF %s %s", name, what, st.Run.Format("2006-01-02 15Z")),
		Issued: st.Run, ValidFrom: st.Run, ValidTo: validTo,
		Footprints: Swaths(members, s.cfg.ThresholdsMS),
		Properties: props,
	}, true
}

// severity: the share of members whose maximum 10 m wind reaches 33 m/s
// (64 kt, hurricane force) at some step: ≥ 50 % red, ≥ 10 % orange, else
// green.
func severity(members []Member) (indicators.Severity, string) {
	hit := 0
	peak := 0.0
	for _, m := range members {
		mp := 0.0
		for _, p := range m.Points {
			if p.MaxWindMS != nil && *p.MaxWindMS > mp {
				mp = *p.MaxWindMS
			}
		}
		if mp >= 33 {
			hit++
		}
		peak = max(peak, mp)
	}
	share := float64(hit) / float64(len(members))
	sev := indicators.SeverityGreen
	switch {
	case share >= 0.5:
		sev = indicators.SeverityRed
	case share >= 0.1:
		sev = indicators.SeverityOrange
	}
	return sev, fmt.Sprintf("%d of %d members reach 33 m/s (64 kt); peak %.1f m/s", hit, len(members), peak)
}
