package ecmwf

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/hazardsync/hazardsync/internal/bufr"
)

// Quadrants of the wind radii, in the order the tracker writes them
// (bearing 0–90, 90–180, 180–270, 270–360).
var Quadrants = [4]string{"NE", "SE", "SW", "NW"}

// Point is one time step of one member's track.
type Point struct {
	Time time.Time `json:"time"`
	Hour int       `json:"hour"`
	Lat  float64   `json:"lat"`
	Lon  float64   `json:"lon"`
	// MSLPPa is the central mean sea level pressure; MaxWindMS the maximum
	// 10 m wind. NaN-free: absent values are nil.
	MSLPPa    *float64 `json:"mslp_pa,omitempty"`
	MaxWindMS *float64 `json:"max_wind_ms,omitempty"`
	// Radii maps a wind threshold in m/s ("18", "26", "33") to the radius in
	// km per quadrant NE, SE, SW, NW (0: not reached there). Absent when the
	// file carries no radii for this step.
	Radii map[string][4]float64 `json:"radii_km,omitempty"`
	// RMaxKm is the distance from the centre to the maximum wind, when the
	// file locates it (008005 = 3).
	RMaxKm *float64 `json:"rmax_km,omitempty"`
}

// Member is one ensemble member's track of a storm.
type Member struct {
	Number int `json:"number"`
	// Kind: "perturbed", "control" or "deterministic" (ensembleForecastType
	// 4, 1, 0); "unknown" otherwise.
	Kind   string  `json:"kind"`
	Points []Point `json:"points"`
}

// Storm is every member's track of one storm in one run.
type Storm struct {
	ID   string    `json:"id"`
	Name string    `json:"name,omitempty"`
	Run  time.Time `json:"run"`
	// Observed is the warning centre's position at the run time (sig 1 in
	// the initial block), when given.
	ObservedLat *float64 `json:"observed_lat,omitempty"`
	ObservedLon *float64 `json:"observed_lon,omitempty"`
	Members     []Member `json:"members"`
}

// trackLimits are well above a real track message (52 members × 41 steps ×
// about 55 values ≈ 120,000 values) and keep a hostile file to a few MB.
var trackLimits = bufr.Limits{MaxValues: 400_000, MaxSteps: 500_000, MaxDepth: 16}

// ParseTracks decodes an ECMWF tropical cyclone track file (BUFR edition 4,
// template 3 16 082 or its older spelled-out forms; compressed or not) into
// storms, merging messages of the same storm.
func ParseTracks(data []byte) ([]Storm, error) {
	msgs, err := bufr.DecodeWithLimits(data, trackLimits)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Storm{}
	var order []string
	for mi, m := range msgs {
		for s := 0; s < m.NumSubsets(); s++ {
			st, mem, err := parseSubset(m, s)
			if err != nil {
				return nil, fmt.Errorf("message %d subset %d: %w", mi+1, s+1, err)
			}
			cur, ok := byID[st.ID]
			if !ok {
				cp := st
				cur = &cp
				byID[st.ID] = cur
				order = append(order, st.ID)
			} else if !cur.Run.Equal(st.Run) {
				return nil, fmt.Errorf("message %d: storm %s has runs %s and %s in one file", mi+1, st.ID, cur.Run, st.Run)
			}
			if cur.ObservedLat == nil {
				cur.ObservedLat, cur.ObservedLon = st.ObservedLat, st.ObservedLon
			}
			if len(mem.Points) > 0 {
				cur.Members = append(cur.Members, mem)
			}
		}
	}
	out := make([]Storm, 0, len(order))
	for _, id := range order {
		st := byID[id]
		sort.SliceStable(st.Members, func(i, j int) bool { return st.Members[i].Number < st.Members[j].Number })
		out = append(out, *st)
	}
	return out, nil
}

func num(v bufr.Value) (float64, bool) {
	if v.Missing || v.Elem.IsText() {
		return 0, false
	}
	return v.Num, true
}

func ptr(x float64) *float64 { return &x }

// parseSubset walks one member's values by meaning rather than position, so
// the three layouts in use (2015 without radii, 2020 spelled out, 3 16 082)
// read alike: 008005 says what the next latitude/longitude is (1 storm
// centre, 3 maximum wind, 4/5 the member's analysed centre), 004024 starts a
// forecast step, 019003 + pairs of 005021 + 019004 are the quadrant radii.
func parseSubset(m *bufr.Message, s int) (Storm, Member, error) {
	var st Storm
	var mem Member
	var date [5]int
	var have [5]bool
	sig := -1
	mwLat := math.NaN()
	step := -1 // -1: the initial block, before any 004024
	cur := Point{}
	curOK := false
	threshold := ""
	bearings := 0
	quadrant := 0
	flush := func() {
		if curOK && !math.IsNaN(cur.Lat) {
			mem.Points = append(mem.Points, cur)
		}
	}
	for i := 0; i < m.Len(s); i++ {
		v := m.At(s, i)
		x, ok := num(v)
		switch v.Elem.Code.String() {
		case "001025":
			st.ID = strings.TrimSpace(v.Str)
		case "001027":
			st.Name = strings.TrimSpace(v.Str)
		case "001091":
			if ok {
				mem.Number = int(x)
			}
		case "001092":
			// Files before 2021 leave the type missing for perturbed members.
			mem.Kind = "perturbed"
			if ok {
				switch int(x) {
				case 0:
					mem.Kind = "deterministic"
				case 1:
					mem.Kind = "control"
				case 4:
					mem.Kind = "perturbed"
				default:
					mem.Kind = "unknown"
				}
			}
		case "004001", "004002", "004003", "004004", "004005":
			k := int(v.Elem.Code.Y()) - 1
			if ok && k >= 0 && k < 5 {
				date[k], have[k] = int(x), true
			}
		case "008005":
			sig = -1
			if ok {
				sig = int(x)
			}
		case "004024":
			flush()
			step++
			curOK = ok
			cur = Point{Lat: math.NaN()}
			if ok {
				cur.Hour = int(x)
			}
		case "005002", "006002":
			isLat := v.Elem.Code.String() == "005002"
			switch {
			case sig == 1 && step < 0:
				if isLat && ok {
					st.ObservedLat = ptr(x)
				} else if ok {
					st.ObservedLon = ptr(x)
				}
			case sig == 3:
				if ok && isLat {
					mwLat = x
				} else if ok && !math.IsNaN(mwLat) && !math.IsNaN(cur.Lat) {
					cur.RMaxKm = ptr(math.Round(distanceKm(cur.Lat, cur.Lon, mwLat, x)*10) / 10)
				}
				if isLat && !ok {
					mwLat = math.NaN()
				}
			case sig == 1 || sig == 4 || sig == 5:
				if step < 0 && !curOK {
					curOK = true
					cur = Point{Lat: math.NaN()}
				}
				if !ok {
					cur.Lat = math.NaN()
				} else if isLat {
					cur.Lat = x
				} else {
					cur.Lon = x
				}
			}
		case "010051":
			if ok {
				cur.MSLPPa = ptr(x)
			}
		case "011012":
			if ok {
				cur.MaxWindMS = ptr(x)
			}
		case "019003":
			threshold = ""
			if ok {
				threshold = formatThreshold(x)
			}
			bearings, quadrant = 0, 0
		case "005021":
			bearings++
		case "019004":
			if bearings/2 != quadrant+1 || quadrant > 3 {
				return st, mem, fmt.Errorf("wind radius without its pair of bearings (quadrant %d)", quadrant+1)
			}
			if threshold != "" && ok {
				if cur.Radii == nil {
					cur.Radii = map[string][4]float64{}
				}
				r := cur.Radii[threshold]
				r[quadrant] = x / 1000
				cur.Radii[threshold] = r
			}
			quadrant++
		}
	}
	flush()
	for _, h := range have {
		if !h {
			return st, mem, fmt.Errorf("run date/time incomplete")
		}
	}
	if st.ID == "" {
		return st, mem, fmt.Errorf("no storm identifier")
	}
	st.Run = time.Date(date[0], time.Month(date[1]), date[2], date[3], date[4], 0, 0, time.UTC)
	for i := range mem.Points {
		mem.Points[i].Time = st.Run.Add(time.Duration(mem.Points[i].Hour) * time.Hour)
	}
	return st, mem, nil
}

// formatThreshold is the key of a threshold in Point.Radii ("18", "25.7").
func formatThreshold(ms float64) string { return fmt.Sprintf("%g", ms) }
