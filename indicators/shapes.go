package indicators

import "sync"

// shapeCache holds the prepared shapes of one sync's areas and footprints:
// every recipe overlays the same geometries, so each is prepared once.
// Footprints are keyed by their address in the events' shared slices,
// which do not change during a sync.
type shapeCache struct {
	mu    sync.Mutex
	areas map[int]*shape
	fps   map[*Footprint]*shape
}

func (in *Input) areaShape(ai int) *shape {
	c := &in.shapes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.areas == nil {
		c.areas = map[int]*shape{}
	}
	s, ok := c.areas[ai]
	if !ok {
		s = newShape(in.Areas[ai].Geometry)
		c.areas[ai] = s
	}
	return s
}

func (in *Input) footprintShape(fp *Footprint) *shape {
	c := &in.shapes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fps == nil {
		c.fps = map[*Footprint]*shape{}
	}
	s, ok := c.fps[fp]
	if !ok {
		s = newShape(fp.Geometry)
		c.fps[fp] = s
	}
	return s
}
