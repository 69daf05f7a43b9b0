package refserver

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, in a registry of its own so that several servers
// in one process (tests, the embedded target) never collide. The series of an app's traffic
// carry its app_id; each app resolves its own (appMetrics) once, so that counting a delivery
// never looks a label up.
type metrics struct {
	reg           *prometheus.Registry
	connections   *prometheus.GaugeVec
	subscriptions *prometheus.GaugeVec
	messagesIn    *prometheus.CounterVec
	messagesOut   *prometheus.CounterVec
	httpEvents    *prometheus.CounterVec
	errors        *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
	sendQueuePeak prometheus.Histogram

	webhooksSent, webhooksFailed, webhooksRetried prometheus.Counter
	webhookDrops                                  *prometheus.CounterVec
}

// appMetrics are one app's series.
type appMetrics struct {
	connections, subscriptions prometheus.Gauge
	messagesIn, messagesOut    prometheus.Counter
	httpEvents                 prometheus.Counter
	errors                     *prometheus.CounterVec // by code: curried with the app's id
}

func newMetrics() *metrics {
	app := []string{"app_id"}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pushcert_connections", Help: "Open WebSocket connections."}, app),
		subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pushcert_subscriptions", Help: "Channel subscriptions of open connections."}, app),
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_messages_in_total", Help: "WebSocket frames received from clients."}, app),
		messagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_messages_out_total", Help: "Channel event deliveries queued to clients."}, app),
		httpEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_http_events_total", Help: "Events published through the HTTP API, per channel."}, app),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_errors_total", Help: "pusher:error replies and closes, by code (null when none)."}, []string{"app_id", "code"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_http_requests_total", Help: "HTTP API requests by app (unknown for an id the server does not have), endpoint and status."}, []string{"app_id", "endpoint", "status"}),
	}
	m.sendQueuePeak = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "pushcert_send_queue_peak_bytes", Help: "Per closed connection: the most bytes of frames it had waiting to be written.",
		Buckets: prometheus.ExponentialBuckets(1<<10, 4, 8)}) // 1 KiB .. 16 MiB
	m.webhooksSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pushcert_webhooks_sent_total", Help: "Webhook requests acknowledged with a 2xx answer."})
	m.webhooksFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pushcert_webhooks_failed_total", Help: "Webhook requests answered with a non-2xx status or not answered in time."})
	m.webhooksRetried = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pushcert_webhooks_retried_total", Help: "Webhook requests that were a retry of a batch not acknowledged before."})
	m.webhookDrops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pushcert_webhook_events_dropped_total", Help: "Webhook events that will never be sent, by reason (queue_full, retry_expired, shutdown)."}, []string{"reason"})
	m.reg.MustRegister(m.webhooksSent, m.webhooksFailed, m.webhooksRetried, m.webhookDrops)
	m.reg.MustRegister(m.connections, m.subscriptions, m.messagesIn, m.messagesOut, m.httpEvents, m.errors, m.httpRequests, m.sendQueuePeak,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// wireBytes adds an app's bytes written and read, summed over its connections when scraped
// (nothing on the read and write paths but each connection's own counters).
func (m *metrics) wireBytes(id string, wire func() wireBytes) {
	labels := prometheus.Labels{"app_id": id}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushcert_websocket_sent_bytes_total",
			Help: "Bytes written to clients' WebSocket connections after the handshake, frame headers included.", ConstLabels: labels},
			func() float64 { return float64(wire().sent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushcert_websocket_received_bytes_total",
			Help: "Bytes read from clients' WebSocket connections after the handshake, frame headers included.", ConstLabels: labels},
			func() float64 { return float64(wire().received) }))
}

// forApp resolves an app's series; each shows from the start, at 0.
func (m *metrics) forApp(id string) *appMetrics {
	return &appMetrics{
		connections:   m.connections.WithLabelValues(id),
		subscriptions: m.subscriptions.WithLabelValues(id),
		messagesIn:    m.messagesIn.WithLabelValues(id),
		messagesOut:   m.messagesOut.WithLabelValues(id),
		httpEvents:    m.httpEvents.WithLabelValues(id),
		errors:        m.errors.MustCurryWith(prometheus.Labels{"app_id": id}),
	}
}

// sendQueues adds the server-wide figures of the send queues: the bytes waiting now, summed when
// scraped (nothing on the delivery path), and each connection's budget.
func (m *metrics) sendQueues(queued func() float64, budget int) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pushcert_send_queue_bytes",
			Help: "Bytes of frames waiting to be written, all connections together."}, queued),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pushcert_send_queue_budget_bytes",
			Help: "The bytes a connection may have waiting before it is closed with 4100."}, func() float64 { return float64(budget) }))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func codeLabel(code int) string {
	if code == 0 {
		return "null"
	}
	return strconv.Itoa(code)
}
