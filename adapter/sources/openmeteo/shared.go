package openmeteo

import (
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// This file holds the configuration and polling pieces every Open-Meteo
// source (openmeteo, glofas) shares.

// Settings are the request keys every Open-Meteo source config has.
type Settings struct {
	URL                string
	Timezone           string
	BatchSize          int
	CallsPerMinute     int
	MaxCoordinateShift float64
	ModelRunInterval   time.Duration
	MinSeverity        string
}

// AddFunc records one config problem for a field.
type AddFunc func(field, format string, a ...any)

// ValidateURL checks url (sources check it first, their own keys next).
func (s Settings) ValidateURL(add AddFunc) {
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		add("url", "must be an http(s):// or file:// URL, got %q", s.URL)
	}
}

// Validate checks timezone, batching, pacing, model run and severity keys.
func (s Settings) Validate(add AddFunc) {
	if s.Timezone == "" {
		add("timezone", "must be set (auto, UTC, or an IANA name): daily aggregates follow it")
	} else if s.Timezone != "auto" && !strings.EqualFold(s.Timezone, "GMT") {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			add("timezone", "unknown time zone %q (want auto, UTC or an IANA name)", s.Timezone)
		}
	}
	if s.BatchSize < 1 || s.BatchSize > 1000 {
		add("batch_size", "must be 1..1000, got %d", s.BatchSize)
	}
	if s.CallsPerMinute < 1 {
		add("calls_per_minute", "must be >= 1, got %d", s.CallsPerMinute)
	}
	if s.ModelRunInterval < time.Minute {
		add("model_run_interval", "must be >= 1m, got %s", s.ModelRunInterval)
	}
	if sev, err := indicators.ParseSeverity(s.MinSeverity); err != nil || sev == indicators.SeverityNone {
		add("min_severity", "must be green, orange or red, got %q", s.MinSeverity)
	}
	if s.MaxCoordinateShift < 0 {
		add("max_coordinate_shift", "must be >= 0 (0 = no check), got %g", s.MaxCoordinateShift)
	}
}

// Requester builds the batched, paced requester for these settings.
func (s Settings) Requester(env adapter.Env) *Requester {
	return &Requester{
		Source:    env.Name,
		Fetch:     fetch.ForSource(env),
		URL:       s.URL,
		BatchSize: s.BatchSize,
		Limiter:   rate.NewLimiter(rate.Limit(float64(s.CallsPerMinute)/60), max(s.BatchSize, 1)),
		MaxShift:  s.MaxCoordinateShift,
	}
}

// CompleteBatch is the Complete batch of events with next's versions set;
// when the versions equal cur's, it is NotModified instead (the forecast
// did not change).
func CompleteBatch(cur, next adapter.Cursor, events []indicators.Event, problems []error) adapter.Batch {
	next.Versions = map[string]string{}
	for _, e := range events {
		next.Versions[e.ID] = e.Version
	}
	if cur.Versions != nil && sameVersions(cur.Versions, next.Versions) {
		return adapter.Batch{NotModified: true, Cursor: next, Problems: problems}
	}
	return adapter.Batch{Events: events, Complete: true, Cursor: next, Problems: problems}
}

func sameVersions(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
