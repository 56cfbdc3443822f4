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

// Bounds on what one track file may make the source do. Decoding costs
// about a microsecond per value and building swaths about half a
// millisecond per track point and threshold, so the values and points a
// file may claim are what bound the daemon's time and memory on it. Real
// files are far inside them: the five samples (2015–2023) hold at most 52
// members per storm, 41 points per member, 2,721 points and 4.5 values per
// byte, and spend 15–160 bytes per point. A compressed message whose
// members are identical spends no bits per member, so without the per-byte
// bounds a 1.4 KB file could claim 5,500 points (3 s of swaths) and a few
// such messages far more.
const (
	// MaxMembers per storm (an ensemble has 51 or 52).
	MaxMembers = 128
	// MaxPointsPerMember: 6-hourly steps to 360 h are 61 points.
	MaxPointsPerMember = 200
	// MaxPoints in one file (a busy day: 15 storms × 52 members × 61).
	MaxPoints = 50_000
	// minBytesPerPoint and maxValuesPerByte keep the work proportional to
	// the bytes downloaded, with a margin of 4 or more over real files.
	minBytesPerPoint = 4
	maxValuesPerByte = 32
	// Values beyond these are not a tropical cyclone: a hostile file could
	// otherwise ask for a swath larger than the Earth (radii, and the
	// Holland radius grows without bound with the maximum wind) or a
	// longitude the antimeridian unwrapping would loop on.
	maxRadiusKm = 3000
	maxWindMS   = 150
	maxAbsHour  = 24 * 366
)

// trackLimits bound decoding a file of n bytes.
func trackLimits(n int) bufr.Limits {
	values := min(4_000_000, max(10_000, maxValuesPerByte*n))
	return bufr.Limits{MaxValues: values, MaxSteps: 2 * values, MaxDepth: 16, MaxSubsets: MaxMembers}
}

// ParseTracks decodes an ECMWF tropical cyclone track file (BUFR edition 4,
// template 3 16 082 or its older spelled-out forms; compressed or not) into
// storms, merging messages of the same storm. A file over the bounds above
// is an error, not a partial result.
func ParseTracks(data []byte) ([]Storm, error) {
	msgs, err := bufr.DecodeWithLimits(data, trackLimits(len(data)))
	if err != nil {
		return nil, err
	}
	maxPoints := min(MaxPoints, len(data)/minBytesPerPoint)
	points := 0
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
			if len(mem.Points) == 0 {
				continue
			}
			if len(cur.Members) == MaxMembers {
				return nil, fmt.Errorf("message %d: storm %s has more than %d members", mi+1, st.ID, MaxMembers)
			}
			if points += len(mem.Points); points > maxPoints {
				return nil, fmt.Errorf("message %d: more than %d track points in a file of %d bytes (at most %d, and one per %d bytes)",
					mi+1, maxPoints, len(data), MaxPoints, minBytesPerPoint)
			}
			cur.Members = append(cur.Members, mem)
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
	flush := func() error {
		if curOK && !math.IsNaN(cur.Lat) {
			if len(mem.Points) == MaxPointsPerMember {
				return fmt.Errorf("member %d has more than %d track points", mem.Number, MaxPointsPerMember)
			}
			mem.Points = append(mem.Points, cur)
		}
		return nil
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
			if ok && math.Abs(x) > maxAbsHour {
				return st, mem, fmt.Errorf("forecast hour %g out of range (±%d)", x, maxAbsHour)
			}
			if err := flush(); err != nil {
				return st, mem, err
			}
			step++
			curOK = ok
			cur = Point{Lat: math.NaN()}
			if ok {
				cur.Hour = int(x)
			}
		case "005002", "006002":
			isLat := v.Elem.Code.String() == "005002"
			if ok && (isLat && math.Abs(x) > 90 || !isLat && math.Abs(x) > 360) {
				return st, mem, fmt.Errorf("%s %g out of range", v.Elem.Key, x)
			}
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
			if ok && (x < 0 || x > maxWindMS) {
				return st, mem, fmt.Errorf("maximum wind %g m/s out of range (0–%d)", x, maxWindMS)
			}
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
			if ok && (x < 0 || x/1000 > maxRadiusKm) {
				return st, mem, fmt.Errorf("wind radius %g m out of range (0–%d km)", x, maxRadiusKm)
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
	if err := flush(); err != nil {
		return st, mem, err
	}
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
