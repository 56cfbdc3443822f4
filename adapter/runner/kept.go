package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"

	"github.com/hazardsync/hazardsync/indicators"
)

// What a sync measured is kept beyond the process: the overlay's measures
// (each footprint's pairs, people included) and the exposure engine's
// results (each footprint set's exposure), in the state dir, written after
// a sync that is not a dry run and read at start. A `once` run from cron
// then measures only the footprints that changed since the last run, as a
// daemon's later syncs do; a dry run reads the file and never writes it.
//
// The file is keyed by the area set (codes, geometries, baselines), the
// engine (method and version: areas and grids) and KeptVersion. Entries
// are keyed by SHA-256 of the footprints' geometry (indicators.
// StrongGeometryKey), which a feed cannot make collide with another
// footprint's.

// KeptVersion names what the overlay's measures and the engine's results
// are for given inputs. Bump it whenever the code computing either changes
// its output: TestKeptVersionPinsTheOutput (adapter/daemon) fails, naming
// the new digest, until it is bumped.
const KeptVersion = 1

// KeptStore keeps the file (state.FileCache: NewKeptCache).
type KeptStore interface {
	Load(key string) (io.ReadCloser, int64, bool, error)
	Store(key string, write func(io.Writer) error) error
}

// KeptFile is the kept file's content.
type KeptFile struct {
	Version  int
	AreaSet  [16]byte
	Engine   string
	Measures []indicators.KeptMeasure
	Results  []indicators.KeptResult
}

// keptEngine identifies the engine whose people and results a file holds.
func keptEngine(eng indicators.ExposureEngine) string {
	if k, ok := eng.(indicators.ResultKeeper); ok {
		return eng.Method() + " " + k.Version()
	}
	if eng == nil {
		return ""
	}
	return eng.Method()
}

// keptKey is the file's key: the inputs it is valid for.
func keptKey(ov *indicators.Overlay, eng indicators.ExposureEngine) string {
	h := sha256.New()
	fmt.Fprintf(h, "hazardsync kept measures v%d\n%s\n", KeptVersion, keptEngine(eng))
	k := ov.AreaSetKey()
	h.Write(k[:])
	return hex.EncodeToString(h.Sum(nil)[:12])
}

var keptCRC = crc32.MakeTable(crc32.Castagnoli)

// encodeKept is the file: gob, then the CRC-32C of it.
func encodeKept(f KeptFile) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(f); err != nil {
		return nil, err
	}
	return binary.LittleEndian.AppendUint32(b.Bytes(), crc32.Checksum(b.Bytes(), keptCRC)), nil
}

// DecodeKept reads a kept file (sync-kept-<key>.bin in the state dir).
func DecodeKept(b []byte) (KeptFile, error) {
	var f KeptFile
	if len(b) < 4 {
		return f, errors.New("too short")
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, keptCRC) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return f, errors.New("checksum mismatch")
	}
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&f); err != nil {
		return f, err
	}
	return f, nil
}

// keptDigest tells whether what a sync measured differs from the file's.
func keptDigest(f KeptFile) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", f.Engine)
	h.Write(f.AreaSet[:])
	for _, m := range f.Measures {
		h.Write(m.Key[:])
	}
	h.Write([]byte{0})
	for _, r := range f.Results {
		h.Write(r.Key[:])
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// maxKeptBytes bounds what a start reads: a file this big is not ours.
const maxKeptBytes = 1 << 30

// restoreKept offers the kept file's measures and results to a fresh
// overlay and engine. Nothing found, or a file that cannot be used, is
// never an error: the sync measures everything, and the next one that is
// not a dry run replaces the file. It returns the digest of what it
// restored (zero: nothing).
func restoreKept(st KeptStore, ov *indicators.Overlay, eng indicators.ExposureEngine, log *slog.Logger) [32]byte {
	key := keptKey(ov, eng)
	r, size, found, err := st.Load(key)
	if err != nil || !found {
		if err != nil {
			log.Warn("kept measures unusable: every footprint is measured", "err", err)
		}
		return [32]byte{}
	}
	defer r.Close()
	if size > maxKeptBytes {
		log.Warn("kept measures unusable: every footprint is measured", "err", fmt.Sprintf("%d bytes", size))
		return [32]byte{}
	}
	b, err := io.ReadAll(io.LimitReader(r, maxKeptBytes))
	if err == nil {
		var f KeptFile
		if f, err = DecodeKept(b); err == nil {
			switch {
			case f.Version != KeptVersion || f.AreaSet != ov.AreaSetKey() || f.Engine != keptEngine(eng):
				err = errors.New("made for other inputs")
			default:
				ov.RestoreMeasures(f.Measures)
				if k, ok := eng.(indicators.ResultKeeper); ok {
					k.RestoreResults(f.Results)
				}
				log.Debug("kept measures restored", "footprints", len(f.Measures), "results", len(f.Results))
				return keptDigest(f)
			}
		}
	}
	log.Warn("kept measures unusable: every footprint is measured", "key", key, "err", err)
	return [32]byte{}
}

// saveKept stores what the last sync measured when it differs from what
// the file holds (last: its digest); it returns the new digest.
func saveKept(st KeptStore, ov *indicators.Overlay, eng indicators.ExposureEngine, last [32]byte) ([32]byte, error) {
	f := KeptFile{Version: KeptVersion, AreaSet: ov.AreaSetKey(), Engine: keptEngine(eng), Measures: ov.KeptMeasures()}
	if k, ok := eng.(indicators.ResultKeeper); ok {
		f.Results = k.KeptResults()
	}
	d := keptDigest(f)
	if d == last || len(f.Measures)+len(f.Results) == 0 {
		return last, nil
	}
	b, err := encodeKept(f)
	if err != nil {
		return last, err
	}
	if err := st.Store(keptKey(ov, eng), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return last, err
	}
	return d, nil
}
