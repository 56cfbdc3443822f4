// Package postgis is a sink that writes indicator values and hazard
// footprints into PostgreSQL/PostGIS tables that QGIS, GeoServer or
// Superset read directly. See README.md for the tables.
package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

// SinkName is the sink's name in logs, metrics and errors.
const SinkName = "postgis"

var (
	_ adapter.Sink          = (*Sink)(nil)
	_ adapter.FootprintSink = (*Sink)(nil)
)

// Sink writes to one database. Safe for concurrent use.
type Sink struct {
	name  string // instance name (SinkName unless configured otherwise)
	cfg   Config
	n     names
	pool  *pgxpool.Pool
	log   *slog.Logger
	where string   // user@host:port/db, for errors and logs (no password)
	hide  []string // the password as it may appear in text, redacted from errors
	now   func() time.Time

	mu       sync.Mutex
	migrated bool
	fpHash   string // content hash of the footprints last committed
}

// New builds the sink from a validated config. It reads the DSN but does not
// connect: the first Ensure, Write or PublishFootprints does, and migrates.
func New(cfg Config, log *slog.Logger) (*Sink, error) { return newNamed(SinkName, cfg, log) }

// newNamed is New for the sink instance name (logs, metrics, state).
func newNamed(name string, cfg Config, log *slog.Logger) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	dsn, err := cfg.dsn()
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, SinkName, "", err)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis: say nothing of
		// the DSN's content.
		return nil, adapter.Classify(adapter.Permanent, SinkName, "",
			errors.New("the DSN does not parse as a PostgreSQL URL or keyword/value string (not shown: it may hold a password)"))
	}
	pc.MaxConns = int32(cfg.MaxConns)
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if pc.ConnConfig.RuntimeParams["application_name"] == "" {
		pc.ConnConfig.RuntimeParams["application_name"] = "hazardsync"
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, SinkName, "", errors.New("building the connection pool failed"))
	}
	cc := pc.ConnConfig
	s := &Sink{name: name, cfg: cfg, n: newNames(&cfg), pool: pool, now: time.Now,
		where: fmt.Sprintf("postgres://%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)}
	if pw := cc.Password; pw != "" {
		s.hide = []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]}
	}
	s.log = log.With("sink", name, "db", s.where)
	return s, nil
}

// Name implements adapter.Sink.
func (s *Sink) Name() string { return s.name }

// Close releases the connections.
func (s *Sink) Close() { s.pool.Close() }

// ready migrates once per process; a failed attempt is retried next time.
func (s *Sink) ready(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migrated {
		return nil
	}
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	s.migrated = true
	return nil
}

// Ensure records the indicator definitions (names, units, codes) so a GIS
// user can label the values; unchanged rows are left alone.
func (s *Sink) Ensure(ctx context.Context, defs []indicators.Definition) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	q := `INSERT INTO ` + s.n.indicators + ` AS t (shortcode, name, description, category, value_type, unit, min_value, max_value, codes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (shortcode) DO UPDATE SET name = excluded.name, description = excluded.description,
  category = excluded.category, value_type = excluded.value_type, unit = excluded.unit,
  min_value = excluded.min_value, max_value = excluded.max_value, codes = excluded.codes, updated_at = now()
WHERE (t.name, t.description, t.category, t.value_type, t.unit, t.min_value, t.max_value, t.codes)
  IS DISTINCT FROM (excluded.name, excluded.description, excluded.category, excluded.value_type,
  excluded.unit, excluded.min_value, excluded.max_value, excluded.codes)`
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, d := range defs {
			codes := d.Codes
			if codes == nil {
				codes = []string{}
			}
			b.Queue(q, d.Shortcode, d.Name, d.Description, d.Category, string(d.Type), d.Unit, d.MinValue, d.MaxValue, codes)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return s.classify("recording indicator definitions", err)
}

// valueArgs are the upsert's parameters for one value.
func valueArgs(v indicators.Value) ([]any, error) {
	attrs := "{}"
	if len(v.Attributes) > 0 {
		b, err := json.Marshal(v.Attributes)
		if err != nil {
			return nil, fmt.Errorf("attributes are not JSON: %w", err)
		}
		attrs = string(b)
	}
	var num, text any
	if v.Type == indicators.String {
		text = v.Text
	} else {
		num = v.Number
	}
	var phase any
	if p, ok := v.Attributes["phase"].(string); ok && p != "" {
		phase = p
	}
	return []any{v.Indicator, string(v.Date), v.Code, v.AdminLevel, string(v.Type), num, text, attrs, phase}, nil
}

// upsertManySQL upserts a batch in one statement, one array per column
// (batchArgs), keyed like GeoSight (indicator, date, ucode); a row whose
// content did not change is left untouched, sent_at included. PostgreSQL
// refuses it (SQLSTATE 21000) when a key repeats in the batch; Write then
// splits the batch.
func (s *Sink) upsertManySQL() string {
	return `INSERT INTO ` + s.n.values + ` AS t (indicator, date, ucode, admin_level, value_type, value_number, value_text, attributes, phase)
SELECT i, d::date, c, l, ty, n, tx, a::jsonb, p
FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::float8[], $7::text[], $8::text[], $9::text[])
  AS u(i, d, c, l, ty, n, tx, a, p)` + onConflict
}

const onConflict = `
ON CONFLICT (indicator, date, ucode) DO UPDATE SET admin_level = excluded.admin_level,
  value_type = excluded.value_type, value_number = excluded.value_number, value_text = excluded.value_text,
  attributes = excluded.attributes, phase = excluded.phase, sent_at = now()
WHERE (t.admin_level, t.value_type, t.value_number, t.value_text, t.attributes, t.phase)
  IS DISTINCT FROM (excluded.admin_level, excluded.value_type, excluded.value_number, excluded.value_text,
  excluded.attributes, excluded.phase)`

// batchArgs turns rows of valueArgs into upsertManySQL's column arrays.
func batchArgs(rows []pendingRow) []any {
	cols := make([][]any, 9)
	for _, r := range rows {
		for i, a := range r.args {
			cols[i] = append(cols[i], a)
		}
	}
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = c
	}
	return out
}

// Write upserts values BatchSize at a time, one transaction each, and acks
// a batch's values only once it committed. A value the database refuses
// (bad date, constraint) is rejected on its own with the database's
// message; the rest of its batch is still written. Anything else (the
// database unreachable, a timeout, a missing privilege) stops the write
// with a classified error and leaves the unacked values queued.
func (s *Sink) Write(ctx context.Context, vals []indicators.Value, ack func(adapter.Outcome)) error {
	if len(vals) == 0 {
		return nil
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	written, rejected := 0, 0
	for start := 0; start < len(vals); start += s.cfg.BatchSize {
		outs, err := s.writeBatch(ctx, vals[start:min(start+s.cfg.BatchSize, len(vals))])
		if err != nil {
			s.log.Warn("writing values failed", "written", written, "rejected", rejected,
				"left", len(vals)-start, "err", err)
			return err
		}
		for _, o := range outs {
			if o.Err != nil {
				rejected++
			} else {
				written++
			}
			ack(o)
		}
	}
	s.log.Debug("values written", "written", written, "rejected", rejected)
	return nil
}

type pendingRow struct {
	v    indicators.Value
	args []any
}

func (s *Sink) writeBatch(ctx context.Context, vals []indicators.Value) ([]adapter.Outcome, error) {
	var outs []adapter.Outcome
	var rows []pendingRow
	for _, v := range vals {
		args, err := valueArgs(v)
		if err != nil {
			outs = append(outs, adapter.Outcome{Value: v, Err: s.reject(v, err)})
			continue
		}
		rows = append(rows, pendingRow{v, args})
	}
	if len(rows) == 0 {
		return outs, nil
	}
	// Fast path: the whole batch in one statement.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, s.upsertManySQL(), batchArgs(rows)...)
		return err
	})
	if err == nil {
		for _, r := range rows {
			outs = append(outs, adapter.Outcome{Value: r.v})
		}
		return outs, nil
	}
	if !perValue(err) && !repeatedKey(err) {
		return nil, s.classify("writing values", err)
	}
	// Some value was refused, or a key came twice: redo the batch in halves,
	// each behind a savepoint, down to single values, so only the refused
	// ones roll back and a clean half costs one statement.
	var slow []adapter.Outcome
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		slow, err = s.bisect(ctx, tx, rows, nil)
		return err
	})
	if err != nil {
		return nil, s.classify("writing values", err)
	}
	return append(outs, slow...), nil
}

// bisect upserts rows behind a savepoint; when the database refuses the lot
// for one row's sake it splits them, keeping their order (so of a key given
// twice, the later value is written last).
func (s *Sink) bisect(ctx context.Context, tx pgx.Tx, rows []pendingRow, outs []adapter.Outcome) ([]adapter.Outcome, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := sp.Exec(ctx, s.upsertManySQL(), batchArgs(rows)...); err != nil {
		if !perValue(err) && !repeatedKey(err) {
			return nil, err
		}
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return nil, rbErr
		}
		if len(rows) == 1 {
			return append(outs, adapter.Outcome{Value: rows[0].v, Err: s.reject(rows[0].v, err)}), nil
		}
		mid := len(rows) / 2
		if outs, err = s.bisect(ctx, tx, rows[:mid], outs); err != nil {
			return nil, err
		}
		return s.bisect(ctx, tx, rows[mid:], outs)
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, err
	}
	for _, r := range rows {
		outs = append(outs, adapter.Outcome{Value: r.v})
	}
	return outs, nil
}
