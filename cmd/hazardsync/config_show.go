package main

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/hazardsync/hazardsync/config"
)

func configShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the effective config: the file with every default filled in and the environment applied, secrets redacted",
		Long: `Print the config the daemon would run with: every default filled in
(triggers included, as merged with the file), HAZARDSYNC_* environment
overrides and --state-dir/--http-addr applied, relative paths resolved.
Secrets never print: the API key shows as [redacted] and key-like URL
query parameters are masked. The output is valid YAML.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			out, err := effectiveYAML(cfg)
			if err != nil {
				return &exitError{exitFailed, err}
			}
			fmt.Fprintf(g.stdout, "# effective config of %s\n", g.configPath)
			var env []string
			for _, k := range config.EnvKeys() {
				if v := config.EnvName(k); envSet(v) {
					env = append(env, v)
				}
			}
			if envSet(config.EnvAPIKey) {
				env = append(env, config.EnvAPIKey)
			}
			if len(env) > 0 {
				fmt.Fprintf(g.stdout, "# from the environment: %s\n", strings.Join(env, ", "))
			}
			if cfg.GeoSight.APIKey != "" {
				fmt.Fprintf(g.stdout, "# GeoSight API key: %s\n", cfg.GeoSight.APIKey)
			} else {
				fmt.Fprintln(g.stdout, "# GeoSight API key: not set")
			}
			_, err = g.stdout.Write(out)
			return err
		},
	}
}

// effectiveYAML renders cfg with its config keys (mapstructure tags).
func effectiveYAML(cfg config.Config) ([]byte, error) {
	m, _ := plain(reflect.ValueOf(cfg)).(map[string]any)
	sources := map[string]any{}
	for name, s := range cfg.Sources {
		sec := map[string]any{"type": s.Kind, "enabled": s.Enabled, "interval": config.FormatDuration(s.Interval), "timeout": config.FormatDuration(s.Timeout)}
		if s.Cron != "" {
			sec["cron"] = s.Cron
		}
		if p, ok := plain(reflect.ValueOf(s.Plugin)).(map[string]any); ok {
			for k, v := range p {
				sec[k] = v
			}
		}
		sources[name] = sec
	}
	m["sources"] = sources
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

var secretType = reflect.TypeOf(config.Secret(""))

// plain turns a config value into maps, lists and scalars under its config
// keys; durations as text, secrets redacted.
func plain(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == secretType:
		return config.Secret(v.String()).String()
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		return config.FormatDuration(time.Duration(v.Int()))
	case v.Type() == reflect.TypeOf(time.Time{}):
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return nil
		}
		return t.Format(time.RFC3339)
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			key, squash, skip := config.FieldKey(t.Field(i))
			if skip {
				continue
			}
			val := plain(v.Field(i))
			if squash {
				if sub, ok := val.(map[string]any); ok {
					for k, x := range sub {
						out[k] = x
					}
				}
				continue
			}
			if val != nil {
				out[key] = val
			}
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			out[fmt.Sprint(k.Interface())] = plain(v.MapIndex(k))
		}
		return out
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.String:
		return maskURL(v.String())
	}
	return v.Interface()
}

// maskURL hides key-like query parameters and user info of URLs (some
// feeds take their key in the URL).
func maskURL(s string) string {
	if !strings.Contains(s, "://") || !strings.ContainsAny(s, "?@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	q := u.Query()
	changed := false
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "key") || strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "password") {
			q.Set(k, "[redacted]")
			changed = true
		}
	}
	if u.User != nil {
		u.User = url.User("[redacted]")
		changed = true
	}
	if !changed {
		return s
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func envSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}
