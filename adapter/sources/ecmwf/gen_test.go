package ecmwf

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/bufr"
	"github.com/hazardsync/hazardsync/internal/testutil"
)

// The generator of the ECMWF track fixtures: made-up storms written in
// ECMWF's layout (template 3 16 082, master table 35, compressed, one subset
// per member) by the test-only encoder in internal/bufr. Real files are not
// ours to copy; the decoder is checked against them in internal/bufr.
// Run: go test ./adapter/sources/ecmwf -run TestGenerateFixtures -gen

var gen = flag.Bool("gen", false, "regenerate fixtures/ecmwf and fixtures/demo/feeds/ecmwf")

type genPoint struct {
	hour     int
	lat, lon float64
	mslpPa   float64
	windMS   float64
	rmaxKm   float64
	radiiKm  *[3][4]float64 // 18, 26, 33 m/s × NE, SE, SW, NW; nil = missing
}

type genMember struct {
	number int
	kind   int // ensembleForecastType: 4 perturbed, 1 control, 0 deterministic
	points []genPoint
}

type genStorm struct {
	id, name string
	run      time.Time
	members  []genMember
}

var genThresholds = [3]float64{18, 26, 33}

// templateTrack is 3 16 082, ECMWF's tropical cyclone track template.
var templateTrack = []bufr.Descriptor{bufr.NewDescriptor(3, 16, 82)}

func radiiInputs(r *[3][4]float64) []bufr.Input {
	var in []bufr.Input
	for t, th := range genThresholds {
		in = append(in, bufr.N(th))
		for q := 0; q < 4; q++ {
			in = append(in, bufr.N(float64(q*90)), bufr.N(float64((q+1)%4*90)))
			if r == nil {
				in = append(in, bufr.Miss())
			} else {
				in = append(in, bufr.N(math.Round(r[t][q]*10)*100))
			}
		}
	}
	return in
}

// latLon of the point where the maximum wind is: rmax east of the centre.
func maxWindAt(p genPoint) (float64, float64) {
	return p.lat, p.lon + p.rmaxKm/(kmPerDegLat*math.Cos(p.lat*math.Pi/180))
}

func pointInputs(p *genPoint, step bool, hour int) []bufr.Input {
	var in []bufr.Input
	if step {
		in = append(in, bufr.N(4), bufr.N(float64(hour)), bufr.N(1))
	} else {
		in = append(in, bufr.N(4))
	}
	if p == nil {
		in = append(in, bufr.Miss(), bufr.Miss(), bufr.Miss(), bufr.N(3), bufr.Miss(), bufr.Miss(), bufr.Miss())
		return append(in, radiiInputs(nil)...)
	}
	mlat, mlon := maxWindAt(*p)
	in = append(in, bufr.N(round1(p.lat)), bufr.N(round1(p.lon)), bufr.N(math.Round(p.mslpPa/10)*10),
		bufr.N(3), bufr.N(round1(mlat)), bufr.N(round1(mlon)), bufr.N(round1(p.windMS)))
	return append(in, radiiInputs(p.radiiKm)...)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// encodeStorm writes one compressed message: every member has as many steps
// as the longest (missing beyond its own end), as in ECMWF's files.
func encodeStorm(t testing.TB, st genStorm) []byte {
	t.Helper()
	steps := 0
	for _, m := range st.members {
		steps = max(steps, len(m.points)-1)
	}
	var subsets [][]bufr.Input
	for _, m := range st.members {
		first := m.points[0]
		in := []bufr.Input{bufr.N(98), bufr.Miss(), bufr.N(1), bufr.S(st.id), bufr.S(st.name), bufr.N(2),
			bufr.N(float64(m.number)), bufr.N(float64(m.kind)),
			bufr.N(float64(st.run.Year())), bufr.N(float64(st.run.Month())), bufr.N(float64(st.run.Day())),
			bufr.N(float64(st.run.Hour())), bufr.N(0),
			bufr.N(1), bufr.N(round1(first.lat)), bufr.N(round1(first.lon))}
		in = append(in, pointInputs(&first, false, 0)...)
		in = append(in, bufr.N(float64(steps)))
		for k := 1; k <= steps; k++ {
			if k < len(m.points) {
				in = append(in, pointInputs(&m.points[k], true, m.points[k].hour)...)
			} else {
				in = append(in, pointInputs(nil, true, k*6)...)
			}
		}
		subsets = append(subsets, in)
	}
	raw, err := bufr.Encode(bufr.EncodeSpec{MasterVersion: 35, Centre: 98, DataCategory: 7, Time: st.run,
		Compressed: true, Descriptors: templateTrack, Subsets: subsets})
	require.NoError(t, err)
	return raw
}

// normalQuantile is a rough inverse normal CDF (Acklam's rational
// approximation is overkill here): members spread like a normal sample.
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// ensembleStorm is a storm moving from start to end over hours, its members
// spread sideways (perpendicular to the motion) by spreadKmPerDay, with
// intensity varying per member; members listed by number, the last one the
// deterministic run when withDet.
func ensembleStorm(id, name string, run time.Time, n int, start, end [2]float64, hours int,
	peakMS, spreadKmPerDay float64, withRadii, withDet bool) genStorm {
	st := genStorm{id: id, name: name, run: run}
	dx, dy := end[0]-start[0], end[1]-start[1]
	norm := math.Hypot(dx, dy)
	px, py := -dy/norm, dx/norm // unit perpendicular (degrees)
	total := n
	if withDet {
		total++
	}
	for i := 1; i <= total; i++ {
		kind := 4
		z := normalQuantile((float64(i) - 0.5) / float64(n))
		switch {
		case withDet && i == total:
			kind, z = 0, 0
		case i == n:
			kind, z = 1, 0
		}
		// Intensity factor: a member-specific wobble, stronger members
		// further from the centre line.
		f := 1 + 0.15*math.Sin(float64(i)*1.7)
		m := genMember{number: i, kind: kind}
		for h := 0; h <= hours; h += 6 {
			fr := float64(h) / float64(hours)
			off := z * spreadKmPerDay * float64(h) / 24 / kmPerDegLat
			lat := start[1] + dy*fr + py*off
			lon := start[0] + dx*fr + px*off
			// Grow to the peak at two thirds of the way, then weaken.
			shape := math.Sin(math.Pi * math.Min(1, fr*0.75+0.1))
			wind := peakMS * f * (0.55 + 0.45*shape)
			p := genPoint{hour: h, lat: lat, lon: lon, windMS: wind, rmaxKm: 30 + 10*fr,
				mslpPa: 101000 - 2.2*wind*wind*10}
			if withRadii {
				var r [3][4]float64
				for t, th := range genThresholds {
					rr := HollandRadiusKm(wind, th, p.rmaxKm, p.mslpPa)
					// Asymmetric: the right of the motion (for a storm moving
					// north-west in the northern hemisphere, NE) is wider.
					r[t] = [4]float64{rr * 1.2, rr, rr * 0.8, rr}
				}
				p.radiiKm = &r
			}
			m.points = append(m.points, p)
		}
		// The weakest members lose the storm a day early.
		if f < 0.9 && len(m.points) > 5 {
			m.points = m.points[:len(m.points)-4]
		}
		st.members = append(st.members, m)
	}
	return st
}

// FixtureRun is the run of the test fixtures and the demo.
var FixtureRun = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func fixtureStorms() (current, previous []genStorm) {
	run := FixtureRun
	crossing := ensembleStorm("05A", "PAX", run, 6, [2]float64{65.5, 8.5}, [2]float64{58.5, 15.0}, 72, 42, 90, true, true)
	// Genesis storm crossing the antimeridian, in an older layout without
	// radii: swaths come from the Holland profile.
	dateline := ensembleStorm("71W", "71W", run, 4, [2]float64{178.0, 12.0}, [2]float64{-176.5, 16.0}, 48, 30, 60, false, false)
	older := ensembleStorm("05A", "PAX", run.Add(-12*time.Hour), 6, [2]float64{66.5, 7.5}, [2]float64{59.0, 14.0}, 72, 40, 90, true, true)
	gone := ensembleStorm("04B", "OMAR", run.Add(-12*time.Hour), 3, [2]float64{88.0, 15.0}, [2]float64{86.0, 20.0}, 24, 25, 40, true, false)
	return []genStorm{crossing, dateline}, []genStorm{older, gone}
}

func demoStorm() genStorm {
	// 50 perturbed members, the control and the deterministic run, as ECMWF
	// files carry them: a storm crossing Demoland from the south-east.
	return ensembleStorm("05A", "PAX", FixtureRun, 51, [2]float64{65.5, 8.5}, [2]float64{58.5, 15.0}, 72, 42, 90, true, true)
}

func writeFile(t *testing.T, path string, msgs ...[]byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	var all []byte
	for _, m := range msgs {
		all = append(all, m...)
	}
	require.NoError(t, os.WriteFile(path, all, 0o644))
}

func runPath(root string, run time.Time) string {
	s := &Source{cfg: Config{Root: root, Path: DefaultPath}}
	return s.URL(run)
}

func TestGenerateFixtures(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to regenerate fixtures/ecmwf and fixtures/demo/feeds/ecmwf")
	}
	cur, prev := fixtureStorms()
	fix := testutil.Fixture(t, "ecmwf")
	var msgs [][]byte
	for _, st := range cur {
		msgs = append(msgs, encodeStorm(t, st))
	}
	writeFile(t, runPath(fix, FixtureRun), msgs...)
	msgs = nil
	for _, st := range prev {
		msgs = append(msgs, encodeStorm(t, st))
	}
	writeFile(t, runPath(fix, FixtureRun.Add(-12*time.Hour)), msgs...)
	writeFile(t, runPath(testutil.Fixture(t, "demo", "feeds", "ecmwf"), FixtureRun), encodeStorm(t, demoStorm()))
}
