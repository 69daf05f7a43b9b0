package refserver

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/pushcert/pushcert/internal/protocol"
)

// seriesValue is the value of one series of a /metrics text, which must have it (name with its labels as printed).
func seriesValue(t *testing.T, text, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("/metrics has no %s", series)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMetricsPerApp: an app's traffic counts under its app_id, bytes included, and not under
// another app's; an HTTP request for an id the server does not have counts as unknown; the
// exposition passes Prometheus's own linter (names, units, _total on counters).
func TestMetricsPerApp(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Apps = append(c.Apps, App{ID: "other", Key: "other-key", Secret: "other-secret"})
	})
	c := ts.dial()
	c.subscribe("room", "", "")
	c.expect(protocol.EventSubscriptionSucceeded)
	ts.trigger("room", "seat", strings.Repeat("x", 1000))
	c.expect("seat")
	if status, _ := ts.rawAPI("POST", "/apps/nope/events?"+url.Values{}.Encode(), []byte("{}")); status != 404 {
		t.Fatalf("unknown app: %d", status)
	}
	_, text := ts.rawAPI("GET", "/metrics", nil)
	for series, want := range map[string]float64{
		`pushcert_connections{app_id="1"}`:                                              1,
		`pushcert_connections{app_id="other"}`:                                          0,
		`pushcert_subscriptions{app_id="1"}`:                                            1,
		`pushcert_messages_out_total{app_id="1"}`:                                       1,
		`pushcert_messages_out_total{app_id="other"}`:                                   0,
		`pushcert_http_events_total{app_id="1"}`:                                        1,
		`pushcert_http_requests_total{app_id="1",endpoint="events",status="200"}`:       1,
		`pushcert_http_requests_total{app_id="unknown",endpoint="events",status="404"}`: 1,
		`pushcert_websocket_sent_bytes_total{app_id="other"}`:                           0,
	} {
		if got := seriesValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if sent := seriesValue(t, text, `pushcert_websocket_sent_bytes_total{app_id="1"}`); sent < 1000 {
		t.Errorf("bytes sent to app 1's client: %v, want at least the 1,000-byte event", sent)
	}
	if got := seriesValue(t, text, `pushcert_websocket_received_bytes_total{app_id="1"}`); got < float64(len(`{"event":"pusher:subscribe"}`)) {
		t.Errorf("bytes received from app 1's client: %v", got)
	}
	problems, err := promlint.New(strings.NewReader(text + "\n")).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "pushcert_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}
