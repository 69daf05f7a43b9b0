package faultproxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/websocket"
)

// Lookup returns the fault a spec names: a name of the catalogue, or drop-event=EVENT, which
// drops every frame of that event the server sends.
func Lookup(spec string) (Fault, error) {
	if ev, ok := strings.CutPrefix(spec, "drop-event="); ok && ev != "" {
		return Fault{Name: spec, Doc: "the server never sends " + ev, ToClient: dropEvent(ev)}, nil
	}
	for _, f := range catalogue {
		if f.Name == spec {
			return f, nil
		}
	}
	return Fault{}, fmt.Errorf("unknown proxy fault %q (known: %s)", spec, strings.Join(Names(), ", "))
}

// Faults returns every named fault of the catalogue.
func Faults() map[string]Fault {
	out := map[string]Fault{}
	for _, f := range catalogue {
		out[f.Name] = f
	}
	return out
}

// Names lists the faults' names, sorted, with the parametrised drop-event=EVENT.
func Names() []string {
	out := []string{"drop-event=EVENT"}
	for _, f := range catalogue {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

var catalogue = []Fault{
	// Connection.
	{Name: "established-data-object", Doc: "connection_established carries data as an object, not a JSON string",
		ToClient: onEvent("pusher:connection_established", func(m msg) msg { m["data"] = json.RawMessage(m.dataJSON()); return m })},
	{Name: "same-socket-id", Doc: "every connection is told the socket id 1.1",
		ToClient: onEvent("pusher:connection_established", func(m msg) msg {
			return m.withData(func(d map[string]any) { d["socket_id"] = "1.1" })
		})},
	{Name: "wrong-close-codes", Doc: "every close code of the 4000-4999 range is one off (4001 becomes 4002)",
		CloseCode: func(c int) int {
			if c >= 4000 && c < 4999 {
				return c + 1
			}
			return c
		}},
	{Name: "drop-client-pong", Doc: "the client's pusher:pong never reaches the server", ToServer: dropEvent("pusher:pong")},
	{Name: "close-on-bad-input", Doc: "a binary frame, invalid JSON or an unknown pusher: event from a client closes its connection with 4200, unanswered",
		ToServer: closeOnBadInput},
	// Channels and delivery.
	{Name: "drop-channel-events", Doc: "no channel event reaches a client (pusher: and pusher_internal: frames still do)",
		ToClient: func(_ *Session, f Frame) Verdict {
			if m, ok := parse(f); ok && m.channel() != "" && !internal(m.event()) {
				return Verdict{}
			}
			return Pass(f)
		}},
	{Name: "rewrite-data", Doc: "the data of every channel event is replaced",
		ToClient: func(_ *Session, f Frame) Verdict {
			if m, ok := parse(f); ok && m.channel() != "" && !internal(m.event()) {
				m["data"] = jsonString("rewritten by faultproxy")
				return Pass(m.frame())
			}
			return Pass(f)
		}},
	{Name: "drop-unsubscribe", Doc: "pusher:unsubscribe never reaches the server", ToServer: dropEvent("pusher:unsubscribe")},
	{Name: "refuse-long-names", Doc: "a subscription to a channel of 160 characters or more is refused",
		ToServer: onSubscribe(func(_ *Session, ch string, _ map[string]any) *Frame {
			if len(ch) >= 160 {
				return errorFrame(ch, "null", "name too long")
			}
			return nil
		})},
	{Name: "accept-bad-names", Doc: "a subscription to a channel name over 164 characters or with a character outside the set succeeds",
		ToServer: onSubscribe(func(_ *Session, ch string, _ map[string]any) *Frame {
			if len(ch) > 164 || strings.ContainsAny(ch, " /#") && !strings.HasPrefix(ch, "#server-to-user-") {
				return succeeded(ch, nil)
			}
			return nil
		})},
	{Name: "refuse-private", Doc: "every subscription to a private- channel is refused with 4009",
		ToServer: onSubscribe(func(_ *Session, ch string, _ map[string]any) *Frame {
			if strings.HasPrefix(ch, "private-") && !strings.HasPrefix(ch, "private-encrypted-") {
				return errorFrame(ch, "4009", "refused by faultproxy")
			}
			return nil
		})},
	{Name: "close-after-refusal", Doc: "after a pusher:error with code 4009 (a refused subscription or sign-in), the connection is closed with 4009",
		ToClient: closeAfterRefusal},
	{Name: "crash-on-refusal", Doc: "instead of a pusher:error with code 4009, the connection drops with no close frame, as a crashing server's does",
		ToClient: func(_ *Session, f Frame) Verdict {
			if m, ok := parse(f); ok && m.event() == "pusher:error" && m.errorCode() == 4009 {
				return Verdict{Drop: true}
			}
			return Pass(f)
		}},
	// Presence.
	{Name: "empty-member-list", Doc: "a presence subscription_succeeded lists no member",
		ToClient: onEvent("pusher_internal:subscription_succeeded", func(m msg) msg {
			if !strings.HasPrefix(m.channel(), "presence-") {
				return m
			}
			return m.withData(func(d map[string]any) {
				d["presence"] = map[string]any{"ids": []string{}, "hash": map[string]any{}, "count": 0}
			})
		})},
	{Name: "hash-omits-infoless-members", Doc: "subscription_succeeded leaves members without user_info out of presence.hash (ids and count stay right)",
		ToClient: hashOmitsInfoless},
	{Name: "own-member-added", Doc: "a joining member also gets its own member_added",
		ToServer: onSubscribe(func(s *Session, ch string, d map[string]any) *Frame {
			if cd, _ := d["channel_data"].(string); strings.HasPrefix(ch, "presence-") && cd != "" {
				var m struct {
					UserID any `json:"user_id"`
				}
				if json.Unmarshal([]byte(cd), &m) == nil {
					s.Lock()
					s.Values["member:"+ch] = fmt.Sprint(m.UserID)
					s.Unlock()
				}
			}
			return nil
		}),
		ToClient: func(s *Session, f Frame) Verdict {
			m, ok := parse(f)
			if !ok || m.event() != "pusher_internal:subscription_succeeded" {
				return Pass(f)
			}
			s.Lock()
			uid, ok := s.Values["member:"+m.channel()]
			s.Unlock()
			if !ok {
				return Pass(f)
			}
			added := msg{"event": jsonString("pusher_internal:member_added"), "channel": jsonString(m.channel())}
			added["data"] = jsonString(fmt.Sprintf(`{"user_id":%q}`, uid))
			return Verdict{Frames: []Frame{f, added.frame()}}
		}},
	{Name: "ack-presence-without-data", Doc: "a presence subscription without channel_data succeeds, with no member",
		ToServer: onSubscribe(func(_ *Session, ch string, d map[string]any) *Frame {
			if cd, _ := d["channel_data"].(string); strings.HasPrefix(ch, "presence-") && cd == "" {
				return succeeded(ch, map[string]any{"presence": map[string]any{"ids": []string{}, "hash": map[string]any{}, "count": 0}})
			}
			return nil
		})},
	// Client events and rate limits.
	{Name: "strip-user-id", Doc: "channel events lose their top-level user_id",
		ToClient: func(_ *Session, f Frame) Verdict {
			if m, ok := parse(f); ok && m["user_id"] != nil {
				delete(m, "user_id")
				return Pass(m.frame())
			}
			return Pass(f)
		}},
	{Name: "limit-forever", Doc: "after a connection's first 4301, none of its client events is relayed again",
		ToClient: func(s *Session, f Frame) Verdict {
			if m, ok := parse(f); ok && m.event() == "pusher:error" && m.errorCode() == 4301 {
				s.Lock()
				s.Values["limited"] = "yes"
				s.Unlock()
			}
			return Pass(f)
		},
		ToServer: func(s *Session, f Frame) Verdict {
			s.Lock()
			limited := s.Values["limited"] != ""
			s.Unlock()
			if m, ok := parse(f); ok && limited && strings.HasPrefix(m.event(), "client-") {
				return Verdict{}
			}
			return Pass(f)
		}},
	// User authentication.
	{Name: "rewrite-signin-user", Doc: "signin_success echoes another user's data",
		ToClient: onEvent("pusher:signin_success", func(m msg) msg {
			return m.withData(func(d map[string]any) { d["user_data"] = `{"id":"someone-else"}` })
		})},
	{Name: "fake-signin", Doc: "every pusher:signin succeeds, forged or not, and the server never hears of it",
		ToServer: func(_ *Session, f Frame) Verdict {
			m, ok := parse(f)
			if !ok || m.event() != "pusher:signin" {
				return Pass(f)
			}
			var d struct {
				UserData string `json:"user_data"`
			}
			_ = m.decodeData(&d)
			ok2 := msg{"event": jsonString("pusher:signin_success")}
			ok2["data"], _ = json.Marshal(map[string]string{"user_data": d.UserData})
			return Verdict{Reply: []Frame{ok2.frame()}}
		}},
	// HTTP API.
	{Name: "no-batch-events", Doc: "POST /apps/{id}/batch_events answers 404: the optional batch endpoint does not exist",
		Request: func(r *http.Request, _ []byte) *Reply {
			if strings.HasSuffix(r.URL.Path, "/batch_events") {
				return &Reply{Status: http.StatusNotFound, Body: []byte(`{"error":"Not found"}`)}
			}
			return nil
		}},
	{Name: "no-singular-channel", Doc: `POST /events naming its channel in "channel" instead of "channels" is refused with 400`,
		Request: noSingularChannel},
	{Name: "errors-in-body", Doc: "HTTP API errors answer 200 with the error and its status in the body", Response: errorsInBody},
	{Name: "refuse-publish", Doc: "POST /events answers 500", Request: func(r *http.Request, _ []byte) *Reply {
		if strings.HasSuffix(r.URL.Path, "/events") && !strings.HasSuffix(r.URL.Path, "/batch_events") {
			return &Reply{Status: http.StatusInternalServerError, Body: []byte(`{"error":"internal"}`)}
		}
		return nil
	}},
	{Name: "ok-true-body", Doc: `a publish answers {"ok":true} instead of {}`,
		Response: func(r *http.Request, status int, body []byte) (int, []byte) {
			if status == 200 && strings.HasSuffix(r.URL.Path, "/events") && strings.TrimSpace(string(body)) == "{}" {
				return status, []byte(`{"ok":true}`)
			}
			return status, body
		}},
	{Name: "uppercase-keys-refused", Doc: "a request whose query keys are not lowercase is refused with 401",
		Request: func(r *http.Request, _ []byte) *Reply {
			for k := range r.URL.Query() {
				if k != strings.ToLower(k) {
					return &Reply{Status: http.StatusUnauthorized, Body: []byte(`{"error":"Invalid signature"}`)}
				}
			}
			return nil
		}},
	{Name: "limit-10000", Doc: "a publish whose data is over 10,000 bytes is refused with 413 (10 KB is 10,240)",
		Request: func(r *http.Request, body []byte) *Reply {
			var b struct {
				Data string `json:"data"`
			}
			if strings.HasSuffix(r.URL.Path, "/events") && json.Unmarshal(body, &b) == nil && len(b.Data) > 10000 {
				return &Reply{Status: http.StatusRequestEntityTooLarge, Body: []byte(`{"error":"too large"}`)}
			}
			return nil
		}},
	{Name: "accept-encrypted-multi", Doc: "a publish to several channels including an encrypted one is accepted (and goes nowhere)",
		Request: func(r *http.Request, body []byte) *Reply {
			var b struct {
				Channels []string `json:"channels"`
			}
			if json.Unmarshal(body, &b) == nil && len(b.Channels) > 1 && slices.ContainsFunc(b.Channels, func(c string) bool { return strings.HasPrefix(c, "private-encrypted-") }) {
				return &Reply{Status: http.StatusOK, Body: []byte(`{}`)}
			}
			return nil
		}},
	{Name: "strip-info", Doc: "answers lose occupied, user_count, subscription_count and cache",
		Response: func(_ *http.Request, status int, body []byte) (int, []byte) {
			var v any
			if json.Unmarshal(body, &v) != nil {
				return status, body
			}
			stripInfo(v)
			b, _ := json.Marshal(v)
			return status, b
		}},
	{Name: "duplicate-users", Doc: "the users of a presence channel are listed with the first one twice",
		Response: func(r *http.Request, status int, body []byte) (int, []byte) {
			var v struct {
				Users []json.RawMessage `json:"users"`
			}
			if !strings.HasSuffix(r.URL.Path, "/users") || json.Unmarshal(body, &v) != nil || len(v.Users) == 0 {
				return status, body
			}
			v.Users = append(v.Users, v.Users[0])
			b, _ := json.Marshal(v)
			return status, b
		}},
}

func stripInfo(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range []string{"occupied", "user_count", "subscription_count", "cache"} {
			delete(v, k)
		}
		for _, x := range v {
			stripInfo(x)
		}
	case []any:
		for _, x := range v {
			stripInfo(x)
		}
	}
}

// msg is a frame's JSON object, its members kept raw.
type msg map[string]json.RawMessage

func parse(f Frame) (msg, bool) {
	if f.Type != websocket.TextMessage {
		return nil, false
	}
	var m msg
	return m, json.Unmarshal(f.Data, &m) == nil && m != nil
}

func (m msg) str(k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return s
}

func (m msg) event() string   { return m.str("event") }
func (m msg) channel() string { return m.str("channel") }

// dataJSON is the data's JSON: the string's content when data is a JSON string.
func (m msg) dataJSON() []byte {
	var s string
	if json.Unmarshal(m["data"], &s) == nil {
		return []byte(s)
	}
	return m["data"]
}

func (m msg) decodeData(v any) error { return json.Unmarshal(m.dataJSON(), v) }

func (m msg) errorCode() int {
	var d struct {
		Code int `json:"code"`
	}
	_ = m.decodeData(&d)
	return d.Code
}

// withData edits the data object, keeping its encoding (a JSON string stays one).
func (m msg) withData(edit func(map[string]any)) msg {
	var d map[string]any
	if m.decodeData(&d) != nil || d == nil {
		return m
	}
	edit(d)
	b, _ := json.Marshal(d)
	var s string
	if json.Unmarshal(m["data"], &s) == nil {
		m["data"] = jsonString(string(b))
	} else {
		m["data"] = b
	}
	return m
}

func (m msg) frame() Frame {
	b, _ := json.Marshal(m)
	return Frame{Type: websocket.TextMessage, Data: b}
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func internal(event string) bool {
	return strings.HasPrefix(event, "pusher:") || strings.HasPrefix(event, "pusher_internal:")
}

func dropEvent(event string) func(*Session, Frame) Verdict {
	return func(_ *Session, f Frame) Verdict {
		if m, ok := parse(f); ok && m.event() == event {
			return Verdict{}
		}
		return Pass(f)
	}
}

func onEvent(event string, edit func(msg) msg) func(*Session, Frame) Verdict {
	return func(_ *Session, f Frame) Verdict {
		if m, ok := parse(f); ok && m.event() == event {
			return Pass(edit(m).frame())
		}
		return Pass(f)
	}
}

// onSubscribe calls answer for every pusher:subscribe a client sends; a frame it returns is
// the client's answer in the server's place, and the subscribe is not passed on.
func onSubscribe(answer func(s *Session, channel string, data map[string]any) *Frame) func(*Session, Frame) Verdict {
	return func(s *Session, f Frame) Verdict {
		m, ok := parse(f)
		if !ok || m.event() != "pusher:subscribe" {
			return Pass(f)
		}
		var d map[string]any
		_ = m.decodeData(&d)
		ch, _ := d["channel"].(string)
		if r := answer(s, ch, d); r != nil {
			return Verdict{Reply: []Frame{*r}}
		}
		return Pass(f)
	}
}

func errorFrame(channel, code, text string) *Frame {
	b, _ := json.Marshal(map[string]any{"event": "pusher:error", "channel": channel, "data": map[string]any{"message": text, "code": json.RawMessage(code)}})
	return &Frame{Type: websocket.TextMessage, Data: b}
}

func succeeded(channel string, data map[string]any) *Frame {
	if data == nil {
		data = map[string]any{}
	}
	inner, _ := json.Marshal(data)
	b, _ := json.Marshal(map[string]any{"event": "pusher_internal:subscription_succeeded", "channel": channel, "data": string(inner)})
	return &Frame{Type: websocket.TextMessage, Data: b}
}

func closeAfterRefusal(_ *Session, f Frame) Verdict {
	if m, ok := parse(f); ok && m.event() == "pusher:error" && m.errorCode() == 4009 {
		return Verdict{Frames: []Frame{f}, Close: 4009}
	}
	return Pass(f)
}

func hashOmitsInfoless(_ *Session, f Frame) Verdict {
	m, ok := parse(f)
	if !ok || m.event() != "pusher_internal:subscription_succeeded" {
		return Pass(f)
	}
	return Pass(m.withData(func(d map[string]any) {
		p, _ := d["presence"].(map[string]any)
		hash, _ := p["hash"].(map[string]any)
		for id, info := range hash {
			if info == nil {
				delete(hash, id)
			}
		}
	}).frame())
}

func errorsInBody(_ *http.Request, status int, body []byte) (int, []byte) {
	if status < 400 || status > 499 {
		return status, body
	}
	b, _ := json.Marshal(map[string]any{"error": strings.TrimSpace(string(body)), "code": status})
	return http.StatusOK, b
}

func closeOnBadInput(_ *Session, f Frame) Verdict {
	m, ok := parse(f)
	if !ok || (strings.HasPrefix(m.event(), "pusher:") && !slices.Contains(knownClientEvents, m.event())) {
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
