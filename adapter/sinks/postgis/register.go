package postgis

import (
	"path/filepath"

	"github.com/hazardsync/hazardsync/adapter"
)

// Kind is the registered type.
const Kind = "postgis"

func init() {
	adapter.RegisterSink(Kind, "PostgreSQL/PostGIS: values and footprints in tables QGIS, GeoServer or Superset read",
		NewConfig, func(c *Config, env adapter.SinkEnv) (adapter.Sink, error) {
			cfg := *c
			if cfg.DSNFile != "" && !filepath.IsAbs(cfg.DSNFile) && env.BaseDir != "" {
				cfg.DSNFile = filepath.Join(env.BaseDir, cfg.DSNFile)
			}
			name := env.Name
			if name == "" {
				name = SinkName
			}
			return newNamed(name, cfg, env.Logger)
		})
}
