package adapter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEstimateBacklog(t *testing.T) {
	cases := []struct {
		name     string
		in       DeliveryHealth
		left     time.Duration
		usePull  bool
		contains string
	}{
		{"nothing measured", DeliveryHealth{Pending: 100, SyncInterval: 10 * time.Minute}, 0, false, ""},
		{"fits the interval", DeliveryHealth{Pending: 600, Rate: 10, SyncInterval: 10 * time.Minute}, time.Minute, false, ""},
		// A country's first sync: 75,000 values at 11 values/s.
		{"country backlog", DeliveryHealth{Pending: 75_000, Rate: 11, SyncInterval: 10 * time.Minute},
			1*time.Hour + 53*time.Minute + 38*time.Second, true, "75000 values queued take ~1h53m38s at 11.0 values/s, longer than the sync interval (10m0s)"},
		{"last delivery too long", DeliveryHealth{Rate: 12, LastDelivery: 25 * time.Minute, SyncInterval: 10 * time.Minute},
			0, true, "the last delivery took 25m0s"},
		{"no interval", DeliveryHealth{Pending: 75_000, Rate: 11}, 1*time.Hour + 53*time.Minute + 38*time.Second, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.in
			d.EstimateBacklog()
			assert.Equal(t, tc.left, d.TimeLeft)
			assert.Equal(t, tc.usePull, d.UsePull)
			if tc.contains == "" {
				assert.Empty(t, d.Advice)
			} else {
				assert.Contains(t, d.Advice, tc.contains)
				assert.Contains(t, d.Advice, "/pull/")
			}
		})
	}
}
