package geosight_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/geosight/fake"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
)

const fakeProcessEnv = "HAZARDSYNC_GEOSIGHT_FAKE_PROCESS"

// TestFakeProcess is not a test: the benchmark re-executes the test binary
// with it so the fake runs in its own process and the client's CPU can be
// measured alone. It prints the URL and serves until stdin closes.
func TestFakeProcess(t *testing.T) {
	latency := os.Getenv(fakeProcessEnv)
	if latency == "" {
		t.Skip("helper process for the benchmark")
	}
	f := newFake()
	if latency == "real" {
		f.SetFaults(fake.Faults{Model: &fake.RealGeoSight})
	} else {
		d, err := time.ParseDuration(latency)
		require.NoError(t, err)
		f.SetFaults(fake.Faults{Latency: d})
	}
	fmt.Println("URL=" + f.Start())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	f.Close()
}

// startFakeProcess starts the fake in a child process answering after
// latency ("real": at the speed of the RealGeoSight model).
func startFakeProcess(b *testing.B, latency string) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeProcess$", "-test.v")
	cmd.Env = append(os.Environ(), fakeProcessEnv+"="+latency)
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	out, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "URL="); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return u
		}
	}
	b.Fatal("fake process printed no URL")
	return ""
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDeliveryRealSpeed: value delivery (all inserts) against the fake
// in its own process answering at the measured speed of a real GeoSight on 2
// cores (fake.RealGeoSight: insert ~350 ms, p90 ~570 ms, with its 4 workers
// busy; about 11 inserts/s at best). "fixed-4" is the client as it was
// (always 4 in flight), the baseline of the same run; "adaptive" lets the
// client find the number in flight (ceiling 8). The client's CPU per value
// is reported too. Against a real server: GEOSIGHT_URL & co. as for
// contract-test (it creates and deletes its own indicator).
//
//	go test -run '^$' -bench DeliveryRealSpeed -benchtime 1x ./adapter/geosight/
func BenchmarkDeliveryRealSpeed(b *testing.B) {
	const n = 80
	for _, mode := range []struct {
		name  string
		fixed int
	}{{"fixed-4", 4}, {"adaptive", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			var cfg config.GeoSight
			if u := os.Getenv("GEOSIGHT_URL"); u != "" {
				cfg = newTarget(b).cfg
			} else {
				cfg = baseConfig(startFakeProcess(b, "real"))
			}
			cfg.Concurrency = 8
			cfg.Timeout = 30 * time.Second
			tg := &target{cfg: cfg, logs: &syncBuffer{}}
			c := tg.newClient(b, cfg)
			if mode.fixed > 0 {
				c.FixConcurrency(mode.fixed)
			}
			ctx := context.Background()
			sc := fmt.Sprintf("HSBENCH_%d", time.Now().UnixNano()%1e9)
			require.NoError(b, c.Ensure(ctx, []indicators.Definition{{Shortcode: sc, Name: "bench " + sc, Type: indicators.Float}}))
			b.Cleanup(func() {
				if id, ok := c.IndicatorID(sc); ok {
					_ = c.DeleteIndicator(context.Background(), id)
				}
			})
			failed := 0
			ack := func(o adapter.Outcome) {
				if o.Err != nil {
					failed++
				}
			}
			b.ResetTimer()
			cpu0, t0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				vals := manyValues(sc, n)
				for j := range vals {
					vals[j].Date = indicators.Date(time.Date(2020+i, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j/4).Format(time.DateOnly))
				}
				require.NoError(b, c.Write(ctx, vals, ack))
			}
			wall, cpu := time.Since(t0), cpuTime()-cpu0
			b.StopTimer()
			require.Zero(b, failed)
			total := float64(b.N * n)
			b.ReportMetric(total/wall.Seconds(), "values/s")
			b.ReportMetric(float64(c.Concurrency()), "in-flight-at-end")
			b.ReportMetric(float64(cpu.Microseconds())/total, "client-cpu-µs/value")
		})
	}
}

// BenchmarkEmbeddedPushEndToEnd: the demo's path into the embedded GeoSight
// — the client (adaptive, ceiling 4) over loopback HTTP into the fake with
// persistence on — for values over 5,000 areas (the target for a
// country-size push is >= 500 values/s), then a restart that must find them.
// "journal": 10,000 values; "old-full-rewrite": the state rewritten on every
// value as before the journal (CompactEvery 1), 2,000 values from empty, the
// baseline of the same run.
//
//	go test -run '^$' -bench EmbeddedPushEndToEnd -benchtime 1x ./adapter/geosight/
func BenchmarkEmbeddedPushEndToEnd(b *testing.B) {
	const areas = 5000
	as := []indicators.Area{{Code: "C_V1", Name: "C", Level: 0}}
	for i := 0; i < areas; i++ {
		as = append(as, indicators.Area{Code: fmt.Sprintf("C_%05d_V1", i), Name: "a", Level: 2, Parents: []string{"C_V1"}})
	}
	for _, mode := range []struct {
		name       string
		n, compact int
	}{{"old-full-rewrite", 2_000, 1}, {"journal", 10_000, 0}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				o := fake.Options{Users: []fake.User{{Key: testKey, Email: testUser, Role: fake.Creator}},
					Datasets:    []fake.Dataset{{UUID: testDataset, Name: "Country", Areas: as}},
					PersistPath: b.TempDir() + "/embedded-geosight.json", CompactEvery: mode.compact}
				f := fake.New(o)
				cfg := baseConfig(f.Start())
				tg := &target{cfg: cfg, logs: &syncBuffer{}}
				c := tg.newClient(b, cfg)
				ctx := context.Background()
				var defs []indicators.Definition
				for k := 0; k < (mode.n+areas-1)/areas; k++ {
					defs = append(defs, indicators.Definition{Shortcode: fmt.Sprintf("I%02d", k), Name: fmt.Sprintf("I%02d", k), Type: indicators.Float})
				}
				require.NoError(b, c.Ensure(ctx, defs))
				vals := make([]indicators.Value, mode.n)
				for j := range vals {
					vals[j] = indicators.Value{Indicator: defs[j/areas].Shortcode, Code: fmt.Sprintf("C_%05d_V1", j%areas), AdminLevel: 2,
						Date: "2026-11-20", Type: indicators.Float, Number: float64(j)}
				}
				failed := 0
				t0 := time.Now()
				require.NoError(b, c.Write(ctx, vals, func(o adapter.Outcome) {
					if o.Err != nil {
						failed++
					}
				}))
				wall := time.Since(t0)
				f.Close()
				require.Zero(b, failed)
				b.ReportMetric(float64(mode.n)/wall.Seconds(), "values/s")
				require.Len(b, fake.New(o).Values(), mode.n, "every acknowledged value survives a restart")
			}
		})
	}
}
