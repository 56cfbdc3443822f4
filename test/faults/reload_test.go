package faults

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// marker returns an indicator that exists only in edit i, so which config
// is in force shows both in /api/status and in what reaches GeoSight.
func marker(i int) (string, string) {
	sc := fmt.Sprintf("HS_EDIT_%02d", i)
	return sc, fmt.Sprintf(`  - shortcode: %s
    name: Earthquake presence (edit %d)
    type: Integer
    recipe: hazard_presence
    params: {hazard_types: [earthquake], phase: observed}
`, sc, i)
}

// invalidEdits are config mistakes an operator makes; each is applied to a
// config that is otherwise edit i's.
var invalidEdits = []struct {
	name  string
	apply func(cfg string) string
}{
	{"YAML syntax error", func(c string) string { return c + "\nindicators: [unclosed\n" }},
	{"unknown source key", func(c string) string {
		return strings.Replace(c, "    interval: 1h\n  gdacs:", "    intervall: 1h\n  gdacs:", 1)
	}},
	{"unknown recipe", func(c string) string { return strings.Replace(c, "recipe: alert_level", "recipe: no_such_recipe", 1) }},
	{"interval below the minimum", func(c string) string {
		return strings.Replace(c, "    interval: 1h\n  gdacs:", "    interval: 5s\n  gdacs:", 1)
	}},
	{"dataset removed", func(c string) string { return strings.Replace(c, "  dataset: "+dataset+"\n", "", 1) }},
	{"bad indicator type", func(c string) string { return strings.Replace(c, "type: Float", "type: Decimal", 1) }},
	{"state_dir moved", func(c string) string { return strings.Replace(c, "state_dir: state", "state_dir: elsewhere", 1) }},
	{"unknown source type", func(c string) string {
		return strings.Replace(c, "  cap:\n", "  cap:\n    type: no_such_source\n", 1)
	}},
	{"empty file", func(string) string { return "" }},
	{"geography file missing", func(c string) string { return strings.Replace(c, "path: areas.geojson", "path: missing.geojson", 1) }},
}

// TestConfigEdits makes 20 live edits, every other one invalid. The daemon
// must never stop; after a valid edit its marker indicator is in force and
// delivered; after an invalid one the refusal is on the status page and the
// previous valid edit's marker is still the one in force.
func TestConfigEdits(t *testing.T) {
	gs, u := newGeoSight(t)
	p := cfgParams{GeoSightURL: u}
	s := newSite(t, p)
	var out output
	d := s.start(&out, true)
	eventually(t, 30*time.Second, "first sync", func() bool { return d.status(t).LastRun.Values > 0 })

	delivered := func(sc string) bool {
		for _, v := range gs.Values() {
			if v.Shortcode == sc {
				return true
			}
		}
		return false
	}
	inForce := func(st statusSnapshot) []string {
		var out []string
		for _, ind := range st.Indicators {
			if strings.HasPrefix(ind.Shortcode, "HS_EDIT_") {
				out = append(out, ind.Shortcode)
			}
		}
		return out
	}
	lastValid := ""
	for i := range 20 {
		before := d.status(t).Reload.LastAttempt
		sc, ind := marker(i)
		q := p
		q.ExtraIndicators = ind
		if i%2 == 0 {
			s.write(q)
			eventually(t, 30*time.Second, "valid edit "+sc+" in force and delivered", func() bool {
				st := d.status(t)
				return st.Reload.OK && st.Reload.LastAttempt.After(before) && slices.Equal(inForce(st), []string{sc}) && delivered(sc)
			})
			lastValid = sc
			continue
		}
		bad := invalidEdits[i/2]
		text := bad.apply(renderConfig(t, q))
		require.NotEqual(t, renderConfig(t, q), text, "edit %q changed nothing", bad.name)
		s.writeRaw(text)
		var st statusSnapshot
		eventually(t, 30*time.Second, "invalid edit ("+bad.name+") refused", func() bool {
			st = d.status(t)
			return st.Reload.LastAttempt.After(before) && !st.Reload.OK && len(st.Reload.Errors) > 0
		})
		require.True(t, d.alive(), "the daemon stopped after %s", bad.name)
		require.Equal(t, []string{lastValid}, inForce(st), "after %s the last valid config must stay in force", bad.name)
		require.False(t, delivered(sc), "%s: the refused config's indicator reached GeoSight", bad.name)
		t.Logf("edit %2d refused (%s): %s", i, bad.name, st.Reload.Errors[0])
	}
	// The daemon still works on the last valid config: a feed change
	// arriving now is computed and delivered with it.
	sc, ind := marker(18)
	require.Equal(t, sc, lastValid)
	p.ExtraIndicators, p.USGSFile = ind, "summary_next.geojson"
	s.write(p)
	ref := reference(t, p)
	eventually(t, 30*time.Second, "the last valid config's values delivered", func() bool {
		missing, _, _ := diffDelivered(gs, ref, nil)
		return len(missing) == 0 && d.status(t).Delivery.Pending == 0
	})
	require.True(t, d.alive())
	d.scanServed(t)
	d.stop(t, 45*time.Second)
	noSecret(t, "daemon output", []byte(out.String()))
}
