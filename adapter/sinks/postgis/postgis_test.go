package postgis

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// testDSNEnv points the tests at a real PostgreSQL with PostGIS; `make
// postgis-test` starts a private one and sets it.
const testDSNEnv = "HAZARDSYNC_POSTGIS_TEST_DSN"

// db is a test's own schema in the test database, dropped afterwards.
type db struct {
	t      testing.TB
	cfg    Config
	pool   *pgxpool.Pool // a second connection pool: what a GIS client sees
	logBuf *testutil.SyncBuffer
}

func newDB(t testing.TB) *db {
	t.Helper()
	dsn := os.Getenv(testDSNEnv)
	if dsn == "" {
		t.Skipf("%s is not set: run `make postgis-test` to run this test against a real PostgreSQL/PostGIS", testDSNEnv)
	}
	cfg := *NewConfig()
	cfg.DSNEnv = testDSNEnv
	cfg.Schema = "t_" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	if len(cfg.Schema) > 63 {
		cfg.Schema = cfg.Schema[:63]
	}
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	drop := func() {
		_, err := pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{cfg.Schema}.Sanitize()+` CASCADE`)
		require.NoError(t, err)
	}
	drop()
	t.Cleanup(func() { drop(); pool.Close() })
	return &db{t: t, cfg: cfg, pool: pool, logBuf: &testutil.SyncBuffer{}}
}

func (d *db) sink() *Sink {
	d.t.Helper()
	s, err := New(d.cfg, slog.New(slog.NewTextHandler(d.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.NoError(d.t, err)
	d.t.Cleanup(s.Close)
	return s
}

func (d *db) count(sql string, args ...any) int {
	d.t.Helper()
	var n int
	require.NoError(d.t, d.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func (d *db) table(name string) string { return pgx.Identifier{d.cfg.Schema, name}.Sanitize() }

// write delivers vals and returns the outcomes by key.
func write(t *testing.T, s *Sink, vals []indicators.Value) map[string]adapter.Outcome {
	t.Helper()
	got := map[string]adapter.Outcome{}
	require.NoError(t, s.Write(context.Background(), vals, func(o adapter.Outcome) {
		_, dup := got[o.Value.Key().String()]
		assert.False(t, dup, "acked twice: %s", o.Value.Key())
		got[o.Value.Key().String()] = o
	}))
	require.Len(t, got, len(vals), "every value acked once")
	return got
}

func sampleValues() []indicators.Value {
	return []indicators.Value{
		{Indicator: "children_exposed", Code: "MOZ_0001", AdminLevel: 1, Date: "2026-03-10", Type: indicators.Integer,
			Number: 1200, Attributes: map[string]any{"phase": "forecast", "events": "gdacs:TC:1 v3"}},
		{Indicator: "children_exposed", Code: "MOZ_0002", AdminLevel: 1, Date: "2026-03-10", Type: indicators.Integer, Number: 0},
		{Indicator: "share_exposed", Code: "MOZ_0001", AdminLevel: 1, Date: "2026-03-10", Type: indicators.Float, Number: 0.125,
			Attributes: map[string]any{"phase": "observed"}},
		{Indicator: "alert_level", Code: "MOZ_0001_01", AdminLevel: 2, Date: "2026-03-10", Type: indicators.String, Text: "orange"},
	}
}

func TestSchemaFromScratchAndMigrationsIdempotent(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	n, err := s.Migrate(context.Background())
	require.NoError(t, err)
	assert.Equal(t, len(migrations), n, "a new database gets every migration")

	n, err = s.Migrate(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "a second run applies nothing")
	n, err = d.sink().Migrate(context.Background()) // another process, same database
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, len(migrations), d.count(`SELECT count(*) FROM `+d.table(migrationsTable)))

	cols := func(table string) []string {
		rows, err := d.pool.Query(context.Background(), `SELECT column_name FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, d.cfg.Schema, table)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	assert.Equal(t, []string{"indicator", "date", "ucode", "admin_level", "value_type", "value_number", "value_text",
		"attributes", "phase", "sent_at"}, cols(d.cfg.ValuesTable))
	assert.Equal(t, []string{"id", "event_id", "source", "version", "hazard_type", "title", "phase", "severity",
		"native_severity", "band", "intensity", "unit", "issued", "valid_from", "valid_to", "published_at", "geom"},
		cols(d.cfg.FootprintsTable))
	var typ string
	var srid int
	require.NoError(t, d.pool.QueryRow(context.Background(), `SELECT type, srid FROM geometry_columns
WHERE f_table_schema = $1 AND f_table_name = $2`, d.cfg.Schema, d.cfg.FootprintsTable).Scan(&typ, &srid))
	assert.Equal(t, "MULTIPOLYGON", typ)
	assert.Equal(t, 4326, srid)
}

func TestMigrateRefusesANewerSchema(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	_, err := s.Migrate(context.Background())
	require.NoError(t, err)
	_, err = d.pool.Exec(context.Background(), `INSERT INTO `+d.table(migrationsTable)+` (version, name) VALUES (999, 'future')`)
	require.NoError(t, err)
	_, err = d.sink().Migrate(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this build knows")
}

func TestWriteUpserts(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	vals := sampleValues()
	for k, o := range write(t, s, vals) {
		assert.NoError(t, o.Err, k)
	}
	type row struct {
		Indicator, Date, Ucode, ValueType string
		AdminLevel                        int
		Number                            *float64
		Text, Phase                       *string
		Attributes                        map[string]any
	}
	read := func() map[string]row {
		rows, err := d.pool.Query(context.Background(), `SELECT indicator, date::text, ucode, value_type, admin_level,
value_number, value_text, phase, attributes FROM `+d.table(d.cfg.ValuesTable))
		require.NoError(t, err)
		out := map[string]row{}
		var r row
		_, err = pgx.ForEachRow(rows, []any{&r.Indicator, &r.Date, &r.Ucode, &r.ValueType, &r.AdminLevel, &r.Number,
			&r.Text, &r.Phase, &r.Attributes}, func() error {
			out[r.Indicator+"|"+r.Date+"|"+r.Ucode] = r
			r = row{}
			return nil
		})
		require.NoError(t, err)
		return out
	}
	got := read()
	require.Len(t, got, len(vals))
	for _, v := range vals {
		r := got[v.Key().String()]
		assert.Equal(t, string(v.Type), r.ValueType, v.Key())
		assert.Equal(t, v.AdminLevel, r.AdminLevel, v.Key())
		if v.Type == indicators.String {
			require.NotNil(t, r.Text)
			assert.Equal(t, v.Text, *r.Text)
			assert.Nil(t, r.Number)
		} else {
			require.NotNil(t, r.Number)
			assert.Equal(t, v.Number, *r.Number)
			assert.Nil(t, r.Text)
		}
		if p, ok := v.Attributes["phase"]; ok {
			require.NotNil(t, r.Phase)
			assert.Equal(t, p, *r.Phase)
		} else {
			assert.Nil(t, r.Phase)
		}
		want := v.Attributes
		if want == nil {
			want = map[string]any{}
		}
		assert.Equal(t, want, r.Attributes)
	}

	// Same key, new value: the row is updated, not duplicated.
	upd := vals[0]
	upd.Number = 1500
	upd.Attributes = map[string]any{"phase": "observed"}
	write(t, s, []indicators.Value{upd})
	got = read()
	require.Len(t, got, len(vals))
	assert.Equal(t, 1500.0, *got[upd.Key().String()].Number)
	assert.Equal(t, "observed", *got[upd.Key().String()].Phase)
}

func TestRepeatWriteChangesNothing(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	vals := sampleValues()
	write(t, s, vals)
	snapshot := func() map[string]string {
		rows, err := d.pool.Query(context.Background(), `SELECT indicator||'|'||date||'|'||ucode, xmin::text||' '||sent_at::text
FROM `+d.table(d.cfg.ValuesTable))
		require.NoError(t, err)
		out := map[string]string{}
		var k, v string
		_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error { out[k] = v; return nil })
		require.NoError(t, err)
		return out
	}
	before := snapshot()
	// Values rebuilt from scratch (new maps) so equality is by content.
	for k, o := range write(t, s, sampleValues()) {
		assert.NoError(t, o.Err, k)
	}
	assert.Equal(t, before, snapshot(), "an unchanged value leaves its row version and sent_at as they were")
}

func TestPerValueRejection(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	good := sampleValues()
	badDate := good[0]
	badDate.Date = "2026-02-30"
	badText := good[3]
	badText.Code = "MOZ_0009"
	badText.Text = "or\x00ange"
	badLevel := good[1]
	badLevel.Code = "MOZ_0010"
	badLevel.AdminLevel = -1
	badAttrs := good[2]
	badAttrs.Code = "MOZ_0011"
	badAttrs.Attributes = map[string]any{"lead_hours": math.NaN()}
	vals := []indicators.Value{good[0], badDate, good[1], badText, good[2], badLevel, good[3], badAttrs}

	// An ack of a written value must find its row committed, seen from
	// another connection.
	committed := map[string]bool{}
	var mu sync.Mutex
	got := map[string]adapter.Outcome{}
	require.NoError(t, s.Write(context.Background(), vals, func(o adapter.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		got[o.Value.Key().String()] = o
		if o.Err == nil {
			committed[o.Value.Key().String()] = d.count(`SELECT count(*) FROM `+d.table(d.cfg.ValuesTable)+
				` WHERE indicator = $1 AND date = $2::date AND ucode = $3`, o.Value.Indicator, string(o.Value.Date), o.Value.Code) == 1
		}
	}))
	require.Len(t, got, len(vals))
	for _, v := range good {
		k := v.Key().String()
		assert.NoError(t, got[k].Err, k)
		assert.True(t, committed[k], "acked before commit: %s", k)
	}
	for _, tc := range []struct {
		v    indicators.Value
		want string
	}{
		{badDate, "date/time field value out of range"},
		{badText, "0x00"},
		{badLevel, "check constraint"},
		{badAttrs, "attributes are not JSON"},
	} {
		o := got[tc.v.Key().String()]
		require.Error(t, o.Err, tc.v.Key())
		assert.Equal(t, adapter.Permanent, adapter.ClassOf(o.Err), "%v", o.Err)
		assert.Contains(t, o.Err.Error(), tc.want)
		assert.Contains(t, o.Err.Error(), tc.v.Key().String(), "the rejection names the value")
	}
	assert.Equal(t, len(good), d.count(`SELECT count(*) FROM `+d.table(d.cfg.ValuesTable)))
}

func TestWriteBatchesLargerThanBatchSize(t *testing.T) {
	d := newDB(t)
	d.cfg.BatchSize = 7
	s := d.sink()
	var vals []indicators.Value
	for i := range 50 {
		v := indicators.Value{Indicator: "children_exposed", Code: fmt.Sprintf("A_%03d", i), AdminLevel: 2,
			Date: "2026-03-10", Type: indicators.Integer, Number: float64(i)}
		if i%13 == 5 {
			v.Date = "2026-13-01" // refused: one per few batches
		}
		vals = append(vals, v)
	}
	rejected := 0
	for _, o := range write(t, s, vals) {
		if o.Err != nil {
			rejected++
		}
	}
	assert.Equal(t, 4, rejected)
	assert.Equal(t, 46, d.count(`SELECT count(*) FROM `+d.table(d.cfg.ValuesTable)))
}

func TestEnsureRecordsDefinitions(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	maxV := 1.0
	defs := []indicators.Definition{
		{Shortcode: "children_exposed", Name: "Children exposed", Category: "exposure", Type: indicators.Integer, Unit: "children"},
		{Shortcode: "alert_level", Name: "Alert level", Type: indicators.String, Codes: []string{"none", "green", "orange", "red"}},
		{Shortcode: "share_exposed", Name: "Share exposed", Type: indicators.Float, MaxValue: &maxV},
	}
	require.NoError(t, s.Ensure(context.Background(), nil), "no definitions is no error")
	require.NoError(t, s.Ensure(context.Background(), defs))
	xmins := func() string {
		var x string
		require.NoError(t, d.pool.QueryRow(context.Background(), `SELECT string_agg(shortcode||':'||xmin::text, ',' ORDER BY shortcode) FROM `+
			d.table(d.cfg.IndicatorsTable)).Scan(&x))
		return x
	}
	before := xmins()
	require.NoError(t, s.Ensure(context.Background(), defs))
	assert.Equal(t, before, xmins(), "unchanged definitions are not rewritten")
	defs[0].Name = "Children in the footprint"
	require.NoError(t, s.Ensure(context.Background(), defs))
	var name string
	require.NoError(t, d.pool.QueryRow(context.Background(), `SELECT name FROM `+d.table(d.cfg.IndicatorsTable)+
		` WHERE shortcode = 'children_exposed'`).Scan(&name))
	assert.Equal(t, "Children in the footprint", name)
	assert.Equal(t, 3, d.count(`SELECT count(*) FROM `+d.table(d.cfg.IndicatorsTable)))
}

func square(x, y, side float64) orb.Polygon {
	return orb.Polygon{{{x, y}, {x + side, y}, {x + side, y + side}, {x, y + side}, {x, y}}}
}

func TestFootprintsReplaced(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	cyclone := indicators.Event{ID: "gdacs:TC:1", Source: "gdacs", Version: "3", Type: indicators.TropicalCyclone,
		Phase: indicators.Forecast, Severity: indicators.SeverityOrange, Title: "TC Ana", Issued: now.Add(-time.Hour),
		Footprints: []indicators.Footprint{
			{Geometry: square(35, -20, 2), Band: "34 kt", Intensity: 34, Unit: "kt"},
			{Geometry: orb.MultiPolygon{square(35.5, -19.5, 1), square(40, -18, 0.5)}, Band: "64 kt", Intensity: 64, Unit: "kt",
				Severity: indicators.SeverityRed, ValidTo: now.Add(24 * time.Hour)},
		}}
	quake := indicators.Event{ID: "usgs:us1", Source: "usgs", Version: "a", Type: indicators.Earthquake,
		Phase: indicators.Observed, Severity: indicators.SeverityGreen, Issued: now.Add(-2 * time.Hour),
		Footprints: []indicators.Footprint{
			{Geometry: orb.Polygon{{{30, -10}, {31, -10}, {31, -9}}}, Band: "MMI 6"}, // unclosed ring: closed here
			{Geometry: orb.Point{30.5, -9.5}, Band: "epicentre"},                     // not polygonal: skipped
		}}
	ended := indicators.Event{ID: "gdacs:FL:2", Source: "gdacs", Type: indicators.Flood, Phase: indicators.Observed,
		Severity: indicators.SeverityRed, ValidTo: now.Add(-time.Hour), Footprints: []indicators.Footprint{{Geometry: square(0, 0, 1)}}}
	closed := indicators.Event{ID: "eonet:3", Source: "eonet", Type: indicators.Wildfire, Closed: true,
		Footprints: []indicators.Footprint{{Geometry: square(1, 1, 1)}}}

	ctx := context.Background()
	fp := d.table(d.cfg.FootprintsTable)
	require.NoError(t, s.PublishFootprints(ctx, []indicators.Event{quake, cyclone, ended, closed}))
	type row struct {
		Event, Band, Severity, Geom string
		ValidTo                     *time.Time
	}
	read := func() []row {
		rows, err := d.pool.Query(ctx, `SELECT event_id, band, severity, ST_AsText(geom), valid_to FROM `+fp+
			` WHERE ST_SRID(geom) = 4326 AND GeometryType(geom) = 'MULTIPOLYGON' ORDER BY event_id, band`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		require.NoError(t, err)
		for i := range out {
			if out[i].ValidTo != nil {
				u := out[i].ValidTo.UTC()
				out[i].ValidTo = &u
			}
		}
		return out
	}
	until := now.Add(24 * time.Hour)
	assert.Equal(t, []row{
		{"gdacs:TC:1", "34 kt", "orange", "MULTIPOLYGON(((35 -20,37 -20,37 -18,35 -18,35 -20)))", nil},
		{"gdacs:TC:1", "64 kt", "red", "MULTIPOLYGON(((35.5 -19.5,36.5 -19.5,36.5 -18.5,35.5 -18.5,35.5 -19.5)),((40 -18,40.5 -18,40.5 -17.5,40 -17.5,40 -18)))", &until},
		{"usgs:us1", "MMI 6", "green", "MULTIPOLYGON(((30 -10,31 -10,31 -9,30 -10)))", nil},
	}, read())
	assert.Equal(t, 3, d.count(`SELECT count(*) FROM `+fp), "the ended, closed and point footprints are not there")
	assert.Contains(t, d.logBuf.String(), "skipped_not_polygon=1")

	// The same set again: not rewritten.
	var xmin string
	require.NoError(t, d.pool.QueryRow(ctx, `SELECT string_agg(xmin::text, ',' ORDER BY id) FROM `+fp).Scan(&xmin))
	require.NoError(t, s.PublishFootprints(ctx, []indicators.Event{cyclone, quake, ended}))
	var xmin2 string
	require.NoError(t, d.pool.QueryRow(ctx, `SELECT string_agg(xmin::text, ',' ORDER BY id) FROM `+fp).Scan(&xmin2))
	assert.Equal(t, xmin, xmin2)

	// The quake ends: only the cyclone's rows remain.
	quake.Closed = true
	require.NoError(t, s.PublishFootprints(ctx, []indicators.Event{cyclone, quake}))
	assert.Equal(t, 2, d.count(`SELECT count(*) FROM `+fp))
	assert.Zero(t, d.count(`SELECT count(*) FROM `+fp+` WHERE event_id = 'usgs:us1'`))

	// The last event ends: the table empties.
	require.NoError(t, s.PublishFootprints(ctx, nil))
	assert.Zero(t, d.count(`SELECT count(*) FROM `+fp))
}

func TestWrongPasswordIsAuthAndNeverShown(t *testing.T) {
	d := newDB(t)
	cfg, err := pgx.ParseConfig(os.Getenv(testDSNEnv))
	require.NoError(t, err)
	wrong := "Wr0ng-p@ss/w:rd%" + cfg.Password
	t.Setenv("HAZARDSYNC_POSTGIS_WRONG_DSN", fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable password='%s'",
		cfg.Host, cfg.Port, cfg.User, cfg.Database, wrong))
	d.cfg.DSNEnv = "HAZARDSYNC_POSTGIS_WRONG_DSN"
	s := d.sink()
	acked := 0
	err = s.Write(context.Background(), sampleValues(), func(adapter.Outcome) { acked++ })
	require.Error(t, err)
	assert.Equal(t, adapter.Auth, adapter.ClassOf(err), "%v", err)
	assert.Zero(t, acked, "nothing is marked when the credentials are refused")
	assert.NotContains(t, err.Error(), wrong)
	assert.NotContains(t, err.Error(), cfg.Password)
	assert.NotContains(t, d.logBuf.String(), cfg.Password)
}

// A key twice in one batch makes the one-statement upsert fail (SQLSTATE
// 21000): the batch is written value by value, the later value wins, and
// neither is rejected.
func TestRepeatedKeyInOneBatch(t *testing.T) {
	d := newDB(t)
	s := d.sink()
	first := sampleValues()[0]
	second := first
	second.Number = 1300
	var outs []adapter.Outcome
	require.NoError(t, s.Write(context.Background(), []indicators.Value{first, sampleValues()[1], second},
		func(o adapter.Outcome) { outs = append(outs, o) }))
	require.Len(t, outs, 3)
	for _, o := range outs {
		assert.NoError(t, o.Err)
	}
	assert.Equal(t, 1300.0, outs[2].Value.Number, "acked in order, so the later value is the last delivered")
	var n float64
	require.NoError(t, d.pool.QueryRow(context.Background(), `SELECT value_number FROM `+d.table(d.cfg.ValuesTable)+
		` WHERE indicator = $1 AND ucode = $2`, first.Indicator, first.Code).Scan(&n))
	assert.Equal(t, 1300.0, n)
	assert.Equal(t, 2, d.count(`SELECT count(*) FROM `+d.table(d.cfg.ValuesTable)))
}

// proxy forwards 127.0.0.1:port to the database until cut, which also
// drops every connection it carries: a database that went away.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (p *proxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err)
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestDatabaseGoneIsRetryableAndRecovers(t *testing.T) {
	d := newDB(t)
	cfg, err := pgx.ParseConfig(os.Getenv(testDSNEnv))
	require.NoError(t, err)
	p := &proxy{t: t, target: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), addr: "127.0.0.1:0"}
	p.start()
	t.Cleanup(p.cut)
	_, port, _ := net.SplitHostPort(p.addr)
	t.Setenv("HAZARDSYNC_POSTGIS_PROXY_DSN", fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/%s?sslmode=disable",
		url.PathEscape(cfg.User), url.PathEscape(cfg.Password), port, url.PathEscape(cfg.Database)))
	d.cfg.DSNEnv = "HAZARDSYNC_POSTGIS_PROXY_DSN"
	d.cfg.ConnectTimeout = 2 * time.Second
	s := d.sink()
	vals := sampleValues()
	write(t, s, vals[:1]) // migrated, a pooled connection open

	p.cut()
	acked := 0
	err = s.Write(context.Background(), vals, func(adapter.Outcome) { acked++ })
	require.Error(t, err)
	assert.Equal(t, adapter.Retryable, adapter.ClassOf(err), "%v", err)
	assert.Zero(t, acked, "nothing acked when the database is gone")
	assert.NotContains(t, err.Error(), cfg.Password)

	p.start() // back on the same port
	for k, o := range write(t, s, vals) {
		assert.NoError(t, o.Err, k)
	}
	assert.Equal(t, len(vals), d.count(`SELECT count(*) FROM `+d.table(d.cfg.ValuesTable)))
}
