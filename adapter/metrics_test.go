package adapter

import (
	"testing"
	"time"

	"github.com/hazardsync/hazardsync/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
)

// count is how many series a collector exposes.
func count(t *testing.T, c prometheus.Collector) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 1000)
	c.Collect(ch)
	close(ch)
	return len(ch)
}

// TestMetricsInit: every alertable series exists at 0 from start-up, so
// increase() sees the first failure; a reload adds new sources' series and
// drops removed ones, and never resets a count.
func TestMetricsInit(t *testing.T) {
	m := NewMetrics()
	m.Init([]string{"usgs", "gdacs"}, map[string]int{"geosight": 7})
	assert.Equal(t, 2*len(FetchClasses), count(t, m.FetchErrors))
	assert.Equal(t, len(ValueOutcomes), count(t, m.Values))
	assert.Equal(t, len(ReloadResults), count(t, m.Reloads))
	assert.Equal(t, 2, count(t, m.FetchSuccess))
	assert.Equal(t, 7.0, testutil.MetricValue(t, m.OutboxDepth.WithLabelValues("geosight")))
	assert.Equal(t, 0.0, testutil.MetricValue(t, m.SinkUp.WithLabelValues("geosight")))

	m.FetchErrors.WithLabelValues("usgs", "auth").Inc()
	m.Values.WithLabelValues("geosight", "failed").Add(3)
	m.Init([]string{"usgs", "cap"}, map[string]int{"geosight": 2, "postgis": 0})
	assert.Equal(t, 1.0, testutil.MetricValue(t, m.FetchErrors.WithLabelValues("usgs", "auth")), "a reload keeps counts")
	assert.Equal(t, 3.0, testutil.MetricValue(t, m.Values.WithLabelValues("geosight", "failed")))
	assert.Equal(t, 2*len(FetchClasses), count(t, m.FetchErrors), "gdacs dropped, cap added")
	assert.Equal(t, 2, count(t, m.LastSuccess))
	assert.Equal(t, 2*len(ValueOutcomes), count(t, m.Values), "a second sink's series")
	m.Init([]string{"usgs", "cap"}, map[string]int{"geosight": 2})
	assert.Equal(t, len(ValueOutcomes), count(t, m.Values), "a removed sink's series go")
	assert.Equal(t, 3.0, testutil.MetricValue(t, m.Values.WithLabelValues("geosight", "failed")))

	at := time.Unix(1_800_000_000, 0)
	m.Delivered("geosight", true, 0, at)
	assert.Equal(t, 1.0, testutil.MetricValue(t, m.SinkUp.WithLabelValues("geosight")))
	assert.Equal(t, float64(at.Unix()), testutil.MetricValue(t, m.SinkLastOK.WithLabelValues("geosight")))
	m.Delivered("geosight", false, 5, at.Add(time.Hour))
	assert.Equal(t, 0.0, testutil.MetricValue(t, m.SinkUp.WithLabelValues("geosight")))
	assert.Equal(t, float64(at.Unix()), testutil.MetricValue(t, m.SinkLastOK.WithLabelValues("geosight")), "last success stays")
	assert.Equal(t, 5.0, testutil.MetricValue(t, m.OutboxDepth.WithLabelValues("geosight")))
}
