package cap

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

// Config is the `cap` source section.
type Config struct {
	// URL is an Atom or RSS index of CAP alerts, or one CAP alert.
	URL string `mapstructure:"url"`
	// Languages in order of preference; an <info> matches by prefix ("en"
	// matches "en-CA"). No match: the first <info>.
	Languages []string `mapstructure:"languages"`
	// GeocodeTable is a CSV valueName,value,ucode mapping CAP geocodes to
	// areas; Geocodes is the same inline.
	GeocodeTable string       `mapstructure:"geocode_table"`
	Geocodes     []GeocodeRow `mapstructure:"geocodes"`
	// SeverityMap maps CAP severity (Extreme, Severe, Moderate, Minor,
	// Unknown) to none/green/orange/red, over the defaults.
	SeverityMap map[string]string `mapstructure:"severity_map"`
	// HazardKeywords maps a hazard type to words found in <event> or
	// <eventCode> values, over the defaults (per type).
	HazardKeywords map[string][]string `mapstructure:"hazard_keywords"`
	// Statuses accepted (default Actual: Test/Exercise/Draft are dropped).
	Statuses []string `mapstructure:"statuses"`
	// MaxDocuments is the most CAP documents fetched per run; the rest
	// wait for the next run.
	MaxDocuments int `mapstructure:"max_documents"`
	// CloseMissing ends events whose entry left the index (indexes list
	// active alerts only).
	CloseMissing bool `mapstructure:"close_missing"`
	// PreferEmbedded builds alerts from an entry's cap: fields instead of
	// fetching the linked document (they are always the fallback).
	PreferEmbedded bool `mapstructure:"prefer_embedded"`
	// CircleVertices of the polygon a <circle> becomes.
	CircleVertices int `mapstructure:"circle_vertices"`
}

// GeocodeRow maps one geocode to an area.
type GeocodeRow struct {
	ValueName string `mapstructure:"value_name"` // CAP geocode valueName, e.g. EMMA_ID.
	Value     string `mapstructure:"value"`      // CAP geocode value.
	Ucode     string `mapstructure:"ucode"`      // The area (ucode) the geocode stands for.
}

// DefaultSeverity follows MeteoAlarm's colours (Moderate = yellow "be
// aware" ≈ green here, Severe = orange, Extreme = red); Minor is green.
var DefaultSeverity = map[string]indicators.Severity{
	"extreme": indicators.SeverityRed, "severe": indicators.SeverityOrange,
	"moderate": indicators.SeverityGreen, "minor": indicators.SeverityGreen, "unknown": indicators.SeverityGreen,
}

// DefaultKeywords classify <event>/<eventCode> text. The longest matching
// keyword wins ("tropical storm" over "storm", "heavy rain" over "rain").
var DefaultKeywords = map[indicators.HazardType][]string{
	indicators.Flood:           {"flood", "inundation", "high water", "river", "ffa", "ffw", "fls", "flw", "crue", "inondation", "inundación"},
	indicators.Heat:            {"heat", "high temperature", "hot weather", "heatwave", "canicule", "ola de calor", "ehw", "hwa"},
	indicators.HeavyRain:       {"rain", "heavy rain", "rainfall", "precipitation", "downpour"},
	indicators.Wind:            {"wind", "gale", "gust", "hww", "wiw"},
	indicators.SevereStorm:     {"storm", "thunderstorm", "tornado", "hail", "lightning", "blizzard", "snow", "sva", "svr", "tor"},
	indicators.TropicalCyclone: {"cyclone", "hurricane", "typhoon", "tropical storm", "tropical depression", "hua", "huw", "tra", "trw"},
	indicators.Tsunami:         {"tsunami", "tsa", "tsw"},
	indicators.Wildfire:        {"fire", "bushfire", "wildfire", "red flag", "fwa", "fww"},
	indicators.Earthquake:      {"earthquake", "seismic", "eqw"},
	indicators.Volcano:         {"volcan", "ash fall", "ashfall", "vow"},
	indicators.Landslide:       {"landslide", "mudslide", "debris flow", "avalanche"},
	indicators.Drought:         {"drought", "dry spell"},
	indicators.DustStorm:       {"dust", "sandstorm", "sand storm", "dsw"},
}

func defaultConfig() *Config {
	return &Config{Languages: []string{"en"}, Statuses: []string{"Actual"}, MaxDocuments: 50, CloseMissing: true, CircleVertices: 64}
}

// Validate reports every problem.
func (c *Config) Validate() error {
	var errs []error
	add := func(f, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: f, Message: fmt.Sprintf(format, a...)})
	}
	if u, err := url.Parse(c.URL); c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		add("url", "must be an http(s):// or file:// URL of a CAP alert or an Atom/RSS index, got %q", c.URL)
	}
	for k, v := range c.SeverityMap {
		if _, ok := DefaultSeverity[strings.ToLower(k)]; !ok {
			add("severity_map."+k, "not a CAP severity (Extreme, Severe, Moderate, Minor, Unknown)")
		}
		if _, err := indicators.ParseSeverity(v); err != nil {
			add("severity_map."+k, "%v", err)
		}
	}
	for k, words := range c.HazardKeywords {
		if _, err := indicators.ParseHazardType(k); err != nil {
			add("hazard_keywords."+k, "%v", err)
		}
		if len(words) == 0 {
			add("hazard_keywords."+k, "give at least one keyword")
		}
	}
	if len(c.Statuses) == 0 {
		add("statuses", "give at least one CAP status (Actual, Exercise, System, Test, Draft)")
	}
	if c.MaxDocuments < 1 {
		add("max_documents", "must be >= 1, got %d", c.MaxDocuments)
	}
	if c.CircleVertices < 8 || c.CircleVertices > 720 {
		add("circle_vertices", "must be 8..720, got %d", c.CircleVertices)
	}
	for i, r := range c.Geocodes {
		if r.ValueName == "" || r.Value == "" || r.Ucode == "" {
			add(fmt.Sprintf("geocodes[%d]", i), "needs value_name, value and ucode")
		}
	}
	if c.GeocodeTable != "" {
		if _, err := readGeocodeTable(c.GeocodeTable); err != nil {
			add("geocode_table", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// geocodeKey is the lookup key: valueName compared case-insensitively.
func geocodeKey(name, value string) string {
	return strings.ToLower(strings.TrimSpace(name)) + "\x00" + strings.TrimSpace(value)
}

// ResolvePaths makes a relative geocode_table relative to the config file
// (config.PathResolver).
func (c *Config) ResolvePaths(baseDir string) {
	c.GeocodeTable = config.ResolvePath(baseDir, c.GeocodeTable)
}

func readGeocodeTable(path string) ([]GeocodeRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []GeocodeRow
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "valueName") {
			continue
		}
		if len(rec) < 3 || rec[0] == "" || rec[1] == "" || rec[2] == "" {
			return nil, fmt.Errorf("%s line %d: want valueName,value,ucode", path, line)
		}
		out = append(out, GeocodeRow{ValueName: rec[0], Value: rec[1], Ucode: strings.TrimSpace(rec[2])})
	}
	return out, nil
}

// classifier picks a hazard type from text by the longest keyword.
type classifier struct {
	words []kw
}

type kw struct {
	word string
	t    indicators.HazardType
	rank int
}

func newClassifier(over map[string][]string) classifier {
	m := map[indicators.HazardType][]string{}
	for t, w := range DefaultKeywords {
		m[t] = w
	}
	for k, w := range over {
		if t, err := indicators.ParseHazardType(k); err == nil {
			m[t] = w
		}
	}
	var c classifier
	for t, ws := range m {
		rank := len(indicators.KnownHazardTypes)
		for i, k := range indicators.KnownHazardTypes {
			if k == t {
				rank = i
			}
		}
		for _, w := range ws {
			c.words = append(c.words, kw{strings.ToLower(w), t, rank})
		}
	}
	sort.Slice(c.words, func(i, j int) bool {
		a, b := c.words[i], c.words[j]
		if len(a.word) != len(b.word) {
			return len(a.word) > len(b.word)
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.word < b.word
	})
	return c
}

// classify returns the type of the longest keyword found as a whole word
// (or word prefix) in any of texts; codes (short eventCode values such as
// SAME "FFA") must match exactly.
func (c classifier) classify(texts []string, codes []string) (indicators.HazardType, bool) {
	for _, w := range c.words {
		for _, code := range codes {
			if strings.EqualFold(strings.TrimSpace(code), w.word) {
				return w.t, true
			}
		}
		if len(w.word) <= 3 {
			continue // SAME-style codes match eventCode values only
		}
		for _, t := range texts {
			if containsWord(strings.ToLower(t), w.word) {
				return w.t, true
			}
		}
	}
	return indicators.OtherHazard, false
}

// containsWord: w occurs in s starting at a word boundary ("flood" in
// "flash flood watch", not "storm" inside "thunderstorm", which has its own
// keyword).
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		at := i + j
		if at == 0 || !isLetter(s[at-1]) {
			return true
		}
		i = at + 1
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
