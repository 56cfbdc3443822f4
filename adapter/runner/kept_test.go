package runner

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

func sampleKept() KeptFile {
	return KeptFile{Version: KeptVersion, AreaSet: [16]byte{1, 2}, Engine: "grid-exact 0011",
		Measures: []indicators.KeptMeasure{{Key: [32]byte{3}, Pairs: []indicators.Pair{{Area: 4, Km2: 1.5, Share: 0.25, Population: 12, KnownPopulation: true}}}},
		Results:  []indicators.KeptResult{{Key: [32]byte{5}, Res: []indicators.AreaExposure{{Code: "A1", Fraction: 0.5, Population: 7, KnownPopulation: true}}}}}
}

func TestKeptFileRoundTripAndDamage(t *testing.T) {
	f := sampleKept()
	b, err := encodeKept(f)
	require.NoError(t, err)
	got, err := DecodeKept(b)
	require.NoError(t, err)
	require.Equal(t, f, got)
	for _, tc := range []struct {
		name string
		b    []byte
		err  string
	}{
		{"empty", nil, "too short"},
		{"cut", b[:len(b)-7], "checksum"},
		{"flipped", func() []byte { c := append([]byte(nil), b...); c[len(c)/2] ^= 1; return c }(), "checksum"},
	} {
		_, err := DecodeKept(tc.b)
		require.ErrorContains(t, err, tc.err, tc.name)
	}
}

// FuzzDecodeKept: any body with a right checksum (damage the checksum
// missed, or another build's file) decodes or fails, never panics.
func FuzzDecodeKept(f *testing.F) {
	b, err := encodeKept(sampleKept())
	require.NoError(f, err)
	f.Add(b[:len(b)-4])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		withSum := binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, keptCRC))
		if k, err := DecodeKept(withSum); err == nil {
			again, err := encodeKept(k)
			require.NoError(t, err)
			_, err = DecodeKept(again)
			require.NoError(t, err)
		}
	})
}
