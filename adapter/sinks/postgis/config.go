package postgis

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/indicators"
)

// DefaultDSNEnv is the environment variable the DSN is read from unless the
// config names another one or a file.
const DefaultDSNEnv = "HAZARDSYNC_POSTGIS_DSN"

// Config is the postgis sink's section. The DSN never appears here: it holds
// a password, so it comes from the environment or a file (a Kubernetes or
// systemd secret), never from YAML, and is never logged.
type Config struct {
	// DSNEnv names the environment variable holding the DSN
	// ("postgres://user:pass@host:5432/db" or "host=... user=...").
	DSNEnv string `mapstructure:"dsn_env"`
	// DSNFile is a file holding the DSN; it wins over DSNEnv when set.
	DSNFile string `mapstructure:"dsn_file"`
	// Schema holds every table, schema_migrations included.
	Schema string `mapstructure:"schema"`
	// ValuesTable, FootprintsTable and IndicatorsTable name the tables.
	ValuesTable     string `mapstructure:"values_table"`
	FootprintsTable string `mapstructure:"footprints_table"`
	IndicatorsTable string `mapstructure:"indicators_table"`
	// BatchSize is how many values go in one transaction (one round trip
	// when none is rejected).
	BatchSize int `mapstructure:"batch_size"`
	// MaxConns bounds the connection pool.
	MaxConns int `mapstructure:"max_conns"`
	// ConnectTimeout bounds one connection attempt.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// Footprints writes the hazard footprints table (default true).
	Footprints bool `mapstructure:"footprints"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		DSNEnv:          DefaultDSNEnv,
		Schema:          "hazardsync",
		ValuesTable:     "indicator_values",
		FootprintsTable: "hazard_footprints",
		IndicatorsTable: "indicators",
		BatchSize:       500,
		MaxConns:        4,
		ConnectTimeout:  10 * time.Second,
		Footprints:      true,
	}
}

// identRE is a plain lower-case SQL identifier: no quoting surprises in
// QGIS or Superset, and below PostgreSQL's 63-byte limit.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate returns every problem, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, indicators.FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if c.DSNFile == "" {
		if c.DSNEnv == "" {
			bad("dsn_env", "set dsn_env or dsn_file: the DSN is never read from the config itself")
		} else if !envRE.MatchString(c.DSNEnv) {
			bad("dsn_env", "%q is not an environment variable name", c.DSNEnv)
		}
	}
	names := map[string]string{}
	for _, f := range []struct{ field, v string }{
		{"schema", c.Schema}, {"values_table", c.ValuesTable},
		{"footprints_table", c.FootprintsTable}, {"indicators_table", c.IndicatorsTable},
	} {
		if !identRE.MatchString(f.v) {
			bad(f.field, "%q is not a lower-case SQL identifier (a-z, 0-9, _; at most 63)", f.v)
			continue
		}
		if f.field == "schema" {
			continue
		}
		if f.v == migrationsTable {
			bad(f.field, "%q is the migrations table", f.v)
		}
		if other, dup := names[f.v]; dup {
			bad(f.field, "%q is also %s", f.v, other)
		}
		names[f.v] = f.field
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		bad("batch_size", "%d is not between 1 and 10000", c.BatchSize)
	}
	if c.MaxConns < 1 || c.MaxConns > 64 {
		bad("max_conns", "%d is not between 1 and 64", c.MaxConns)
	}
	if c.ConnectTimeout < time.Second {
		bad("connect_timeout", "%s is below 1s", c.ConnectTimeout)
	}
	return errors.Join(errs...)
}

// dsn reads the DSN from the file or the environment. Errors name where it
// was looked for, never what it holds.
func (c *Config) dsn() (string, error) {
	if c.DSNFile != "" {
		b, err := os.ReadFile(c.DSNFile)
		if err != nil {
			return "", fmt.Errorf("reading dsn_file: %w", err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", fmt.Errorf("dsn_file %s is empty", c.DSNFile)
		}
		return s, nil
	}
	s := strings.TrimSpace(os.Getenv(c.DSNEnv))
	if s == "" {
		return "", fmt.Errorf("environment variable %s (dsn_env) is empty", c.DSNEnv)
	}
	return s, nil
}
