package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/indicators"
)

// The structs below name elements without a namespace, so encoding/xml
// matches them whatever the prefix (cap:, none) and whichever CAP version
// (1.1 and 1.2 share these elements).

// Alert is a CAP <alert>.
type Alert struct {
	Identifier string `xml:"identifier"`
	Sender     string `xml:"sender"`
	Sent       string `xml:"sent"`
	Status     string `xml:"status"`
	MsgType    string `xml:"msgType"`
	Scope      string `xml:"scope"`
	References string `xml:"references"`
	Infos      []Info `xml:"info"`
}

// Info is one <info> block (one per language, usually).
type Info struct {
	Language    string      `xml:"language"`
	Category    []string    `xml:"category"`
	Event       string      `xml:"event"`
	Urgency     string      `xml:"urgency"`
	Severity    string      `xml:"severity"`
	Certainty   string      `xml:"certainty"`
	EventCode   []NameValue `xml:"eventCode"`
	Effective   string      `xml:"effective"`
	Onset       string      `xml:"onset"`
	Expires     string      `xml:"expires"`
	SenderName  string      `xml:"senderName"`
	Headline    string      `xml:"headline"`
	Description string      `xml:"description"`
	Web         string      `xml:"web"`
	Areas       []Area      `xml:"area"`
}

// Area is one <area>.
type Area struct {
	AreaDesc string      `xml:"areaDesc"`
	Polygon  []string    `xml:"polygon"`
	Circle   []string    `xml:"circle"`
	Geocode  []NameValue `xml:"geocode"`
}

// NameValue is a <geocode>/<eventCode>/<parameter>. The NWS Atom index
// packs several valueName/value pairs into one element, so both are lists.
type NameValue struct {
	ValueName []string `xml:"valueName"`
	Value     []string `xml:"value"`
}

// Pairs returns (valueName, value) pairs. A value holding several
// space-separated codes (NWS Atom "002090 002240") gives one pair each.
func (nv NameValue) Pairs() [][2]string {
	var out [][2]string
	for i, n := range nv.ValueName {
		if i >= len(nv.Value) {
			break
		}
		for _, v := range strings.Fields(nv.Value[i]) {
			out = append(out, [2]string{strings.TrimSpace(n), v})
		}
	}
	return out
}

// Index is an Atom or RSS index of alerts.
type Index struct {
	Updated string
	Entries []Entry
}

// Entry is one index entry: a link to a CAP document and, for Atom feeds
// that embed them, cap: fields enough to build the alert without fetching.
type Entry struct {
	ID      string
	Updated string
	Title   string
	Link    string
	// Embedded is the alert made from cap: fields in the entry, or nil.
	Embedded *Alert
}

type atomFeed struct {
	Updated string      `xml:"updated"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type atomEntry struct {
	ID        string      `xml:"id"`
	Updated   string      `xml:"updated"`
	Published string      `xml:"published"`
	Title     string      `xml:"title"`
	Links     []atomLink  `xml:"link"`
	Summary   string      `xml:"summary"`
	Ident     string      `xml:"identifier"`
	Sender    string      `xml:"sender"`
	Sent      string      `xml:"sent"`
	Status    string      `xml:"status"`
	MsgType   string      `xml:"msgType"`
	Refs      string      `xml:"references"`
	Event     string      `xml:"event"`
	Effective string      `xml:"effective"`
	Onset     string      `xml:"onset"`
	Expires   string      `xml:"expires"`
	Category  []string    `xml:"category"`
	Urgency   string      `xml:"urgency"`
	Severity  string      `xml:"severity"`
	Certainty string      `xml:"certainty"`
	AreaDesc  string      `xml:"areaDesc"`
	Polygon   []string    `xml:"polygon"`
	Geocode   []NameValue `xml:"geocode"`
}

type rssDoc struct {
	Channel struct {
		LastBuildDate string    `xml:"lastBuildDate"`
		PubDate       string    `xml:"pubDate"`
		Items         []rssItem `xml:"item"`
	} `xml:"channel"`
}

type rssItem struct {
	Title   string `xml:"title"`
	Link    string `xml:"link"`
	GUID    string `xml:"guid"`
	PubDate string `xml:"pubDate"`
}

// DocKind is what a fetched document is.
type DocKind int

const (
	KindUnknown DocKind = iota
	KindAlert
	KindAtom
	KindRSS
)

// Sniff returns the document kind from its root element.
func Sniff(body []byte) (DocKind, error) {
	d := newDecoder(body)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return KindUnknown, errors.New("no XML element in the body")
		}
		if err != nil {
			return KindUnknown, xmlError(body, d, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "alert":
				return KindAlert, nil
			case "feed":
				return KindAtom, nil
			case "rss", "RDF":
				return KindRSS, nil
			}
			return KindUnknown, fmt.Errorf("root element <%s> is not a CAP alert, an Atom feed or RSS", se.Name.Local)
		}
	}
}

func xmlError(body []byte, d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed XML at line %d (byte %d): %v", se.Line, d.InputOffset(), se.Msg)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("malformed XML: truncated at byte %d", len(body))
	}
	return fmt.Errorf("malformed XML: %v", err)
}

func newDecoder(body []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(body))
	// Feeds declare encodings like ISO-8859-1; CAP text is ASCII in practice
	// and a mislabelled declaration must not fail the whole feed.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return d
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("empty body where XML was expected")
	}
	d := newDecoder(body)
	if err := d.Decode(v); err != nil {
		return xmlError(body, d, err)
	}
	return nil
}

// ParseAlert reads one CAP 1.1/1.2 alert.
func ParseAlert(body []byte) (*Alert, error) {
	var a Alert
	if err := decode(body, &a); err != nil {
		return nil, err
	}
	a.trim()
	if a.Identifier == "" || a.Sender == "" || a.Sent == "" {
		return nil, fmt.Errorf("not a complete CAP alert: identifier %q, sender %q, sent %q (all required)", a.Identifier, a.Sender, a.Sent)
	}
	if _, err := ParseTime(a.Sent); err != nil {
		return nil, fmt.Errorf("alert %s: sent: %w", a.Identifier, err)
	}
	return &a, nil
}

func (a *Alert) trim() {
	for _, p := range []*string{&a.Identifier, &a.Sender, &a.Sent, &a.Status, &a.MsgType, &a.Scope, &a.References} {
		*p = strings.TrimSpace(*p)
	}
}

// ParseIndex reads an Atom or RSS index.
func ParseIndex(body []byte) (*Index, error) {
	kind, err := Sniff(body)
	if err != nil {
		return nil, err
	}
	switch kind {
	case KindAtom:
		var f atomFeed
		if err := decode(body, &f); err != nil {
			return nil, err
		}
		idx := &Index{Updated: strings.TrimSpace(f.Updated)}
		for _, e := range f.Entries {
			idx.Entries = append(idx.Entries, e.entry())
		}
		return idx, nil
	case KindRSS:
		var r rssDoc
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		idx := &Index{Updated: strings.TrimSpace(r.Channel.LastBuildDate)}
		if idx.Updated == "" {
			idx.Updated = strings.TrimSpace(r.Channel.PubDate)
		}
		for _, it := range r.Channel.Items {
			id := strings.TrimSpace(it.GUID)
			if id == "" {
				id = strings.TrimSpace(it.Link)
			}
			idx.Entries = append(idx.Entries, Entry{ID: id, Updated: strings.TrimSpace(it.PubDate), Title: strings.TrimSpace(it.Title), Link: strings.TrimSpace(it.Link)})
		}
		return idx, nil
	}
	return nil, errors.New("a CAP alert, not an index")
}

func (e atomEntry) entry() Entry {
	out := Entry{ID: strings.TrimSpace(e.ID), Updated: strings.TrimSpace(e.Updated), Title: strings.TrimSpace(e.Title)}
	if out.Updated == "" {
		out.Updated = strings.TrimSpace(e.Published)
	}
	// Prefer a link typed as CAP, then rel=alternate (or no rel), then any.
	best := -1
	for _, l := range e.Links {
		score := 0
		switch {
		case strings.Contains(l.Type, "cap"):
			score = 3
		case l.Rel == "" || l.Rel == "alternate":
			score = 2
		case l.Rel != "self":
			score = 1
		}
		if strings.TrimSpace(l.Href) != "" && score > best {
			best, out.Link = score, strings.TrimSpace(l.Href)
		}
	}
	if strings.TrimSpace(e.Event) == "" && strings.TrimSpace(e.Severity) == "" {
		return out
	}
	// Embedded cap: fields: NWS names no identifier/sender/sent in the
	// entry, so the entry id and its updated time stand in.
	a := &Alert{
		Identifier: firstNonEmpty(e.Ident, e.ID), Sender: firstNonEmpty(e.Sender, "atom"),
		Sent: firstNonEmpty(e.Sent, e.Published, e.Updated), Status: e.Status, MsgType: e.MsgType, References: e.Refs,
		Infos: []Info{{
			Category: e.Category, Event: e.Event, Urgency: e.Urgency, Severity: e.Severity, Certainty: e.Certainty,
			Effective: e.Effective, Onset: e.Onset, Expires: e.Expires, Headline: e.Title, Description: e.Summary,
			Areas: []Area{{AreaDesc: e.AreaDesc, Polygon: e.Polygon, Geocode: e.Geocode}},
		}},
	}
	a.trim()
	out.Embedded = a
	return out
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// ParseTime reads CAP's dateTime (RFC 3339 with a zone; "-00:00" is UTC),
// and the RFC 1123 dates RSS uses.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a CAP date-time", s)
}

// ParsePolygon reads a CAP polygon: space-separated "lat,lon" pairs
// (latitude first, unlike GeoJSON), first and last the same.
func ParsePolygon(s string) (orb.Polygon, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, indicators.ErrEmptyGeometry
	}
	if len(fields) > 100000 {
		return nil, fmt.Errorf("polygon has %d points: too many", len(fields))
	}
	ring := make(orb.Ring, 0, len(fields)+1)
	for i, f := range fields {
		p, err := latLon(f)
		if err != nil {
			return nil, fmt.Errorf("polygon point %d: %w", i+1, err)
		}
		ring = append(ring, p)
	}
	if len(ring) < 3 {
		return nil, fmt.Errorf("polygon has %d points, needs at least 4 (closed)", len(ring))
	}
	return orb.Polygon{ring}, nil
}

// ParseCircle reads a CAP circle "lat,lon radius" (radius in km).
func ParseCircle(s string) (center orb.Point, radiusKm float64, err error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return orb.Point{}, 0, fmt.Errorf("circle %q: want \"lat,lon radius_km\"", s)
	}
	center, err = latLon(fields[0])
	if err != nil {
		return orb.Point{}, 0, fmt.Errorf("circle centre: %w", err)
	}
	radiusKm, err = strconv.ParseFloat(fields[1], 64)
	if err != nil || radiusKm < 0 || math.IsNaN(radiusKm) || radiusKm > 20000 {
		return orb.Point{}, 0, fmt.Errorf("circle radius %q: want kilometres in 0..20000", fields[1])
	}
	return center, radiusKm, nil
}

func latLon(s string) (orb.Point, error) {
	la, lo, ok := strings.Cut(s, ",")
	if !ok {
		return orb.Point{}, fmt.Errorf("%q is not a lat,lon pair", s)
	}
	lat, err1 := strconv.ParseFloat(la, 64)
	lon, err2 := strconv.ParseFloat(lo, 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return orb.Point{}, fmt.Errorf("%q is not a WGS84 lat,lon pair", s)
	}
	return orb.Point{lon, lat}, nil
}

// Reference is one "sender,identifier,sent" triple of <references>.
type Reference struct{ Sender, Identifier, Sent string }

// ParseReferences splits <references>; malformed triples are skipped.
func ParseReferences(s string) []Reference {
	var out []Reference
	for _, f := range strings.Fields(s) {
		parts := strings.Split(f, ",")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			continue
		}
		out = append(out, Reference{parts[0], parts[1], parts[2]})
	}
	return out
}
