package layer

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

func TestConfigValidate(t *testing.T) {
	good := func() *Config {
		c := defaultConfig()
		c.URL = "https://hydromet.example.org/flood.geojson"
		c.Mapping = floodMapping()
		return c
	}
	cases := []struct {
		name   string
		edit   func(c *Config)
		fields []string // every FieldError expected, in any order
	}{
		{"valid", func(c *Config) {}, nil},
		{"valid arcgis", func(c *Config) {
			c.Format, c.URL, c.TokenEnv, c.BBox = "ArcGIS", "https://services.example.org/arcgis/rest/services/F/FeatureServer/0", "ARC_TOKEN", []float64{60, 10, 64, 14}
		}, nil},
		{"everything wrong", func(c *Config) {
			c.Format, c.URL, c.PageSize, c.MaxPages = "shapefile", "", 0, 0
			c.HazardType, c.Phase = "tornado", "past"
			c.Severity.Map["high"] = "purple"
			c.Intensity.Unit = ""
			c.ValidFrom.Format = "dd/mm/yyyy"
		}, []string{"format", "url", "page_size", "max_pages", "hazard_type", "phase", "severity.map.high", "intensity.unit", "valid_from.format"}},
		{"file url for a service", func(c *Config) { c.Format, c.URL = FormatOGC, "file:///tmp/x.json" }, []string{"url"}},
		{"arcgis url with query", func(c *Config) {
			c.Format, c.URL = FormatArcGIS, "https://x.example.org/FeatureServer/0/query?where=1=1"
		}, []string{"url"}},
		{"options of other formats", func(c *Config) {
			c.Collection, c.Datetime, c.TokenEnv, c.BBox = "floods", "2026-11-20/..", "TOKEN", []float64{1, 2, 3, 4}
		}, []string{"collection", "datetime", "token_env", "bbox"}},
		{"bad bbox and token name", func(c *Config) {
			c.Format, c.BBox, c.TokenEnv = FormatArcGIS, []float64{60, 14, 64, 10}, "not a name"
		}, []string{"bbox", "token_env"}},
		{"hazard type twice and none", func(c *Config) { c.HazardTypeProperty = "kind" }, []string{"hazard_type"}},
		{"no hazard type", func(c *Config) { c.HazardType = "" }, []string{"hazard_type"}},
		{"severity map without property", func(c *Config) { c.Severity.Property = "" }, []string{"severity.property"}},
		{"severity property without map", func(c *Config) { c.Severity.Map = nil }, []string{"severity.map"}},
		{"fixed and property severity", func(c *Config) { c.Severity.Value = "red" }, []string{"severity.value"}},
		{"time format without property", func(c *Config) { c.Issued.Format = "unix" }, []string{"issued.property"}},
		{"empty where", func(c *Config) {
			c.Format, c.URL, c.Where = FormatArcGIS, "https://x.example.org/FeatureServer/0", " "
		}, []string{"where"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.edit(c)
			err := c.Validate()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var got []string
			for _, e := range indicators.Flatten(err) {
				var fe indicators.FieldError
				require.ErrorAs(t, e, &fe)
				got = append(got, fe.Field)
			}
			assert.ElementsMatch(t, tc.fields, got, "%v", err)
		})
	}
}

func TestParseTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, time.UTC) }
	cases := []struct {
		v      any
		format string
		want   time.Time
		err    string
	}{
		{"2026-11-22T05:40:00Z", "", utc(2026, 11, 22, 5, 40), ""},
		{"2026-11-22T07:40:00+02:00", "auto", utc(2026, 11, 22, 5, 40), ""},
		{"2026-11-22 05:40:00", "", utc(2026, 11, 22, 5, 40), ""},
		{"2026-11-22", "auto", utc(2026, 11, 22, 0, 0), ""},
		{1795586400000.0, "", utc(2026, 11, 25, 6, 0), ""},
		{1795586400.0, "", utc(2026, 11, 25, 6, 0), ""},
		{"1795586400000", "unix_ms", utc(2026, 11, 25, 6, 0), ""},
		{1795586400.0, "unix", utc(2026, 11, 25, 6, 0), ""},
		{"22/11/2026 05:40", "02/01/2006 15:04", utc(2026, 11, 22, 5, 40), ""},
		{"2026-11-22", "date", utc(2026, 11, 22, 0, 0), ""},
		{"2026-11-22", "rfc3339", time.Time{}, "does not match"},
		{"yesterday", "", time.Time{}, "is not a time"},
		{true, "", time.Time{}, "is not a number"},
		{1e300, "", time.Time{}, "out of range"},
	}
	for _, tc := range cases {
		got, err := parseTime(tc.v, tc.format)
		if tc.err != "" {
			require.Error(t, err, "%v %q", tc.v, tc.format)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err, "%v %q", tc.v, tc.format)
		assert.Equal(t, tc.want, got, "%v %q", tc.v, tc.format)
	}
}

func TestREADMEDocumentsEveryOption(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(b)
	for _, h := range []string{"## What it fetches", "## Configuration", "## Events and footprints", "## Severity mapping",
		"## Version key and incremental polling", "## Health signals", "## Example config"} {
		assert.Contains(t, readme, h)
	}
	for _, key := range []string{"format", "url", "collection", "bbox", "datetime", "where", "page_size", "max_pages", "token_env",
		"hazard_type", "hazard_type_property", "hazard_type_map", "phase", "severity.value", "severity.property", "severity.map",
		"severity.default", "intensity.property", "intensity.map", "intensity.unit", "intensity.band_property",
		"event_id_property", "version_property", "title_property", "feature_id_property", "issued", "valid_from", "valid_to"} {
		assert.True(t, strings.Contains(readme, "`"+key+"`"), "README lacks `%s`", key)
	}
}
