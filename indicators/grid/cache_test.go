package grid

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"unsafe"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/hazardsync/hazardsync/indicators"
)

// mappedBytes is a MappedEntry over a copy of an entry's bytes, aligned as
// a page-aligned file mapping is; closes counts its Close calls.
type mappedBytes struct {
	*bytes.Reader
	b      []byte
	closes *int
}

func (m mappedBytes) Bytes() []byte { return m.b }
func (m mappedBytes) Close() error  { *m.closes++; return nil }

func alignedCopy(b []byte) []byte {
	buf := make([]byte, len(b)+cacheAlign)
	off := (cacheAlign - int(uintptr(unsafe.Pointer(&buf[0]))%cacheAlign)) % cacheAlign
	out := buf[off : off+len(b)]
	copy(out, b)
	return out
}

// mappedCache serves a memCache's entry as a mapped one.
type mappedMemCache struct {
	*memCache
	closes int
	b      []byte // the last entry served
}

func (c *mappedMemCache) Load(key string) (io.ReadCloser, int64, bool, error) {
	r, size, found, err := c.memCache.Load(key)
	if !found || err != nil {
		return r, size, found, err
	}
	c.b = alignedCopy(c.data)
	return mappedBytes{Reader: bytes.NewReader(c.b), b: c.b, closes: &c.closes}, size, true, nil
}

// TestCacheMappedInPlace: a mapped entry's arrays are used where they lie
// (no copy), give the built engine's numbers, and the entry is closed once
// the engine is dropped.
func TestCacheMappedInPlace(t *testing.T) {
	tw := bigWorld(t)
	fps := []orb.Geometry{indicators.Circle(orb.Point{62.2, 11.9}, 120, 96), indicators.Circle(orb.Point{60.5, 13.5}, 60, 48)}
	mc := &memCache{}
	opts := Options{Grid: tw.tiffLayer(t, "pop.tif", tw.pop), Cache: mc}
	built, err := NewEngine(tw.areas, opts)
	require.NoError(t, err)
	want, err := built.Expose(fps)
	require.NoError(t, err)

	c := &mappedMemCache{memCache: mc}
	opts.Cache = c
	e, err := NewEngine(tw.areas, opts)
	require.NoError(t, err)
	require.Equal(t, 1, mc.stores, "reloaded, not rebuilt")
	lo, hi := uintptr(unsafe.Pointer(&c.b[0])), uintptr(unsafe.Pointer(&c.b[len(c.b)-1]))
	for i, a := range e.z.arrays() {
		if b := a.bytes(); len(b) > 0 {
			p := uintptr(unsafe.Pointer(&b[0]))
			require.True(t, p >= lo && p <= hi, "array %d is read in place", i)
		}
	}
	// The stored segment prefixes are what a load used to rebuild.
	again := *e.z
	again.mem = nil
	again.segmentSums()
	require.Equal(t, again.SegPre, e.z.SegPre)
	require.Equal(t, again.SegU18Pre, e.z.SegU18Pre)
	got, err := e.Expose(fps)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Zero(t, c.closes, "the entry stays open while the engine uses it")
	mem := e.z.mem
	e = nil
	waitReleased(t, mem)
	require.Equal(t, 1, c.closes, "closed once the engine is dropped")
}

// TestCacheDamageRejected: whatever part of a file is damaged (header, the
// table, a block of an array, the padding between arrays, its length), both
// the streamed and the mapped load reject it with an error naming what, and
// a rejected mapped entry is closed at once.
func TestCacheDamageRejected(t *testing.T) {
	tw := newTestWorld(t, 3, 3, 4)
	mc := &memCache{}
	e, err := NewEngine(tw.areas, Options{Grid: tw.tiffLayer(t, "pop.tif", tw.pop), Cache: mc})
	require.NoError(t, err)
	good := bytes.Clone(mc.data)
	l, err := parseLayout(good, cacheErr("t"), e.key)
	require.NoError(t, err)
	popStart := arrayStart(l.end, 1)
	require.Greater(t, popStart, l.end, "this layout has padding before the first array")
	le := binary.LittleEndian

	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
		want   string
	}{
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }, "not a precompute file"},
		{"version", func(b []byte) []byte { le.PutUint32(b[8:], 1); return b }, "format version 1"},
		{"key", func(b []byte) []byte { b[20] ^= 1; return b }, "inputs key differs"},
		{"an array's length", func(b []byte) []byte {
			le.PutUint64(b[cacheHeaderSize+4:], le.Uint64(b[cacheHeaderSize+4:])+1)
			return b
		}, "header checksum mismatch"},
		{"a block checksum", func(b []byte) []byte { b[l.end-5] ^= 1; return b }, "header checksum mismatch"},
		{"padding", func(b []byte) []byte { b[popStart-1] = 7; return b }, "padding"},
		{"the first value", func(b []byte) []byte { b[popStart] ^= 1; return b }, "array 0 block 0: checksum mismatch"},
		{"the last byte", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "array 13 block 0: checksum mismatch"},
		{"cut short", func(b []byte) []byte { return b[:len(b)-1] }, "the table lists"},
		{"a byte more", func(b []byte) []byte { return append(b, 0) }, "the table lists"},
		{"header only", func(b []byte) []byte { return b[:20] }, "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mc.data = tc.damage(bytes.Clone(good))
			_, _, err := loadCache(mc, e.key)
			require.ErrorContains(t, err, tc.want, "streamed")
			c := &mappedMemCache{memCache: mc}
			_, _, err = loadCache(c, e.key)
			require.ErrorContains(t, err, tc.want, "mapped")
			require.Equal(t, 1, c.closes, "a rejected mapped entry is closed")
		})
	}
	mc.data = good
	for _, c := range []Cache{mc, &mappedMemCache{memCache: mc}} {
		_, found, err := loadCache(c, e.key)
		require.NoError(t, err)
		require.True(t, found)
	}
}

// FuzzPrecomputeCache: whatever bytes a precompute file holds, neither the
// streamed nor the mapped load panics (one decoder, reached two ways), they
// agree on whether it is usable, a file they accept has consistent shapes,
// and a rejected mapped entry is closed.
func FuzzPrecomputeCache(f *testing.F) {
	tw := newTestWorld(f, 2, 2, 3)
	mc := &memCache{}
	e, err := NewEngine(tw.areas, Options{Grid: tw.tiffLayer(f, "pop.tif", tw.pop), Cache: mc})
	require.NoError(f, err)
	f.Add(mc.data)
	f.Add(mc.data[:cacheHeaderSize+4])
	f.Add([]byte(cacheMagic))
	key := e.key
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &memCache{key: cacheKey(key), data: data}
		z1, found1, err1 := loadCache(c, key)
		m := &mappedMemCache{memCache: c}
		z2, found2, err2 := loadCache(m, key)
		require.Equal(t, err1 == nil, err2 == nil, "streamed %v, mapped %v", err1, err2)
		require.Equal(t, found1, found2)
		switch {
		case err1 == nil && found1:
			require.NoError(t, z1.check())
			require.NoError(t, z2.check())
			require.Equal(t, z1.TotPop, z2.TotPop)
		case err1 != nil:
			require.Equal(t, 1, m.closes, "a rejected mapped entry is closed")
		}
	})
}
