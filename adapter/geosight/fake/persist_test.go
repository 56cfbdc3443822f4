package fake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// countryOpts is a fake with n admin-2 areas (a country-size dataset).
func countryOpts(path string, n int) Options {
	o := opts(path)
	areas := []indicators.Area{{Code: "C_V1", Name: "C", Level: 0, Geometry: orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}}
	for i := 0; i < n; i++ {
		areas = append(areas, indicators.Area{Code: fmt.Sprintf("C_%05d_V1", i), Name: "a", Level: 2, Parents: []string{"C_V1"}})
	}
	o.Datasets = []Dataset{{UUID: ds, Name: "Country", Areas: areas}}
	return o
}

func postValue(t testing.TB, s http.Handler, sc, code, date string, v float64) {
	rec := call(t, s, "POST", "/api/v1/data-browser/", fmt.Sprintf(
		`{"indicator_shortcode":%q,"date":%q,"geom_id":%q,"dataset_uuid":%q,"admin_level":2,"value":%g,"attributes":{"run":"x"}}`,
		sc, date, code, ds, v))
	if rec.Body.String() != "201" {
		t.Fatalf("POST %s %s: %d %s", sc, code, rec.Code, rec.Body.String())
	}
}

func createIndicator(t testing.TB, s http.Handler, sc string) {
	rec := call(t, s, "POST", "/api/v1/indicators/", `{"name":"`+sc+`","shortcode":"`+sc+`","category":"c","type":"Float","style_type":"Dynamic quantitative style."}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
}

func valueMap(s *Server) map[string]float64 {
	out := map[string]float64{}
	for _, v := range s.Values() {
		out[fmt.Sprintf("%s|%s|%s|%d", v.Shortcode, v.Date, v.GeomID, v.ID)] = *v.Number
	}
	return out
}

// Property: whatever mix of value writes, other changes and restarts without
// a clean shutdown (a killed daemon), a restarted fake holds every value it
// acknowledged, with the same ids, and keeps numbering after them.
func TestPersistNeverLosesAcknowledgedValues(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			path := filepath.Join(t.TempDir(), "geosight.json")
			o := countryOpts(path, 40)
			o.CompactEvery = 1 + rng.IntN(30) // compactions happen mid-run
			s := New(o)
			createIndicator(t, s, "A")
			for step := 0; step < 400; step++ {
				switch r := rng.IntN(100); {
				case r < 85:
					postValue(t, s, "A", fmt.Sprintf("C_%05d_V1", rng.IntN(40)), fmt.Sprintf("2026-11-%02d", 1+rng.IntN(5)), float64(rng.IntN(1000)))
				case r < 90:
					createIndicator(t, s, fmt.Sprintf("I%d", step)) // a snapshot
				default:
					want := valueMap(s)
					s = New(o) // restart without Close: nothing flushed on the way out
					require.Equal(t, want, valueMap(s), "step %d", step)
				}
			}
			want := valueMap(s)
			s = New(o)
			assert.Equal(t, want, valueMap(s))
			// ids keep counting: a new value gets an id above every old one.
			maxID := 0
			for _, v := range s.Values() {
				maxID = max(maxID, v.ID)
			}
			postValue(t, s, "A", "C_00000_V1", "2026-12-31", 1)
			vs := s.Values()
			assert.Greater(t, vs[len(vs)-1].ID, maxID)
		})
	}
}

// A crash mid-append leaves a torn last line: it is dropped (that value was
// never acknowledged), everything before it is kept.
func TestPersistTornJournalLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "geosight.json")
	s := New(countryOpts(path, 5))
	createIndicator(t, s, "A")
	snap, err := os.ReadFile(path)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		postValue(t, s, "A", fmt.Sprintf("C_%05d_V1", i), "2026-11-20", float64(i))
	}
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, snap, after, "a value POST appends to the journal; the snapshot is not rewritten")
	f, err := os.OpenFile(path+".journal", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":{"id":99,"indicator_id":1,"da`)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	again := New(countryOpts(path, 5))
	assert.Len(t, again.Values(), 3)
}

// BenchmarkEmbeddedPush: a country-size first push into the embedded
// GeoSight with persistence on (5,000 areas × 15 indicators = 75,000
// values). "old" rewrites the whole state on every value, as before the
// journal (CompactEvery 1), measured in the same run on 300 values onto
// 20,000 already stored (the whole push would take hours); "journal" is the
// whole push, then a restart that must find every value.
// go test -run '^$' -bench EmbeddedPush -benchtime 1x ./adapter/geosight/fake/
func BenchmarkEmbeddedPush(b *testing.B) {
	const areas, inds = 5000, 15
	push := func(b *testing.B, s *Server, from, n int) time.Duration {
		t0 := time.Now()
		for i := from; i < from+n; i++ {
			postValue(b, s, fmt.Sprintf("I%02d", i/areas), fmt.Sprintf("C_%05d_V1", i%areas), "2026-11-20", float64(i))
		}
		return time.Since(t0)
	}
	setup := func(b *testing.B, compact int) *Server {
		o := countryOpts(filepath.Join(b.TempDir(), "geosight.json"), areas)
		o.CompactEvery = compact
		s := New(o)
		for i := 0; i < inds; i++ {
			createIndicator(b, s, fmt.Sprintf("I%02d", i))
		}
		return s
	}
	b.Run("old-full-rewrite", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := setup(b, 0)
			push(b, s, 0, 20_000) // journal: quick to fill
			s.opts.CompactEvery = 1
			d := push(b, s, 20_000, 300)
			b.ReportMetric(300/d.Seconds(), "values/s")
		}
	})
	b.Run("journal", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := setup(b, 0)
			d := push(b, s, 0, areas*inds)
			b.ReportMetric(float64(areas*inds)/d.Seconds(), "values/s")
			s.Close()
			again := New(s.opts)
			require.Len(b, again.Values(), areas*inds, "all survive a restart")
		}
	})
}
