package state

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

const (
	crashChildEnv = "HAZARDSYNC_STATE_CRASH_CHILD_DIR"
	// crashBatchEnv: the child acks in AckAll batches of this size.
	crashBatchEnv = "HAZARDSYNC_STATE_CRASH_BATCH"
	crashValues   = 400
)

func crashValue(i int) indicators.Value {
	return val("eq_u18", fmt.Sprintf("DML_%04d", i), "2026-11-24", float64(i+1))
}

// TestCrashChild is the child half of TestCrashMidAcks: it does nothing
// unless the parent re-executes the test binary with the env var set.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("child process of TestCrashMidAcks only")
	}
	s, err := Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	vals := make([]indicators.Value, crashValues)
	for i := range vals {
		vals[i] = crashValue(i)
	}
	if err := s.Sink(testSink).Enqueue(vals); err != nil {
		fmt.Println("enqueue:", err)
		os.Exit(2)
	}
	fmt.Println("enqueued")
	batch, _ := strconv.Atoi(os.Getenv(crashBatchEnv))
	for i := 0; i < len(vals); {
		n := 1
		var err error
		if batch > 0 {
			n = min(batch, len(vals)-i)
			err = s.Sink(testSink).(adapter.BatchAcker).AckAll(vals[i : i+n])
		} else {
			err = s.Sink(testSink).Ack(vals[i])
		}
		if err != nil {
			fmt.Println("ack:", err)
			os.Exit(2)
		}
		i += n
		// Printed after the ack returned, so the parent knows at least i
		// acks are durable.
		fmt.Println("acked", i-1)
	}
	// Never reached in a normal run: the parent kills us first. Sleep so a
	// slow parent still finds us mid-run rather than exited.
	time.Sleep(time.Minute)
}

// TestCrashMidAcks kills a process with SIGKILL in the middle of a loop of
// Acks (one by one, and in AckAll batches as a delivery groups them) and
// checks that every value is either delivered or still pending — never
// lost, never both.
func TestCrashMidAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	for _, batch := range []int{0, 7} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { crashMidAcks(t, batch) })
	}
}

func crashMidAcks(t *testing.T, batch int) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashBatchEnv+"="+strconv.Itoa(batch))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	killAfter := crashValues / 3
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "acked "); ok {
			acked, err = strconv.Atoi(n)
			require.NoError(t, err)
			if acked >= killAfter {
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				break
			}
		} else if line != "enqueued" && !strings.HasPrefix(line, "=== RUN") {
			t.Fatalf("child said: %s", line)
		}
	}
	require.GreaterOrEqual(t, acked, killAfter, "child stopped before the kill point")
	_ = cmd.Wait()

	s := openTest(t, dir)
	pending, err := s.Sink(testSink).Pending()
	require.NoError(t, err)
	isPending := map[string]float64{}
	for _, v := range pending {
		isPending[v.Key().String()] = v.Number
	}
	delivered, err := s.Sink(testSink).DeliveredOn("2026-11-24")
	require.NoError(t, err)
	isDelivered := map[string]float64{}
	for _, v := range delivered {
		isDelivered[v.Key().String()] = v.Number
	}

	for i := range crashValues {
		v := crashValue(i)
		k := v.Key().String()
		p, inOutbox := isPending[k]
		d, done := isDelivered[k]
		require.True(t, inOutbox != done, "value %d: pending=%v delivered=%v (want exactly one)", i, inOutbox, done)
		if inOutbox {
			assert.Equal(t, v.Number, p)
		} else {
			assert.Equal(t, v.Number, d)
		}
		if i <= acked {
			assert.True(t, done, "value %d was acked before the kill but is not delivered", i)
		}
	}
	assert.Equal(t, crashValues, len(pending)+len(delivered))
	t.Logf("killed after %d acks reported; %d delivered, %d pending on reopen", acked+1, len(delivered), len(pending))
}
