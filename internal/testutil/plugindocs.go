package testutil

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hazardsync/hazardsync/config"
)

// Plugin READMEs (sources and sinks) are checked alike: these helpers are
// what both meta-tests read them with.

var headingRE = regexp.MustCompile(`(?m)^## +(.+?)\s*$`)

// Headings lists a README's "## " headings in order.
func Headings(doc string) []string {
	var out []string
	for _, m := range headingRE.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// Section is the body of a README's "## name" section.
func Section(doc, name string) (string, bool) {
	locs := headingRE.FindAllStringSubmatchIndex(doc, -1)
	for i, l := range locs {
		if strings.EqualFold(doc[l[2]:l[3]], name) {
			end := len(doc)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			return doc[l[1]:end], true
		}
	}
	return "", false
}

// AssertConfigKeysNamed checks that conf (a README's Configuration
// section) names every top-level key of the plugin's typed config, as the
// config schema walker sees them: `key`, `key: …`, `points[]`, `severity.map`
// and `thresholds.<variable>` all name a key.
func AssertConfigKeysNamed(t *testing.T, kind, conf string, cfg any) {
	t.Helper()
	config.WalkSchema("", cfg, config.WalkOptions{}, func(k config.SchemaKey) bool {
		key := k.Keys[0]
		named := false
		for _, suffix := range []string{"`", ":", "[", "."} {
			named = named || strings.Contains(conf, "`"+key+suffix)
		}
		assert.True(t, named, "README of %s: Configuration does not mention `%s`", kind, key)
		return false
	})
}
