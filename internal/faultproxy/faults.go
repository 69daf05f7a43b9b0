package faultproxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/websocket"
)

// Faults returns every fault the proxy knows, by name.
func Faults() map[string]Fault {
	out := map[string]Fault{}
	for _, f := range catalogue {
		out[f.Name] = f
	}
	return out
}

// Names lists the faults' names, sorted.
func Names() []string {
	var out []string
	for _, f := range catalogue {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

var catalogue = []Fault{
	{
		Name:     "close-after-refusal",
		Doc:      "after a pusher:error with code 4009 (a refused subscription or sign-in), the connection is closed with 4009",
		ToClient: closeAfterRefusal,
	},
	{
		Name:    "no-batch-events",
		Doc:     "POST /apps/{id}/batch_events answers 404: the optional batch endpoint does not exist",
		Request: noBatchEvents,
	},
	{
		Name:     "hash-omits-infoless-members",
		Doc:      "subscription_succeeded leaves members without user_info out of presence.hash (ids and count stay right)",
		ToClient: hashOmitsInfoless,
	},
	{
		Name:     "errors-in-body",
		Doc:      "HTTP API errors answer 200 with the error and its status in the body",
		Response: errorsInBody,
	},
	{
		Name:     "close-on-bad-input",
		Doc:      "a binary frame, invalid JSON or an unknown pusher: event from a client closes its connection with 4200, unanswered",
		ToServer: closeOnBadInput,
	},
	{
		Name:    "no-singular-channel",
		Doc:     `POST /events naming its channel in "channel" instead of "channels" is refused with 400`,
		Request: noSingularChannel,
	},
}

func closeAfterRefusal(f Frame) Verdict {
	if !isEvent(f, "pusher:error") {
		return Pass(f)
	}
	var m struct {
		Data json.RawMessage `json:"data"`
	}
	var d struct {
		Code int `json:"code"`
	}
	if json.Unmarshal(f.Data, &m) == nil && decodeData(m.Data, &d) == nil && d.Code == 4009 {
		return Verdict{Frames: []Frame{f}, Close: 4009}
	}
	return Pass(f)
}

func noBatchEvents(r *http.Request, _ []byte) *Reply {
	if strings.HasSuffix(r.URL.Path, "/batch_events") {
		return &Reply{Status: http.StatusNotFound, Body: []byte(`{"error":"Not found"}`)}
	}
	return nil
}

func hashOmitsInfoless(f Frame) Verdict {
	if !isEvent(f, "pusher_internal:subscription_succeeded") {
		return Pass(f)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(f.Data, &m) != nil {
		return Pass(f)
	}
	var d struct {
		Presence *struct {
			IDs   json.RawMessage            `json:"ids"`
			Hash  map[string]json.RawMessage `json:"hash"`
			Count json.RawMessage            `json:"count"`
		} `json:"presence"`
	}
	if decodeData(m["data"], &d) != nil || d.Presence == nil {
		return Pass(f)
	}
	for id, info := range d.Presence.Hash {
		if string(info) == "null" {
			delete(d.Presence.Hash, id)
		}
	}
	return Pass(Frame{Type: f.Type, Data: withStringData(m, d)})
}

func errorsInBody(_ *http.Request, status int, body []byte) (int, []byte) {
	if status < 400 || status > 499 {
		return status, body
	}
	b, _ := json.Marshal(map[string]any{"error": strings.TrimSpace(string(body)), "code": status})
	return http.StatusOK, b
}

func closeOnBadInput(f Frame) Verdict {
	var m struct {
		Event string `json:"event"`
	}
	bad := f.Type != websocket.TextMessage || json.Unmarshal(f.Data, &m) != nil ||
		(strings.HasPrefix(m.Event, "pusher:") && !slices.Contains(knownClientEvents, m.Event))
	if bad {
		return Verdict{Close: 4200}
	}
	return Pass(f)
}

// knownClientEvents are the pusher: events a client may send.
var knownClientEvents = []string{"pusher:ping", "pusher:pong", "pusher:subscribe", "pusher:unsubscribe", "pusher:signin"}

func noSingularChannel(r *http.Request, body []byte) *Reply {
	if !strings.HasSuffix(r.URL.Path, "/events") {
		return nil
	}
	var b struct {
		Channel  *string  `json:"channel"`
		Channels []string `json:"channels"`
	}
	if json.Unmarshal(body, &b) == nil && b.Channel != nil && b.Channels == nil {
		return &Reply{Status: http.StatusBadRequest, Body: []byte(`{"error":"channels is required"}`)}
	}
	return nil
}

// decodeData reads a frame's data, a JSON string holding JSON or the JSON itself.
func decodeData(raw json.RawMessage, v any) error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return json.Unmarshal([]byte(s), v)
	}
	if len(raw) == 0 {
		return fmt.Errorf("no data")
	}
	return json.Unmarshal(raw, v)
}

// withStringData re-encodes a frame with data as a JSON string of v.
func withStringData(m map[string]json.RawMessage, v any) []byte {
	inner, _ := json.Marshal(v)
	s, _ := json.Marshal(string(inner))
	m["data"] = s
	out, _ := json.Marshal(m)
	return out
}
