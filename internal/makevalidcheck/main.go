// Command makevalidcheck writes random invalid polygons and hazardsync's
// repair of each (indicators.MakeValid) as JSON, for compare.py to check
// against shapely's make_valid (GEOS). Outside CI: `make oracle-makevalid`
// (needs Debian's python3-shapely).
package main

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
)

type record struct {
	Kind  string         `json:"kind"` // general (float coordinates) or degenerate (integer grid)
	Rings [][][2]float64 `json:"rings"`
	Area  float64        `json:"area"` // planar, lon/lat units
	Parts int            `json:"parts"`
	Holes int            `json:"holes"`
	Err   string         `json:"err,omitempty"`
}

func main() {
	n := flag.Int("n", 400, "polygons (half in general position, half on an integer grid)")
	seed := flag.Uint64("seed", 7, "random seed")
	flag.Parse()
	rng := rand.New(rand.NewPCG(*seed, 9))
	var out []record
	for k := 0; k < *n; k++ {
		rec := record{Kind: "general"}
		if k%2 == 0 {
			rec.Kind = "degenerate"
		}
		var p orb.Polygon
		rings := 1
		if k%4 == 3 {
			rings = 2
		}
		for j := 0; j < rings; j++ {
			var r orb.Ring
			for i, m := 0, 4+rng.IntN(9); i < m; i++ {
				x, y := rng.Float64()*10, rng.Float64()*10
				if rec.Kind == "degenerate" {
					x, y = float64(rng.IntN(6)), float64(rng.IntN(6))
				}
				r = append(r, orb.Point{x, y})
			}
			r = append(r, r[0])
			p = append(p, r)
			var rr [][2]float64
			for _, pt := range r {
				rr = append(rr, [2]float64{pt[0], pt[1]})
			}
			rec.Rings = append(rec.Rings, rr)
		}
		g, err := indicators.MakeValid(p)
		if err != nil {
			rec.Err = err.Error()
		} else {
			for _, q := range indicators.Polygons(g) {
				rec.Parts++
				rec.Holes += len(q) - 1
				for _, r := range q {
					s := 0.0
					for i := 0; i+1 < len(r); i++ {
						s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
					}
					rec.Area += s / 2
				}
			}
		}
		out = append(out, rec)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
