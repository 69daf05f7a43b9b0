package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pushcert/pushcert/refserver"
)

// TestHangingAPIBoundedByTheDrain: an HTTP API that takes publishes and never answers costs a
// run its drain, not a request timeout for every queued publish one after another; what it
// never answered is lost.
func TestHangingAPIBoundedByTheDrain(t *testing.T) {
	tg := embedded(t, refserver.Config{})
	held := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-held:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(held)
	to := *tg
	to.APIURL = hung.URL
	start := time.Now()
	res, err := Run(context.Background(), Config{Target: &to, Scenarios: []string{ScenarioAvailability},
		Clients: 20, Rooms: 1, Rate: 10, Duration: 2 * time.Second, Ramp: 200 * time.Millisecond, Drain: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Ramp, 2 s steady, 1 s drain, and the close: a few seconds. Before, each of the 20 queued
	// publishes waited out the 30 s request timeout in turn.
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the run took %v", took.Round(time.Millisecond))
	}
	if d := res.Summary.Delivery; d.Lost == 0 || passed(res.Summary, "reach") {
		t.Errorf("delivery %+v: want the unanswered publishes lost", d)
	}
}
