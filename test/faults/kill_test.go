package faults

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/state"
)

// TestKill9 kills the daemon with SIGKILL at random points of its start,
// fetch and delivery, 50 times, alternating the earthquake feed between two
// versions so every start has something new to deliver. After one clean
// run, GeoSight must hold exactly what a clean run into a fresh GeoSight
// holds, and the outbox must be empty.
func TestKill9(t *testing.T) {
	runs := 50
	if v, err := strconv.Atoi(os.Getenv("HAZARDSYNC_FAULTS_KILLS")); err == nil && v > 0 {
		runs = v
	}
	gs, u := newGeoSight(t)
	// A little latency per request stretches delivery so kills land in it.
	gs.SetFaults(fake.Faults{Latency: 40 * time.Millisecond})
	p := cfgParams{GeoSightURL: u}
	s := newSite(t, p)
	var out output
	rng := rand.New(rand.NewPCG(7, 9))
	feeds := []string{"summary.geojson", "summary_next.geojson"}
	midDelivery := 0
	for i := range runs {
		p.USGSFile = feeds[i%2]
		s.write(p)
		before := gs.RequestCount("POST", "/api/v1/data-browser/")
		d := s.start(&out, false)
		// 0–1 s covers process start, area loading, fetches, compute and
		// most of a delivery pass.
		time.Sleep(time.Duration(rng.Int64N(int64(1000 * time.Millisecond))))
		require.True(t, d.alive(), "run %d: the daemon exited on its own: %v\n%s", i, d.err, tail(out.String(), 3000))
		d.kill()
		if gs.RequestCount("POST", "/api/v1/data-browser/") > before && pendingAfterKill(t, s.state) > 0 {
			midDelivery++
		}
	}
	if os.Getenv("HAZARDSYNC_FAULTS_DEBUG") != "" {
		t.Log(out.String())
	}
	t.Logf("%d kill -9 runs; %d of them were killed mid-delivery (values sent and values still queued)", runs, midDelivery)
	// About a fifth land mid-delivery here; a tenth still proves the point
	// without making the test hostage to the machine's speed.
	require.GreaterOrEqual(t, midDelivery, runs/10, "too few kills landed mid-delivery: the test proves little")

	gs.SetFaults(fake.Faults{})
	code, line := s.once(&out)
	require.Equal(t, 0, code, "final clean run: %s\n%s", line, tail(out.String(), 3000))
	require.Equal(t, 0, summaryField(t, line, "pending"), line)
	require.Equal(t, 0, summaryField(t, line, "failed"), line)

	st, err := state.Open(s.state)
	require.NoError(t, err)
	pending, err := st.Sink(state.LegacySink).Pending()
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.Empty(t, pending, "outbox after the final clean run")

	ref := reference(t, p)
	n := compareDelivered(t, gs, ref, nil)
	t.Logf("all %d values of a clean run are in GeoSight, none wrong; final run: %s", n, line)
	noSecret(t, "daemon output", []byte(out.String()))
}

// pendingAfterKill counts the outbox of a killed daemon's state (0 when the
// store does not exist yet).
func pendingAfterKill(t *testing.T, dir string) int {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return 0
	}
	st, err := state.Open(dir)
	require.NoError(t, err, "the state store must open after kill -9")
	defer st.Close()
	p, err := st.Sink(state.LegacySink).Pending()
	require.NoError(t, err)
	return len(p)
}
