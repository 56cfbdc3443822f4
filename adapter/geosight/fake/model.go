package fake

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"
)

// ServerModel imitates how fast a real GeoSight answers: Workers uwsgi
// workers share Cores CPU cores, so a request's time grows with the number
// busy beyond Cores; requests beyond Workers wait, and beyond Queue more
// nginx answers 502. Durations are medians with every worker busy; value
// inserts spread as a log-normal with the given p90.
type ServerModel struct {
	Workers, Cores, Queue int
	// Insert and InsertP90: a value POST creating a row; Upsert: one
	// updating a row; Other: any other API request.
	Insert, InsertP90, Upsert, Other time.Duration
}

// RealGeoSight is GeoSight-OS 516c4db7 as measured on a 2-core machine with
// its deployment's 4 uwsgi workers (../shared/geosight-real): at
// concurrency 4 a value insert takes ~350 ms (p90 ~570 ms), an upsert ~120
// ms; a lone POST ~60 ms. About 11 inserts/s at best, whatever the client's
// concurrency.
var RealGeoSight = ServerModel{Workers: 4, Cores: 2, Queue: 100,
	Insert: 350 * time.Millisecond, InsertP90: 570 * time.Millisecond, Upsert: 120 * time.Millisecond,
	Other: 120 * time.Millisecond}

// Scaled is the model with every duration multiplied by f (tests run the
// same curve faster).
func (m ServerModel) Scaled(f float64) ServerModel {
	sc := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
	m.Insert, m.InsertP90, m.Upsert, m.Other = sc(m.Insert), sc(m.InsertP90), sc(m.Upsert), sc(m.Other)
	return m
}

// modelState is the model's queue: worker slots and the count waiting.
type modelState struct {
	slots   chan struct{}
	waiting int
}

// serviceTime is how long one request takes with busy workers.
func (s *Server) serviceTime(m *ServerModel, r *http.Request, body []byte, busy int) time.Duration {
	base, spread := m.Other, 0.0
	if r.Method == http.MethodPost && strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/data-browser") {
		if s.valueExists(body) {
			base = m.Upsert
		} else {
			base, spread = m.Insert, math.Log(float64(m.InsertP90)/float64(m.Insert))/1.2816
		}
	}
	s.mu.Lock()
	z := s.rng.NormFloat64()
	s.mu.Unlock()
	d := float64(base) * math.Exp(spread*z)
	// The figures hold with every worker busy; fewer busy share the cores.
	load := float64(max(busy, m.Cores)) / float64(max(m.Workers, m.Cores))
	return time.Duration(d * load)
}

// valueExists says whether a data-browser POST body would update a row.
func (s *Server) valueExists(body []byte) bool {
	var b struct {
		ID        any    `json:"indicator_id"`
		Shortcode string `json:"indicator_shortcode"`
		Date      string `json:"date"`
		GeomID    string `json:"geom_id"`
	}
	if json.Unmarshal(body, &b) != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ind := range s.st.Indicators {
		if ind.Shortcode == b.Shortcode {
			_, ok := s.st.Values[valueKey(ind.ID, b.Date, b.GeomID)]
			return ok
		}
	}
	return false
}

// modelWait holds a request as the modelled server would: in the queue
// until a worker is free, then for its service time. It returns false when
// the queue is full (the caller answers 502) or the client went away.
func (s *Server) modelWait(m *ServerModel, r *http.Request, body []byte) (release func(), ok bool) {
	s.mu.Lock()
	if s.model == nil || cap(s.model.slots) != m.Workers {
		s.model = &modelState{slots: make(chan struct{}, m.Workers)}
	}
	st := s.model
	if st.waiting >= m.Queue+m.Workers {
		s.mu.Unlock()
		return nil, false
	}
	st.waiting++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		st.waiting--
		s.mu.Unlock()
	}
	select {
	case st.slots <- struct{}{}:
	case <-r.Context().Done():
		done()
		return nil, false
	}
	d := s.serviceTime(m, r, body, len(st.slots))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	return func() { <-st.slots; done() }, true
}
