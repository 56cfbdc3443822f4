package faults

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHostileFeeds adds three broken feeds to the demo ones: garbage, a
// 1 GB body and a body trickling one byte every 10 s. Each must show as
// unhealthy with a reason, the daemon's memory must stay bounded, and the
// demo feeds' values must all be delivered.
func TestHostileFeeds(t *testing.T) {
	var hugeSent atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html><body>\x00\xff\xfe not json {\"type\": \"FeatureCollection\", \"features\": [1,2,"))
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		// 1 GiB streamed in 64 KiB chunks; never held in memory.
		w.Header().Set("Content-Type", "application/json")
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		copy(chunk, `{"type":"FeatureCollection","features":[`)
		for i := 0; i < (1<<30)/len(chunk); i++ {
			n, err := w.Write(chunk)
			hugeSent.Add(int64(n))
			if err != nil || r.Context().Err() != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for _, b := range []byte(`{"type":"FeatureCollection","features":[]}`) {
			_, _ = w.Write([]byte{b})
			w.(http.Flusher).Flush()
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
	})
	feeds := httptest.NewServer(mux)
	t.Cleanup(func() { feeds.CloseClientConnections(); feeds.Close() })

	gs, u := newGeoSight(t)
	p := cfgParams{GeoSightURL: u}
	good := p
	p.ExtraSources = strings.ReplaceAll(`  garbage:
    type: usgs
    url: URL/garbage
  huge:
    type: usgs
    url: URL/huge
  slow:
    type: usgs
    url: URL/slow
    timeout: 15s
`, "URL", feeds.URL)
	s := newSite(t, p)
	var out output
	d := s.start(&out, true)

	bad := map[string]bool{"garbage": true, "huge": true, "slow": true}
	eventually(t, 60*time.Second, "the three bad feeds unhealthy and the good ones fetched", func() bool {
		st := d.status(t)
		unhealthy, healthy := 0, 0
		for _, src := range st.Sources {
			if bad[src.Name] && !src.Healthy && src.LastError != "" {
				unhealthy++
			}
			if !bad[src.Name] && src.Healthy && src.LastTry != "" {
				healthy++
			}
		}
		return unhealthy == 3 && healthy == 3
	})
	ref := reference(t, good)
	eventually(t, 30*time.Second, "the good feeds' values delivered", func() bool {
		missing, wrong, _ := diffDelivered(gs, ref, nil)
		return len(missing) == 0 && len(wrong) == 0
	})
	n := compareDelivered(t, gs, ref, nil)
	st := d.status(t)
	for _, src := range st.Sources {
		if bad[src.Name] {
			t.Logf("%s: %s: %s", src.Name, src.ErrorClass, src.LastError)
		}
	}
	require.Zero(t, st.Delivery.Pending)
	peak := rssPeak(t, d.cmd.Process.Pid)
	t.Logf("good feeds: %d values delivered; 1 GiB feed: %d MiB served before the daemon hung up; daemon peak RSS (VmHWM) %d MiB",
		n, hugeSent.Load()>>20, peak>>10)
	require.Less(t, hugeSent.Load(), int64(1<<30), "the daemon read the whole 1 GiB body")
	require.Less(t, peak, 400<<10, "daemon peak RSS in KiB")
	require.True(t, d.alive())
	d.scanServed(t)
	d.stop(t, 45*time.Second)
	noSecret(t, "daemon output", []byte(out.String()))
}
