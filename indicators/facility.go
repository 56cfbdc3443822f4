package indicators

import "github.com/paulmach/orb"

// Facility is a point asset counted by facilities_exposed: a school, a
// health facility, a water point. Kind is the operator's own word ("school",
// "health"), compared case-insensitively.
type Facility struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"`
	Name  string    `json:"name,omitempty"`
	Point orb.Point `json:"-"`
}
