package refserver

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, in a registry of its own so that several servers
// in one process (tests, the embedded target) never collide.
type metrics struct {
	reg           *prometheus.Registry
	connections   prometheus.Gauge
	subscriptions prometheus.Gauge
	messagesIn    prometheus.Counter
	messagesOut   prometheus.Counter
	httpEvents    prometheus.Counter
	errors        *prometheus.CounterVec
	httpRequests  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pushcert_connections", Help: "Open WebSocket connections."}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pushcert_subscriptions", Help: "Channel subscriptions of open connections."}),
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pushcert_messages_in_total", Help: "WebSocket frames received from clients."}),
		messagesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pushcert_messages_out_total", Help: "Channel event deliveries queued to clients."}),
		httpEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pushcert_http_events_total", Help: "Events published through the HTTP API, per channel."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_errors_total", Help: "pusher:error replies and closes, by code (null when none)."}, []string{"code"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pushcert_http_requests_total", Help: "HTTP API requests by endpoint and status."}, []string{"endpoint", "status"}),
	}
	m.reg.MustRegister(m.connections, m.subscriptions, m.messagesIn, m.messagesOut, m.httpEvents, m.errors, m.httpRequests,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
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
