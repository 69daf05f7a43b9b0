package refserver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/webhook"
)

// hookWait bounds every wait for a webhook: generous, since a busy machine may be slow; the
// tests assert what arrives, never how fast.
const hookWait = 10 * time.Second

// hookServer runs a server whose app posts its webhooks to a fresh receiver.
func hookServer(t *testing.T, mod func(*Config)) (*testServer, *webhook.Receiver) {
	t.Helper()
	rcv, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	ts := startServer(t, func(c *Config) {
		c.Apps[0].Webhooks = []Webhook{{URL: rcv.URL(testAppID)}}
		c.WebhookDebounce = 300 * time.Millisecond
		c.WebhookRetryFirst = 100 * time.Millisecond
		if mod != nil {
			mod(c)
		}
	})
	return ts, rcv
}

// events waits until the receiver has acknowledged n events that match, then returns them.
func events(t *testing.T, rcv *webhook.Receiver, n int, match func(protocol.WebhookEvent) bool) []webhook.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hookWait)
	defer cancel()
	var got []webhook.Event
	rcv.Wait(ctx, func(r []webhook.Request) bool { got = webhook.Events(r, match); return len(got) >= n })
	if len(got) < n {
		t.Fatalf("got %d matching webhook events within %v, want %d; requests: %s", len(got), hookWait, n, dumpRequests(rcv))
	}
	return got
}

// settle waits past the debounce and the batch window, so that nothing more is coming.
func settle() { time.Sleep(time.Second) }

func dumpRequests(rcv *webhook.Receiver) string {
	var b strings.Builder
	for _, r := range rcv.Requests() {
		fmt.Fprintf(&b, "\n  %d %s %s", r.Status, r.Path, r.Body)
	}
	return b.String()
}

func named(name, channel string) func(protocol.WebhookEvent) bool {
	return func(e protocol.WebhookEvent) bool { return e.Name == name && e.Channel == channel }
}

func TestWebhookOccupiedVacatedOncePerChannel(t *testing.T) {
	ts, rcv := hookServer(t, nil)
	a, b := ts.dial(), ts.dial()
	a.join("room", "")
	b.join("room", "")
	events(t, rcv, 1, named(protocol.HookChannelOccupied, "room"))
	a.send(map[string]any{"event": protocol.EventUnsubscribe, "data": map[string]string{"channel": "room"}})
	settle()
	if n := len(webhook.Events(rcv.Requests(), named(protocol.HookChannelVacated, "room"))); n != 0 {
		t.Fatalf("channel_vacated while a subscriber remains: %d", n)
	}
	b.ws.Close()
	events(t, rcv, 1, named(protocol.HookChannelVacated, "room"))
	settle()
	for _, name := range []string{protocol.HookChannelOccupied, protocol.HookChannelVacated} {
		if n := len(webhook.Events(rcv.Requests(), named(name, "room"))); n != 1 {
			t.Errorf("%s: %d webhooks, want 1", name, n)
		}
	}
	for _, r := range rcv.Requests() {
		if err := r.Verify(testKey, testSecret); err != nil {
			t.Errorf("request %s: %v", r.Body, err)
		}
		if r.ContentType != "application/json" || r.ParseErr != nil {
			t.Errorf("request %s: content type %q, body %v", r.Body, r.ContentType, r.ParseErr)
		}
	}
}

func TestWebhookMembersOncePerUserAcrossTabs(t *testing.T) {
	ts, rcv := hookServer(t, nil)
	tab1, tab2, other := ts.dial(), ts.dial(), ts.dial()
	other.join("presence-room", presenceData("bob", ""))
	tab1.join("presence-room", presenceData("ada", ""))
	tab2.join("presence-room", presenceData("ada", ""))
	isAda := func(name string) func(protocol.WebhookEvent) bool {
		return func(e protocol.WebhookEvent) bool { return e.Name == name && e.UserID == "ada" }
	}
	events(t, rcv, 1, isAda(protocol.HookMemberAdded))
	tab1.ws.Close()
	settle()
	if n := len(webhook.Events(rcv.Requests(), isAda(protocol.HookMemberRemoved))); n != 0 {
		t.Fatalf("member_removed while the user's second tab remains: %d", n)
	}
	tab2.ws.Close()
	events(t, rcv, 1, isAda(protocol.HookMemberRemoved))
	settle()
	if n := len(webhook.Events(rcv.Requests(), isAda(protocol.HookMemberAdded))); n != 1 {
		t.Errorf("member_added: %d, want 1", n)
	}
	if n := len(webhook.Events(rcv.Requests(), isAda(protocol.HookMemberRemoved))); n != 1 {
		t.Errorf("member_removed: %d, want 1", n)
	}
}

// A tab that leaves and comes back within the debounce produces neither vacated nor a second
// occupied, nor member_removed and member_added.
func TestWebhookDebounceSuppressesAReconnect(t *testing.T) {
	ts, rcv := hookServer(t, func(c *Config) { c.WebhookDebounce = 2 * time.Second })
	a := ts.dial()
	a.join("presence-room", presenceData("ada", ""))
	events(t, rcv, 1, named(protocol.HookMemberAdded, "presence-room"))
	a.ws.Close()
	b := ts.dial()
	b.join("presence-room", presenceData("ada", ""))
	time.Sleep(3 * time.Second)
	for name, want := range map[string]int{protocol.HookChannelOccupied: 1, protocol.HookMemberAdded: 1, protocol.HookChannelVacated: 0, protocol.HookMemberRemoved: 0} {
		if n := len(webhook.Events(rcv.Requests(), named(name, "presence-room"))); n != want {
			t.Errorf("%s: %d, want %d; requests: %s", name, n, want, dumpRequests(rcv))
		}
	}
}

func TestWebhookClientEventAndCacheMiss(t *testing.T) {
	ts, rcv := hookServer(t, nil)
	a, b := ts.dial(), ts.dial()
	a.join("presence-chat", presenceData("ada", ""))
	b.join("presence-chat", presenceData("bob", ""))
	a.send(map[string]any{"event": "client-typing", "channel": "presence-chat", "data": map[string]bool{"typing": true}})
	b.expect("client-typing")
	ev := events(t, rcv, 1, named(protocol.HookClientEvent, "presence-chat"))[0]
	if ev.Event != "client-typing" || ev.Data != `{"typing":true}` || ev.SocketID != a.socketID || ev.UserID != "ada" {
		t.Errorf("client_event: got %+v", ev.WebhookEvent)
	}
	a.join("cache-seats", "")
	events(t, rcv, 1, named(protocol.HookCacheMiss, "cache-seats"))
}

// A receiver that fails N times gets the same body N+1 times, the waits between the attempts
// doubling from WebhookRetryFirst.
func TestWebhookRetriedWithBackoff(t *testing.T) {
	const fails = 3
	ts, rcv := hookServer(t, nil)
	for range fails {
		rcv.FailNext(func(r webhook.Request) bool { return strings.Contains(string(r.Body), "retried") }, http.StatusInternalServerError)
	}
	a := ts.dial()
	a.join("retried", "")
	events(t, rcv, 1, named(protocol.HookChannelOccupied, "retried"))
	var attempts []webhook.Request
	for _, r := range rcv.Requests() {
		if strings.Contains(string(r.Body), "retried") {
			attempts = append(attempts, r)
		}
	}
	if len(attempts) != fails+1 {
		t.Fatalf("%d attempts, want %d: %s", len(attempts), fails+1, dumpRequests(rcv))
	}
	wait := 100 * time.Millisecond
	var seen []string
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].At.Sub(attempts[i-1].At)
		seen = append(seen, gap.Round(time.Millisecond).String())
		if gap < wait {
			t.Errorf("attempt %d came %v after the one before, want at least %v", i+1, gap, wait)
		}
		if string(attempts[i].Body) != string(attempts[0].Body) {
			t.Errorf("attempt %d has another body: %s", i+1, attempts[i].Body)
		}
		wait *= 2
	}
	t.Logf("%d failures, then acknowledged; waits between attempts: %s (back-off 100ms, 200ms, 400ms)", fails, strings.Join(seen, ", "))
	if got := metricValue(t, ts, "pushcert_webhooks_retried_total"); got != fails {
		t.Errorf("retried counter %v, want %d", got, fails)
	}
	if got := metricValue(t, ts, "pushcert_webhooks_failed_total"); got != fails {
		t.Errorf("failed counter %v, want %d", got, fails)
	}
}

// A batch never acknowledged is dropped after WebhookRetryFor, counted and not retried again.
func TestWebhookGivesUpAndCountsTheDrop(t *testing.T) {
	ts, rcv := hookServer(t, func(c *Config) { c.WebhookRetryFor = 500 * time.Millisecond })
	for range 20 {
		rcv.FailNext(func(r webhook.Request) bool { return true }, http.StatusServiceUnavailable)
	}
	a := ts.dial()
	a.join("lost", "")
	deadline := time.Now().Add(hookWait)
	for metricValue(t, ts, `pushcert_webhook_events_dropped_total{reason="retry_expired"}`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no drop counted; requests: %s", dumpRequests(rcv))
		}
		time.Sleep(50 * time.Millisecond)
	}
	n := len(rcv.Requests())
	time.Sleep(time.Second)
	if len(rcv.Requests()) != n {
		t.Errorf("retried after giving up: %s", dumpRequests(rcv))
	}
}

// A URL whose queue is full drops what comes beyond it, and counts it.
func TestWebhookQueueBoundDrops(t *testing.T) {
	ts, rcv := hookServer(t, func(c *Config) { c.WebhookQueue = 2; c.WebhookRetryFirst = time.Minute })
	rcv.FailNext(func(r webhook.Request) bool { return true }, http.StatusInternalServerError)
	a := ts.dial()
	for i := range 5 {
		a.join(fmt.Sprintf("q%d", i), "")
		time.Sleep(100 * time.Millisecond) // a batch each
	}
	if got := metricValue(t, ts, `pushcert_webhook_events_dropped_total{reason="queue_full"}`); got < 2 {
		t.Errorf("queue_full drops %v, want at least 2 (queue of 2 events, one batch in flight, 5 sent)", got)
	}
}

// A URL with event types gets only those, each body signed for what it carries.
func TestWebhookEventTypeFilter(t *testing.T) {
	rcv2, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rcv2.Close()
	ts, rcv := hookServer(t, func(c *Config) {
		c.Apps[0].Webhooks = append(c.Apps[0].Webhooks, Webhook{URL: rcv2.URL(testAppID), EventTypes: []string{protocol.HookChannelVacated}})
	})
	a := ts.dial()
	a.join("filtered", "")
	a.ws.Close()
	events(t, rcv, 2, func(e protocol.WebhookEvent) bool { return e.Channel == "filtered" })
	events(t, rcv2, 1, named(protocol.HookChannelVacated, "filtered"))
	for _, r := range rcv2.Requests() {
		for _, e := range r.Hook.Events {
			if e.Name != protocol.HookChannelVacated {
				t.Errorf("filtered URL got %s", e.Name)
			}
		}
		if err := r.Verify(testKey, testSecret); err != nil {
			t.Error(err)
		}
	}
}

// Shutdown sends the held events at once rather than losing them.
func TestWebhookShutdownSendsHeldEvents(t *testing.T) {
	rcv, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	srv, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret, Webhooks: []Webhook{{URL: rcv.URL(testAppID)}}}},
		WebhookDebounce: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv.byKey[testKey].hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: "gone"})
	ctx, cancel := context.WithTimeout(context.Background(), hookWait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(webhook.Events(rcv.Requests(), named(protocol.HookChannelVacated, "gone"))); n != 1 {
		t.Errorf("after Shutdown: %d channel_vacated, want 1: %s", n, dumpRequests(rcv))
	}
}

func TestWebhookConfigRefused(t *testing.T) {
	for _, w := range []Webhook{{URL: "ftp://x/"}, {URL: "/relative"}, {URL: "http://x/", EventTypes: []string{"channel_occupied", "nope"}}} {
		_, err := New(Config{Apps: []App{{ID: "1", Key: "k", Secret: "s", Webhooks: []Webhook{w}}}})
		if err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
}

// metricValue reads one series (name with its labels, as /metrics writes it) from the server.
func metricValue(t *testing.T, ts *testServer, series string) float64 {
	t.Helper()
	_, body := ts.rawAPI("GET", "/metrics", nil)
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// An app that opted in gets a non-presence channel's subscription count after each change that
// leaves it occupied, the counts of one batch coalesced into the last; an app that did not, and
// a presence channel, get none.
func TestWebhookSubscriptionCount(t *testing.T) {
	ts, rcv := hookServer(t, func(c *Config) { c.Apps[0].SubscriptionCount = true })
	a, b, p := ts.dial(), ts.dial(), ts.dial()
	a.join("counted", "")
	settle() // the next change comes in a batch of its own
	b.join("counted", "")
	p.join("presence-counted", presenceData("ada", ""))
	counts := func() []int {
		var n []int
		for _, e := range webhook.Events(rcv.Requests(), named(protocol.HookSubscriptionCount, "counted")) {
			n = append(n, *e.SubscriptionCount)
		}
		return n
	}
	events(t, rcv, 2, named(protocol.HookSubscriptionCount, "counted"))
	b.ws.Close()
	events(t, rcv, 3, named(protocol.HookSubscriptionCount, "counted"))
	a.ws.Close()
	events(t, rcv, 1, named(protocol.HookChannelVacated, "counted"))
	settle()
	if got := counts(); fmt.Sprint(got) != "[1 2 1]" {
		t.Errorf("subscription counts %v, want [1 2 1] (none for the vacating leave)", got)
	}
	if evs := webhook.Events(rcv.Requests(), named(protocol.HookSubscriptionCount, "presence-counted")); len(evs) != 0 {
		t.Errorf("a presence channel's subscription_count: %+v", evs)
	}

	quiet, qrcv := hookServer(t, nil)
	c := quiet.dial()
	c.join("counted", "")
	events(t, qrcv, 1, named(protocol.HookChannelOccupied, "counted"))
	settle()
	if evs := webhook.Events(qrcv.Requests(), named(protocol.HookSubscriptionCount, "counted")); len(evs) != 0 {
		t.Errorf("an app that did not opt in got subscription_count: %+v", evs)
	}
}

// Within one batch, a crowd joining gives one subscription_count, the last.
func TestWebhookSubscriptionCountCoalesced(t *testing.T) {
	ts, rcv := hookServer(t, func(c *Config) { c.Apps[0].SubscriptionCount = true; c.WebhookBatch = time.Hour })
	h := ts.byKey[testKey].hooks
	for n := 1; n <= 5; n++ {
		h.emit(protocol.WebhookEvent{Name: protocol.HookSubscriptionCount, Channel: "crowd", SubscriptionCount: &n})
	}
	h.flush()
	evs := events(t, rcv, 1, named(protocol.HookSubscriptionCount, "crowd"))
	settle()
	if evs = webhook.Events(rcv.Requests(), named(protocol.HookSubscriptionCount, "crowd")); len(evs) != 1 || *evs[0].SubscriptionCount != 5 {
		t.Errorf("got %d subscription_count events (first %+v), want one with 5", len(evs), evs[0].WebhookEvent)
	}
}
