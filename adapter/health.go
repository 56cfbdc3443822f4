package adapter

import (
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
