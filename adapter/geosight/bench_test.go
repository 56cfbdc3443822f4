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
	d, err := time.ParseDuration(latency)
	require.NoError(t, err)
	f := newFake()
	f.SetFaults(fake.Faults{Latency: d})
	fmt.Println("URL=" + f.Start())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	f.Close()
}

func startFakeProcess(b *testing.B, latency time.Duration) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeProcess$", "-test.v")
	cmd.Env = append(os.Environ(), fakeProcessEnv+"="+latency.String())
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

// BenchmarkDeliveryLatency20ms: value delivery against the fake (in its own
// process) answering every request after 20 ms, concurrency 4. The ceiling
// is 4/20ms = 200 values/s; the target is >= 180 values/s with the client
// using <= 5% of a core.
func BenchmarkDeliveryLatency20ms(b *testing.B) {
	url := startFakeProcess(b, 20*time.Millisecond)
	cfg := baseConfig(url)
	cfg.Concurrency = 4
	tg := &target{cfg: cfg, logs: &syncBuffer{}}
	c := tg.newClient(b, cfg)
	ctx := context.Background()
	require.NoError(b, c.Ensure(ctx, []indicators.Definition{{Shortcode: "BENCH", Name: "Bench", Type: indicators.Float}}))
	vals := manyValues("BENCH", 400)
	failed := 0
	ack := func(o adapter.Outcome) {
		if o.Err != nil {
			failed++
		}
	}
	require.NoError(b, c.Write(ctx, vals[:8], ack)) // warm connections and the entity cache
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for i := 0; i < b.N; i++ {
		require.NoError(b, c.Write(ctx, vals, ack))
	}
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	require.Zero(b, failed)
	n := float64(b.N * len(vals))
	b.ReportMetric(n/wall.Seconds(), "values/s")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "client-cpu-%")
	b.ReportMetric(float64(cpu.Microseconds())/n, "client-cpu-µs/value")
}
