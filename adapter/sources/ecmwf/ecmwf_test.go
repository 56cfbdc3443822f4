package ecmwf

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/config"
	"github.com/hazardsync/hazardsync/indicators"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

func TestParseRealTrackFiles(t *testing.T) {
	for _, tc := range []struct {
		file                 string
		storm                string
		run                  time.Time
		members              int
		firstLat, firstLon   float64
		firstMSLP            float64
		hasRadii             bool
		deterministicPresent bool
	}{
		{"tc_tracks_2023082200_ens.bufr", "06L", time.Date(2023, 8, 22, 0, 0, 0, 0, time.UTC), 30, 16.4, -57.7, 100900, true, true},
		{"tc_tracks_21W_2021091000_ens.bufr", "21W", time.Date(2021, 9, 10, 0, 0, 0, 0, time.UTC), 52, 17, 124, 0, true, true},
		{"tc_tracks_2015111800_pdbufr.bufr", "27W", time.Date(2015, 11, 18, 0, 0, 0, 0, time.UTC), 52, 5.4, 156.9, 0, false, true},
		{"tc_tracks_22S_2020031912_hres.bufr", "22S", time.Date(2020, 3, 19, 12, 0, 0, 0, time.UTC), 1, -26, 72, 0, true, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(testutil.SharedSample(t, "ecmwf", tc.file))
			require.NoError(t, err)
			storms, err := ParseTracks(raw)
			require.NoError(t, err)
			var st *Storm
			for i := range storms {
				if storms[i].ID == tc.storm {
					st = &storms[i]
				}
			}
			require.NotNil(t, st, "storm %s", tc.storm)
			assert.Equal(t, tc.run, st.Run)
			require.Len(t, st.Members, tc.members)
			p := st.Members[0].Points[0]
			assert.InDelta(t, tc.firstLat, p.Lat, 1e-9)
			assert.InDelta(t, tc.firstLon, p.Lon, 1e-9)
			if tc.firstMSLP > 0 {
				require.NotNil(t, p.MSLPPa)
				assert.InDelta(t, tc.firstMSLP, *p.MSLPPa, 1e-6)
			}
			assert.Equal(t, tc.hasRadii, p.Radii != nil)
			kinds := map[string]int{}
			for _, m := range st.Members {
				kinds[m.Kind]++
				for i := 1; i < len(m.Points); i++ {
					require.True(t, m.Points[i].Time.After(m.Points[i-1].Time), "member %d: times increase", m.Number)
				}
			}
			assert.NotContains(t, kinds, "unknown")
			if tc.deterministicPresent {
				assert.Equal(t, 1, kinds["deterministic"], "%v", kinds)
			}
		})
	}
}

// fixtureServer serves fixtures/ecmwf over HTTP (404 for runs not there)
// and counts requests.
func fixtureServer(t *testing.T) (string, *atomic.Int32) {
	var n atomic.Int32
	fs := http.FileServer(http.Dir(testutil.Fixture(t, "ecmwf")))
	srv := testutil.FeedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fs.ServeHTTP(w, r)
	}))
	return srv.URL, &n
}

func newSource(t *testing.T, root string, now time.Time) *Source {
	cfg := DefaultConfig()
	cfg.Root = root
	require.NoError(t, cfg.Validate())
	return New(cfg, adapter.Env{Name: "ecmwf", Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
		Fetch: config.Fetch{Timeout: 5 * time.Second, MaxBodyBytes: 1 << 20, UserAgent: "test"}})
}

func byID(evs []indicators.Event) map[string]indicators.Event {
	out := map[string]indicators.Event{}
	for _, e := range evs {
		out[e.ID] = e
	}
	return out
}

func TestFetchLatestRunThenConditionalThenNewerRun(t *testing.T) {
	root, hits := fixtureServer(t)
	ctx := context.Background()

	// 07:00: the 00 UTC run is younger than delay_hours, so the first run
	// asked for is yesterday's 12 UTC.
	s := newSource(t, root, FixtureRun.Add(7*time.Hour))
	b, err := s.Fetch(ctx, adapter.Cursor{})
	require.NoError(t, err)
	assert.True(t, b.Complete)
	evs := byID(b.Events)
	require.Contains(t, evs, "ecmwf:05a")
	require.Contains(t, evs, "ecmwf:04b")
	assert.Equal(t, "2026-11-25T12:00:00Z", evs["ecmwf:05a"].Version)
	assert.Equal(t, "2026-11-25T12:00:00Z", b.Cursor.Extra["run"])
	assert.EqualValues(t, 1, hits.Load())

	// Same run again: a conditional GET, nothing changed.
	b2, err := s.Fetch(ctx, b.Cursor)
	require.NoError(t, err)
	assert.True(t, b2.NotModified)

	// 09:00: the 00 UTC run is out; 04B is gone from it and so ends.
	s = newSource(t, root, FixtureRun.Add(9*time.Hour))
	b3, err := s.Fetch(ctx, b.Cursor)
	require.NoError(t, err)
	assert.True(t, b3.Complete)
	evs = byID(b3.Events)
	assert.NotContains(t, evs, "ecmwf:04b")
	ev := evs["ecmwf:05a"]
	assert.Equal(t, "2026-11-26T00:00:00Z", ev.Version)
	assert.Equal(t, indicators.TropicalCyclone, ev.Type)
	assert.Equal(t, indicators.Forecast, ev.Phase)
	assert.Equal(t, FixtureRun, ev.Issued)
	assert.Equal(t, FixtureRun.Add(72*time.Hour), ev.ValidTo)
	assert.Equal(t, "ECMWF", ev.Properties["attribution"])
	assert.Equal(t, 6, ev.Properties["member_count"], "the deterministic track is not a member by default")
	members := map[int]bool{}
	for _, f := range ev.Footprints {
		members[f.Member] = true
		assert.Contains(t, []float64{18, 26, 33}, f.Intensity)
		assert.Equal(t, "m/s", f.Unit)
		assert.False(t, f.ValidFrom.IsZero())
		assert.False(t, f.ValidTo.Before(f.ValidFrom))
	}
	assert.Len(t, members, 6)
	assert.Contains(t, evs, "ecmwf:71w")
	assert.NotEmpty(t, evs["ecmwf:71w"].Footprints, "Holland profile swaths where the file has no radii")

	// Older than the held run is never asked for once a newer one is held.
	before := hits.Load()
	s = newSource(t, root, FixtureRun.Add(9*time.Hour))
	b4, err := s.Fetch(ctx, b3.Cursor)
	require.NoError(t, err)
	assert.True(t, b4.NotModified)
	assert.EqualValues(t, before+1, hits.Load())
}

func TestFetchErrorsAreClassified(t *testing.T) {
	ctx := context.Background()
	t.Run("no run published", func(t *testing.T) {
		srv := testutil.FeedServer(t, http.NotFoundHandler())
		_, err := newSource(t, srv.URL, FixtureRun.Add(30*24*time.Hour)).Fetch(ctx, adapter.Cursor{})
		require.Error(t, err)
		assert.Equal(t, adapter.Retryable, adapter.ClassOf(err))
		assert.Contains(t, err.Error(), "no track file among the last 4 runs")
	})
	t.Run("not BUFR", func(t *testing.T) {
		srv := testutil.FeedServer(t, testutil.ServeBody([]byte("<html>maintenance</html>")))
		_, err := newSource(t, srv.URL, FixtureRun.Add(9*time.Hour)).Fetch(ctx, adapter.Cursor{})
		require.Error(t, err)
		assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
		assert.Contains(t, err.Error(), "no BUFR message")
		assert.Contains(t, err.Error(), "20261126000000-240h-enfo-tf.bufr")
	})
	t.Run("truncated", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(testutil.Fixture(t, "ecmwf"), "20261126", "00z", "ifs", "0p25", "enfo", "20261126000000-240h-enfo-tf.bufr"))
		require.NoError(t, err)
		srv := testutil.FeedServer(t, testutil.ServeBody(raw[:len(raw)/2]))
		_, err = newSource(t, srv.URL, FixtureRun.Add(9*time.Hour)).Fetch(ctx, adapter.Cursor{})
		require.Error(t, err)
		assert.Equal(t, adapter.Permanent, adapter.ClassOf(err))
	})
}

// unionAreaKm2 measures the union of pieces by sampling a fine lon/lat grid
// (equatorial tracks: degrees are near-square there).
func unionAreaKm2(mp orb.MultiPolygon, b orb.Bound, n int) float64 {
	dx, dy := (b.Max[0]-b.Min[0])/float64(n), (b.Max[1]-b.Min[1])/float64(n)
	in := 0
	bounds := make([]orb.Bound, len(mp))
	for k, poly := range mp {
		bounds[k] = poly.Bound()
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			p := orb.Point{b.Min[0] + (float64(i)+0.5)*dx, b.Min[1] + (float64(j)+0.5)*dy}
			for k, poly := range mp {
				if bounds[k].Contains(p) && planar.PolygonContains(poly, p) {
					in++
					break
				}
			}
		}
	}
	cell := dx * kmPerDegLat * math.Cos((b.Min[1]+b.Max[1])/2*math.Pi/180) * dy * kmPerDegLat
	return float64(in) * cell
}

func straight(lon0, lon1 float64, r float64, steps int) Member {
	m := Member{Number: 1}
	for k := 0; k <= steps; k++ {
		lon := lon0 + (lon1-lon0)*float64(k)/float64(steps)
		if lon > 180 {
			lon -= 360
		}
		m.Points = append(m.Points, Point{Time: FixtureRun.Add(time.Duration(6*k) * time.Hour), Hour: 6 * k, Lat: 0, Lon: lon,
			Radii: map[string][4]float64{"18": {r, r, r, r}}})
	}
	return m
}

// A straight track with constant radii sweeps a stadium: 2·r·d + π·r².
func TestSwathOfStraightTrackIsAStadium(t *testing.T) {
	const r = 100.0
	m := straight(10, 14, r, 4)
	sw, from, to := Swath(m, 18)
	d := 4 * kmPerDegLat
	want := 2*r*d + math.Pi*r*r
	got := unionAreaKm2(sw, orb.Bound{Min: orb.Point{8.5, -1.5}, Max: orb.Point{15.5, 1.5}}, 700)
	assert.InEpsilon(t, want, got, 0.005, "stadium area: want %.0f km², got %.0f", want, got)
	assert.Equal(t, FixtureRun, from)
	assert.Equal(t, FixtureRun.Add(24*time.Hour), to)

	none, _, _ := Swath(m, 26)
	assert.Empty(t, none, "no radii and no max wind for 26 m/s: no swath")
}

// The same stadium across the antimeridian: every piece within ±180 and the
// same area, split between the two sides.
func TestSwathAcrossAntimeridian(t *testing.T) {
	const r = 100.0
	m := straight(178, 182, r, 4)
	sw, _, _ := Swath(m, 18)
	for _, p := range sw {
		b := p.Bound()
		require.GreaterOrEqual(t, b.Min[0], -180.0)
		require.LessOrEqual(t, b.Max[0], 180.0)
	}
	east := unionAreaKm2(sw, orb.Bound{Min: orb.Point{176.5, -1.5}, Max: orb.Point{180, 1.5}}, 700)
	west := unionAreaKm2(sw, orb.Bound{Min: orb.Point{-180, -1.5}, Max: orb.Point{-176.5, 1.5}}, 700)
	want := 2*r*4*kmPerDegLat + math.Pi*r*r
	assert.InEpsilon(t, want, east+west, 0.005)
	assert.InEpsilon(t, east, west, 0.01, "symmetric about 180°")
}

func TestHollandRadius(t *testing.T) {
	// At v = vmax the profile is at its maximum, at rmax.
	assert.InDelta(t, 40, HollandRadiusKm(50, 50, 40, 95000), 1e-6)
	assert.Zero(t, HollandRadiusKm(30, 33, 40, 99000), "never reaches 33 m/s")
	prev := math.Inf(1)
	for _, v := range []float64{18, 26, 33, 45} {
		r := HollandRadiusKm(50, v, 40, 95000)
		assert.Less(t, r, prev, "higher thresholds are reached closer in")
		assert.Greater(t, r, 40.0)
		prev = r
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	c.Path = "tracks.bufr"
	c.Cycles = []int{25}
	c.Run = "yesterday"
	c.ThresholdsMS = []float64{0}
	errs := indicators.Flatten(c.Validate())
	var fields []string
	for _, e := range errs {
		var fe indicators.FieldError
		require.ErrorAs(t, e, &fe)
		fields = append(fields, fe.Field)
	}
	assert.ElementsMatch(t, []string{"path", "cycles[0]", "run", "thresholds_ms[0]"}, fields)
}

// cloned is a storm whose n members all have the first member's track: in a
// compressed message identical members cost no bits, the cheapest way for a
// file to claim much work.
func cloned(hours, n int, edit func(*genPoint)) genStorm {
	st := ensembleStorm("05A", "PAX", FixtureRun, 1, [2]float64{65.5, 8.5}, [2]float64{63.5, 10}, hours, 40, 90, true, false)
	m := st.members[0]
	m.points = append([]genPoint(nil), m.points...)
	if edit != nil {
		edit(&m.points[len(m.points)-1])
	}
	st.members = nil
	for i := 1; i <= n; i++ {
		mm := m
		mm.number = i
		st.members = append(st.members, mm)
	}
	return st
}

// The 06/18 UTC HRES file is found under either layout: stream oper to
// 144 h (IFS 50r1 on) or scda to 90 h (older runs, mirrors); the layout that
// answered is asked first, conditionally, on the next poll.
func TestHRESOffCycleLayouts(t *testing.T) {
	raw, err := os.ReadFile(testutil.SharedSample(t, "ecmwf", "tc_tracks_22S_2020031912_hres.bufr"))
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		run   time.Time
		serve string
		asked []string
	}{
		{"IFS 50r1 on: oper, 144 h", time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC),
			"/20261126/06z/ifs/0p25/oper/20261126060000-144h-oper-tf.bufr",
			[]string{"/20261126/06z/ifs/0p25/oper/20261126060000-144h-oper-tf.bufr"}},
		{"before 50r1: scda, 90 h", time.Date(2020, 3, 19, 18, 0, 0, 0, time.UTC),
			"/20200319/18z/ifs/0p25/scda/20200319180000-90h-scda-tf.bufr",
			[]string{
				"/20200319/18z/ifs/0p25/oper/20200319180000-144h-oper-tf.bufr",
				"/20200319/18z/ifs/0p25/oper/20200319180000-90h-oper-tf.bufr",
				"/20200319/18z/ifs/0p25/scda/20200319180000-90h-scda-tf.bufr",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			var conditional []bool
			srv := testutil.FeedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked = append(asked, r.URL.Path)
				conditional = append(conditional, r.Header.Get("If-None-Match") != "")
				if r.URL.Path != tc.serve {
					http.NotFound(w, r)
					return
				}
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("ETag", `"v1"`)
				w.Write(raw)
			}))
			cfg := DefaultConfig()
			cfg.Root, cfg.Stream, cfg.Cycles, cfg.ThresholdsMS = srv.URL, StreamHRES, []int{6, 18}, []float64{12}
			cfg.Run = tc.run.Format("2006010215")
			require.NoError(t, cfg.Validate())
			s := New(cfg, adapter.Env{Name: "ecmwf_hres", Logger: slog.New(slog.DiscardHandler),
				Fetch: config.Fetch{Timeout: 5 * time.Second, MaxBodyBytes: 1 << 20, UserAgent: "test"}})
			b, err := s.Fetch(context.Background(), adapter.Cursor{})
			require.NoError(t, err)
			assert.Equal(t, tc.asked, asked)
			assert.Contains(t, byID(b.Events), "ecmwf-hres:22s")
			assert.Equal(t, srv.URL+tc.serve, b.Cursor.Extra[urlKey])

			asked, conditional = nil, nil
			again, err := s.Fetch(context.Background(), b.Cursor)
			require.NoError(t, err)
			assert.True(t, again.NotModified)
			assert.Equal(t, []string{tc.serve}, asked, "the layout that answered, first")
			assert.Equal(t, []bool{true}, conditional)
		})
	}
}

// Hostile track files are refused with a clear error before they cost much
// (each was seconds of swath building, or an endless loop, before the
// bounds); real files stay far inside them (TestParseRealTrackFiles).
func TestParseTracksBoundsWork(t *testing.T) {
	short := encodeStorm(t, cloned(6, 52, nil))
	var repeated []byte
	for range 3 {
		repeated = append(repeated, short...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		// 52 × 41 points in 5 KB (real files spend 15–160 bytes a point,
		// and decode to at most 4.5 values a byte).
		{"identical members", encodeStorm(t, cloned(240, 52, nil)), "more than 1306 track points in a file of 5225 bytes"},
		{"more identical members", encodeStorm(t, cloned(240, 120, nil)), "more than 169312 values"},
		{"more subsets than members", encodeStorm(t, cloned(60, 500, nil)), "500 subsets, more than the limit of 128"},
		{"messages of one storm add up", repeated, "message 3: storm 05A has more than 128 members"},
		{"long track", encodeStorm(t, cloned(6*254, 1, nil)), "member 1 has more than 200 track points"},
		{"giant radius", encodeStorm(t, cloned(24, 1, func(p *genPoint) { p.radiiKm[0][0] = 3200 })), "wind radius 3.2e+06 m out of range"},
		{"giant wind", encodeStorm(t, cloned(24, 1, func(p *genPoint) { p.windMS = 400 })), "maximum wind 400 m/s out of range"},
		{"latitude past the pole", encodeStorm(t, cloned(24, 1, func(p *genPoint) { p.lat = 95 })), "latitude 95 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTracks(tc.data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// A few identical members are within the bounds.
	storms, err := ParseTracks(encodeStorm(t, cloned(24, 3, nil)))
	require.NoError(t, err)
	require.Len(t, storms, 1)
	assert.Len(t, storms[0].Members, 3)
}

// FuzzParseTracks: any bytes give storms or an error, never a panic, and
// every point ParseTracks returns has a real position and time.
func FuzzParseTracks(f *testing.F) {
	// Small seeds (two members, a few steps) keep the mutations fast.
	f.Add(encodeStorm(f, ensembleStorm("05A", "PAX", FixtureRun, 2, [2]float64{65.5, 8.5}, [2]float64{63.5, 10}, 12, 40, 90, true, false)))
	f.Add(encodeStorm(f, ensembleStorm("71W", "71W", FixtureRun, 1, [2]float64{179.5, 12}, [2]float64{-179.5, 13}, 12, 30, 60, false, true)))
	// Identical members cost no bits: mutating their count once made one
	// input seconds of swaths, and the fuzzer crawl (TestParseTracksBoundsWork).
	f.Add(encodeStorm(f, cloned(24, 3, nil)))
	f.Fuzz(func(t *testing.T, data []byte) {
		storms, err := ParseTracks(data)
		if err != nil {
			return
		}
		points := 0
		for _, st := range storms {
			require.LessOrEqual(t, len(st.Members), MaxMembers)
			for _, m := range st.Members {
				points += len(m.Points)
				require.LessOrEqual(t, len(m.Points), MaxPointsPerMember)
				require.LessOrEqual(t, points, len(data)/minBytesPerPoint)
				for _, p := range m.Points {
					require.False(t, math.IsNaN(p.Lat) || math.IsNaN(p.Lon), "storm %s member %d", st.ID, m.Number)
					require.False(t, p.Time.IsZero())
				}
				Swaths([]Member{m}, []float64{18, 33})
			}
		}
	})
}

// Merging pieces into convex hulls may add at most MergeTolerance of area:
// a curved track with asymmetric, changing radii, merged and not.
func TestSwathMergeStaysWithinTolerance(t *testing.T) {
	m := Member{Number: 1}
	for k := 0; k <= 8; k++ {
		a := float64(k) * math.Pi / 48 // recurving by 30° over 48 h
		r := [4]float64{120 + 2*float64(k), 90, 60 + float64(k), 100}
		m.Points = append(m.Points, Point{Time: FixtureRun.Add(time.Duration(6*k) * time.Hour), Hour: 6 * k,
			Lat: 8*math.Sin(a) - 1, Lon: 2 + 8*math.Cos(a), Radii: map[string][4]float64{"18": r}})
	}
	merged, _, _ := swath(m, 18, MergeTolerance)
	exact, _, _ := swath(m, 18, 0)
	require.Less(t, len(merged), len(exact))
	b := orb.Bound{Min: orb.Point{7, -3}, Max: orb.Point{12, 5}}
	am, ae := unionAreaKm2(merged, b, 900), unionAreaKm2(exact, b, 900)
	assert.GreaterOrEqual(t, am, ae*(1-0.001), "merging never loses area")
	assert.LessOrEqual(t, am, ae*(1+MergeTolerance+0.001))
	t.Logf("%d pieces → %d; area %.0f → %.0f km²", len(exact), len(merged), ae, am)

	straightSwath, _, _ := Swath(straight(10, 14, 100, 4), 18)
	assert.Len(t, straightSwath, 1, "a straight track with constant radii is one convex stadium")
}

// Stream hres: the deterministic run's file (oper at 00/12 UTC; at 06/18
// UTC oper since IFS 50r1, scda to 90 h before) as a one-member forecast,
// ecmwf-hres:<id>, its swaths member 1.
func TestHRESStream(t *testing.T) {
	raw, err := os.ReadFile(testutil.SharedSample(t, "ecmwf", "tc_tracks_22S_2020031912_hres.bufr"))
	require.NoError(t, err)
	var paths []string
	srv := testutil.FeedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path != "/20200319/12z/ifs/0p25/oper/20200319120000-240h-oper-tf.bufr" {
			http.NotFound(w, r)
			return
		}
		w.Write(raw)
	}))
	cfg := DefaultConfig()
	cfg.Root, cfg.Stream, cfg.Cycles = srv.URL, StreamHRES, []int{0, 6, 12, 18}
	// 22S peaks at 16.5 m/s here: a 12 m/s swath (Holland radii) to see.
	cfg.ThresholdsMS = []float64{12}
	require.NoError(t, cfg.Validate())
	now := time.Date(2020, 3, 20, 3, 0, 0, 0, time.UTC) // 18 UTC asked first, not there; then 12 UTC (oper)
	s := New(cfg, adapter.Env{Name: "ecmwf_hres", Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
		Fetch: config.Fetch{Timeout: 5 * time.Second, MaxBodyBytes: 1 << 20, UserAgent: "test"}})
	b, err := s.Fetch(context.Background(), adapter.Cursor{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"/20200319/18z/ifs/0p25/oper/20200319180000-144h-oper-tf.bufr",
		"/20200319/18z/ifs/0p25/oper/20200319180000-90h-oper-tf.bufr",
		"/20200319/18z/ifs/0p25/scda/20200319180000-90h-scda-tf.bufr",
		"/20200319/12z/ifs/0p25/oper/20200319120000-240h-oper-tf.bufr",
	}, paths, "every layout of the newer 18 UTC run asked for first")
	evs := byID(b.Events)
	require.Contains(t, evs, "ecmwf-hres:22s")
	ev := evs["ecmwf-hres:22s"]
	assert.Equal(t, 1, ev.Properties["member_count"])
	assert.Equal(t, StreamHRES, ev.Properties["stream"])
	assert.Contains(t, ev.Title, "ECMWF HRES")
	require.NotEmpty(t, ev.Footprints)
	for _, f := range ev.Footprints {
		assert.Equal(t, 52, f.Member, "the deterministic track's number")
		assert.Equal(t, 12.0, f.Intensity)
	}

	bad := DefaultConfig()
	bad.Stream = "oper"
	require.ErrorContains(t, bad.Validate(), "stream")
}
