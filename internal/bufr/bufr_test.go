package bufr

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/internal/testutil"
)

func desc(t testing.TB, s ...string) []Descriptor {
	t.Helper()
	out := make([]Descriptor, len(s))
	for i, x := range s {
		d, err := ParseDescriptor(x)
		require.NoError(t, err)
		out[i] = d
	}
	return out
}

// trackDescriptors exercise text, a Table D sequence, delayed replication and
// the width (201) and scale (202) operators.
func trackDescriptors(t testing.TB) []Descriptor {
	return desc(t, "001025", "001091", "301011", "109000", "031001",
		"005002", "006002", "010051", "201131", "019004", "201000", "202129", "011012", "202000")
}

func trackSubset(member int, steps int, missingAt int) []Input {
	in := []Input{S("09L"), N(float64(member)), N(2023), N(8), N(22), N(float64(steps))}
	for k := 0; k < steps; k++ {
		if k == missingAt {
			in = append(in, Miss(), Miss(), Miss(), Miss(), Miss())
			continue
		}
		in = append(in, N(16.4+0.1*float64(k)), N(-57.7+float64(member)/10), N(100900-100*float64(k)),
			N(float64(1000*k+100)), N(12.4+float64(member)/100))
	}
	return in
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name       string
		compressed bool
		subsets    [][]Input
	}{
		{"uncompressed, replication counts differ per subset", false, [][]Input{trackSubset(1, 3, -1), trackSubset(2, 5, 1)}},
		{"compressed, with missing and constant columns", true, [][]Input{trackSubset(1, 4, -1), trackSubset(2, 4, 2), trackSubset(3, 4, -1)}},
		{"compressed, zero replication", true, [][]Input{trackSubset(1, 0, -1), trackSubset(2, 0, -1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			when := time.Date(2023, 8, 22, 0, 0, 0, 0, time.UTC)
			raw, err := Encode(EncodeSpec{MasterVersion: 35, Centre: 98, DataCategory: 7, Time: when,
				Compressed: tc.compressed, Descriptors: trackDescriptors(t), Subsets: tc.subsets})
			require.NoError(t, err)
			msgs, err := Decode(raw)
			require.NoError(t, err)
			require.Len(t, msgs, 1)
			m := msgs[0]
			assert.Equal(t, 98, m.Centre)
			assert.Equal(t, 35, m.MasterVersion)
			assert.Equal(t, when, m.Time)
			assert.Equal(t, tc.compressed, m.Compressed)
			require.Equal(t, len(tc.subsets), m.NumSubsets())
			for s, want := range tc.subsets {
				require.Equal(t, len(want), m.Len(s), "subset %d", s)
				for i, w := range want {
					got := m.At(s, i)
					where := got.Elem.Code.String() + " " + got.Elem.Key
					require.Equal(t, w.Missing, got.Missing, "subset %d value %d %s", s, i, where)
					if w.Missing {
						continue
					}
					if got.Elem.IsText() {
						assert.Equal(t, w.Str, got.Str, where)
					} else {
						assert.InDelta(t, w.Num, got.Num, 1e-9, where)
					}
				}
			}
			// The operators took effect: radius 15 bits, wind one more decimal.
			byKey := map[string]*Element{}
			for _, v := range m.Subset(0) {
				byKey[v.Elem.Key] = v.Elem
			}
			if e, ok := byKey["effectiveRadiusWithRespectToWindSpeedsAboveThreshold"]; ok {
				assert.Equal(t, 15, e.Width)
			}
			if e, ok := byKey["windSpeedAt10M"]; ok {
				assert.Equal(t, 2, e.Scale)
			}
		})
	}
}

// hostile builds a message around hand-written descriptors and data bits.
func hostile(t testing.TB, nsub int, compressed bool, ds []Descriptor, data []byte) []byte {
	t.Helper()
	b := []byte("BUFR\x00\x00\x00\x04")
	b = append(b, 0, 0, 22, 0, 0, 98, 0, 0, 0, 0, 7, 0, 0, 35, 0, 0x07, 0xe7, 8, 22, 0, 0, 0)
	flags := byte(0)
	if compressed {
		flags = 0x40
	}
	s3 := 7 + 2*len(ds)
	b = append(b, byte(s3>>16), byte(s3>>8), byte(s3), 0, byte(nsub>>8), byte(nsub), flags)
	for _, d := range ds {
		b = append(b, byte(d>>8), byte(d))
	}
	s4 := 4 + len(data)
	b = append(b, byte(s4>>16), byte(s4>>8), byte(s4), 0)
	b = append(b, data...)
	b = append(b, "7777"...)
	b[4], b[5], b[6] = byte(len(b)>>16), byte(len(b)>>8), byte(len(b))
	return b
}

func ones(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xff
	}
	return b
}

func TestHostileInputGivesClearErrors(t *testing.T) {
	valid, err := Encode(EncodeSpec{MasterVersion: 35, Time: time.Now(), Descriptors: trackDescriptors(t),
		Subsets: [][]Input{trackSubset(1, 3, -1)}})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no BUFR message"},
		{"edition 3", append([]byte("BUFR\x00\x00\x40\x03"), make([]byte, 60)...), "edition 3 not supported"},
		{"total length beyond the bytes", valid[:len(valid)-10], "does not fit"},
		{"no 7777", append(append([]byte{}, valid[:len(valid)-4]...), "8888"...), "7777"},
		{"unknown element", hostile(t, 1, false, desc(t, "063255"), []byte{0, 0}), "unknown element descriptor 063255"},
		{"unknown sequence", hostile(t, 1, false, desc(t, "363255"), []byte{0, 0}), "unknown sequence descriptor 363255"},
		{"unsupported operator", hostile(t, 1, false, desc(t, "222000"), []byte{0, 0}), "operator 222000 not supported"},
		{"data ends early", hostile(t, 1, false, desc(t, "001025", "001027"), []byte("09L")), "data section truncated"},
		{"replication without a factor", hostile(t, 1, false, desc(t, "101000"), []byte{0, 0}), "without a factor"},
		{"replication over the end of the list", hostile(t, 1, false, desc(t, "103002", "001091"), []byte{0, 0}), "needs 3 descriptors"},
		// 65535 × 65535 replications of an operator read no data but would
		// spin for billions of steps.
		// (The data is long enough for the replication counts to pass the
		// room check below.)
		{"cpu bomb", hostile(t, 1, false, desc(t, "103000", "031002", "101000", "031002", "201130"), ones(16384)), "expansion steps"},
		// 65535 compressed subsets × 65535 replications of one element: tens
		// of gigabytes if allocated.
		{"memory bomb", hostile(t, 65535, true, desc(t, "101000", "031002", "001091"), append([]byte{0xff, 0xff, 0}, make([]byte, 60000)...)), "more than 2000000 values"},
		// A count the remaining data cannot hold fails before any decoding.
		{"replication longer than the data", hostile(t, 1, false, desc(t, "101000", "031002", "001091"), append([]byte{0xff, 0xff}, make([]byte, 64)...)), "replication 101000 of 65535 × 1 elements cannot fit in the 512 bits left"},
		{"operator width to zero", hostile(t, 1, false, desc(t, "201001", "001091"), []byte{0, 0}), "bits wide"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Limits hold over the whole data, not per message, and the subset count is
// capped before any value is read: 4,000 identical compressed subsets of one
// element cost two bytes of data, so a file of such messages would otherwise
// multiply both.
func TestLimitsCoverTheWholeFile(t *testing.T) {
	one := hostile(t, 4000, true, desc(t, "001091"), []byte{0, 0})
	msgs, err := Decode(one)
	require.NoError(t, err)
	require.Equal(t, 4000, msgs[0].NumSubsets())
	var many []byte
	for range 30 {
		many = append(many, one...)
	}
	lim := Limits{MaxValues: 100_000, MaxSteps: 1_000_000, MaxDepth: 16}
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
		want string
	}{
		{"values of every message count", many, lim, "message 26 at byte 1225: bufr: bad message: more than 100000 values"},
		{"steps of every message count", many, Limits{MaxValues: 1_000_000, MaxSteps: 20, MaxDepth: 16}, "message 21 at byte 980: bufr: bad message: more than 20 expansion steps"},
		{"subsets per message", one, Limits{MaxValues: 100_000, MaxSteps: 1_000_000, MaxDepth: 16, MaxSubsets: 128}, "4000 subsets, more than the limit of 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeWithLimits(tc.data, tc.lim)
			require.ErrorIs(t, err, ErrFormat)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Property: no prefix of a valid message decodes or panics.
func TestEveryTruncationIsAnError(t *testing.T) {
	valid, err := Encode(EncodeSpec{MasterVersion: 35, Compressed: true, Time: time.Now(), Descriptors: trackDescriptors(t),
		Subsets: [][]Input{trackSubset(1, 3, -1), trackSubset(2, 3, 1)}})
	require.NoError(t, err)
	for n := 0; n < len(valid); n++ {
		_, err := Decode(valid[:n])
		require.Error(t, err, "prefix of %d bytes", n)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range []bool{false, true} {
		raw, err := Encode(EncodeSpec{MasterVersion: 35, Compressed: c, Time: time.Now(), Descriptors: trackDescriptors(f),
			Subsets: [][]Input{trackSubset(1, 2, -1), trackSubset(2, 2, 0)}})
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Add(hostile(f, 1, false, desc(f, "103000", "031002", "101000", "031002", "201130"), ones(64)))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxValues: 100_000, MaxSteps: 1_000_000, MaxDepth: 16}
		msgs, err := DecodeWithLimits(data, lim)
		if err != nil {
			return
		}
		for _, m := range msgs {
			n := 0
			for s := 0; s < m.NumSubsets(); s++ {
				n += m.Len(s)
				for _, v := range m.Subset(s) {
					require.NotNil(t, v.Elem)
				}
			}
			require.LessOrEqual(t, n, lim.MaxValues)
		}
	})
}

// BenchmarkDecodeEnsembleFile decodes the 70 KB 2023 ensemble sample (four
// storms × 52 members); the budget is 20 ms. The baseline, measured
// in the same run, is one pass reading the file's data sections bit by bit
// in 16-bit fields: the least any decoder must do.
func BenchmarkDecodeEnsembleFile(b *testing.B) {
	raw, err := os.ReadFile(testutil.SharedSample(b, "ecmwf", "tc_tracks_2023082200_ens.bufr"))
	require.NoError(b, err)
	b.Run("baseline_bitwalk", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			r := bitReader{buf: raw}
			var sum uint64
			for {
				v, err := r.read(16)
				if err != nil {
					break
				}
				sum += v
			}
			_ = sum
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/file")
	})
}

// Operators 207 (scale, reference and width together) and 208 (text width)
// are not in the track files; hand-written bits check them against WMO's
// rules: 207001 on 012101 (K, scale 2, width 16) gives scale 3 and width
// 16 + (10·1+2)/3 = 20; 208005 makes 001015 (20 characters) 5 characters.
func TestOperators207And208(t *testing.T) {
	// 20 bits of 293150 (293.150 K), "GENVA" in 5 characters, then 29310
	// (293.10 K) in the table's 16 bits.
	var w bitWriter
	w.write(293150, 20, 1)
	w.writeBytes([]byte("GENVA"))
	w.write(29310, 16, 1)
	raw := hostile(t, 1, false, desc(t, "207001", "012101", "207000", "208005", "001015", "208000", "012101"), w.bytes())
	msgs, err := Decode(raw)
	require.NoError(t, err)
	vals := msgs[0].Subset(0)
	require.Len(t, vals, 3)
	assert.Equal(t, 20, vals[0].Elem.Width)
	assert.Equal(t, 3, vals[0].Elem.Scale)
	assert.InDelta(t, 293.150, vals[0].Num, 1e-9)
	assert.Equal(t, 40, vals[1].Elem.Width)
	assert.Equal(t, "GENVA", vals[1].Str)
	assert.Equal(t, 16, vals[2].Elem.Width, "207000 and 208000 restore the table")
	assert.InDelta(t, 293.10, vals[2].Num, 1e-9)
}
