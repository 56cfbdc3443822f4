package postgis

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/indicators"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		field  string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"dsn file only", func(c *Config) { c.DSNEnv = ""; c.DSNFile = "/run/secrets/pg" }, ""},
		{"no dsn source", func(c *Config) { c.DSNEnv = "" }, "dsn_env"},
		{"bad env name", func(c *Config) { c.DSNEnv = "postgres://u:p@h/db" }, "dsn_env"},
		{"quoted schema", func(c *Config) { c.Schema = `a"; DROP TABLE x; --` }, "schema"},
		{"upper-case table", func(c *Config) { c.ValuesTable = "Values" }, "values_table"},
		{"same table twice", func(c *Config) { c.FootprintsTable = c.ValuesTable }, "footprints_table"},
		{"migrations table", func(c *Config) { c.IndicatorsTable = migrationsTable }, "indicators_table"},
		{"batch zero", func(c *Config) { c.BatchSize = 0 }, "batch_size"},
		{"pool zero", func(c *Config) { c.MaxConns = 0 }, "max_conns"},
		{"timeout", func(c *Config) { c.ConnectTimeout = time.Millisecond }, "connect_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConfig()
			tc.mutate(c)
			err := c.Validate()
			if tc.field == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.field+":")
		})
	}
}

func TestDSNFromFileWinsAndIsNeverShown(t *testing.T) {
	const secret = "pa55-in-file"
	f := filepath.Join(t.TempDir(), "dsn")
	require.NoError(t, os.WriteFile(f, []byte("postgres://u:"+secret+"@127.0.0.1:1/db\n"), 0o600))
	t.Setenv("HAZARDSYNC_POSTGIS_UNIT_DSN", "postgres://u:from-env@127.0.0.1:1/db")
	c := NewConfig()
	c.DSNEnv, c.DSNFile = "HAZARDSYNC_POSTGIS_UNIT_DSN", f
	s, err := New(*c, nil)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, []string{secret, secret, secret, secret}, s.hide)

	c.DSNFile = filepath.Join(t.TempDir(), "missing")
	_, err = New(*c, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dsn_file")

	c.DSNFile = ""
	c.DSNEnv = "HAZARDSYNC_POSTGIS_UNSET_DSN"
	_, err = New(*c, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HAZARDSYNC_POSTGIS_UNSET_DSN")

	t.Setenv("HAZARDSYNC_POSTGIS_UNIT_DSN", "postgres://u:"+secret+"@host:notaport/db")
	c.DSNEnv = "HAZARDSYNC_POSTGIS_UNIT_DSN"
	_, err = New(*c, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// Property: whatever the password, an unreachable database is a retryable
// failure of the whole sink, acks nothing, and the password is in no error
// and no log line.
func TestUnreachableIsRetryableAndPasswordNeverShown(t *testing.T) {
	port := closedPort(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcXYZ019-_.~!$&'()*+,;=:@/?#[]% "
	passwords := []string{"s3cret", "p@ss:w/rd", "with space", "100%", "'quoted'"}
	for range 20 {
		b := make([]byte, 4+rng.IntN(20))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		passwords = append(passwords, string(b))
	}
	for _, pw := range passwords {
		var logs bytes.Buffer
		esc := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw)
		t.Setenv("HAZARDSYNC_POSTGIS_UNIT_DSN", fmt.Sprintf("host=127.0.0.1 port=%d user=hs dbname=hs connect_timeout=2 password='%s'", port, esc))
		c := NewConfig()
		c.DSNEnv = "HAZARDSYNC_POSTGIS_UNIT_DSN"
		s, err := New(*c, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		require.NoError(t, err, pw)
		acked := 0
		err = s.Write(context.Background(), []indicators.Value{{Indicator: "x", Code: "A", Date: "2026-01-01",
			Type: indicators.Integer, Number: 1}}, func(adapter.Outcome) { acked++ })
		require.Error(t, err)
		assert.Equal(t, adapter.Retryable, adapter.ClassOf(err), "%v", err)
		assert.Zero(t, acked)
		assert.Contains(t, err.Error(), fmt.Sprintf("127.0.0.1:%d", port), "the error says where")
		if len(pw) >= 4 { // shorter ones may occur in the text by chance
			assert.NotContains(t, err.Error(), pw)
			assert.NotContains(t, logs.String(), pw)
		}
		s.Close()
	}
}

func TestRedactedHidesEveryForm(t *testing.T) {
	e := redacted{fmt.Errorf("dial postgres://u:p%%40ss@h: refused for p@ss"), []string{"p@ss", "p%40ss"}}
	assert.Equal(t, "dial postgres://u:xxxxx@h: refused for xxxxx", e.Error())
}

// FuzzMultiPolygon: whatever rings a feed sends, the rows written carry only
// closed rings of at least four points and valid WKB (PostGIS refuses the
// whole publish otherwise).
func FuzzMultiPolygon(f *testing.F) {
	f.Add([]byte{0, 0, 10, 0, 10, 10, 0, 10}, uint8(0))
	f.Add([]byte{0, 0, 10, 0, 10, 10, 0, 0}, uint8(1))
	f.Add([]byte{1, 2}, uint8(2))
	f.Fuzz(func(t *testing.T, coords []byte, shape uint8) {
		var ring orb.Ring
		for i := 0; i+1 < len(coords); i += 2 {
			ring = append(ring, orb.Point{float64(coords[i]), float64(coords[i+1])})
		}
		var g orb.Geometry
		switch shape % 4 {
		case 0:
			g = orb.Polygon{ring}
		case 1:
			g = orb.MultiPolygon{{ring}, {ring, ring}}
		case 2:
			g = orb.Collection{orb.Point{1, 1}, orb.Polygon{ring}}
		default:
			g = orb.LineString(ring)
		}
		mp := multiPolygon(g)
		for _, p := range mp {
			require.NotEmpty(t, p)
			for _, r := range p {
				require.GreaterOrEqual(t, len(r), 4)
				require.Equal(t, r[0], r[len(r)-1])
			}
		}
		if len(mp) > 0 {
			b, err := wkb.Marshal(mp)
			require.NoError(t, err)
			back, err := wkb.Unmarshal(b)
			require.NoError(t, err)
			require.Equal(t, mp, back)
		}
	})
}
