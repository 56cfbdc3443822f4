package faults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/adapter/state"
)

// TestGeoSightFaults delivers through a GeoSight that answers 30% of
// requests with 502, resets 10% of connections (half of them after doing
// the work) and stalls 5% past the client's timeout. Values the client gives
// up on stay queued; `once` is re-run as cron would until nothing is
// pending, and GeoSight must then hold exactly a clean run's values.
func TestGeoSightFaults(t *testing.T) {
	gs, u := newGeoSight(t)
	gs.SetFaults(fake.Faults{ErrorRate: 0.30, ResetRate: 0.10, StallRate: 0.05, Stall: 2 * time.Second})
	p := cfgParams{GeoSightURL: u, Timeout: "1s", MaxRetries: 3}
	s := newSite(t, p)
	var out output
	passes, line := 0, ""
	for passes < 8 {
		passes++
		code, l := s.once(&out)
		line = l
		t.Logf("pass %d: exit %d: %s", passes, code, l)
		if code == 0 && summaryField(t, l, "pending") == 0 {
			break
		}
	}
	require.Equal(t, 0, summaryField(t, line, "pending"), "still pending after %d passes", passes)
	requests := gs.RequestCount("", "/api/")
	gs.SetFaults(fake.Faults{})
	ref := reference(t, p)
	n := compareDelivered(t, gs, ref, nil)
	t.Logf("all %d values delivered through a faulty GeoSight in %d passes (%d API requests)", n, passes, requests)
	noSecret(t, "daemon output", []byte(out.String()))
}

// TestGracefulShutdown sends SIGTERM while every GeoSight request stalls:
// the daemon must stop fetching, try the queue within its grace period and
// exit cleanly with what it could not deliver still queued; the next start
// delivers it.
func TestGracefulShutdown(t *testing.T) {
	gs, u := newGeoSight(t)
	p := cfgParams{GeoSightURL: u, Timeout: "10s"}
	s := newSite(t, p)
	var out output
	d := s.start(&out, true)
	// Let indicators be created and the first values go out, then make
	// every request slow so the next delivery is in flight at SIGTERM.
	eventually(t, 30*time.Second, "first delivery", func() bool { return d.status(t).LastRun.Sent > 0 })
	gs.SetFaults(fake.Faults{Latency: 700 * time.Millisecond})
	base := gs.RequestCount("POST", "/api/v1/data-browser/")
	p.USGSFile = "summary_next.geojson"
	s.write(p) // the reload fetches the next feed version: new values to deliver
	eventually(t, 30*time.Second, "a delivery in flight", func() bool {
		return gs.RequestCount("POST", "/api/v1/data-browser/") > base
	})
	d.scanServed(t)
	start := time.Now()
	atTerm := gs.RequestCount("POST", "/api/v1/data-browser/")
	d.stop(t, 45*time.Second)
	took := time.Since(start)
	afterTerm := gs.RequestCount("POST", "/api/v1/data-browser/") - atTerm
	t.Logf("SIGTERM → exit in %s (grace 30s); %d value POSTs finished after SIGTERM", took.Round(time.Millisecond), afterTerm)
	require.Contains(t, out.String(), "shutting down")

	st, err := state.Open(s.state)
	require.NoError(t, err)
	pending, err := st.Sink(state.LegacySink).Pending()
	require.NoError(t, err)
	require.NoError(t, st.Close())
	t.Logf("%d values left queued at exit", len(pending))
	require.True(t, afterTerm > 0 || len(pending) > 0, "in-flight values were neither finished nor kept queued")

	gs.SetFaults(fake.Faults{})
	code, line := s.once(&out)
	require.Equal(t, 0, code, line)
	require.Equal(t, 0, summaryField(t, line, "pending"), line)
	ref := reference(t, p)
	compareDelivered(t, gs, ref, nil)
	noSecret(t, "daemon output", []byte(out.String()))
}
