package postgis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/hazardsync/hazardsync/indicators"
)

// footprintRow is one row of the footprints table.
type footprintRow struct {
	EventID, Source, Version, HazardType, Title, Phase, Severity, NativeSeverity, Band, Unit string
	Intensity                                                                                *float64
	Issued, ValidFrom, ValidTo                                                               *time.Time
	WKB                                                                                      []byte
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// footprintRows turns active events into rows, sorted by event for a stable
// content hash. Points and lines do not fit the MultiPolygon column: they
// are counted as skipped.
func footprintRows(events []indicators.Event) (rows []footprintRow, skipped int) {
	evs := append([]indicators.Event(nil), events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	for _, e := range evs {
		for _, fp := range e.Footprints {
			mp := multiPolygon(fp.Geometry)
			if len(mp) == 0 {
				if fp.Geometry != nil {
					skipped++
				}
				continue
			}
			from, to := fp.ValidFrom, fp.ValidTo
			if from.IsZero() {
				from = e.ValidFrom
			}
			if to.IsZero() {
				to = e.ValidTo
			}
			var intensity *float64
			if fp.Intensity != 0 {
				x := fp.Intensity
				intensity = &x
			}
			b, err := wkb.Marshal(mp)
			if err != nil {
				skipped++
				continue
			}
			rows = append(rows, footprintRow{EventID: e.ID, Source: e.Source, Version: e.Version,
				HazardType: string(e.Type), Title: e.Title, Phase: string(e.Phase),
				Severity: fp.SeverityOr(e.Severity).String(), NativeSeverity: e.NativeSeverity,
				Band: fp.Band, Unit: fp.Unit, Intensity: intensity,
				Issued: optTime(e.Issued), ValidFrom: optTime(from), ValidTo: optTime(to), WKB: b})
		}
	}
	return rows, skipped
}

// multiPolygon keeps the polygonal part of g, rings closed and degenerate
// rings dropped (PostGIS refuses unclosed or too-short rings).
func multiPolygon(g orb.Geometry) orb.MultiPolygon {
	var out orb.MultiPolygon
	var walk func(orb.Geometry)
	walk = func(g orb.Geometry) {
		switch g := g.(type) {
		case orb.Polygon:
			if p := cleanPolygon(g); p != nil {
				out = append(out, p)
			}
		case orb.MultiPolygon:
			for _, p := range g {
				walk(p)
			}
		case orb.Bound:
			walk(g.ToPolygon())
		case orb.Collection:
			for _, c := range g {
				walk(c)
			}
		}
	}
	walk(g)
	return out
}

func cleanPolygon(p orb.Polygon) orb.Polygon {
	var out orb.Polygon
	for i, r := range p {
		if len(r) > 0 && r[0] != r[len(r)-1] {
			r = append(append(orb.Ring(nil), r...), r[0])
		}
		if len(r) < 4 {
			if i == 0 {
				return nil // no outer ring: no polygon
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// PublishFootprints replaces the footprints table with the footprints of
// the events active now, in one transaction, so readers see the old set or
// the new one. An unchanged set is not rewritten; an empty one empties the
// table (the last event ended). With footprints: false it does nothing.
func (s *Sink) PublishFootprints(ctx context.Context, events []indicators.Event) error {
	if !s.cfg.Footprints {
		return nil
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	now := s.now()
	var active []indicators.Event
	for _, e := range events {
		if e.ActiveAt(now) {
			active = append(active, e)
		}
	}
	rows, skipped := footprintRows(active)
	b, _ := json.Marshal(rows) // plain strings, numbers, times and bytes: cannot fail
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:])
	s.mu.Lock()
	same := s.fpHash == hash
	s.mu.Unlock()
	if same {
		s.log.Debug("footprints unchanged; not rewritten", "footprints", len(rows))
		return nil
	}
	q := `INSERT INTO ` + s.n.footprints + ` (event_id, source, version, hazard_type, title, phase, severity,
  native_severity, band, intensity, unit, issued, valid_from, valid_to, geom)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, ST_Multi(ST_GeomFromWKB($15, 4326)))`
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM ` + s.n.footprints)
		for _, r := range rows {
			b.Queue(q, r.EventID, r.Source, r.Version, r.HazardType, r.Title, r.Phase, r.Severity,
				r.NativeSeverity, r.Band, r.Intensity, r.Unit, r.Issued, r.ValidFrom, r.ValidTo, r.WKB)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return s.classify("replacing footprints", err)
	}
	s.mu.Lock()
	s.fpHash = hash
	s.mu.Unlock()
	s.log.Info("footprints published", "events", len(active), "footprints", len(rows), "skipped_not_polygon", skipped)
	return nil
}
