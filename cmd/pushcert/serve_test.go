package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/webhook"
)

// subscribeAndLeave connects to the demo app of the server at addr, subscribes to channel and
// closes the connection once the subscription succeeded.
func subscribeAndLeave(t *testing.T, addr, key, channel string) {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/app/"+key+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"`+channel+`"}}`)); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for subscription_succeeded: %v", err)
		}
		if strings.Contains(string(data), protocol.EventSubscriptionSucceeded) {
			return
		}
	}
}

// awaitHookNames waits until the receiver acknowledged the events named, for channel, in order.
func awaitHookNames(t *testing.T, rcv *webhook.Receiver, channel string, names ...string) []webhook.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mine := func(e protocol.WebhookEvent) bool { return e.Channel == channel }
	var evs []webhook.Event
	rcv.Wait(ctx, func(reqs []webhook.Request) bool {
		evs = webhook.Events(reqs, mine)
		return len(evs) >= len(names)
	})
	var got []string
	for _, e := range evs {
		got = append(got, e.Name)
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("webhooks for %s: %v, want %v", channel, got, names)
	}
	return evs
}

// The single-app flags: --webhook-url posts the demo app's webhooks, signed with its secret;
// --webhook-debounce 0 sends channel_vacated at once.
func TestServeWebhookFlags(t *testing.T) {
	rcv, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	addr := startServe(t, buildBinary(t), "--demo", "--webhook-url", rcv.URL(demoAppID), "--webhook-debounce", "0", "--subscription-count")
	subscribeAndLeave(t, addr, demoKey, "flag-room")
	evs := awaitHookNames(t, rcv, "flag-room", protocol.HookChannelOccupied, protocol.HookSubscriptionCount, protocol.HookChannelVacated)
	if err := evs[0].Request.Verify(demoKey, demoSecret); err != nil {
		t.Error(err)
	}
}

// The config file: each app its webhooks, an event-type filter, the timing keys.
func TestServeWebhookConfig(t *testing.T) {
	rcv, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	cfg := filepath.Join(t.TempDir(), "apps.json")
	body := `{"webhook_debounce": "100ms", "webhook_batch": "10ms", "webhook_queue": 50, "apps": [
	  {"id": "a", "key": "a-key", "secret": "a-secret", "webhooks": [{"url": "` + rcv.URL("a") + `", "event_types": ["channel_vacated"]}]}]}`
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startServe(t, buildBinary(t), "--config", cfg)
	subscribeAndLeave(t, addr, "a-key", "file-room")
	evs := awaitHookNames(t, rcv, "file-room", protocol.HookChannelVacated)
	if err := evs[0].Request.Verify("a-key", "a-secret"); err != nil {
		t.Error(err)
	}
	if code, _, errs := runCmd("serve", "--config", cfg, "--webhook-url", rcv.URL("a"), "--addr", "127.0.0.1:0"); code != exitUsage || !strings.Contains(errs, `give each app its "webhooks"`) {
		t.Errorf("--webhook-url with a config file: exit %d, stderr %q; want exit 2 saying where webhooks go", code, errs)
	}
	if code, _, errs := runCmd("serve", "--config", cfg, "--subscription-count", "--addr", "127.0.0.1:0"); code != exitUsage || !strings.Contains(errs, `"subscription_count"`) {
		t.Errorf("--subscription-count with a config file: exit %d, stderr %q; want exit 2 saying where it goes", code, errs)
	}
}

// TestServePprof: --pprof serves Go's profiles on its own loopback listener, never on the
// server's port, and refuses an address that is not loopback.
func TestServePprof(t *testing.T) {
	bin, paddr := buildBinary(t), freeAddr(t)
	addr := startServe(t, bin, "--demo", "--pprof", paddr, "--log-level", "error")
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var code int
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", paddr); err == nil {
			c.Close()
			break
		}
	}
	if code, body = get("http://" + paddr + "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %d\n%.300s", code, body)
	}
	if code, body = get("http://" + paddr + "/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("heap profile: %d\n%.300s", code, body)
	}
	if code, _ = get("http://" + addr + "/debug/pprof/"); code != 404 {
		t.Errorf("the server's own port answers /debug/pprof/ with %d, want 404", code)
	}
	for _, bad := range []string{"0.0.0.0:6060", "192.0.2.1:6060", "6060"} {
		if code, _, errs := runCmd("serve", "--demo", "--addr", "127.0.0.1:0", "--pprof", bad); code != exitUsage || !strings.Contains(errs, "loopback") {
			t.Errorf("--pprof %s: exit %d, stderr %q", bad, code, errs)
		}
	}
}
