package adapter

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// SourceHealth is what the status page and `hazardsync once` say about a
// source.
type SourceHealth struct {
	Name        string        `json:"name"`
	Kind        string        `json:"type"`
	Enabled     bool          `json:"enabled"`
	Healthy     bool          `json:"healthy"`
	LastAttempt time.Time     `json:"last_attempt,omitzero"`
	LastSuccess time.Time     `json:"last_success,omitzero"`
	LastError   string        `json:"last_error,omitempty"`
	ErrorClass  string        `json:"error_class,omitempty"`
	Duration    time.Duration `json:"duration"`
	Events      int           `json:"events"`
	Problems    []string      `json:"problems,omitempty"`
	NotModified bool          `json:"not_modified,omitempty"`
}

// DeliveryHealth is the sink's side of the status page.
type DeliveryHealth struct {
	Sink      string      `json:"sink"`
	Sent      int         `json:"sent"`
	Unchanged int         `json:"unchanged"`
	Rejected  int         `json:"rejected"`
	Retrying  int         `json:"retrying"`
	Pending   int         `json:"pending"`
	LastError string      `json:"last_error,omitempty"`
	Recent    []Rejection `json:"recent_rejections,omitempty"`
	// Rate is the values/s the sink took in the last delivery of at least
	// MinRateSample values (0 = not measured yet).
	Rate float64 `json:"values_per_second,omitempty"`
	// LastDelivery is how long the last delivery took.
	LastDelivery time.Duration `json:"last_delivery_ns,omitempty"`
	// TimeLeft estimates how long the outbox takes to deliver at Rate.
	TimeLeft time.Duration `json:"time_left_ns,omitempty"`
	// SyncInterval is schedule.interval, what a delivery should fit in.
	SyncInterval time.Duration `json:"sync_interval_ns,omitempty"`
	// UsePull recommends GeoSight's importer reading /pull/ (measured ~4×
	// faster than value POSTs) because the backlog or the last delivery
	// takes longer than the sync interval; Advice says so in words.
	UsePull bool   `json:"recommend_pull_feed,omitempty"`
	Advice  string `json:"advice,omitempty"`
	// Sinks is each sink's own health when several are configured (the
	// fields above are then their totals).
	Sinks []DeliveryHealth `json:"sinks,omitempty"`
}

// MinRateSample is the fewest values a delivery must send for its rate to
// count (a handful of values says little about a server's speed).
const MinRateSample = 20

// EstimateBacklog fills TimeLeft, UsePull and Advice from Pending, Rate,
// LastDelivery and SyncInterval.
func (d *DeliveryHealth) EstimateBacklog() {
	d.TimeLeft, d.UsePull, d.Advice = 0, false, ""
	if d.Rate > 0 && d.Pending > 0 {
		d.TimeLeft = time.Duration(float64(d.Pending) / d.Rate * float64(time.Second)).Round(time.Second)
	}
	if d.SyncInterval <= 0 {
		return
	}
	switch {
	case d.TimeLeft > d.SyncInterval:
		d.UsePull = true
		d.Advice = fmt.Sprintf("%d values queued take ~%s at %.1f values/s, longer than the sync interval (%s): "+
			"let GeoSight's importer read /pull/ (about 4× faster; see adapter/geosight/README.md)",
			d.Pending, d.TimeLeft, d.Rate, d.SyncInterval)
	case d.LastDelivery > d.SyncInterval:
		d.UsePull = true
		d.Advice = fmt.Sprintf("the last delivery took %s at %.1f values/s, longer than the sync interval (%s): "+
			"let GeoSight's importer read /pull/ (about 4× faster; see adapter/geosight/README.md)",
			d.LastDelivery.Round(time.Second), d.Rate, d.SyncInterval)
	}
}

// ReloadState is the config hot-reload status: an invalid edit is refused
// and shown here while the last valid config keeps running.
type ReloadState struct {
	ConfigPath  string    `json:"config_path"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	OK          bool      `json:"ok"`
	Errors      []string  `json:"errors,omitempty"`
}

// Warning is an area currently at an early-warning level.
type Warning struct {
	Indicator      string    `json:"indicator"`
	Code           string    `json:"code"`
	Name           string    `json:"name"`
	Level          string    `json:"level"`
	LeadTimeHours  float64   `json:"lead_time_hours"`
	Hazard         string    `json:"hazard,omitempty"`
	Since          time.Time `json:"since,omitzero"`
	ChildrenAtRisk float64   `json:"children_at_risk,omitempty"`

	// AdminLevel is the area's level (the status server fills it in).
	AdminLevel int `json:"admin_level"`
}

// AddSinks adds the sinks' counts (Sinks) to the run's totals.
func (s *RunSummary) AddSinks() {
	for _, c := range s.Sinks {
		s.Sent += c.Sent
		s.Unchanged += c.Unchanged
		s.Rejected += c.Rejected
		s.Failed += c.Failed
		s.Pending += c.Pending
	}
}

// SumDeliveries is the delivery health of several sinks together: their
// counts summed, their errors named by sink, the slowest backlog estimate;
// each sink's own health in Sinks.
func SumDeliveries(ds []DeliveryHealth) DeliveryHealth {
	var t DeliveryHealth
	var names, errs []string
	for _, d := range ds {
		names = append(names, d.Sink)
		t.Sent += d.Sent
		t.Unchanged += d.Unchanged
		t.Rejected += d.Rejected
		t.Retrying += d.Retrying
		t.Pending += d.Pending
		if d.LastError != "" {
			errs = append(errs, d.Sink+": "+d.LastError)
		}
		t.Recent = append(t.Recent, d.Recent...)
		if d.LastDelivery > t.LastDelivery {
			t.LastDelivery = d.LastDelivery
		}
		if d.TimeLeft >= t.TimeLeft {
			t.TimeLeft, t.Rate = d.TimeLeft, d.Rate
		}
		if d.UsePull && !t.UsePull {
			t.UsePull, t.Advice = true, d.Sink+": "+d.Advice
		}
		t.SyncInterval = d.SyncInterval
	}
	sort.SliceStable(t.Recent, func(i, j int) bool { return t.Recent[i].At.After(t.Recent[j].At) })
	if len(t.Recent) > 20 {
		t.Recent = t.Recent[:20]
	}
	t.Sink = strings.Join(names, ", ")
	t.LastError = strings.Join(errs, "; ")
	t.Sinks = ds
	return t
}
