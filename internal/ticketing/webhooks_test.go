package ticketing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/ticketing"
)

const seats = "presence-event.7.seats"

func memberEvent(name, user string) protocol.WebhookEvent {
	return protocol.WebhookEvent{Name: name, Channel: seats, UserID: user}
}

// postHook posts body to the handler with the given key and signature and returns the status and
// the body of the answer.
func postHook(t *testing.T, h http.Handler, key, signature string, body []byte) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, ticketing.EndpointWebhook, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Pusher-Key", key)
	r.Header.Set("X-Pusher-Signature", signature)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, r)
	return rr.Code, rr.Body.String()
}

// send posts a correctly signed body of events at time_ms and wants 200.
func send(t *testing.T, h http.Handler, timeMs int64, events ...protocol.WebhookEvent) {
	t.Helper()
	body := protocol.EncodeWebhook(timeMs, events)
	if code, msg := postHook(t, h, appKey, protocol.WebhookSignature(appSecret, body), body); code != http.StatusOK {
		t.Fatalf("a signed webhook was answered %d %s, want 200", code, msg)
	}
}

func TestWebhookHandlerRefusesWhatIsNotTheApps(t *testing.T) {
	h := ticketing.NewWebhookHandler(appKey, appSecret)
	body := protocol.EncodeWebhook(1700000000000, []protocol.WebhookEvent{memberEvent(protocol.HookMemberAdded, "5")})
	good := protocol.WebhookSignature(appSecret, body)
	notJSON := []byte(`{"time_ms":`)
	for _, tc := range []struct {
		name, key, sig string
		body           []byte
		want           int
		says           string
	}{
		{"another app's key", "other", good, body, 401, "Invalid key"},
		{"no signature", appKey, "", body, 401, "Invalid signature"},
		{"signed with another secret", appKey, protocol.WebhookSignature("other", body), body, 401, "Invalid signature"},
		{"a body changed after signing", appKey, good, append(bytes.Clone(body), ' '), 401, "Invalid signature"},
		{"a signed body that is not a webhook", appKey, protocol.WebhookSignature(appSecret, notJSON), notJSON, 400, "webhook body"},
		{"a body over 1 MiB", appKey, good, bytes.Repeat([]byte("x"), ticketing.MaxWebhookBody+1), 413, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := postHook(t, h, tc.key, tc.sig, tc.body)
			if code != tc.want || !strings.Contains(msg, tc.says) {
				t.Errorf("answered %d %s, want %d saying %q", code, msg, tc.want, tc.says)
			}
		})
	}
	if got := h.Members(seats); len(got) != 0 {
		t.Errorf("refused requests changed the members: %v", got)
	}
	if got := h.Refused(); got != 6 {
		t.Errorf("Refused() = %d, want 6", got)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, ticketing.EndpointWebhook, nil))
	if rr.Code != http.StatusMethodNotAllowed || rr.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET answered %d Allow %q, want 405 Allow POST", rr.Code, rr.Header().Get("Allow"))
	}
}

func TestWebhookHandlerKeepsPresenceFromMemberEvents(t *testing.T) {
	h := ticketing.NewWebhookHandler(appKey, appSecret)
	send(t, h, 1000, memberEvent(protocol.HookMemberAdded, "5"), memberEvent(protocol.HookMemberAdded, "6"),
		protocol.WebhookEvent{Name: protocol.HookChannelOccupied, Channel: seats},
		protocol.WebhookEvent{Name: protocol.HookMemberAdded, Channel: "presence-event.8.seats", UserID: "9"})
	if got := h.Members(seats); !slices.Equal(got, []string{"5", "6"}) {
		t.Fatalf("members %v, want [5 6]", got)
	}
	// The server retries a batch it thinks was lost: applying it again changes nothing.
	send(t, h, 1000, memberEvent(protocol.HookMemberAdded, "5"), memberEvent(protocol.HookMemberAdded, "6"))
	send(t, h, 2000, memberEvent(protocol.HookMemberRemoved, "6"))
	send(t, h, 2000, memberEvent(protocol.HookMemberRemoved, "6"))
	if got := h.Members(seats); !slices.Equal(got, []string{"5"}) {
		t.Fatalf("members %v after 6 left (twice), want [5]", got)
	}
	// A late retry of the older batch does not bring 6 back.
	send(t, h, 1000, memberEvent(protocol.HookMemberAdded, "6"))
	if got := h.Members(seats); !slices.Equal(got, []string{"5"}) {
		t.Errorf("members %v after a late retry of 6's member_added, want [5]", got)
	}
	// At one time_ms, a removal wins over a member_added that comes after it (a retry), in one
	// batch or two.
	send(t, h, 3000, memberEvent(protocol.HookMemberAdded, "7"), memberEvent(protocol.HookMemberRemoved, "7"))
	send(t, h, 3000, memberEvent(protocol.HookMemberAdded, "7"))
	send(t, h, 4000, memberEvent(protocol.HookMemberRemoved, "8"))
	send(t, h, 4000, memberEvent(protocol.HookMemberAdded, "8"))
	if got := h.Members(seats); !slices.Equal(got, []string{"5"}) {
		t.Errorf("members %v after added and removed at one time_ms and a late added, want [5]", got)
	}
	if got := h.Members("presence-event.8.seats"); !slices.Equal(got, []string{"9"}) {
		t.Errorf("another channel's members %v, want [9]", got)
	}
	if h.Refused() != 0 {
		t.Errorf("Refused() = %d, want 0", h.Refused())
	}
}

func TestWebhookHandlerWaitMembers(t *testing.T) {
	h := ticketing.NewWebhookHandler(appKey, appSecret)
	want := func(m []string) bool { return slices.Equal(m, []string{"5"}) }
	go func() {
		time.Sleep(20 * time.Millisecond)
		send(t, h, 1000, memberEvent(protocol.HookMemberAdded, "5"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if got, ok := h.WaitMembers(ctx, seats, want); !ok {
		t.Fatalf("WaitMembers saw %v, never [5]", got)
	}
	ended, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if got, ok := h.WaitMembers(ended, seats, func(m []string) bool { return len(m) == 0 }); ok {
		t.Errorf("WaitMembers accepted %v for an empty channel", got)
	}
}

// FuzzWebhookEndpoint posts arbitrary signed and unsigned bodies: the endpoint answers 200, 400,
// 401 or 413, never panics, and only a signed webhook body is answered 200.
func FuzzWebhookEndpoint(f *testing.F) {
	f.Add([]byte(`{"time_ms":1,"events":[{"name":"member_added","channel":"presence-a","user_id":"1"}]}`), true)
	f.Add([]byte(`{"time_ms":1,"events":[{"name":"member_removed","channel":"presence-a","user_id":2}]}`), true)
	f.Add([]byte(`{"time_ms":1,"events":[{}]}`), true)
	f.Add([]byte(`not json`), false)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		h := ticketing.NewWebhookHandler(appKey, appSecret)
		sig := "0"
		if signed {
			sig = protocol.WebhookSignature(appSecret, body)
		}
		code, msg := postHook(t, h, appKey, sig, body)
		_, parseErr := protocol.ParseWebhook(body)
		switch {
		case code == http.StatusOK && (!signed || parseErr != nil):
			t.Fatalf("answered 200 to a body signed=%v that parses with %v", signed, parseErr)
		case code != http.StatusOK && signed && parseErr == nil && len(body) <= ticketing.MaxWebhookBody:
			t.Fatalf("refused a signed webhook body: %d %s", code, msg)
		case !json.Valid([]byte(msg)):
			t.Fatalf("answer %q is not JSON", msg)
		}
	})
}
