package areas

import (
	"fmt"
	"io"
	"os"

	"github.com/hazardsync/hazardsync/indicators/grid"
)

// OpenGrid opens a population GeoTIFF for the grid engine, which reads it
// through the returned grid.Layer and does no file I/O of its own. Close the
// io.Closer once the engine is built (or the layer otherwise read).
func OpenGrid(path string) (grid.Layer, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return grid.Layer{}, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return grid.Layer{}, nil, fmt.Errorf("population grid: %w", err)
	}
	return grid.Layer{Name: path, R: f, Size: st.Size()}, f, nil
}
