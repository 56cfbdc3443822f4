package status

import (
	"net/http"
	"sort"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/hazardsync/hazardsync/indicators"
)

// EventsProvider is an optional Provider capability: the events of the
// latest sync, whose footprints the map can overlay on the areas.
type EventsProvider interface {
	ActiveEvents() []indicators.Event
}

// maxFootprints bounds the overlay: a global FIRMS day has thousands of
// hotspots, and the map is for reading where hazards are, not for counting
// them (the indicators do that).
const maxFootprints = 5000

// footprintsCollection is every active event's footprints as GeoJSON,
// simplified like the areas, with what a reader needs to tell them apart:
// hazard, phase (observed or forecast), severity, band and validity.
// "truncated" says how many were left out past maxFootprints.
func footprintsCollection(events []indicators.Event, areas []indicators.Area) *geojson.FeatureCollection {
	var b orb.Bound
	for _, a := range areas {
		if a.Geometry == nil {
			continue
		}
		if b.IsZero() {
			b = a.Bound()
		} else {
			b = b.Union(a.Bound())
		}
	}
	tol := max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]) / 4000
	evs := append([]indicators.Event(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	fc := geojson.NewFeatureCollection()
	left := 0
	for _, e := range evs {
		for i, fp := range e.Footprints {
			if fp.Geometry == nil {
				continue
			}
			if len(fc.Features) >= maxFootprints {
				left++
				continue
			}
			f := geojson.NewFeature(simplifyGeometry(fp.Geometry, tol))
			p := f.Properties
			p["event"] = e.ID
			p["title"] = e.Title
			p["hazard"] = string(e.Type)
			p["phase"] = string(e.Phase)
			p["severity"] = fp.SeverityOr(e.Severity).String()
			p["part"] = i
			if fp.Band != "" {
				p["band"] = fp.Band
			}
			if from := nonZero(fp.ValidFrom, e.ValidFrom); !from.IsZero() {
				p["valid_from"] = from.UTC().Format(time.RFC3339)
			}
			if to := nonZero(fp.ValidTo, e.ValidTo); !to.IsZero() {
				p["valid_to"] = to.UTC().Format(time.RFC3339)
			}
			fc.Append(f)
		}
	}
	fc.ExtraMembers = geojson.Properties{"truncated": left}
	return fc
}

func nonZero(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

func (s *Server) apiFootprints(w http.ResponseWriter, _ *http.Request) {
	var evs []indicators.Event
	if ep, ok := s.p.(EventsProvider); ok {
		evs = ep.ActiveEvents()
	}
	writeJSON(w, "application/geo+json", footprintsCollection(evs, s.p.Areas()))
}
