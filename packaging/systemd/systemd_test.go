// Package systemd holds the unit file; this test checks it with
// systemd-analyze and runs its commands, on files installed exactly as its
// header says, as an unprivileged user like the one DynamicUser allocates.
package systemd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	unitFile = "hazardsync.service"
	// The transient user and the static group, as systemd would allocate.
	testUID   = 61234
	testGroup = 61235
)

// binary builds hazardsync once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "hazardsync")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/hazardsync")
	cmd.Dir = filepath.Join("..", "..")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

// TestUnitVerifies runs `systemd-analyze verify` on the unit, with its
// binary present where the unit expects it (a copy pointing at the build).
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd); the unit is not verified here")
	}
	bin := binary(t)
	b, err := os.ReadFile(unitFile)
	require.NoError(t, err)
	unit := filepath.Join(t.TempDir(), unitFile)
	require.NoError(t, os.WriteFile(unit, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/hazardsync", bin)), 0o644))
	out, err := exec.Command(sa, "verify", "--man=no", unit).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.NotContains(t, string(out), unitFile, "no warnings about the unit:\n%s", out)
}

// install is one `install` line of the unit's header.
type install struct {
	dir         bool
	mode        os.FileMode
	group       bool // -g hazardsync
	src, dest   string
	destIsDir   bool
	description string
}

// documentedInstall parses the `sudo install …` lines of the unit header.
func documentedInstall(t *testing.T) []install {
	t.Helper()
	f, err := os.Open(unitFile)
	require.NoError(t, err)
	defer f.Close()
	var out []install
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "#"))
		if !strings.HasPrefix(line, "sudo install ") {
			continue
		}
		if i := strings.Index(line, "#"); i > 0 {
			line = strings.TrimSpace(line[:i])
		}
		in := install{description: line}
		args := strings.Fields(strings.TrimPrefix(line, "sudo install "))
		var rest []string
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "-d":
				in.dir = true
			case "-m":
				m, err := strconv.ParseUint(args[i+1], 8, 32)
				require.NoError(t, err, line)
				in.mode = os.FileMode(m)
				i++
			case "-g":
				require.Equal(t, "hazardsync", args[i+1], line)
				in.group = true
				i++
			case "-o":
				require.Equal(t, "root", args[i+1], line)
				i++
			default:
				rest = append(rest, args[i])
			}
		}
		require.NotEmpty(t, rest, line)
		in.dest = rest[len(rest)-1]
		in.destIsDir = strings.HasSuffix(in.dest, "/")
		if !in.dir {
			require.Len(t, rest, 2, line)
			in.src = rest[0]
		}
		out = append(out, in)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, out, "the unit header documents the install")
	return out
}

// applyInstall performs the documented install under root. Sources are
// relative to the repository; bin/hazardsync is the fresh build.
func applyInstall(t *testing.T, root, bin string, steps []install) {
	t.Helper()
	for _, in := range steps {
		dest := filepath.Join(root, in.dest)
		gid := 0
		if in.group {
			gid = testGroup
		}
		if in.dir {
			require.NoError(t, os.MkdirAll(dest, 0o755))
		} else {
			src := filepath.Join("..", "..", in.src)
			switch in.src {
			case "bin/hazardsync":
				src = bin
			case "/dev/null":
				src = os.DevNull
			}
			if in.destIsDir || strings.HasSuffix(in.dest, "/") {
				dest = filepath.Join(dest, filepath.Base(in.src))
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
			b, err := os.ReadFile(src)
			require.NoError(t, err, in.description)
			require.NoError(t, os.WriteFile(dest, b, 0o600))
		}
		require.NoError(t, os.Chown(dest, 0, gid), in.description)
		require.NoError(t, os.Chmod(dest, in.mode), in.description)
	}
}

// serviceCommand is an Exec*= line of the unit with the install paths
// moved under root and ${STATE_DIRECTORY} set.
func serviceCommand(t *testing.T, key, root, state string) []string {
	t.Helper()
	b, err := os.ReadFile(unitFile)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			v = strings.ReplaceAll(v, "${STATE_DIRECTORY}", state)
			fields := strings.Fields(v)
			for i, f := range fields {
				if strings.HasPrefix(f, "/usr/local/") || strings.HasPrefix(f, "/etc/hazardsync") {
					fields[i] = filepath.Join(root, f)
				}
			}
			return fields
		}
	}
	t.Fatalf("%s= not in the unit", key)
	return nil
}

// asUser runs argv as the unprivileged uid, with or without the group.
func asUser(argv []string, withGroup bool) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cred := &syscall.Credential{Uid: testUID, Gid: testUID}
	if withGroup {
		cred.Groups = []uint32{testGroup}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	return cmd
}

// TestDocumentedInstallRunsAsDynamicUser: with the files installed as the
// header says (config 0640 root:hazardsync in a 0750 directory), the unit's
// ExecStartPre (validate) and ExecStart (run) work as a user that is only
// in the group, as DynamicUser= with SupplementaryGroups= runs them. The
// same user without the group is refused: what the unit did before it
// joined the group.
func TestDocumentedInstallRunsAsDynamicUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run commands as another uid (as systemd does); run the packaging tests as root to cover this")
	}
	bin := binary(t)
	root, err := os.MkdirTemp("", "hazardsync-unit-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	require.NoError(t, os.Chmod(root, 0o755))
	steps := documentedInstall(t)
	applyInstall(t, root, bin, steps)
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/hazardsync/geosight-api-key"), []byte("unit-test-key-0123456789\n"), 0o640))
	// Absolute paths in the installed config move under root too.
	cfgPath := filepath.Join(root, "etc/hazardsync/hazardsync.yaml")
	relocate := func(b []byte) []byte {
		return []byte(strings.ReplaceAll(string(b), "/etc/hazardsync/", filepath.Join(root, "etc/hazardsync")+"/"))
	}
	b, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgPath, relocate(b), 0o640))
	// The sample config names demo files by relative paths; files the
	// config names get the config's owner and mode.
	applyInstall(t, root, bin, []install{
		{dir: true, mode: 0o750, group: true, dest: "fixtures/demo/feeds/cap"},
		{dir: true, mode: 0o750, group: true, dest: "fixtures/demo/feeds"},
		{dir: true, mode: 0o750, group: true, dest: "fixtures/demo"},
		{mode: 0o640, group: true, src: "fixtures/demo/baseline.csv", dest: "fixtures/demo/"},
		{mode: 0o640, group: true, src: "fixtures/demo/areas.geojson", dest: "fixtures/demo/"},
		{mode: 0o640, group: true, src: "fixtures/demo/feeds/cap/geocodes.csv", dest: "fixtures/demo/feeds/cap/"},
	})
	state := filepath.Join(root, "var/lib/hazardsync")
	require.NoError(t, os.MkdirAll(state, 0o755))
	require.NoError(t, os.Chown(state, testUID, testUID))
	require.NoError(t, os.Chmod(state, 0o700)) // StateDirectoryMode=0700

	pre := serviceCommand(t, "ExecStartPre", root, state)
	start := time.Now()
	out, err := asUser(pre, true).CombinedOutput()
	t.Logf("ExecStartPre took %s", time.Since(start))
	require.NoError(t, err, "ExecStartPre as the service user: %s", out)
	assert.Contains(t, string(out), "valid")

	out, err = asUser(pre, false).CombinedOutput()
	require.Error(t, err, "without the group the config must be unreadable (else this test proves nothing)")
	assert.Contains(t, string(out), "permission denied")

	// ExecStart: the pull-feed deployment (embedded target, local areas),
	// so the daemon starts without a network, on a free loopback port.
	src, err := os.ReadFile(filepath.Join("..", "configs", "pull-feed-only.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfgPath, relocate(src), 0o640))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	run := append(serviceCommand(t, "ExecStart", root, state), "--http-addr", addr)
	cmd := asUser(run, true)
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("ExecStart exited as the service user: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/healthz", addr))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not answer /healthz as the service user\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	fi, err := os.Stat(filepath.Join(state, "hazardsync.db"))
	require.NoError(t, err, "the state is written by the service user")
	assert.Equal(t, uint32(testUID), fi.Sys().(*syscall.Stat_t).Uid)
}
