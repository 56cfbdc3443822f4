package faults

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
)

// valuePosts counts the value writes a GeoSight fake received.
func valuePosts(gs *fake.Server) int { return gs.RequestCount("POST", "/api/v1/data-browser/") }

// TestTwoSinksOneFailing delivers to two GeoSights at once, the second
// (a `sinks:` entry) answering every request with an error: the healthy one
// gets every value exactly once while the other fails and keeps its values
// queued; runs while it is down send the healthy one nothing again; once it
// recovers it catches up with exactly the clean run's values, and the
// healthy one still gets nothing twice.
func TestTwoSinksOneFailing(t *testing.T) {
	gs, u := newGeoSight(t)
	mirror, mu := newGeoSight(t)
	mirror.SetFaults(fake.Faults{ErrorRate: 1})
	p := cfgParams{GeoSightURL: u, Timeout: "1s", MaxRetries: 1}
	s := newSite(t, p)
	require.NoError(t, os.WriteFile(filepath.Join(s.dir, "mirror-key"), []byte(apiKey+"\n"), 0o600))
	s.writeRaw(renderConfig(t, p) + `sinks:
  mirror:
    type: geosight
    url: ` + mu + `
    user: ` + apiUser + `
    dataset: ` + dataset + `
    api_key_file: mirror-key
    timeout: 1s
    max_retries: 1
`)
	var out output
	code, line := s.once(&out)
	t.Logf("mirror down: exit %d: %s", code, line)
	require.Equal(t, 1, code, "a failing sink makes the run fail")
	require.Contains(t, out.String(), "sink mirror:")
	ref := reference(t, p)
	n := compareDelivered(t, gs, ref, nil)
	require.Len(t, gs.Values(), n, "nothing more than a clean run")
	healthyPosts := valuePosts(gs)
	require.Equal(t, len(gs.Values()), healthyPosts, "every value posted exactly once to the healthy sink")
	require.Empty(t, mirror.Values())
	queued := summaryField(t, line, "pending")
	require.Equal(t, n, queued, "the failing sink keeps every value queued")

	// Still down: the healthy sink is sent nothing again.
	code, line = s.once(&out)
	require.Equal(t, 1, code, line)
	require.Equal(t, healthyPosts, valuePosts(gs), "no duplicate to the healthy sink")

	// Recovery: the mirror catches up; the healthy one gets nothing twice.
	mirror.SetFaults(fake.Faults{})
	mirrorBefore := valuePosts(mirror)
	code, line = s.once(&out)
	t.Logf("mirror back: exit %d: %s", code, line)
	require.Equal(t, 0, code, "%s\n%s", line, tail(out.String(), 3000))
	require.Equal(t, 0, summaryField(t, line, "pending"))
	require.Equal(t, healthyPosts, valuePosts(gs), "no duplicate to the healthy sink")
	require.Equal(t, n, compareDelivered(t, mirror, ref, nil))
	require.Len(t, mirror.Values(), n)
	require.Equal(t, n, valuePosts(mirror)-mirrorBefore, "each value written once to the mirror")
	noSecret(t, "daemon output", []byte(out.String()))
}
