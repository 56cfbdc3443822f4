package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hazardsync/hazardsync/adapter/geosight"
	"github.com/hazardsync/hazardsync/adapter/geosight/project"
	"github.com/hazardsync/hazardsync/config"
)

// dashboardCmd builds the GeoSight project that shows the config's
// indicators, writes it (--write) or creates/updates it on the server
// (--apply, as a user with the Creator role).
func dashboardCmd(g *globals) *cobra.Command {
	set := project.DefaultSettings()
	var write string
	var apply bool
	c := &cobra.Command{
		Use:   "dashboard",
		Short: "Create or update the GeoSight project (dashboard) showing the config's indicators",
		Long: `dashboard builds the GeoSight project that shows every configured indicator as a map layer,
grouped (Early warning, Exposure, Hazards, Multi-hazard), with the hazard footprints, widgets
(children at risk, areas at warning) and a filter for areas at warning or above.

  --write FILE  writes the project JSON (GeoSight editor's form) and prints how to build it by hand
  --apply       logs in to GeoSight's project editor and creates the project, or updates it in place;
                what an admin added by hand stays. A second --apply with nothing changed changes nothing.

The indicators and footprint layers must exist on the server: run one sync first. --apply logs in
with ` + project.EnvUsername + ` and ` + project.EnvPassword + ` from the environment (a GeoSight
user with the Creator role; instances that log in only through Azure B2C cannot be used).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if write == "" && !apply {
				return &exitError{exitInvalid, errors.New("dashboard: say --write FILE, --apply, or both")}
			}
			cfg, err := g.load()
			if err != nil {
				return err
			}
			if cfg.GeoSight.URL == config.EmbeddedURL {
				return &exitError{exitInvalid, errors.New("dashboard: geosight.url is embedded: the embedded GeoSight builds its project itself when the daemon starts (the status page links to it)")}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*cfg.GeoSight.Timeout+30*time.Second)
			defer cancel()
			log := g.logger(cfg)
			client, err := geosight.NewClient(cfg.GeoSight, log)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			spec, err := project.Resolve(ctx, client, cfg, set)
			if err != nil {
				return &exitError{exitFailed, fmt.Errorf("dashboard: %w", err)}
			}
			if write != "" {
				f, err := project.Build(spec)
				if err != nil {
					return &exitError{exitFailed, err}
				}
				b, _ := json.MarshalIndent(map[string]any{"fields": f.Fields, "data": f.Data}, "", "  ")
				if err := os.WriteFile(write, append(b, '\n'), 0o644); err != nil {
					return &exitError{exitFailed, fmt.Errorf("dashboard: %w", err)}
				}
				fmt.Fprintf(g.stdout, "wrote %s\n\n", write)
				printSteps(g.stdout, cfg.GeoSight.URL, spec)
			}
			if apply {
				e, err := project.NewEditor(cfg.GeoSight.URL, cfg.GeoSight.Timeout, log)
				if err != nil {
					return &exitError{exitFailed, err}
				}
				if err := e.Login(ctx, os.Getenv(project.EnvUsername), os.Getenv(project.EnvPassword)); err != nil {
					return &exitError{exitFailed, err}
				}
				out, err := project.Apply(ctx, e, spec)
				if err != nil {
					return &exitError{exitFailed, err}
				}
				fmt.Fprintf(g.stdout, "project %s %s: %s/project/%s\n", spec.Slug, out, strings.TrimRight(cfg.GeoSight.URL, "/"), spec.Slug)
				if pals, err := e.Palettes(ctx); err != nil {
					log.Warn("could not read GeoSight's colour palettes", "err", err)
				} else {
					for _, w := range project.PaletteWarnings(spec, pals) {
						log.Warn(w)
					}
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&write, "write", "", "write the project JSON to this file and print the steps to build it by hand")
	c.Flags().BoolVar(&apply, "apply", false, "create or update the project on the server (editor login from the environment)")
	c.Flags().StringVar(&set.Slug, "slug", set.Slug, "the project's URL shortcode (an existing project with it is updated)")
	c.Flags().StringVar(&set.Name, "name", set.Name, "the project's name")
	c.Flags().StringVar(&set.Description, "description", set.Description, "the project's description")
	return c
}

// printSteps says how to build the same project in GeoSight's editor by hand.
func printSteps(w io.Writer, base string, s project.Spec) {
	base = strings.TrimRight(base, "/")
	fmt.Fprintf(w, "To build it by hand in GeoSight (as a user with the Creator role):\n")
	fmt.Fprintf(w, "1. Open %s/admin/project/create. General: name %q, URL shortcode %q; reference dataset %s; extent %v.\n",
		base, s.Name, s.Slug, s.Dataset, s.Extent)
	fmt.Fprintf(w, "2. Indicators: add these, then Indicator layers: one layer per indicator in these groups:\n")
	for _, g := range project.Groups {
		var names []string
		for _, in := range s.Indicators {
			if project.GroupOf(in.Recipe) == g {
				names = append(names, fmt.Sprintf("%s (%s)", in.Name, in.Shortcode))
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "   %s: %s\n", g, strings.Join(names, "; "))
		}
	}
	if len(s.Layers) > 0 {
		var names []string
		for _, l := range s.Layers {
			names = append(names, l.Name)
		}
		fmt.Fprintf(w, "3. Context layers, in a group %q: %s.\n", project.FootprintGroup, strings.Join(names, "; "))
	}
	fmt.Fprintf(w, "4. Widgets (Summary widget, sync with the map, SUM): %q and %q.\n",
		project.WidgetChildrenAtRisk, project.WidgetChildrenExpose)
	fmt.Fprintf(w, "5. Filters: a group %q: each early-warning level IN (warning, alert), joined by OR.\n", project.FilterName)
	fmt.Fprintf(w, "6. Save. Or let hazardsync do all of it: hazardsync dashboard --apply (with %s and %s set).\n",
		project.EnvUsername, project.EnvPassword)
}
