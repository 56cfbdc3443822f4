package config

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// knownLevels is the set of admin levels the areas will have, when the
// config says: geographies.levels when read from GeoSight, the files'
// fixed levels when read from files (unknown when a file reads the level
// from a property).
func (c *Config) knownLevels() (map[int]bool, bool) {
	out := map[int]bool{}
	switch c.Geographies.From {
	case "geosight":
		if len(c.Geographies.Levels) == 0 {
			return nil, false
		}
		for _, l := range c.Geographies.Levels {
			out[l] = true
		}
	case "file":
		if len(c.Geographies.Files) == 0 {
			return nil, false
		}
		for _, f := range c.Geographies.Files {
			if f.Level < 0 {
				return nil, false
			}
			out[f.Level] = true
		}
	default:
		return nil, false
	}
	return out, true
}

func levelList(m map[int]bool) string {
	var ls []int
	for l := range m {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.Itoa(l)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// validateLevelsAndListen checks what needs the whole config: an
// indicator's rollup_from must be a level the areas have (else it computes
// nothing and every level above stays empty), and the status server's
// address must be one it can listen on.
func (c *Config) validateLevelsAndListen() Problems {
	var p Problems
	if levels, ok := c.knownLevels(); ok {
		for i, d := range c.Indicators {
			path := fmt.Sprintf("indicators[%d]", i)
			if d.Shortcode != "" {
				path = fmt.Sprintf("indicators[%d](%s)", i, d.Shortcode)
			}
			if d.RollupFrom != nil && !levels[*d.RollupFrom] {
				p.Add(path+".rollup_from", "level %d is not among the admin levels read (%s)", *d.RollupFrom, levelList(levels))
			}
		}
	}
	if l := c.HTTP.Listen; l != "" {
		if err := checkListen(l); err != nil {
			p.Add("http.listen", "%v", err)
		}
	}
	return p
}

// checkListen wants host:port with a port 0..65535 (0 picks a free one).
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port like 127.0.0.1:8080, got %q", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		if _, lerr := net.LookupPort("tcp", port); lerr == nil {
			return nil
		}
		return fmt.Errorf("port %q is not a number, in %q", port, addr)
	}
	if n < 0 || n > 65535 {
		return fmt.Errorf("port %d is out of range (0-65535), in %q", n, addr)
	}
	return nil
}
