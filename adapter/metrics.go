package adapter

import (
	"runtime"

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
	Reloads       *prometheus.CounterVec
	SyncDuration  prometheus.Histogram
	Warnings      *prometheus.GaugeVec
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
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hazardsync_build_info", Help: "Build information; always 1.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(Version, runtime.Version()).Set(1)
	r.MustRegister(m.FetchDuration, m.FetchSuccess, m.LastSuccess, m.FetchErrors, m.SourceEvents, m.Values,
		m.OutboxDepth, m.Reloads, m.SyncDuration, m.Warnings, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
