// Package cap is the `cap` source: OASIS CAP 1.1/1.2 warnings, from a single
// alert URL or an Atom/RSS index of alerts (MeteoAlarm, national services,
// NWS), with Update/Cancel chains, expiry, polygons, circles and geocodes
// mapped to areas.
package cap

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/hazardsync/hazardsync/adapter"
	"github.com/hazardsync/hazardsync/adapter/fetch"
	"github.com/hazardsync/hazardsync/indicators"
)

// Kind is the registered source type.
const Kind = "cap"

func init() {
	adapter.Register(Kind, "CAP 1.1/1.2 warnings from an alert or an Atom/RSS index (MeteoAlarm, national services, NWS)", defaultConfig,
		func(c *Config, env adapter.Env) (adapter.Source, error) {
			return New(c, env)
		})
}

// Source is one configured CAP feed.
type Source struct {
	cfg      Config
	env      adapter.Env
	f        *fetch.Client
	geocodes map[string][]string
	severity map[string]indicators.Severity
	classes  classifier
}

var _ adapter.Source = (*Source)(nil)

// New builds the source from a validated config.
func New(cfg *Config, env adapter.Env) (*Source, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: *cfg, env: env, f: fetch.ForSource(env), geocodes: map[string][]string{},
		severity: map[string]indicators.Severity{}, classes: newClassifier(cfg.HazardKeywords)}
	rows := append([]GeocodeRow(nil), cfg.Geocodes...)
	if cfg.GeocodeTable != "" {
		t, err := readGeocodeTable(cfg.GeocodeTable)
		if err != nil {
			return nil, fmt.Errorf("geocode_table: %w", err)
		}
		rows = append(rows, t...)
	}
	for _, r := range rows {
		k := geocodeKey(r.ValueName, r.Value)
		s.geocodes[k] = append(s.geocodes[k], r.Ucode)
	}
	for k, v := range DefaultSeverity {
		s.severity[k] = v
	}
	for k, v := range cfg.SeverityMap {
		sev, err := indicators.ParseSeverity(v)
		if err != nil {
			return nil, fmt.Errorf("severity_map.%s: %w", k, err)
		}
		s.severity[strings.ToLower(k)] = sev
	}
	return s, nil
}

// state is the cursor unpacked. Versions: active event id → sent.
// Extra keys: "doc:<url or entry id>" → "<entry updated>\t<event id>";
// "alias:<sender>:<identifier>" → event id (the chain's first alert);
// "expires:<event id>" → RFC 3339; "feed_updated" → the index's updated.
type state struct {
	versions map[string]string
	extra    map[string]string
}

func load(cur adapter.Cursor) state {
	st := state{versions: map[string]string{}, extra: map[string]string{}}
	for k, v := range cur.Versions {
		st.versions[k] = v
	}
	for k, v := range cur.Extra {
		st.extra[k] = v
	}
	return st
}

// doc is one CAP document to apply.
type doc struct {
	key   string // doc key in the cursor ("" for a single-alert feed)
	entry string // entry version
	alert *Alert
	url   string
}

// Fetch polls the feed. Batches are incremental (not Complete): they carry
// new or changed events and Closed ones (cancelled, superseded, expired, or
// gone from the index); seen documents are not fetched again.
func (s *Source) Fetch(ctx context.Context, cur adapter.Cursor) (adapter.Batch, error) {
	now := s.env.Now()
	st := load(cur)
	resp, err := s.f.Get(ctx, fetch.Request{URL: s.cfg.URL, ETag: cur.ETag, LastModified: cur.LastModified,
		Headers: map[string]string{"Accept": "application/atom+xml, application/rss+xml, application/cap+xml, application/xml;q=0.9, */*;q=0.5"}})
	if err != nil {
		return adapter.Batch{}, err
	}
	b := &builder{s: s, st: st, now: now, out: map[string]indicators.Event{}}
	etag, lastMod := resp.ETag, resp.LastModified
	if resp.NotModified {
		b.expire()
		if len(b.out) == 0 {
			return adapter.Batch{NotModified: true, Cursor: cur}, nil
		}
		return b.batch(etag, lastMod), nil
	}
	kind, err := Sniff(resp.Body)
	if err != nil {
		return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
	}
	var docs []doc
	complete := true // every index entry was looked at (none deferred)
	present := map[string]bool{}
	switch kind {
	case KindAlert:
		a, err := ParseAlert(resp.Body)
		if err != nil {
			return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
		}
		docs = append(docs, doc{key: "doc:" + s.cfg.URL, entry: a.Sent, alert: a, url: resp.URL})
		present["doc:"+s.cfg.URL] = true
	default:
		idx, err := ParseIndex(resp.Body)
		if err != nil {
			return adapter.Batch{}, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
		}
		if idx.Updated != "" && idx.Updated == st.extra["feed_updated"] && cur.Versions != nil {
			// The index says nothing changed (servers without ETags).
			b.expire()
			if len(b.out) == 0 {
				return adapter.Batch{NotModified: true, Cursor: adapter.Cursor{ETag: etag, LastModified: lastMod, Versions: cur.Versions, Extra: cur.Extra}}, nil
			}
			return b.batch(etag, lastMod), nil
		}
		st.extra["feed_updated"] = idx.Updated
		fetched := 0
		for _, e := range idx.Entries {
			link := s.resolve(e.Link)
			key := "doc:" + firstNonEmpty(link, e.ID)
			if key == "doc:" {
				b.problems = append(b.problems, fmt.Errorf("index entry %q has neither id nor link", e.Title))
				continue
			}
			present[key] = true
			if prev, ok := st.extra[key]; ok && strings.SplitN(prev, "\t", 2)[0] == e.Updated {
				continue // seen
			}
			if link == "" || (s.cfg.PreferEmbedded && e.Embedded != nil) {
				if e.Embedded == nil {
					b.problems = append(b.problems, fmt.Errorf("index entry %s: no CAP link and no cap: fields", e.ID))
					continue
				}
				docs = append(docs, doc{key: key, entry: e.Updated, alert: e.Embedded, url: resp.URL})
				continue
			}
			if fetched >= s.cfg.MaxDocuments {
				complete = false
				continue
			}
			fetched++
			a, err := s.fetchAlert(ctx, link)
			if err != nil {
				if e.Embedded != nil {
					b.problems = append(b.problems, fmt.Errorf("%w (used the entry's cap: fields instead)", err))
					docs = append(docs, doc{key: key, entry: e.Updated, alert: e.Embedded, url: resp.URL})
					continue
				}
				b.problems = append(b.problems, err)
				continue // not marked seen: retried next run
			}
			docs = append(docs, doc{key: key, entry: e.Updated, alert: a, url: link})
		}
		if !complete {
			s.env.Logger.Info("cap: document limit reached, the rest wait for the next run", "max_documents", s.cfg.MaxDocuments)
		}
	}
	// Oldest first, so an Update lands after the alert it supersedes.
	sort.SliceStable(docs, func(i, j int) bool { return sentOf(docs[i].alert).Before(sentOf(docs[j].alert)) })
	for _, d := range docs {
		b.apply(d)
	}
	if s.cfg.CloseMissing && complete {
		b.closeMissing(present)
	}
	b.expire()
	b.prune(present)
	return b.batch(etag, lastMod), nil
}

func sentOf(a *Alert) time.Time {
	t, _ := ParseTime(a.Sent)
	return t
}

// resolve makes an entry link absolute against the index URL (relative
// links occur in recorded replays).
func (s *Source) resolve(link string) string {
	if link == "" {
		return ""
	}
	base, err := url.Parse(s.cfg.URL)
	if err != nil {
		return link
	}
	ref, err := url.Parse(link)
	if err != nil {
		return link
	}
	return base.ResolveReference(ref).String()
}

func (s *Source) fetchAlert(ctx context.Context, link string) (*Alert, error) {
	resp, err := s.f.Get(ctx, fetch.Request{URL: link, Headers: map[string]string{"Accept": "application/cap+xml, application/xml;q=0.9, */*;q=0.5"}})
	if err != nil {
		return nil, err
	}
	a, err := ParseAlert(resp.Body)
	if err != nil {
		return nil, adapter.Classify(adapter.Permanent, s.env.Name, resp.URL, err)
	}
	return a, nil
}

// builder accumulates one run's events and cursor changes.
type builder struct {
	s        *Source
	st       state
	now      time.Time
	out      map[string]indicators.Event
	problems []error
}

func (b *builder) batch(etag, lastMod string) adapter.Batch {
	ids := make([]string, 0, len(b.out))
	for id := range b.out {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	events := make([]indicators.Event, 0, len(ids))
	for _, id := range ids {
		events = append(events, b.out[id])
	}
	return adapter.Batch{Events: events, Problems: b.problems,
		Cursor: adapter.Cursor{ETag: etag, LastModified: lastMod, Versions: b.st.versions, Extra: b.st.extra}}
}

func (b *builder) close(id, version, why string) {
	if _, active := b.st.versions[id]; !active {
		if e, ok := b.out[id]; !ok || e.Closed {
			return
		}
	}
	if version == "" {
		version = b.st.versions[id]
	}
	delete(b.st.versions, id)
	delete(b.st.extra, "expires:"+id)
	b.out[id] = indicators.Event{ID: id, Source: b.s.env.Name, Version: version, Closed: true,
		Properties: map[string]any{"closed_because": why}}
}

func eventID(sender, identifier string) string { return Kind + ":" + sender + ":" + identifier }

// apply folds one alert into the run: the chain root keeps one event id;
// other referenced events end; Cancel and expired messages end the event.
func (b *builder) apply(d doc) {
	a := d.alert
	root := b.chainRoot(a)
	b.st.extra[d.key] = d.entry + "\t" + root
	if !containsFold(b.s.cfg.Statuses, a.Status) {
		b.st.extra[d.key] = d.entry + "\t"
		return
	}
	mt := strings.ToLower(a.MsgType)
	if mt == "ack" || mt == "error" {
		b.st.extra[d.key] = d.entry + "\t"
		return
	}
	own := eventID(a.Sender, a.Identifier)
	b.st.extra["alias:"+own] = root
	for _, r := range ParseReferences(a.References) {
		rid := eventID(r.Sender, r.Identifier)
		if rid != root {
			b.close(rid, a.Sent, "superseded by "+own)
		}
		b.st.extra["alias:"+rid] = root
	}
	sent := sentOf(a)
	if prev, ok := b.st.versions[root]; ok {
		if pt, err := ParseTime(prev); err == nil && !sent.After(pt) {
			return // an older or repeated message: already applied
		}
	}
	if mt == "cancel" {
		b.close(root, a.Sent, "cancelled by "+own)
		return
	}
	ev, err := b.s.event(root, a, b.now)
	if err != nil {
		b.problems = append(b.problems, adapter.Classify(adapter.Permanent, b.s.env.Name, d.url, err))
		return
	}
	for _, p := range ev.problems {
		b.problems = append(b.problems, adapter.Classify(adapter.Permanent, b.s.env.Name, d.url, p))
	}
	if !ev.ValidTo.IsZero() && !ev.ValidTo.After(b.now) {
		b.close(root, a.Sent, "expired")
		return
	}
	b.st.versions[root] = a.Sent
	if !ev.ValidTo.IsZero() {
		b.st.extra["expires:"+root] = ev.ValidTo.UTC().Format(time.RFC3339)
	} else {
		delete(b.st.extra, "expires:"+root)
	}
	b.out[root] = ev.Event
}

// chainRoot is the event id of the first alert in the references chain:
// a known alias of any referenced message, else the earliest reference.
func (b *builder) chainRoot(a *Alert) string {
	refs := ParseReferences(a.References)
	sort.SliceStable(refs, func(i, j int) bool {
		ti, _ := ParseTime(refs[i].Sent)
		tj, _ := ParseTime(refs[j].Sent)
		return ti.Before(tj)
	})
	for _, r := range refs {
		if root, ok := b.st.extra["alias:"+eventID(r.Sender, r.Identifier)]; ok && root != "" {
			return root
		}
	}
	if len(refs) > 0 {
		return eventID(refs[0].Sender, refs[0].Identifier)
	}
	if root, ok := b.st.extra["alias:"+eventID(a.Sender, a.Identifier)]; ok && root != "" {
		return root
	}
	return eventID(a.Sender, a.Identifier)
}

// closeMissing ends active events no entry of the index maps to any more.
func (b *builder) closeMissing(present map[string]bool) {
	live := map[string]bool{}
	for k, v := range b.st.extra {
		if strings.HasPrefix(k, "doc:") && present[k] {
			if _, root, ok := strings.Cut(v, "\t"); ok && root != "" {
				live[root] = true
			}
		}
	}
	for id := range b.st.versions {
		if !live[id] {
			b.close(id, "", "no longer in the index")
		}
	}
}

// expire ends active events past their expires time.
func (b *builder) expire() {
	for id := range b.st.versions {
		if t, err := time.Parse(time.RFC3339, b.st.extra["expires:"+id]); err == nil && !t.After(b.now) {
			b.close(id, "", "expired")
		}
	}
}

// prune drops cursor entries for documents gone from the index and aliases
// of ended chains, so the cursor stays the size of the active set.
func (b *builder) prune(present map[string]bool) {
	for k, v := range b.st.extra {
		switch {
		case strings.HasPrefix(k, "doc:") && !present[k]:
			delete(b.st.extra, k)
		case strings.HasPrefix(k, "alias:"):
			if _, active := b.st.versions[v]; !active {
				delete(b.st.extra, k)
			}
		}
	}
}

type builtEvent struct {
	indicators.Event
	problems []error
}

// pickInfos returns the <info> blocks of the preferred language (all of
// them: NSW RFS sends one per category with different areas).
func pickInfos(infos []Info, langs []string) []Info {
	lang := func(i Info) string {
		if i.Language == "" {
			return "en-us" // the CAP default
		}
		return strings.ToLower(strings.TrimSpace(i.Language))
	}
	for _, want := range langs {
		want = strings.ToLower(want)
		var out []Info
		for _, i := range infos {
			if l := lang(i); l == want || strings.HasPrefix(l, want+"-") {
				out = append(out, i)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if len(infos) == 0 {
		return nil
	}
	first := lang(infos[0])
	var out []Info
	for _, i := range infos {
		if lang(i) == first {
			out = append(out, i)
		}
	}
	return out
}

// event builds the event for an alert under the chain's id.
func (s *Source) event(id string, a *Alert, now time.Time) (builtEvent, error) {
	infos := pickInfos(a.Infos, s.cfg.Languages)
	if len(infos) == 0 {
		return builtEvent{}, fmt.Errorf("alert %s has no <info> block", a.Identifier)
	}
	sent, err := ParseTime(a.Sent)
	if err != nil {
		return builtEvent{}, fmt.Errorf("alert %s: sent: %w", a.Identifier, err)
	}
	first := infos[0]
	var out builtEvent
	ev := &out.Event
	*ev = indicators.Event{ID: id, Source: s.env.Name, Version: a.Sent, Issued: sent}
	// Severity and type: the most severe info decides.
	var texts, codes []string
	var areaDescs, geocodes []string
	ucodes := map[string]bool{}
	for _, in := range infos {
		sev := s.severity[strings.ToLower(strings.TrimSpace(in.Severity))]
		if sev > ev.Severity || ev.NativeSeverity == "" {
			ev.Severity = max(ev.Severity, sev)
			ev.NativeSeverity = fmt.Sprintf("CAP %s/%s/%s", strings.TrimSpace(in.Severity), strings.TrimSpace(in.Certainty), strings.TrimSpace(in.Urgency))
		}
		texts = append(texts, in.Event)
		for _, ec := range in.EventCode {
			for _, p := range ec.Pairs() {
				codes = append(codes, p[1])
				texts = append(texts, strings.ReplaceAll(p[1], "_", " "))
			}
		}
	}
	t, ok := s.classes.classify(texts, codes)
	if !ok {
		for _, in := range infos {
			for _, c := range in.Category {
				if strings.EqualFold(strings.TrimSpace(c), "Fire") {
					t = indicators.Wildfire
				}
			}
		}
	}
	ev.Type = t
	// Times: onset (else effective, else sent) to expires.
	start := sent
	for _, v := range []string{first.Onset, first.Effective} {
		if strings.TrimSpace(v) != "" {
			if tt, err := ParseTime(v); err == nil {
				start = tt
				break
			}
		}
	}
	ev.ValidFrom = start
	if strings.TrimSpace(first.Expires) != "" {
		if tt, err := ParseTime(first.Expires); err == nil {
			ev.ValidTo = tt
		} else {
			out.problems = append(out.problems, fmt.Errorf("alert %s: expires: %w", a.Identifier, err))
		}
	}
	urg := strings.ToLower(strings.TrimSpace(first.Urgency))
	ev.Phase = indicators.Observed
	if start.After(now) || urg == "future" || urg == "expected" {
		ev.Phase = indicators.Forecast
	}
	ev.Title = firstNonEmpty(first.Headline, first.Event)
	// Geometry and geocodes.
	for _, in := range infos {
		sev := s.severity[strings.ToLower(strings.TrimSpace(in.Severity))]
		band := "CAP " + firstNonEmpty(in.Severity, "Unknown")
		for _, ar := range in.Areas {
			if d := strings.TrimSpace(ar.AreaDesc); d != "" {
				areaDescs = append(areaDescs, d)
			}
			fp := func(g orb.Geometry) {
				ev.Footprints = append(ev.Footprints, indicators.Footprint{Geometry: g, Band: band, Severity: sev, ValidFrom: ev.ValidFrom, ValidTo: ev.ValidTo})
			}
			for _, ps := range ar.Polygon {
				if strings.TrimSpace(ps) == "" {
					continue // NWS Atom sends <cap:polygon></cap:polygon>
				}
				poly, err := ParsePolygon(ps)
				if err == nil {
					var g orb.Geometry
					if g, err = indicators.NormalizeGeometry(poly); err == nil {
						fp(g)
						continue
					}
				}
				out.problems = append(out.problems, fmt.Errorf("alert %s area %q: polygon: %w", a.Identifier, ar.AreaDesc, err))
			}
			for _, cs := range ar.Circle {
				if strings.TrimSpace(cs) == "" {
					continue
				}
				c, r, err := ParseCircle(cs)
				if err != nil {
					out.problems = append(out.problems, fmt.Errorf("alert %s area %q: %w", a.Identifier, ar.AreaDesc, err))
					continue
				}
				if r == 0 {
					fp(c)
				} else {
					fp(indicators.Circle(c, r, s.cfg.CircleVertices))
				}
			}
			for _, gc := range ar.Geocode {
				for _, p := range gc.Pairs() {
					geocodes = append(geocodes, p[0]+"="+p[1])
					for _, u := range s.geocodes[geocodeKey(p[0], p[1])] {
						ucodes[u] = true
					}
				}
			}
		}
	}
	for u := range ucodes {
		ev.Areas = append(ev.Areas, u)
	}
	sort.Strings(ev.Areas)
	if len(ev.Footprints) == 0 && len(ev.Areas) == 0 && len(geocodes) > 0 {
		out.problems = append(out.problems, fmt.Errorf("alert %s: no polygon or circle, and none of its %d geocodes is in the geocode table: it covers no area", a.Identifier, len(geocodes)))
	}
	props := map[string]any{
		"sender": a.Sender, "identifier": a.Identifier, "msg_type": a.MsgType, "status": a.Status,
		"event": strings.TrimSpace(first.Event), "urgency": strings.TrimSpace(first.Urgency),
		"certainty": strings.TrimSpace(first.Certainty), "severity": strings.TrimSpace(first.Severity),
	}
	if first.Language != "" {
		props["language"] = first.Language
	}
	if a.References != "" {
		props["references"] = a.References
	}
	if len(areaDescs) > 0 {
		props["area_desc"] = strings.Join(areaDescs, "; ")
	}
	if len(geocodes) > 0 {
		if len(geocodes) > 200 {
			geocodes = geocodes[:200]
		}
		props["geocodes"] = geocodes
	}
	if w := strings.TrimSpace(first.Web); w != "" {
		props["web"] = w
	}
	ev.Properties = props
	return out, nil
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(strings.TrimSpace(l), strings.TrimSpace(s)) {
			return true
		}
	}
	return false
}
