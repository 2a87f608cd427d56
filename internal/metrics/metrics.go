// Package metrics holds the Prometheus collectors of one process, on a
// registry of its own (no global default registry, so tests can build many).
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the process's collectors.
type Metrics struct {
	Registry        *prometheus.Registry
	WebhookRequests *prometheus.CounterVec
	WebhookDuration prometheus.Histogram
	WebhookProcess  *prometheus.CounterVec
	Jobs            *prometheus.CounterVec
	JobDuration     *prometheus.HistogramVec
}

// New registers the collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "booksmeta_webhook_requests_total",
			Help: "Webhook requests by outcome (accepted, duplicate, rejected, invalid, too_large, error).",
		}, []string{"outcome"}),
		WebhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "booksmeta_webhook_request_duration_seconds",
			Help:    "Time to answer a webhook request, including the durable commit.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		WebhookProcess: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "booksmeta_webhook_processed_total",
			Help: "Accepted webhook events processed, by result (done, ignored, failed, retrying).",
		}, []string{"result"}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "booksmeta_jobs_total",
			Help: "Background jobs run, by kind and outcome (done, retry, failed).",
		}, []string{"kind", "outcome"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "booksmeta_job_duration_seconds",
			Help: "Background job run time by kind.",
		}, []string{"kind"}),
	}
	m.Registry.MustRegister(m.WebhookRequests, m.WebhookDuration, m.WebhookProcess, m.Jobs, m.JobDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Zero series for every outcome, so dashboards show 0 rather than nothing.
	for _, o := range []string{"accepted", "duplicate", "rejected", "invalid", "too_large", "error"} {
		m.WebhookRequests.WithLabelValues(o)
	}
	for _, r := range []string{"done", "ignored", "failed", "retrying"} {
		m.WebhookProcess.WithLabelValues(r)
	}
	return m
}

// ObserveJob records a job outcome.
func (m *Metrics) ObserveJob(kind, outcome string, d time.Duration) {
	m.Jobs.WithLabelValues(kind, outcome).Inc()
	m.JobDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
