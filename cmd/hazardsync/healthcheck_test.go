package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHealthcheckFindsTheDaemon: healthcheck probes where `run` with the
// same -c / --http-addr listens (it used to probe 8080 whatever the config
// said, and said "ok" for a daemon on another port).
func TestHealthcheckFindsTheDaemon(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	// A port nothing listens on: bound, then closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	n := 0
	cfgWith := func(listen string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("c%d.yaml", n))
		// Not a valid config (no geosight, no areas): healthcheck must still
		// find http.listen, as the daemon may run a previous valid version.
		require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf("http:\n  listen: %q\n", listen)), 0o644))
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"-c with the daemon's listen", []string{"-c", cfgWith(addr)}, 0, srv.URL + "/healthz"},
		{"wildcard listen probed on loopback", []string{"-c", cfgWith("0.0.0.0:" + port)}, 0, "127.0.0.1:" + port},
		{"--http-addr wins over the config", []string{"-c", cfgWith(closed), "--http-addr", addr}, 0, "ok"},
		{"the config's port is down", []string{"-c", cfgWith(closed)}, 1, closed},
		{"--url wins over everything", []string{"-c", cfgWith(closed), "--url", srv.URL + "/healthz"}, 0, "ok"},
		{"a valid config", []string{"-c", demo(t), "--http-addr", addr}, 0, "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"healthcheck"}, c.args...)...)
			assert.Equal(t, c.code, code, out+errOut)
			assert.Contains(t, out+errOut, c.says)
		})
	}

	p := filepath.Join(dir, "off.yaml")
	require.NoError(t, os.WriteFile(p, []byte("http:\n  listen: \"\"\n"), 0o644))
	code, _, errOut := run(t, "healthcheck", "-c", p)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "status server is disabled")
}

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{
		":9103": "127.0.0.1:9103", "0.0.0.0:9103": "127.0.0.1:9103", "[::]:9103": "[::1]:9103",
		"10.0.0.5:9103": "10.0.0.5:9103", "localhost:9103": "localhost:9103",
	} {
		assert.Equal(t, want, probeAddr(in), in)
	}
}
