package runner

import (
	"encoding/json"
	"fmt"
	"github.com/hazardsync/hazardsync/adapter"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// KV is the small JSON key-value capability of the store (adapter/state
// has it); the warning ledger keeps its entries there.
type KV interface {
	GetJSON(bucket, key string, v any) (bool, error)
	PutJSON(bucket, key string, v any) error
}

const ledgerBucket = "warning-ledger"

// LedgerEntry is an area's early-warning state for one indicator: the level
// in force, since when, a pending lower level (hysteresis), and the history
// of levels entered.
type LedgerEntry struct {
	Level      string       `json:"level"`
	Since      time.Time    `json:"since"`
	Lower      string       `json:"lower,omitempty"`
	LowerSince time.Time    `json:"lower_since,omitzero"`
	History    []Transition `json:"history,omitempty"`
}

// Transition records entering a level.
type Transition struct {
	Level string    `json:"level"`
	At    time.Time `json:"at"`
}

const maxHistory = 50

// applyHysteresis runs every early_warning_level value through the ledger
// (see Hysteresis) and, when save is set, stores the entries that changed.
// A dry run passes save=false: it shows what the ledger would hold, and the
// next run starts from the ledger as the last real sync left it.
func applyHysteresis(st adapter.Store, cfg config.Config, areas []indicators.Area, vals []indicators.Value, now time.Time, save bool) ([]indicators.Value, map[string]LedgerEntry, error) {
	kv, ok := st.(KV)
	if !ok {
		return vals, nil, nil
	}
	prev, err := readLedger(kv, ledgerKeys(cfg, areas))
	if err != nil {
		return nil, nil, err
	}
	out, entries, changed := Hysteresis(cfg, areas, vals, now, prev)
	if save {
		for _, key := range changed {
			if err := kv.PutJSON(ledgerBucket, key, entries[key]); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, entries, nil
}

// kvScanner reads a whole bucket in one transaction (adapter/state has it).
type kvScanner interface {
	EachJSON(bucket string, fn func(key string, raw []byte) error) error
}

// readLedger reads the entries of keys that exist. With a scanner it is one
// pass over the ledger: a transaction per key (5,040 at country scale, most
// of them absent) was a tenth of a sync where nothing changed.
func readLedger(kv KV, keys []string) (map[string]LedgerEntry, error) {
	prev := map[string]LedgerEntry{}
	sc, ok := kv.(kvScanner)
	if !ok {
		for _, key := range keys {
			var e LedgerEntry
			found, err := kv.GetJSON(ledgerBucket, key, &e)
			if err != nil {
				return nil, err
			}
			if found {
				prev[key] = e
			}
		}
		return prev, nil
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	err := sc.EachJSON(ledgerBucket, func(key string, raw []byte) error {
		if !want[key] {
			return nil // a series no longer configured
		}
		var e LedgerEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("record %q: %w", key, err)
		}
		prev[key] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return prev, nil
}

// ledgerKeys are the ledger keys of every early-warning series: one per
// early_warning_level indicator and area at its computed level.
func ledgerKeys(cfg config.Config, areas []indicators.Area) []string {
	var out []string
	for _, def := range cfg.Indicators {
		if def.Recipe != "early_warning_level" {
			continue
		}
		for _, a := range areas {
			if ledgerCovers(def, a) {
				out = append(out, def.Shortcode+"|"+a.Code)
			}
		}
	}
	return out
}

func ledgerCovers(def indicators.Definition, a indicators.Area) bool {
	return def.AtLevel(a.Level) && (def.RollupFrom == nil || a.Level == *def.RollupFrom)
}

// Hysteresis is a pure function of (previous ledger, values, now): raising
// a level is immediate; lowering (down to none) happens only once the lower
// level has held for the trigger's clear_after. Held values are re-emitted
// at the level in force, flagged held=true. It returns the values, the
// ledger entries in force, and the keys whose entry changed (what a real
// sync stores).
func Hysteresis(cfg config.Config, areas []indicators.Area, vals []indicators.Value, now time.Time, prev map[string]LedgerEntry) ([]indicators.Value, map[string]LedgerEntry, []string) {
	level := func(s string) int { l, _ := indicators.ParseLevel(s); return l }
	entries := map[string]LedgerEntry{}
	var changedKeys []string
	// Values are referred to by index, not copied into groups: at country
	// scale grouping and regrouping ~35,000 values of ~100 bytes was a
	// fifth of what a sync where nothing changed allocated. Shortcodes are
	// unique (config checks it); a repeated one counts once.
	kept := make(map[string]bool, len(cfg.Indicators)) // configured and not early warning
	ewAt := map[string][]int{}                         // early-warning shortcode → its values' indexes
	for _, def := range cfg.Indicators {
		if def.Recipe == "early_warning_level" {
			ewAt[def.Shortcode] = nil
		} else {
			kept[def.Shortcode] = true
		}
	}
	var ew []indicators.Value // early-warning values after the ledger
	for i, v := range vals {
		if at, ok := ewAt[v.Indicator]; ok {
			ewAt[v.Indicator] = append(at, i)
		}
	}
	for _, def := range cfg.Indicators {
		at, ok := ewAt[def.Shortcode]
		if def.Recipe != "early_warning_level" || !ok {
			continue
		}
		delete(ewAt, def.Shortcode)
		trig, _ := def.Params["trigger"].(string)
		clearAfter := cfg.Triggers[trig].ClearAfter
		computed := make(map[string]indicators.Value, len(at))
		for _, i := range at {
			computed[vals[i].Code] = vals[i]
		}
		for _, a := range areas {
			if !ledgerCovers(def, a) {
				continue
			}
			key := def.Shortcode + "|" + a.Code
			e, found := prev[key]
			// Never share the history slice with the caller's ledger.
			e.History = append([]Transition(nil), e.History...)
			v, has := computed[a.Code]
			forecastLevel := "none"
			if has {
				forecastLevel = v.Text
			}
			if !found {
				if forecastLevel == "none" {
					continue
				}
				e = LedgerEntry{Level: "none"}
			}
			changed := false
			switch {
			case level(forecastLevel) > level(e.Level):
				e.Level, e.Since, e.Lower, e.LowerSince = forecastLevel, now, "", time.Time{}
				e.History = appendBounded(e.History, Transition{forecastLevel, now})
				changed = true
			case level(forecastLevel) == level(e.Level):
				if e.Lower != "" {
					e.Lower, e.LowerSince, changed = "", time.Time{}, true
				}
			default:
				if e.Lower == "" {
					e.LowerSince = now
				}
				if e.Lower != forecastLevel {
					e.Lower, changed = forecastLevel, true
				}
				if now.Sub(e.LowerSince) >= clearAfter {
					e.Level, e.Since, e.Lower, e.LowerSince = forecastLevel, now, "", time.Time{}
					e.History = appendBounded(e.History, Transition{forecastLevel, now})
					changed = true
				}
			}
			if changed {
				changedKeys = append(changedKeys, key)
			}
			entries[key] = e
			if e.Level != forecastLevel {
				held := indicators.Value{Indicator: def.Shortcode, Code: a.Code, AdminLevel: a.Level, Type: indicators.String,
					Text: e.Level, Attributes: map[string]any{"phase": "forecast", "note": "forecast, not an activation",
						"trigger": trig, "held": true, "forecast_level": forecastLevel,
						"clears_at": e.LowerSince.Add(clearAfter).UTC().Format(time.RFC3339)}}
				if has {
					held.Date = v.Date
				} else {
					held.Date = indicators.DateOf(now, cfg.Location())
				}
				computed[a.Code] = held
			}
		}
		for _, v := range computed {
			if v.Text != "none" {
				ew = append(ew, v)
			}
		}
	}
	// The other configured indicators' values in their input order, then
	// the early-warning ones, sorted stably by key into one slice of the
	// final size. Keys are unique across indicators, so the order before
	// the sort matters only among equal keys of one indicator, which keep
	// their input order.
	n := len(ew)
	for _, v := range vals {
		if kept[v.Indicator] {
			n++
		}
	}
	keys := make([]indicators.Key, 0, n)
	from := make([]*indicators.Value, 0, n)
	for i := range vals {
		if kept[vals[i].Indicator] {
			keys = append(keys, vals[i].Key())
			from = append(from, &vals[i])
		}
	}
	for i := range ew {
		keys = append(keys, ew[i].Key())
		from = append(from, &ew[i])
	}
	out := make([]indicators.Value, len(keys))
	for n, i := range keyOrder(keys) {
		out[n] = *from[i]
	}
	return out, entries, changedKeys
}

// keyOrder returns the positions of keys in the order of the keys' strings
// (indicator|date|code), equal keys in position order: what a stable sort
// on the strings gives, without building ~35,000 strings a sync.
func keyOrder(keys []indicators.Key) []int {
	out := make([]int, len(keys))
	for i := range out {
		out[i] = i
	}
	slices.SortFunc(out, func(a, b int) int {
		if c := compareKeys(keys[a], keys[b]); c != 0 {
			return c
		}
		return a - b
	})
	return out
}

// compareKeys orders keys as their strings (indicator|date|code) do,
// without building them: walking both as their five pieces, comparing the
// longest run the current pieces share.
func compareKeys(a, b indicators.Key) int {
	// The common cases first: the same indicator and dates of one length
	// (the strings first differ in the date, or else in the code), or
	// indicators that differ before either ends.
	if a.Indicator == b.Indicator && len(a.Date) == len(b.Date) {
		if c := strings.Compare(string(a.Date), string(b.Date)); c != 0 {
			return c
		}
		return strings.Compare(a.Code, b.Code)
	}
	if n := min(len(a.Indicator), len(b.Indicator)); a.Indicator[:n] != b.Indicator[:n] {
		return strings.Compare(a.Indicator, b.Indicator)
	}
	as := [5]string{a.Indicator, "|", string(a.Date), "|", a.Code}
	bs := [5]string{b.Indicator, "|", string(b.Date), "|", b.Code}
	i, j, x, y := 0, 0, 0, 0 // piece and offset in it, for a and b
	for {
		for i < len(as) && x == len(as[i]) {
			i, x = i+1, 0
		}
		for j < len(bs) && y == len(bs[j]) {
			j, y = j+1, 0
		}
		switch {
		case i == len(as) && j == len(bs):
			return 0
		case i == len(as):
			return -1
		case j == len(bs):
			return 1
		}
		n := min(len(as[i])-x, len(bs[j])-y)
		if c := strings.Compare(as[i][x:x+n], bs[j][y:y+n]); c != 0 {
			return c
		}
		x, y = x+n, y+n
	}
}

func appendBounded(h []Transition, t Transition) []Transition {
	h = append(h, t)
	if len(h) > maxHistory {
		h = h[len(h)-maxHistory:]
	}
	return h
}

// warningsFrom lists the areas at a warning level after a sync.
func warningsFrom(cfg config.Config, areas []indicators.Area, vals []indicators.Value, ledger map[string]LedgerEntry, now time.Time) []adapter.Warning {
	names := map[string]string{}
	for _, a := range areas {
		names[a.Code] = a.Name
	}
	ew := map[string]indicators.Definition{}
	childrenDef := map[string]string{} // trigger → children_at_risk shortcode
	for _, d := range cfg.Indicators {
		trig, _ := d.Params["trigger"].(string)
		switch d.Recipe {
		case "early_warning_level":
			ew[d.Shortcode] = d
		case "children_at_risk":
			if _, dup := childrenDef[trig]; !dup {
				childrenDef[trig] = d.Shortcode
			}
		}
	}
	children := map[string]float64{} // shortcode|code → children at risk
	for _, v := range vals {
		children[v.Indicator+"|"+v.Code] = v.Number
	}
	var out []adapter.Warning
	for _, v := range vals {
		d, ok := ew[v.Indicator]
		if !ok || v.IsZero() {
			continue
		}
		w := adapter.Warning{Indicator: v.Indicator, Code: v.Code, Name: names[v.Code], Level: v.Text}
		w.Hazard, _ = d.Params["trigger"].(string)
		// Lead time from the sync's time to when the level is first
		// reached (the value carries the time, which stays true).
		if ft, ok := v.Attributes["first_time"].(string); ok {
			if first, err := time.Parse(time.RFC3339, ft); err == nil {
				w.LeadTimeHours = indicators.WholeLeadHours(first.Sub(now).Hours())
			}
		}
		if e, ok := ledger[v.Indicator+"|"+v.Code]; ok {
			w.Since = e.Since
		}
		if sc, ok := childrenDef[w.Hazard]; ok {
			w.ChildrenAtRisk = children[sc+"|"+v.Code]
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		li, _ := indicators.ParseLevel(out[i].Level)
		lj, _ := indicators.ParseLevel(out[j].Level)
		if li != lj {
			return li > lj
		}
		return fmt.Sprint(out[i].Indicator, out[i].Code) < fmt.Sprint(out[j].Indicator, out[j].Code)
	})
	return out
}
