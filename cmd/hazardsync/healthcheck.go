package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/config"
)

// healthcheckCmd probes a running daemon's /healthz: container images have
// no shell or curl, so the binary checks itself (Docker HEALTHCHECK). It
// finds the daemon where `run` with the same -c / --http-addr listens.
func healthcheckCmd(g *globals) *cobra.Command {
	var url string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if a running daemon answers its /healthz, 1 otherwise",
		Long: `Probes /healthz of the daemon that -c (http.listen) and --http-addr describe,
as "run" with the same flags would listen; --url overrides both.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				listen, err := g.listenAddr()
				if err != nil {
					return &exitError{exitFailed, err}
				}
				url = "http://" + probeAddr(listen) + "/healthz"
			}
			client := &http.Client{Timeout: timeout}
			resp, err := client.Get(url)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &exitError{exitFailed, fmt.Errorf("%s answered %s", url, resp.Status)}
			}
			fmt.Fprintln(g.stdout, "ok", url)
			return nil
		},
	}
	c.Flags().StringVar(&url, "url", "", "health endpoint to probe (default: from --http-addr or the config's http.listen)")
	c.Flags().DurationVar(&timeout, "timeout", 4*time.Second, "give up after")
	return c
}

// listenAddr is where the daemon's status server listens: --http-addr,
// else the config's http.listen (with env overrides). A config on disk that
// is being edited may be invalid while the daemon runs fine on the previous
// one, so when it does not validate its http.listen is read directly; a
// probe must not fail (and get the container restarted) over a refused edit.
func (g *globals) listenAddr() (string, error) {
	if g.httpAddr != "" {
		return g.httpAddr, nil
	}
	listen := config.Defaults().HTTP.Listen
	cfg, err := config.Load(g.configPath, config.Overrides{})
	if err == nil {
		listen = cfg.HTTP.Listen
	} else {
		b, rerr := os.ReadFile(g.configPath)
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return "", fmt.Errorf("reading %s for http.listen (or pass --http-addr / --url): %w", g.configPath, rerr)
		}
		var doc struct {
			HTTP struct {
				Listen *string `yaml:"listen"`
			} `yaml:"http"`
		}
		if yaml.Unmarshal(b, &doc) == nil && doc.HTTP.Listen != nil {
			listen = *doc.HTTP.Listen
		}
		if v, ok := os.LookupEnv("HAZARDSYNC_HTTP_LISTEN"); ok {
			listen = v
		}
	}
	if listen == "" {
		return "", errors.New("the status server is disabled (http.listen is empty): nothing to probe")
	}
	return listen, nil
}

// probeAddr turns a listen address into one to connect to: a wildcard host
// (":8080", "0.0.0.0:8080", "[::]:8080") is reached on loopback.
func probeAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
