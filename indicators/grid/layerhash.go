package grid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/cespare/xxhash/v2"

	"github.com/hazardsync/hazardsync/internal/parallel"
)

// layerChunk is the unit of the layer digest: a fixed size, so the digest of
// a file does not depend on how many goroutines computed it.
const layerChunk = 4 << 20

// LayerDigestName names LayerDigest's method; it tags the digest in the
// precompute key (it changed from the whole-file SHA-256 of cache version
// 1, so caches keyed by that are simply not found, rebuilt and replaced)
// and must change whenever LayerDigest's output does, so memos of it made
// by an older build are not reused.
const LayerDigestName = "xxh64-4MiB-chunks"

// LayerDigest is the digest of a grid file that goes into the precompute
// key: hashLayer's output on GOMAXPROCS goroutines.
func LayerDigest(r io.ReaderAt, size int64) ([]byte, error) {
	var b bytes.Buffer
	if err := hashLayer(&b, r, size, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// hashLayer writes to h the layer's size and the XXH64 of each 4 MiB chunk
// of it, in file order, computed on up to workers goroutines (≤ 0 means
// GOMAXPROCS). The precompute key only has to notice that an input file
// changed; it is no defence against crafted collisions (whoever can write the
// grid files can write the cache too), so a fast 64-bit hash per chunk,
// combined by the key's SHA-256, does: SHA-256 over the whole files cost
// ~0.75 CPU-s per start at country scale.
func hashLayer(h io.Writer, r io.ReaderAt, size int64, workers int) error {
	if size < 0 {
		return fmt.Errorf("size %d", size)
	}
	n := int((size + layerChunk - 1) / layerChunk)
	sums := make([]uint64, n)
	errs := make([]error, n)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	bufs := make([][]byte, workers) // one chunk buffer per worker
	parallel.EachOn(workers, n, func(w, i int) {
		if bufs[w] == nil {
			bufs[w] = make([]byte, layerChunk)
		}
		off := int64(i) * layerChunk
		b := bufs[w][:min(layerChunk, size-off)]
		got, err := r.ReadAt(b, off)
		if got == len(b) {
			err = nil // ReadAt may report io.EOF with the last byte
		} else if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%d bytes at %d, want %d: %w", got, off, len(b), io.ErrUnexpectedEOF)
		}
		if err != nil {
			errs[i] = err
			return
		}
		sums[i] = xxhash.Sum64(b)
	})
	for _, err := range errs {
		if err != nil {
			return err // the first chunk's, whatever the scheduling
		}
	}
	out := make([]byte, 0, 8*(n+1))
	out = binary.LittleEndian.AppendUint64(out, uint64(size))
	for _, s := range sums {
		out = binary.LittleEndian.AppendUint64(out, s)
	}
	_, err := h.Write(out)
	return err
}
