package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type optInner struct {
	Property string `mapstructure:"property"`
	Unit     string `mapstructure:"unit"`
}

type optConfig struct {
	URL       string              `mapstructure:"url"`
	Cycles    []int               `mapstructure:"cycles"`
	Radius    map[string]int      `mapstructure:"radius"`
	Lookback  time.Duration       `mapstructure:"lookback"`
	Intensity optInner            `mapstructure:"intensity"`
	Bands     []optInner          `mapstructure:"bands"`
	ByName    map[string]optInner `mapstructure:"by_name"`
	MinValue  *float64            `mapstructure:"min_value"`
}

// Options lists what the config reference lists for a source kind: keys
// through sections, lists and maps of sections as one key, defaults as
// YAML.
func TestOptionsListKeysAndYAMLDefaults(t *testing.T) {
	got := Options(&optConfig{URL: "https://x.example/feed", Cycles: []int{0, 12}, Radius: map[string]int{"b": 2, "a": 1},
		Lookback: 90 * time.Minute, Intensity: optInner{Unit: "m"}})
	assert.Equal(t, []Option{
		{"url", `"https://x.example/feed"`},
		{"cycles", "[0, 12]"},
		{"radius", "{a: 1, b: 2}"},
		{"lookback", "1h30m"},
		{"intensity.property", "(none)"},
		{"intensity.unit", "m"},
		{"bands", "(none)"},
		{"by_name", "(none)"},
		{"min_value", "(none)"},
	}, got)
}
