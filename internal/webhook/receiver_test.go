package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

func listen(t *testing.T) *Receiver {
	t.Helper()
	r, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// post sends body to url as a server would, signed with secret (none when secret is "").
func post(t *testing.T, url, key, secret string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", key)
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req.Header.Set("X-Pusher-Signature", hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const occupied = `{"time_ms":1764700000000,"events":[{"name":"channel_occupied","channel":"room"}]}`

func TestReceiverRecordsAndVerifies(t *testing.T) {
	r := listen(t)
	if got := post(t, r.URL("1"), "key", "secret", []byte(occupied)); got != http.StatusOK {
		t.Fatalf("answered %d, want 200", got)
	}
	if got := post(t, r.URL("1"), "key", "other-secret", []byte(occupied)); got != http.StatusOK {
		t.Fatalf("answered %d, want 200: the receiver records, the case judges", got)
	}
	reqs := r.Requests()
	if len(reqs) != 2 || reqs[0].AppID != "1" || reqs[0].ParseErr != nil || reqs[0].ContentType != "application/json" {
		t.Fatalf("recorded %+v", reqs)
	}
	if err := reqs[0].Verify("key", "secret"); err != nil {
		t.Errorf("a signed request: %v", err)
	}
	if err := reqs[1].Verify("key", "secret"); err == nil || !strings.Contains(err.Error(), "X-Pusher-Signature") {
		t.Errorf("signed with another secret: %v, want the signature named", err)
	}
	if err := reqs[0].Verify("other-key", "secret"); err == nil || !strings.Contains(err.Error(), "X-Pusher-Key") {
		t.Errorf("another key: %v, want the key named", err)
	}
	evs := Events(reqs, func(e protocol.WebhookEvent) bool { return e.Name == protocol.HookChannelOccupied })
	if len(evs) != 2 || evs[0].Channel != "room" || evs[0].Request.AppID != "1" {
		t.Errorf("events %+v", evs)
	}
}

// What is no webhook is recorded with why, and never counted as an event.
func TestReceiverBadRequests(t *testing.T) {
	r := listen(t)
	for _, tc := range []struct {
		body []byte
		want int
	}{
		{[]byte(`{"events":[]}`), http.StatusOK},
		{[]byte(`not json`), http.StatusOK},
		{bytes.Repeat([]byte("x"), MaxBody+1), http.StatusRequestEntityTooLarge},
	} {
		if got := post(t, r.URL("1"), "key", "secret", tc.body); got != tc.want {
			t.Errorf("body of %d bytes: answered %d, want %d", len(tc.body), got, tc.want)
		}
	}
	resp, err := http.Get(r.URL("1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", resp.StatusCode)
	}
	reqs := r.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	for _, q := range reqs {
		if q.ParseErr == nil {
			t.Errorf("%.40s: no parse error", q.Body)
		}
	}
	if evs := Events(reqs, func(protocol.WebhookEvent) bool { return true }); len(evs) != 0 {
		t.Errorf("events of bad requests: %+v", evs)
	}
}

// FailNext answers the first matching request with the status, once; only what was answered 2xx
// counts as delivered; Wait wakes at each request.
func TestReceiverFailNextAndWait(t *testing.T) {
	r := listen(t)
	r.FailNext(func(q Request) bool { return bytes.Contains(q.Body, []byte(`"room"`)) }, http.StatusInternalServerError)
	got := make(chan bool, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		got <- r.Wait(ctx, func(reqs []Request) bool { return len(reqs) == 2 })
	}()
	if s := post(t, r.URL("1"), "key", "secret", []byte(occupied)); s != http.StatusInternalServerError {
		t.Fatalf("first: answered %d, want 500", s)
	}
	all := func(protocol.WebhookEvent) bool { return true }
	if evs := Events(r.Requests(), all); len(evs) != 0 {
		t.Errorf("a request answered 500 counted as delivered: %+v", evs)
	}
	if s := post(t, r.URL("1"), "key", "secret", []byte(occupied)); s != http.StatusOK {
		t.Fatalf("second: answered %d, want 200", s)
	}
	if !<-got {
		t.Fatal("Wait did not see the second request")
	}
	if evs := Events(r.Requests(), all); len(evs) != 1 {
		t.Errorf("delivered %d events, want 1", len(evs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r.Wait(ctx, func([]Request) bool { return false }) {
		t.Error("Wait returned true on an ended context")
	}
}

// Handle passes an app's requests on to its endpoint and records what it answered; the server
// is answered by the receiver, and a request failed on purpose never reaches the endpoint.
func TestReceiverHandle(t *testing.T) {
	r := listen(t)
	var seen []string
	r.Handle("1", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		seen = append(seen, string(body))
		if req.Header.Get("X-Pusher-Key") != "key" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"Invalid key"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	r.FailNext(func(q Request) bool { return q.Key == "fail" }, http.StatusServiceUnavailable)
	for _, tc := range []struct {
		app, key string
		want     int
	}{{"1", "key", 200}, {"1", "wrong", 200}, {"1", "fail", 503}, {"2", "key", 200}} {
		if s := post(t, r.URL(tc.app), tc.key, "secret", []byte(occupied)); s != tc.want {
			t.Errorf("app %s key %s: the server was answered %d, want %d", tc.app, tc.key, s, tc.want)
		}
	}
	if len(seen) != 2 || seen[0] != occupied {
		t.Errorf("the endpoint saw %q, want the first two bodies", seen)
	}
	var app []int
	for _, q := range r.Requests() {
		app = append(app, q.AppStatus)
	}
	if !slices.Equal(app, []int{202, 401, 0, 0}) {
		t.Errorf("recorded the endpoint's answers %v, want [202 401 0 0]", app)
	}
	if got := r.Requests()[1].AppAnswer; got != `{"error":"Invalid key"}` {
		t.Errorf("recorded the endpoint's refusal as %q", got)
	}
}
