package postgis

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationsTable records which migrations ran, in the sink's schema.
const migrationsTable = "schema_migrations"

// migration is one versioned step. SQL uses {schema}, {values},
// {footprints} and {indicators}, replaced by the quoted configured names.
// Never edit a released migration: append a new one.
type migration struct {
	Version int
	Name    string
	SQL     string
}

var migrations = []migration{
	{1, "values, indicators and footprints tables", `
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE {indicators} (
  shortcode   text PRIMARY KEY,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  category    text NOT NULL DEFAULT '',
  value_type  text NOT NULL CHECK (value_type IN ('Integer', 'Float', 'String')),
  unit        text NOT NULL DEFAULT '',
  min_value   double precision,
  max_value   double precision,
  codes       text[] NOT NULL DEFAULT '{}',
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {values} (
  indicator    text NOT NULL,
  date         date NOT NULL,
  ucode        text NOT NULL,
  admin_level  integer NOT NULL CHECK (admin_level >= 0),
  value_type   text NOT NULL CHECK (value_type IN ('Integer', 'Float', 'String')),
  value_number double precision,
  value_text   text,
  attributes   jsonb NOT NULL DEFAULT '{}',
  phase        text,
  sent_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (indicator, date, ucode),
  CHECK ((value_type = 'String') = (value_text IS NOT NULL))
);
CREATE INDEX ON {values} (ucode, date);
CREATE TABLE {footprints} (
  id              bigserial PRIMARY KEY,
  event_id        text NOT NULL,
  source          text NOT NULL,
  version         text NOT NULL DEFAULT '',
  hazard_type     text NOT NULL,
  title           text NOT NULL DEFAULT '',
  phase           text NOT NULL,
  severity        text NOT NULL,
  native_severity text NOT NULL DEFAULT '',
  band            text NOT NULL DEFAULT '',
  intensity       double precision,
  unit            text NOT NULL DEFAULT '',
  issued          timestamptz,
  valid_from      timestamptz,
  valid_to        timestamptz,
  published_at    timestamptz NOT NULL DEFAULT now(),
  geom            geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX ON {footprints} USING gist (geom);
CREATE INDEX ON {footprints} (event_id);
`},
}

// names are the quoted, schema-qualified identifiers of the configured tables.
type names struct {
	schema, values, footprints, indicators, migrations string
}

func newNames(c *Config) names {
	q := func(t string) string { return pgx.Identifier{c.Schema, t}.Sanitize() }
	return names{
		schema:     pgx.Identifier{c.Schema}.Sanitize(),
		values:     q(c.ValuesTable),
		footprints: q(c.FootprintsTable),
		indicators: q(c.IndicatorsTable),
		migrations: q(migrationsTable),
	}
}

func (n names) expand(sql string) string {
	return strings.NewReplacer("{schema}", n.schema, "{values}", n.values,
		"{footprints}", n.footprints, "{indicators}", n.indicators).Replace(sql)
}

// lockKey serialises migrations of one schema across daemons sharing the
// database.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hazardsync/postgis/" + schema))
	return int64(h.Sum64())
}

// Migrate creates the schema and applies the migrations not yet recorded,
// all in one transaction (PostgreSQL DDL is transactional), so a failure
// leaves the database as it was. It returns how many it applied.
func (s *Sink) Migrate(ctx context.Context) (int, error) {
	applied := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.cfg.Schema)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s.n.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.n.migrations+` (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+s.n.migrations).Scan(&cur); err != nil {
			return err
		}
		if latest := migrations[len(migrations)-1].Version; cur > latest {
			return fmt.Errorf("schema %s is at migration %d, newer than this build knows (%d): upgrade hazardsync", s.cfg.Schema, cur, latest)
		}
		for _, m := range migrations {
			if m.Version <= cur {
				continue
			}
			if _, err := tx.Exec(ctx, s.n.expand(m.SQL)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+s.n.migrations+` (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return err
			}
			applied++
		}
		return nil
	})
	if err != nil {
		return 0, s.classify("migrating schema "+s.cfg.Schema, err)
	}
	if applied > 0 {
		s.log.Info("postgis schema migrated", "schema", s.cfg.Schema, "applied", applied,
			"version", migrations[len(migrations)-1].Version)
	}
	return applied, nil
}
