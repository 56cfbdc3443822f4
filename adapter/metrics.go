package adapter

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// Metrics are everything an operator watches, on /metrics. Logs never carry
// these numbers.
type Metrics struct {
	Registry *prometheus.Registry

	FetchDuration *prometheus.HistogramVec
	FetchSuccess  *prometheus.GaugeVec
	LastSuccess   *prometheus.GaugeVec
	FetchErrors   *prometheus.CounterVec
	SourceEvents  *prometheus.GaugeVec
	Values        *prometheus.CounterVec
	OutboxDepth   *prometheus.GaugeVec
	SinkUp        *prometheus.GaugeVec
	SinkLastOK    *prometheus.GaugeVec
	Reloads       *prometheus.CounterVec
	SyncDuration  prometheus.Histogram
	Warnings      *prometheus.GaugeVec
	// Overlay: footprints measured or reused from the cache per sync, and
	// the hits of the last sync.
	OverlayFootprints *prometheus.CounterVec
	OverlayPairs      prometheus.Gauge
	OverlayDuration   prometheus.Histogram

	mu      sync.Mutex
	sources map[string]bool // label values created by Init
	sinks   map[string]bool
}

// NewMetrics registers hazardsync's metrics on a fresh registry (plus the Go
// and process collectors).
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		FetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hazardsync_source_fetch_duration_seconds", Help: "Duration of source fetches.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"source"}),
		FetchSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_source_up", Help: "1 if the source's last fetch succeeded (or had no new data), else 0.",
		}, []string{"source"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_source_last_success_timestamp_seconds", Help: "Unix time of the source's last successful fetch.",
		}, []string{"source"}),
		FetchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazardsync_source_fetch_errors_total", Help: "Failed source fetches by error class.",
		}, []string{"source", "class"}),
		SourceEvents: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_source_events", Help: "Active events held for the source.",
		}, []string{"source"}),
		Values: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazardsync_sink_values_total", Help: "Values by outcome: sent, unchanged, rejected, retried, failed.",
		}, []string{"sink", "outcome"}),
		OutboxDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_outbox_depth", Help: "Values waiting in the outbox for delivery.",
		}, []string{"sink"}),
		SinkUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_sink_up", Help: "1 if the sink's last delivery pass reached it and nothing failed (rejected values aside), else 0; 0 until the first pass.",
		}, []string{"sink"}),
		SinkLastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_sink_last_success_timestamp_seconds", Help: "Unix time of the sink's last delivery pass in which nothing failed; 0 until then.",
		}, []string{"sink"}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hazardsync_config_reloads_total", Help: "Config reloads by result (ok, failed).",
		}, []string{"result"}),
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hazardsync_sync_duration_seconds", Help: "Duration of compute-and-deliver passes.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}),
		Warnings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hazardsync_warnings_active", Help: "Areas currently at each early-warning level.",
		}, []string{"indicator", "level"}),
	}
	m.OverlayFootprints = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hazardsync_overlay_footprints_total", Help: "Footprint geometries overlaid on the areas, by result: computed (new or changed) or reused (cached).",
	}, []string{"result"})
	m.OverlayPairs = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hazardsync_overlay_hits", Help: "(area, footprint) hits in the last sync's overlay.",
	})
	m.OverlayDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "hazardsync_overlay_duration_seconds", Help: "Duration of the per-sync overlay of footprints on areas.",
		Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
	})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hazardsync_build_info", Help: "Build information; always 1.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(Version, runtime.Version()).Set(1)
	r.MustRegister(m.FetchDuration, m.FetchSuccess, m.LastSuccess, m.FetchErrors, m.SourceEvents, m.Values,
		m.OutboxDepth, m.SinkUp, m.SinkLastOK, m.Reloads, m.SyncDuration, m.Warnings,
		m.OverlayFootprints, m.OverlayPairs, m.OverlayDuration, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Outcomes and error classes every series is created for at start, so an
// alert on increase() sees the first one.
var (
	ValueOutcomes = []string{"sent", "unchanged", "rejected", "retried", "failed"}
	FetchClasses  = []string{Retryable.String(), Permanent.String(), Auth.String(), Partial.String()}
	ReloadResults = []string{"ok", "failed"}
)

// Init creates, at 0, every series the operating guide tells people to
// alert on, for the configured sources and sinks, and sets each sink's
// outbox depth to what the store holds (sinks: name → pending). Series of
// sources and sinks no longer configured are removed. Safe to call again after a reload; it never
// resets a series that exists.
func (m *Metrics) Init(sources []string, sinks map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[string]bool{}
	for _, s := range sources {
		now[s] = true
		m.FetchSuccess.WithLabelValues(s)
		m.LastSuccess.WithLabelValues(s)
		m.SourceEvents.WithLabelValues(s)
		m.FetchDuration.WithLabelValues(s)
		for _, c := range FetchClasses {
			m.FetchErrors.WithLabelValues(s, c)
		}
	}
	for s := range m.sources {
		if !now[s] {
			for _, v := range []interface {
				DeletePartialMatch(prometheus.Labels) int
			}{m.FetchSuccess, m.LastSuccess, m.SourceEvents, m.FetchErrors, m.FetchDuration} {
				v.DeletePartialMatch(prometheus.Labels{"source": s})
			}
		}
	}
	m.sources = now
	nowSinks := map[string]bool{}
	for sink, pending := range sinks {
		nowSinks[sink] = true
		for _, o := range ValueOutcomes {
			m.Values.WithLabelValues(sink, o)
		}
		m.SinkUp.WithLabelValues(sink)
		m.SinkLastOK.WithLabelValues(sink)
		m.OutboxDepth.WithLabelValues(sink).Set(float64(pending))
	}
	for s := range m.sinks {
		if !nowSinks[s] {
			for _, v := range []interface {
				DeletePartialMatch(prometheus.Labels) int
			}{m.Values, m.SinkUp, m.SinkLastOK, m.OutboxDepth} {
				v.DeletePartialMatch(prometheus.Labels{"sink": s})
			}
		}
	}
	m.sinks = nowSinks
	for _, r := range ReloadResults {
		m.Reloads.WithLabelValues(r)
	}
}

// Delivered records the end of a delivery pass: whether it got through
// (set-up accepted and no value failed), and what is left in the outbox.
func (m *Metrics) Delivered(sink string, ok bool, pending int, at time.Time) {
	m.OutboxDepth.WithLabelValues(sink).Set(float64(pending))
	if ok {
		m.SinkUp.WithLabelValues(sink).Set(1)
		m.SinkLastOK.WithLabelValues(sink).Set(float64(at.Unix()))
		return
	}
	m.SinkUp.WithLabelValues(sink).Set(0)
}
