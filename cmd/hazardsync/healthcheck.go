package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckCmd probes a running daemon's /healthz: container images have
// no shell or curl, so the binary checks itself (Docker HEALTHCHECK).
func healthcheckCmd(g *globals) *cobra.Command {
	var url string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if a running daemon answers its /healthz, 1 otherwise",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client := &http.Client{Timeout: timeout}
			resp, err := client.Get(url)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &exitError{exitFailed, fmt.Errorf("%s answered %s", url, resp.Status)}
			}
			fmt.Fprintln(g.stdout, "ok")
			return nil
		},
	}
	c.Flags().StringVar(&url, "url", "http://127.0.0.1:8080/healthz", "health endpoint to probe")
	c.Flags().DurationVar(&timeout, "timeout", 4*time.Second, "give up after")
	return c
}
