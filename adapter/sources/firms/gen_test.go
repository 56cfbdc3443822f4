package firms

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

// TestDemoFeed generates (with -gen) and checks the demo VIIRS CSV: 30
// hotspots on 2026-11-26/27 in the area-API column layout, clustered on two
// fire fronts in Demoland (lon 60-64, lat 10-14) plus a few outside it.
func TestDemoFeed(t *testing.T) {
	path := testutil.Fixture(t, "demo", "feeds", "firms", "VIIRS_SNPP_NRT_demoland.csv")
	if *gen {
		rng := rand.New(rand.NewPCG(2026, 1126))
		var b strings.Builder
		b.WriteString("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,version,bright_ti5,frp,daynight\n")
		type cluster struct {
			lon, lat, spread float64
			n                int
			date, time, dn   string
		}
		clusters := []cluster{
			{60.95, 13.15, 0.15, 12, "2026-11-26", "0854", "D"}, // the EONET Sarvan Hills fire
			{62.70, 11.40, 0.20, 8, "2026-11-26", "2100", "N"},
			{60.95, 13.20, 0.18, 7, "2026-11-27", "0836", "D"},
			{65.30, 12.50, 0.10, 3, "2026-11-27", "0836", "D"}, // east of Demoland
		}
		conf := []string{"n", "n", "h", "l", "n", "h"}
		for _, c := range clusters {
			for i := 0; i < c.n; i++ {
				lat := c.lat + (rng.Float64()*2-1)*c.spread
				lon := c.lon + (rng.Float64()*2-1)*c.spread
				ti4 := 300 + rng.Float64()*67
				frp := 0.5 + rng.Float64()*30
				fmt.Fprintf(&b, "%.5f,%.5f,%.2f,%.2f,%.2f,%s,%s,N,VIIRS,%s,2.0NRT,%.2f,%.2f,%s\n",
					lat, lon, ti4, 0.36+rng.Float64()*0.2, 0.36+rng.Float64()*0.1, c.date, c.time,
					conf[rng.IntN(len(conf))], 280+rng.Float64()*20, frp, c.dn)
			}
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	body, err := os.ReadFile(path)
	require.NoError(t, err, "demo feed missing: go test ./adapter/sources/firms -run TestDemoFeed -gen")
	f, err := ParseCSV(body)
	require.NoError(t, err)
	assert.Empty(t, f.Problems)
	require.Len(t, f.Hotspots, 30)
	inside := 0
	for _, h := range f.Hotspots {
		if h.Lon >= 60 && h.Lon <= 64 && h.Lat >= 10 && h.Lat <= 14 {
			inside++
		}
	}
	assert.Equal(t, 27, inside)
}
