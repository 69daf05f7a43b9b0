package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
	"github.com/pushcert/pushcert/reports"
)

func listenHooks(t *testing.T) *WebhookCounter {
	t.Helper()
	w, err := ListenWebhooks("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// postHooks posts the events to the counter as a server would, signed with secret.
func postHooks(t *testing.T, w *WebhookCounter, key, secret string, events ...protocol.WebhookEvent) int {
	t.Helper()
	body := protocol.EncodeWebhook(time.Now().UnixMilli(), events)
	req, _ := http.NewRequest(http.MethodPost, w.URL("1"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", key)
	req.Header.Set("X-Pusher-Signature", protocol.WebhookSignature(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func kind(t *testing.T, n *reports.Webhooks, name string) reports.WebhookKind {
	t.Helper()
	for _, k := range n.Kinds {
		if k.Name == name {
			return k
		}
	}
	t.Fatalf("no kind %s in %+v", name, n.Kinds)
	return reports.WebhookKind{}
}

// The counter owes each channel and member what the clients did to it, and tells lost,
// duplicated, refused and foreign webhooks apart.
func TestWebhookCounterTally(t *testing.T) {
	w := listenHooks(t)
	w.begin("1", "key", "secret", NewRecorder(time.Now(), nil))
	const seats = "presence-event.1.seats"
	t0 := time.Now()
	w.joined(seats, "1", t0)
	w.joined(seats, "2", t0)
	w.joined("event.1", "", t0)
	w.refusedJoin(w.joined("presence-event.2.seats", "3", t0), "3") // refused: owed nothing
	w.joined("presence-event.3.seats", "4", t0)
	w.unsure("presence-event.3.seats", "4") // lost with its connection: not judged
	ev := func(name, ch, user string) protocol.WebhookEvent {
		return protocol.WebhookEvent{Name: name, Channel: ch, UserID: user}
	}
	if s := postHooks(t, w, "key", "secret", ev("channel_occupied", seats, ""), ev("channel_occupied", "event.1", ""),
		ev("member_added", seats, "1"), ev("member_added", seats, "2"), ev("member_added", seats, "2"),
		ev("channel_occupied", "presence-other", ""), ev("client_event", seats, "1")); s/100 != 2 {
		t.Fatalf("a signed request answered %d", s)
	}
	w.left([]hookJoin{{ch: seats}, {ch: "event.1"}}, "1", time.Now())
	w.left([]hookJoin{{ch: seats}}, "2", time.Now())
	postHooks(t, w, "key", "secret", ev("member_removed", seats, "1"), ev("channel_vacated", seats, ""))
	for _, tc := range []struct{ key, secret string }{{"other", "secret"}, {"key", "other"}} {
		if s := postHooks(t, w, tc.key, tc.secret, ev("member_removed", seats, "2")); s != http.StatusUnauthorized {
			t.Errorf("key %s secret %s: answered %d, want 401", tc.key, tc.secret, s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := w.settle(ctx, 50*time.Millisecond)
	for _, want := range []reports.WebhookKind{
		{Name: "channel_occupied", Expected: 2, Received: 2},
		{Name: "channel_vacated", Expected: 2, Received: 1, Lost: 1},
		{Name: "member_added", Expected: 2, Received: 3, Duplicates: 1},
		{Name: "member_removed", Expected: 2, Received: 1, Lost: 1},
	} {
		if got := kind(t, n, want.Name); got != want {
			t.Errorf("%s: %+v, want %+v", want.Name, got, want)
		}
	}
	if n.Requests != 4 || n.Refused != 2 || n.Foreign != 1 || n.Unsure != 2 {
		t.Errorf("requests %d refused %d foreign %d unsure %d, want 4, 2, 1, 2", n.Requests, n.Refused, n.Foreign, n.Unsure)
	}
	c := webhookCheck(n)
	for _, says := range []string{"1 channel_vacated lost", "1 member_added duplicated", "2 requests refused", "not judged"} {
		if c.Pass || !strings.Contains(c.Detail, says) {
			t.Errorf("check %v %q, want a failure saying %q", c.Pass, c.Detail, says)
		}
	}
	resp, err := http.Get(w.URL("1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET answered %d, want 405", resp.StatusCode)
	}
	big, _ := http.Post(w.URL("1"), "application/json", bytes.NewReader(make([]byte, MaxWebhookBody+1)))
	if big.Body.Close(); big.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("an oversized body answered %d, want 413", big.StatusCode)
	}
	if got := webhookCheck(&reports.Webhooks{URL: w.URL("{app_id}")}); got.Pass || !strings.Contains(got.Detail, "no webhook request came") {
		t.Errorf("no request at all: %+v", got)
	}
}

// hookServer is the embedded server posting its webhooks to w, with a short debounce, and the
// fault given.
func hookServer(t *testing.T, w *WebhookCounter, faults refserver.Faults) *target.Target {
	t.Helper()
	tg, stop, err := target.StartEmbedded(refserver.Config{WebhookDebounce: 300 * time.Millisecond, Faults: faults},
		refserver.App{ClientEventRate: 1000, Webhooks: []refserver.Webhook{{URL: w.URL(target.EmbeddedAppID)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tg
}

// A churn run counts the server's webhooks: on a correct server every channel and member is
// balanced; a server that drops member_removed or does not sign is caught.
func TestChurnRunCountsWebhooks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults refserver.Faults
		pass   bool
		says   string
	}{
		{"correct", refserver.Faults{}, true, "balanced"},
		{"no member_removed", refserver.Faults{DropWebhook: protocol.HookMemberRemoved}, false, "member_removed lost"},
		{"unsigned", refserver.Faults{UnsignedWebhooks: true}, false, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := listenHooks(t)
			tg := hookServer(t, w, tc.faults)
			res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioSeats, ScenarioChurn},
				Clients: 60, Rooms: 3, Rate: 5, Lifetime: 300 * time.Millisecond, Duration: 2 * time.Second,
				Ramp: 300 * time.Millisecond, Drain: 2 * time.Second, Webhooks: w, WebhookWait: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			var check *reports.Check
			for i, c := range res.Summary.Checks {
				if c.Name == "webhooks" {
					check = &res.Summary.Checks[i]
				}
			}
			if check == nil || check.Pass != tc.pass || !strings.Contains(check.Detail, tc.says) {
				t.Fatalf("webhooks check %+v, want pass=%v saying %q", check, tc.pass, tc.says)
			}
			n := res.Summary.Webhooks
			if added := kind(t, n, protocol.HookMemberAdded); added.Expected < 60 || (added.Lost != 0) != tc.faults.UnsignedWebhooks {
				t.Errorf("member_added %+v, want at least the 60 staying clients, lost only when refused", added)
			}
			if tc.pass {
				if _, ok := res.Summary.Metric(MetricHookMemberRemoved); !ok {
					t.Error("no webhook_member_removed latency")
				}
			}
		})
	}
}

// A channel subscribed twice over the run (left in between) may get one occupied (a return within
// the server's debounce) or two; a vacated beyond the occupieds that came is a failure. A refused
// subscription undoes only the step from none to one it made itself.
func TestWebhookCounterRejoinsAndRefusals(t *testing.T) {
	w := listenHooks(t)
	w.begin("1", "key", "secret", nil)
	t0 := time.Now()
	for range 2 {
		w.left([]hookJoin{w.joined("twice", "", t0)}, "", t0)
	}
	a := w.joined("race", "", t0)
	b := w.joined("race", "", t0)
	w.left([]hookJoin{a}, "", t0)
	w.refusedJoin(b, "") // A's step from none to one stands
	ev := func(name, ch string) protocol.WebhookEvent { return protocol.WebhookEvent{Name: name, Channel: ch} }
	postHooks(t, w, "key", "secret", ev("channel_occupied", "twice"), ev("channel_vacated", "twice"), ev("channel_vacated", "twice"),
		ev("channel_occupied", "race"), ev("channel_vacated", "race"))
	n := w.settle(context.Background(), 10*time.Second)
	if got := kind(t, n, "channel_vacated"); got.Duplicates != 1 || got.Lost != 0 || got.Expected != 2 {
		t.Errorf("channel_vacated %+v, want 2 expected (one each), 1 duplicate (twice's second vacated after one occupied)", got)
	}
	if got := kind(t, n, "channel_occupied"); got.Duplicates != 0 || got.Lost != 0 || got.Expected != 2 {
		t.Errorf("channel_occupied %+v, want 2 expected, none lost or duplicated", got)
	}
}

// Another app's requests are answered and counted apart, never refused; a request before the
// run began is answered 503, so the server sends it again.
func TestWebhookCounterOtherAppsAndBeforeBegin(t *testing.T) {
	w := listenHooks(t)
	body := protocol.EncodeWebhook(1, nil)
	if resp, err := http.Post(w.URL("1"), "application/json", bytes.NewReader(body)); err != nil || resp.Body.Close() != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("before begin: %v %v, want 503", resp, err)
	}
	w.begin("1", "key", "secret", nil)
	resp, err := http.Post(w.URL("2"), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n := w.settle(context.Background(), 0)
	if resp.StatusCode/100 != 2 || n.OtherApps != 1 || n.Refused != 0 || n.Requests != 1 {
		t.Errorf("another app's request: answered %d; other apps %d, refused %d, requests %d; want 2xx, 1, 0, 1", resp.StatusCode, n.OtherApps, n.Refused, n.Requests)
	}
}
