package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestParseWebhook(t *testing.T) {
	w, err := ParseWebhook([]byte(`{"time_ms":1327078148132,"events":[` +
		`{"name":"member_added","channel":"presence-x","user_id":42},` +
		`{"name":"client_event","channel":"private-x","event":"client-a","data":"{\"a\":1}","socket_id":"1.2"},` +
		`{"name":"subscription_count","channel":"x","subscription_count":3,"extra":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if w.TimeMs != 1327078148132 || len(w.Events) != 3 {
		t.Fatalf("got %+v", w)
	}
	if e := w.Events[0]; e.Name != HookMemberAdded || e.UserID != "42" {
		t.Errorf("numeric user_id: got %+v", e)
	}
	if e := w.Events[1]; e.Event != "client-a" || e.Data != `{"a":1}` || e.SocketID != "1.2" {
		t.Errorf("client event: got %+v", e)
	}
	if e := w.Events[2]; e.SubscriptionCount == nil || *e.SubscriptionCount != 3 {
		t.Errorf("subscription count: got %+v", e)
	}
	for body, want := range map[string]string{
		`{"events":[]}`:                                   "time_ms is missing",
		`{"time_ms":"1","events":[]}`:                     "positive whole number",
		`{"time_ms":1}`:                                   "events is missing",
		`{"time_ms":1,"events":[{"name":""}]}`:            "events[0]: name",
		`{"time_ms":1,"events":[{"name":"a","data":{}}]}`: "data must be a string",
		`[]`: "not a JSON object",
	} {
		_, err := ParseWebhook([]byte(body))
		if err == nil || !errors.Is(err, ErrWebhookShape) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", body, err, want)
		}
	}
}
