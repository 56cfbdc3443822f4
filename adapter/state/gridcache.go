package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GridCachePrefix starts the name of every grid precompute file in the state
// dir: grid-precompute-<key>.bin; AreasCachePrefix every prepared areas
// file (adapter/areas.Prepared): areas-prepared-<key>.bin.
const (
	GridCachePrefix  = "grid-precompute-"
	AreasCachePrefix = "areas-prepared-"
	// KeptCachePrefix starts the overlay's measures and the exposure
	// engine's results kept beyond the process (adapter/runner/kept.go):
	// sync-kept-<key>.bin.
	KeptCachePrefix = "sync-kept-"
	// AreaGeometryCachePrefix starts the areas' geometry as the dry-run
	// preview spells it (adapter/status.AreaGeometry):
	// areas-geojson-<key>.bin.
	AreaGeometryCachePrefix = "areas-geojson-"
)

// FileCache keeps one derived file in the state dir under a key: the grid
// exposure engine's precompute (NewGridCache; it implements
// indicators/grid.Cache), grid-precompute-<key>.bin, or the prepared areas
// (NewAreasCache), areas-prepared-<key>.bin. A file is written to a
// temporary name and renamed, so a crash leaves the previous file or none,
// never a part of one; storing one removes the older ones of its kind.
// ReadOnly loads but never writes (a dry run leaves the state dir as it
// found it). Where the platform maps files, Load maps the file read-only
// (grid.MappedEntry), so the engine uses the page cache's copy in place: a
// later Store renames over the name, and the mapping keeps the old file
// until the engine drops it. The file must not be edited in place while a
// daemon runs (a mapped file cut short faults the reader).
type FileCache struct {
	Dir      string
	ReadOnly bool
	Prefix   string // of the files' names: GridCachePrefix, AreasCachePrefix
	Ext      string // of the files' names; "" means .bin
}

func (c FileCache) ext() string {
	if c.Ext == "" {
		return ".bin"
	}
	return c.Ext
}

// NewGridCache returns the grid precompute store in dir.
func NewGridCache(dir string, readOnly bool) FileCache {
	return FileCache{Dir: dir, ReadOnly: readOnly, Prefix: GridCachePrefix}
}

// NewKeptCache returns the store of what syncs measured (runner.KeptStore).
func NewKeptCache(dir string, readOnly bool) FileCache {
	return FileCache{Dir: dir, ReadOnly: readOnly, Prefix: KeptCachePrefix}
}

// NewAreaGeometryCache returns the store of the areas' spelled geometry.
func NewAreaGeometryCache(dir string, readOnly bool) FileCache {
	return FileCache{Dir: dir, ReadOnly: readOnly, Prefix: AreaGeometryCachePrefix}
}

// NewAreasCache returns the prepared areas store in dir.
func NewAreasCache(dir string, readOnly bool) FileCache {
	return FileCache{Dir: dir, ReadOnly: readOnly, Prefix: AreasCachePrefix}
}

func (c FileCache) path(key string) (string, error) {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_')
	}) {
		return "", fmt.Errorf("cache key %q: want letters, digits, - and _ only", key)
	}
	return filepath.Join(c.Dir, c.Prefix+key+c.ext()), nil
}

// Load opens the file stored under key; found is false when there is none.
func (c FileCache) Load(key string) (io.ReadCloser, int64, bool, error) {
	p, err := c.path(key)
	if err != nil {
		return nil, 0, false, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, false, err
	}
	if m, ok := mapFile(f, st.Size()); ok {
		return m, st.Size(), true, nil
	}
	return f, st.Size(), true, nil
}

// Store writes the file under key through a temporary file renamed into
// place, then removes the files of its kind under other keys. An error from
// write leaves the previous files as they were.
func (c FileCache) Store(key string, write func(io.Writer) error) error {
	final, err := c.path(key)
	if err != nil {
		return err
	}
	if c.ReadOnly {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(c.Dir, c.Prefix+"*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), final); err != nil {
		return err
	}
	// ReadDir, not Glob: a state dir's name may hold pattern characters.
	ents, _ := os.ReadDir(c.Dir)
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, c.Prefix) && strings.HasSuffix(n, c.ext()) && n != filepath.Base(final) {
			os.Remove(filepath.Join(c.Dir, n))
		}
	}
	return nil
}
