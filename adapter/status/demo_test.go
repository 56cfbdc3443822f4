package status

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/areas"
	"github.com/hazardsync/hazardsync/adapter/sources/eonet"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// fakeProvider is a Provider with settable state.
type fakeProvider struct {
	mu       sync.Mutex
	sources  []adapter.SourceHealth
	delivery adapter.DeliveryHealth
	lastRun  adapter.RunSummary
	areas    []indicators.Area
	defs     []indicators.Definition
	values   []indicators.Value
	warnings []adapter.Warning
	events   []indicators.Event
	reload   adapter.ReloadState
	info     Info
}

func (f *fakeProvider) SourceHealth() []adapter.SourceHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]adapter.SourceHealth(nil), f.sources...)
}
func (f *fakeProvider) Delivery() adapter.DeliveryHealth { return f.delivery }
func (f *fakeProvider) LastRun() adapter.RunSummary {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastRun
}
func (f *fakeProvider) Areas() []indicators.Area            { return f.areas }
func (f *fakeProvider) Indicators() []indicators.Definition { return f.defs }
func (f *fakeProvider) CurrentValues() []indicators.Value   { return f.values }
func (f *fakeProvider) Warnings() []adapter.Warning         { return f.warnings }
func (f *fakeProvider) Reload() adapter.ReloadState         { return f.reload }
func (f *fakeProvider) ActiveEvents() []indicators.Event    { return f.events }
func (f *fakeProvider) Info() Info                          { return f.info }

var (
	_ Provider       = (*fakeProvider)(nil)
	_ EventsProvider = (*fakeProvider)(nil)
)

// demoNow is inside the demo feeds' window (2026-11-20..27).
var demoNow = time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)

// demoDefs are the indicators the demo computes, with real recipes.
func demoDefs() []indicators.Definition {
	return []indicators.Definition{
		{Shortcode: "HZ_ALERT", Name: "Hazard alert level", Type: indicators.String, Recipe: "alert_level",
			Codes: []string{"none", "green", "orange", "red"}, Category: "Hazards",
			Description: "Highest normalised severity of the hazards touching the area."},
		{Shortcode: "HZ_CHILDREN_EXPOSED", Name: "Children exposed to hazards", Type: indicators.Float, Unit: "children",
			Recipe: "children_exposed", Category: "Hazards",
			Description: "Under-18 population inside observed hazard footprints (area-weighted)."},
		{Shortcode: "HZ_AREA_KM2", Name: "Area affected", Type: indicators.Float, Unit: "km²",
			Recipe: "area_exposed_km2", Category: "Hazards"},
		{Shortcode: "HZ_PRESENT", Name: "Hazard present", Type: indicators.Integer, Recipe: "hazard_presence", Category: "Hazards"},
		// An early-warning indicator whose recipe is not part of this test's
		// inputs; it shows the watch/warning/alert palette.
		{Shortcode: "EW_LEVEL", Name: "Early-warning level", Type: indicators.String, Recipe: "early_warning",
			Codes: []string{"none", "watch", "warning", "alert"}, Category: "Early warning"},
		// Lead times: the shorter, the stronger the colour. Synthesised
		// below like EW_LEVEL.
		{Shortcode: "EW_LEAD", Name: "Hours to warning level", Type: indicators.Float, Unit: "hours", Recipe: "lead_time_hours",
			Category: "Early warning"},
	}
}

// demoData builds the demo's picture: Demoland's areas and baseline
// (fixtures/demo), events from the demo EONET feed fetched through the real
// source over file://, and values computed by the real recipes.
func demoData(t testing.TB) (*fakeProvider, []indicators.Event) {
	t.Helper()
	dir := testutil.Fixture(t, "demo")
	as, pcodes, err := areas.LoadFiles([]config.GeoFile{{Path: filepath.Join(dir, "areas.geojson"), Level: -1,
		CodeProperty: "ucode", NameProperty: "name", LevelProperty: "admin_level", ParentProperty: "parent", PCodeProperty: "pcode"}})
	require.NoError(t, err)
	_, err = areas.ApplyBaseline(as, config.Baseline{File: filepath.Join(dir, "baseline.csv"), KeyColumn: "ucode", KeyType: "ucode",
		PopulationColumn: "population", Under18Column: "under18", SchoolsColumn: "schools", HealthColumn: "health_facilities"}, pcodes)
	require.NoError(t, err)

	feed, err := filepath.Abs(filepath.Join(dir, "feeds", "eonet", "events.json"))
	require.NoError(t, err)
	cfg := eonet.DefaultConfig()
	cfg.URL = "file://" + feed
	env := adapter.Env{Name: "eonet", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return demoNow }, Fetch: config.Fetch{Timeout: 5 * time.Second, MaxBodyBytes: 8 << 20}}
	start := time.Now()
	batch, err := eonet.New(cfg, env).Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	fetchDur := time.Since(start)
	require.NotEmpty(t, batch.Events, "demo EONET feed has events")

	in := &indicators.Input{Events: batch.Events, Areas: as, Exposure: indicators.NewAreaWeighted(as), Now: demoNow,
		Date: indicators.DateOf(demoNow, nil)}
	defs := demoDefs()
	var values []indicators.Value
	for _, d := range defs {
		rec, ok := indicators.LookupRecipe(d.Recipe)
		if !ok || strings.HasPrefix(d.Shortcode, "EW_") {
			continue
		}
		vs, err := rec.Compute(d, in)
		require.NoError(t, err, d.Shortcode)
		values = append(values, vs...)
	}
	byInd := map[string]int{}
	for _, v := range values {
		byInd[v.Indicator]++
	}
	require.NotZero(t, byInd["HZ_ALERT"], "the demo events touch Demoland")
	require.NotZero(t, byInd["HZ_CHILDREN_EXPOSED"], "the demo events expose children")

	// Early-warning levels from the computed exposure, so the categorical
	// watch/warning/alert palette is exercised with the demo's geography.
	var warnings []adapter.Warning
	names := map[string]string{}
	for _, a := range as {
		names[a.Code] = a.Name
	}
	for _, v := range values {
		if v.Indicator != "HZ_CHILDREN_EXPOSED" || v.Number <= 0 {
			continue
		}
		level, lead := "watch", 60.0
		switch {
		case v.Number >= 15000:
			level, lead = "alert", 0
		case v.Number >= 5000:
			level, lead = "warning", 18
		}
		values = append(values, indicators.Value{Indicator: "EW_LEVEL", Code: v.Code, AdminLevel: v.AdminLevel, Date: v.Date,
			Type: indicators.String, Text: level, Attributes: map[string]any{"lead_time_hours": lead, "phase": "forecast", "method": "test"}},
			indicators.Value{Indicator: "EW_LEAD", Code: v.Code, AdminLevel: v.AdminLevel, Date: v.Date,
				Type: indicators.Float, Number: lead, Attributes: map[string]any{"phase": "forecast", "method": "test"}})
		warnings = append(warnings, adapter.Warning{Indicator: "EW_LEVEL", Code: v.Code, Name: names[v.Code], Level: level,
			LeadTimeHours: lead, Hazard: "wildfire", Since: demoNow.Add(-3 * time.Hour), ChildrenAtRisk: v.Number})
	}
	sort.SliceStable(warnings, func(i, j int) bool { return warnings[i].ChildrenAtRisk > warnings[j].ChildrenAtRisk })

	p := &fakeProvider{
		areas: as, defs: defs, values: values, warnings: warnings, events: batch.Events,
		sources: []adapter.SourceHealth{
			{Name: "eonet", Kind: "eonet", Enabled: true, Healthy: true, LastAttempt: demoNow.Add(-2 * time.Minute),
				LastSuccess: demoNow.Add(-2 * time.Minute), Duration: fetchDur, Events: len(batch.Events), Problems: errStrings(batch.Problems)},
			{Name: "usgs", Kind: "usgs", Enabled: true, Healthy: false, LastAttempt: demoNow.Add(-1 * time.Minute),
				LastSuccess: demoNow.Add(-70 * time.Minute), Duration: 30 * time.Second, Events: 3, ErrorClass: "retryable",
				LastError: "source usgs: GET https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_day.geojson: context deadline exceeded (timeout 30s)"},
			{Name: "gdacs", Kind: "gdacs", Enabled: false, Healthy: true},
		},
		delivery: adapter.DeliveryHealth{Sink: "geosight", Sent: len(values) - 2, Unchanged: 12, Rejected: 1, Retrying: 1, Pending: 1,
			Recent: []adapter.Rejection{{Value: values[0], At: demoNow.Add(-5 * time.Minute),
				Reason: `400 Bad Request: {"value": ["Value is not in the code list of indicator HZ_ALERT"]}`}}},
		lastRun: adapter.RunSummary{Started: demoNow.Add(-90 * time.Second), AsOf: demoNow.Add(-90 * time.Second), Duration: 1800 * time.Millisecond, Events: len(batch.Events),
			Values: len(values), Sent: len(values) - 2, Unchanged: 12, Rejected: 1, Failed: 1, Pending: 1, SourceErr: 1},
		reload: adapter.ReloadState{ConfigPath: "fixtures/demo/hazardsync.yaml", OK: true, LastSuccess: demoNow.Add(-3 * time.Hour)},
		info: Info{Version: "v0.1.0-test", Started: demoNow.Add(-3 * time.Hour), ConfigPath: "fixtures/demo/hazardsync.yaml",
			StateDir: ".demo-state", GeoSightURL: "http://127.0.0.1:8080/geosight/", Embedded: true, EmbeddedURL: "http://127.0.0.1:8080/geosight/"},
	}
	return p, batch.Events
}

func errStrings(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
