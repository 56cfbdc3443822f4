package status

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/paulmach/orb/geojson"
)

// writeIndentedCollection writes json.MarshalIndent(fc, "", " "), byte for
// byte, one feature at a time: a country's values.geojson is ~130 MB, and
// marshalling it whole held the compact and the indented copy at once (the
// `once --dry-run` peak RSS rose by ~540 MB on make bench-e2e's country).
func writeIndentedCollection(w io.Writer, fc *geojson.FeatureCollection) error {
	features := fc.Features
	fc.Features = nil
	shell, err := json.MarshalIndent(fc, "", " ")
	fc.Features = features
	if err != nil {
		return err
	}
	// With no features the collection member is `"features": []` on a line
	// of its own at depth 1 (keys are unique, deeper lines start with more
	// spaces).
	const empty = "\n \"features\": []"
	at := bytes.Index(shell, []byte(empty))
	if at < 0 {
		return fmt.Errorf("encoding feature collection: no features member in %.40q", shell)
	}
	cut := at + len(empty) - 1 // at the ']'
	if _, err := w.Write(shell[:cut]); err != nil {
		return err
	}
	if len(features) > 0 {
		var compact, indented bytes.Buffer
		for i, f := range features {
			compact.Reset()
			indented.Reset()
			enc := json.NewEncoder(&compact)
			if err := enc.Encode(f); err != nil {
				return err
			}
			b := bytes.TrimSuffix(compact.Bytes(), []byte("\n"))
			if err := json.Indent(&indented, b, "  ", " "); err != nil {
				return err
			}
			sep := ",\n  "
			if i == 0 {
				sep = "\n  "
			}
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
			if _, err := w.Write(indented.Bytes()); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "\n "); err != nil {
			return err
		}
	}
	_, err = w.Write(shell[cut:])
	return err
}

// writeFileAtomicFunc is writeFileAtomic for content written by fn.
func writeFileAtomicFunc(path string, fn func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := fn(bw); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
