package refserver

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// badInputCase is one row of TestBadInput. run provokes the bad input and asserts the exact
// reply; it returns the offending connection when that connection must still be open, so that
// the harness can check it still answers pusher:ping, or nil (HTTP cases, closed connections).
type badInputCase struct {
	name string
	cfg  func(*Config)
	run  func(t *testing.T, ts *testServer) *testClient
}

// TestBadInput feeds the server one bad input per case and asserts the exact reply, then that
// the server still serves: an observer connected before the bad input receives an HTTP-triggered
// event, and the offending connection (when it stays open) answers pusher:ping with pusher:pong.
func TestBadInput(t *testing.T) {
	const null = 0 // pusher:error with "code": null

	long := func(n int) string { return strings.Repeat("a", n) }
	zeros := strings.Repeat("0", 64)

	cases := []badInputCase{
		// Frames that are not protocol messages.
		{name: "binary frame", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"event":"pusher:ping","data":{}}`)); err != nil {
				t.Fatal(err)
			}
			biWantError(t, c, null, "Invalid message format: binary frames are not supported", "")
			return c
		}},
		biFrame("invalid JSON", `{"event":"pusher:ping","data":`, null, "Invalid message format: frame is not a JSON object", ""),
		biFrame("JSON array frame", `[{"event":"pusher:ping","data":{}}]`, null, "Invalid message format: frame is not a JSON object", ""),
		biFrame("JSON string frame", `"pusher:ping"`, null, "Invalid message format: frame is not a JSON object", ""),
		biFrame("empty text frame", ``, null, "Invalid message format: frame is not a JSON object", ""),
		biFrame("event is a number", `{"event":42,"data":{}}`, null, "Invalid message format: frame field has the wrong type: event must be a string", ""),
		biFrame("event missing", `{"data":{}}`, null, "Invalid message format: frame has no event name", ""),
		biFrame("channel is an object", `{"event":"client-x","channel":{},"data":{}}`, null, "Invalid message format: frame field has the wrong type: channel must be a string", ""),

		// pusher:subscribe with data of the wrong type or shape.
		biFrame("subscribe data a number", `{"event":"pusher:subscribe","data":42}`, null, "Invalid subscribe: frame field has the wrong type: data: the value must be an object, not a number", ""),
		biFrame("subscribe data an invalid JSON string", `{"event":"pusher:subscribe","data":"{\"channel\":"}`, null, "Invalid subscribe: frame field has the wrong type: data: not valid JSON: it ends too soon", ""),
		biFrame("subscribe data missing", `{"event":"pusher:subscribe"}`, null, "Invalid subscribe: frame field has the wrong type: data is missing", ""),
		biFrame("subscribe channel a number", `{"event":"pusher:subscribe","data":{"channel":7}}`, null, "Invalid subscribe: frame field has the wrong type: channel must be a string", ""),
		biFrame("subscribe auth a number", `{"event":"pusher:subscribe","data":{"channel":"private-x","auth":7}}`, null, "Invalid subscribe: frame field has the wrong type: auth must be a string", ""),
		biFrame("subscribe without channel", `{"event":"pusher:subscribe","data":{}}`, null, "Invalid subscribe: data.channel is required", ""),
		biFrame("subscribe with empty channel", `{"event":"pusher:subscribe","data":{"channel":""}}`, null, "Invalid subscribe: data.channel is required", ""),
		biFrame("unsubscribe without channel", `{"event":"pusher:unsubscribe","data":{}}`, null, "Invalid unsubscribe: data.channel is required", ""),

		// Reserved and non-client event names.
		biFrame("unknown pusher: event", `{"event":"pusher:foo","data":{}}`, null, "Unsupported event: pusher:foo", ""),
		biFrame("pusher_internal: event from a client", `{"event":"pusher_internal:subscription_succeeded","channel":"x","data":"{}"}`, null, "Unsupported event: pusher_internal:subscription_succeeded", "x"),
		biFrame("non-client- event name", `{"event":"my-event","channel":"private-x","data":{}}`, null, "Invalid event name my-event: events from clients must start with client-", "private-x"),

		// Channel names.
		{name: "164-char channel accepted", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe(long(164), "", "")
			biWantEvent(t, c, protocol.EventSubscriptionSucceeded, long(164))
			return c
		}},
		biSubscribe("165-char channel refused", long(165), "", "", null, "Invalid channel name \""+long(165)+"\"", long(165)),
		biSubscribe("channel with #", "#foo", "", "", null, `Invalid channel name "#foo"`, "#foo"),
		biSubscribe("channel #server-to-use- (not the server-to-user prefix)", "#server-to-use-u1", "", "", null, `Invalid channel name "#server-to-use-u1"`, "#server-to-use-u1"),
		biSubscribe("channel with a space", "foo bar", "", "", null, `Invalid channel name "foo bar"`, "foo bar"),

		// Private channel authorization.
		{name: "private forged signature", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe("private-x", testKey+":"+zeros, "")
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signature: Expected HMAC SHA256 hex digest of "+c.socketID+":private-x, but got "+testKey+":"+zeros, "private-x")
			return c
		}},
		{name: "private auth missing", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe("private-x", "", "")
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signature: Expected HMAC SHA256 hex digest of "+c.socketID+":private-x, but got ", "private-x")
			return c
		}},
		{name: "private auth signed for another socket_id", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe("private-x", protocol.SignChannel(testKey, testSecret, "1234.5678", "private-x", ""), "")
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signature", "private-x")
			return c
		}},
		{name: "private auth right signature under another key", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			sig := strings.TrimPrefix(protocol.SignChannel(testKey, testSecret, c.socketID, "private-x", ""), testKey+":")
			c.subscribe("private-x", "other-key:"+sig, "")
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signature", "private-x")
			return c
		}},
		{name: "private-encrypted auth signed for private-", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe("private-encrypted-x", protocol.SignChannel(testKey, testSecret, c.socketID, "private-x", ""), "")
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signature", "private-encrypted-x")
			return c
		}},

		// Presence channels.
		{name: "presence auth without channel_data", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe("presence-x", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-x", ""), "")
			biWantError(t, c, null, "Invalid presence channel_data: channel_data is not a JSON object", "presence-x")
			return c
		}},
		{name: "presence bad signature with 15 KB channel_data: a short error", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			cd := presenceData("u1", `"`+long(15000)+`"`)
			c.subscribe("presence-x", testKey+":"+zeros, cd)
			f := biNext(t, c)
			if code := errorCode(f); f.msg.Event != protocol.EventError || code == nil || *code != protocol.CodeUnauthorized || len(f.raw) > 1024 {
				t.Fatalf("got %d bytes: %.300s; want a 4009 pusher:error of at most 1 KiB", len(f.raw), f.raw)
			}
			return c
		}},
		{name: "sign-in bad signature with 15 KB user_data: a short error", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			ud := `{"id":"u1","user_info":"` + long(15000) + `"}`
			c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"user_data": ud, "auth": testKey + ":" + zeros}})
			f := biNext(t, c)
			if f.msg.Event != protocol.EventError || len(f.raw) > 1024 {
				t.Fatalf("got %d bytes: %.300s; want a pusher:error of at most 1 KiB", len(f.raw), f.raw)
			}
			return c
		}},
		{name: "presence re-subscribe: a short error, no member list", run: func(t *testing.T, ts *testServer) *testClient {
			c, other := ts.dial(), ts.dial()
			other.join("presence-x", presenceData("u0", `"`+long(1000)+`"`))
			cd := presenceData("u1", "")
			c.join("presence-x", cd)
			c.subscribe("presence-x", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-x", cd), cd)
			f := biNext(t, c)
			if f.msg.Event != protocol.EventError || !strings.Contains(f.raw, "Existing subscription to channel presence-x") || len(f.raw) > 300 {
				t.Fatalf("got %d bytes: %.300s; want a short pusher:error", len(f.raw), f.raw)
			}
			return c
		}},
		{name: "subscription limit per connection (3 here, 1000 by default)", cfg: func(c *Config) { c.MaxSubscriptions = 3 },
			run: func(t *testing.T, ts *testServer) *testClient {
				c := ts.dial()
				for _, ch := range []string{"a", "b", "c"} {
					c.subscribe(ch, "", "")
					biWantEvent(t, c, protocol.EventSubscriptionSucceeded, ch)
				}
				c.subscribe("d", "", "")
				biWantError(t, c, null, "Subscription limit reached: at most 3 channels per connection", "d")
				c.send(`{"event":"pusher:unsubscribe","data":{"channel":"a"}}`)
				c.subscribe("d", "", "")
				biWantEvent(t, c, protocol.EventSubscriptionSucceeded, "d")
				return c
			}},
		{name: "subscribe rate per connection (a burst of 2+1, then 1 a second, here)", cfg: func(c *Config) { c.MaxSubscriptions, c.SubscribeRate = 2, 1 },
			run: func(t *testing.T, ts *testServer) *testClient {
				c := ts.dial()
				for _, ch := range []string{"a", "b", "a"} {
					c.send(`{"event":"pusher:unsubscribe","data":{"channel":"a"}}`)
					c.subscribe(ch, "", "")
					biWantEvent(t, c, protocol.EventSubscriptionSucceeded, ch)
				}
				c.send(`{"event":"pusher:unsubscribe","data":{"channel":"a"}}`)
				c.subscribe("a", "", "")
				biWantError(t, c, null, "Too many subscribes: at most 1 a second", "a")
				return c
			}},
		biPresence("presence channel_data without user_id", `{"user_info":{"name":"A"}}`, null, "Invalid presence channel_data: channel_data has no user_id"),
		biPresence("presence user_id empty", `{"user_id":""}`, null, "Invalid presence channel_data: channel_data user_id is empty"),
		biPresence("presence user_id an object", `{"user_id":{}}`, null, "Invalid presence channel_data: channel_data user_id must be a string or a number"),
		biPresence("presence user_id of 129 chars", presenceData(long(129), ""), null, "Invalid presence channel_data: channel_data user_id is longer than 128 characters"),
		biPresence("presence user_info over 1024 bytes", presenceData("u1", `"`+long(1023)+`"`), null, "Presence user_info is 1025 bytes, over the limit of 1024"),
		{name: "presence user_info of exactly 1024 bytes accepted", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			cd := presenceData("u1", `"`+long(1022)+`"`)
			c.subscribe("presence-x", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-x", cd), cd)
			biWantEvent(t, c, protocol.EventSubscriptionSucceeded, "presence-x")
			return c
		}},
		{
			// The default limit is 100 members; MaxPresenceMembers 2 checks the same code path
			// (join's len(ch.members) >= a.MaxPresenceMembers) with 3 connections instead of 101.
			name: "presence member over MaxPresenceMembers (2 here, 100 by default)",
			cfg:  func(c *Config) { c.Apps[0].MaxPresenceMembers = 2 },
			run: func(t *testing.T, ts *testServer) *testClient {
				a, b := ts.dial(), ts.dial()
				a.join("presence-full", presenceData("a", ""))
				b.join("presence-full", presenceData("b", ""))
				a.expect(protocol.EventMemberAdded)
				c := ts.dial()
				cd := presenceData("c", "")
				c.subscribe("presence-full", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-full", cd), cd)
				biWantError(t, c, protocol.CodeOverCapacity, "Presence channel is full: 2 members", "presence-full")
				// A second tab of an existing member still joins.
				a2 := ts.dial()
				f := a2.join("presence-full", presenceData("a", ""))
				if !strings.Contains(f.raw, `\"count\":2`) {
					t.Errorf("second tab of a member: got %s, want count 2", f.raw)
				}
				a.expectNone(protocol.EventMemberAdded, 50*time.Millisecond)
				return c
			},
		},

		// Frame size.
		{name: "oversized frame closes 1009", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			big := `{"event":"pusher:ping","data":"` + long(DefaultMaxMessageBytes) + `"}`
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
				t.Fatal(err)
			}
			biWantClose(t, c, websocket.CloseMessageTooBig)
			biWaitConnections(t, ts, 1)
			return nil
		}},
		{name: "frame of exactly MaxMessageBytes accepted", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			ping := `{"event":"pusher:ping","data":{}}`
			c.send(ping + strings.Repeat(" ", DefaultMaxMessageBytes-len(ping)))
			biWantEvent(t, c, protocol.EventPong, "")
			return c
		}},

		// Client events.
		{name: "client event on a public channel", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.join("pub", "")
			c.send(`{"event":"client-x","channel":"pub","data":{}}`)
			biWantError(t, c, null, "Client events are only accepted on private and presence channels", "pub")
			return c
		}},
		{name: "client event on a private-encrypted channel", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.join("private-encrypted-x", "")
			c.send(`{"event":"client-x","channel":"private-encrypted-x","data":"cipher"}`)
			biWantError(t, c, null, "Client events are only accepted on private and presence channels", "private-encrypted-x")
			return c
		}},
		biFrame("client event without channel", `{"event":"client-x","data":{}}`, null, "Client event client-x has no channel", ""),
		biFrame("client event from a non-member", `{"event":"client-x","channel":"private-x","data":{}}`, protocol.CodeUnauthorized, "The client is not subscribed to private-x", "private-x"),
		{name: "client event name of 201 chars", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.join("private-x", "")
			c.send(fmt.Sprintf(`{"event":"client-%s","channel":"private-x","data":{}}`, long(201-len("client-"))))
			biWantError(t, c, null, "Event name is longer than 200 characters", "private-x")
			return c
		}},
		{name: "client event data over 10 KiB", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.join("private-x", "")
			data := `"` + long(DefaultMaxEventData-1) + `"` // 10241 bytes of JSON
			c.send(`{"event":"client-x","channel":"private-x","data":` + data + `}`)
			biWantError(t, c, null, "Client event data is 10241 bytes, over the limit of 10240", "private-x")
			return c
		}},
		{name: "11th client event in a second", run: func(t *testing.T, ts *testServer) *testClient {
			c, peer := ts.dial(), ts.dial()
			c.join("private-x", "")
			peer.join("private-x", "")
			for i := range 11 {
				c.send(fmt.Sprintf(`{"event":"client-n","channel":"private-x","data":{"i":%d}}`, i))
			}
			biWantError(t, c, protocol.CodeClientEventLimit, "Client event rejected due to rate limit: at most 10 per second", "private-x")
			for i := range 10 {
				f := biNext(t, peer)
				if want := fmt.Sprintf(`{"i":%d}`, i); f.msg.Event != "client-n" || string(f.msg.Data) != want {
					t.Fatalf("peer: frame %d: got %s, want client-n with %s", i, f.raw, want)
				}
			}
			biWantPong(t, peer) // the 11th was not relayed
			return c
		}},
		{name: "client event not UTF-8: 1007, not relayed", run: func(t *testing.T, ts *testServer) *testClient {
			c, peer := ts.dial(), ts.dial()
			c.join("private-x", "")
			peer.join("private-x", "")
			c.send("{\"event\":\"client-x\",\"channel\":\"private-x\",\"data\":{\"t\":\"caf\xc3\"}}")
			biWantClose(t, c, websocket.CloseInvalidFramePayloadData)
			biWantPong(t, peer) // the first frame the peer gets: nothing was relayed
			return nil
		}},
		{name: "error quoting a long name cuts it at a character", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			name := strings.Repeat("é", 151) // 2 bytes a character: a cut at 200 bytes falls in one
			c.send(map[string]any{"event": "pusher:" + name, "data": map[string]any{}})
			f := biNext(t, c)
			// A cut inside a character would reach the client as U+FFFD, the JSON encoder's
			// stand-in for the half character.
			if f.msg.Event != protocol.EventError || strings.Contains(f.raw, `\ufffd`) || !strings.Contains(f.raw, "é...") {
				t.Fatalf("got %q, want a pusher:error quoting whole characters", f.raw)
			}
			return c
		}},
		biHTTP("API body not UTF-8", "POST", "/apps/1/events", "{\"name\":\"e\",\"channels\":[\"pub\"],\"data\":\"caf\xc3\"}", 0, nil,
			400, "Request body is not valid UTF-8"),
		{
			name: "client events disabled for the app",
			cfg:  func(c *Config) { off := false; c.Apps[0].ClientEvents = &off },
			run: func(t *testing.T, ts *testServer) *testClient {
				c := ts.dial()
				c.join("private-x", "")
				c.send(`{"event":"client-x","channel":"private-x","data":{}}`)
				biWantError(t, c, protocol.CodeClientEventLimit, "Client events are not enabled for this app", "private-x")
				return c
			},
		},

		// Sign-in and server-to-user channels.
		{name: "subscribe to another user's #server-to-user- channel", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			biSignin(t, c, `{"id":"u1"}`)
			c.subscribe("#server-to-user-u2", "", "")
			biWantError(t, c, protocol.CodeUnauthorized, "Only the connection signed in as that user may subscribe to #server-to-user-u2", "#server-to-user-u2")
			return c
		}},
		biSubscribe("subscribe to #server-to-user- without signin", "#server-to-user-u1", "", "", protocol.CodeUnauthorized,
			"Only the connection signed in as that user may subscribe to #server-to-user-u1", "#server-to-user-u1"),
		{name: "signin with a bad signature", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			ud := `{"id":"u1"}`
			c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"user_data": ud, "auth": testKey + ":" + zeros}})
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signature: Expected HMAC SHA256 hex digest of "+c.socketID+"::user::"+ud+", but got "+testKey+":"+zeros, "")
			return c
		}},
		{name: "signin user_data without id", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			ud := `{"name":"x"}`
			c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"user_data": ud, "auth": protocol.SignUser(testKey, testSecret, c.socketID, ud)}})
			biWantError(t, c, protocol.CodeUnauthorized, "Invalid signin: user_data must have a non-empty string id", "")
			return c
		}},
		biFrame("signin data a number", `{"event":"pusher:signin","data":5}`, protocol.CodeUnauthorized, "Invalid signin: frame field has the wrong type", ""),
		{name: "signed-in member without channel_data: user_info over the limit", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			biSignin(t, c, `{"id":"u1","user_info":{"x":"`+long(1100)+`"}}`)
			c.subscribe("presence-x", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-x", ""), "")
			biWantError(t, c, null, "Presence user_info is 1108 bytes, over the limit of 1024", "presence-x")
			return c
		}},
		{name: "signed-in member without channel_data: id of 129 chars", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			biSignin(t, c, `{"id":"`+long(129)+`"}`)
			c.subscribe("presence-x", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-x", ""), "")
			biWantError(t, c, null, "the signed-in user id is longer than 128 characters", "presence-x")
			return c
		}},
		{name: "signin again as the same user with another watchlist", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			biSignin(t, c, `{"id":"u1","watchlist":["u2"]}`)
			biWantEvent(t, c, "pusher_internal:watchlist_events", "")
			ud := `{"id":"u1","watchlist":["u3"]}`
			c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"user_data": ud, "auth": protocol.SignUser(testKey, testSecret, c.socketID, ud)}})
			biWantError(t, c, protocol.CodeUnauthorized, `already signed in as "u1" with other user_info or watchlist`, "")
			return c
		}},
		{name: "signin as a second user on one connection", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			biSignin(t, c, `{"id":"u1"}`)
			ud := `{"id":"u2"}`
			c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"user_data": ud, "auth": protocol.SignUser(testKey, testSecret, c.socketID, ud)}})
			biWantError(t, c, protocol.CodeUnauthorized, `Invalid signin: connection is already signed in as "u1"`, "")
			return c
		}},

		// Connections refused at the handshake: pusher:error, then a close with the same code.
		biRefused("unknown app key", "nokey", "?protocol=7", protocol.CodeAppNotFound, `Application does not exist: no app has key "nokey"`),
		biRefused("protocol missing", testKey, "", protocol.CodeNoVersion, "No protocol version supplied"),
		biRefused("protocol empty", testKey, "?protocol=", protocol.CodeNoVersion, "No protocol version supplied"),
		biRefused("protocol=abc", testKey, "?protocol=abc", protocol.CodeInvalidVersion, `Invalid version string format: "abc"`),
		biRefused("protocol=6", testKey, "?protocol=6", protocol.CodeUnsupportedVersion, "Unsupported protocol version 6: this server speaks 7"),
		{
			name: "disabled app",
			cfg: func(c *Config) {
				c.Apps = append(c.Apps, App{ID: "2", Key: "off-key", Secret: "s", Disabled: true})
			},
			run: biRefused("", "off-key", "?protocol=7", protocol.CodeAppDisabled, "Application disabled").run,
		},

		// HTTP API: authentication.
		biHTTP("API bad signature", "POST", "/apps/1/events", biEvent("pub", "e", "x"), 0, func(q url.Values) {
			q.Set(protocol.ParamSignature, protocol.HMACHex("wrong-secret", "x"))
		}, 401, "Invalid signature: the auth_signature does not match the request"),
		biHTTP("API stale timestamp (now-601s)", "POST", "/apps/1/events", biEvent("pub", "e", "x"), -601*time.Second, nil,
			401, "Timestamp expired: given timestamp"),
		// +602 s: the request is signed a few ms before the server reads it, and the server's
		// window is inclusive in whole seconds, so +601 s can legitimately read as +600 s.
		biHTTP("API future timestamp (now+602s)", "POST", "/apps/1/events", biEvent("pub", "e", "x"), 602*time.Second, nil,
			401, "Timestamp expired: given timestamp"),
		biHTTP("API wrong body_md5 (correctly signed)", "POST", "/apps/1/events", biEvent("pub", "e", "x"), 0, func(q url.Values) {
			q.Set(protocol.ParamBodyMD5, protocol.BodyMD5([]byte("another body")))
		}, 401, "Authentication failed: body_md5 does not match the body"),
		biHTTP("API missing auth_signature", "POST", "/apps/1/events", biEvent("pub", "e", "x"), 0, func(q url.Values) {
			q.Del(protocol.ParamSignature)
		}, 401, "Authentication failed: missing authentication parameter: auth_signature"),
		biHTTP("API wrong auth_key", "POST", "/apps/1/events", biEvent("pub", "e", "x"), 0, func(q url.Values) {
			q.Set(protocol.ParamKey, "other-key")
		}, 401, `Authentication failed: unknown auth_key: "other-key"`),
		biHTTP("API unknown app id", "POST", "/apps/99/events", biEvent("pub", "e", "x"), 0, nil, 404, `Unknown app_id "99"`),

		// HTTP API: trigger limits.
		biHTTP("API data of 10 KiB + 1", "POST", "/apps/1/events", biEvent("pub", "e", long(10<<10+1)), 0, nil,
			413, "data is 10241 bytes, over the limit of 10240"),
		biHTTP("API data of exactly 10 KiB accepted", "POST", "/apps/1/events", biEvent("pub", "e", long(10<<10)), 0, nil, 200, ""),
		biHTTP("API 101 channels", "POST", "/apps/1/events", map[string]any{"name": "e", "data": "x", "channels": biChannels(101)}, 0, nil,
			400, "101 channels, over the limit of 100"),
		{name: "API publish naming a channel twice: delivered once", run: func(t *testing.T, ts *testServer) *testClient {
			c := ts.dial()
			c.subscribe("twice", "", "")
			biWantEvent(t, c, protocol.EventSubscriptionSucceeded, "twice")
			status, body := ts.api("POST", "/apps/1/events", map[string]any{"name": "e", "data": "x", "channels": []string{"twice", "twice"}}, nil)
			if status != 200 {
				t.Fatalf("publish: %d %s", status, body)
			}
			biWantEvent(t, c, "e", "twice")
			return c // the pong checked next is its next frame: no second delivery
		}},
		biHTTP("API 100 channels accepted", "POST", "/apps/1/events", map[string]any{"name": "e", "data": "x", "channels": biChannels(100)}, 0, nil, 200, ""),
		biHTTP("API batch of 11", "POST", "/apps/1/batch_events", map[string]any{"batch": biBatch(11)}, 0, nil,
			400, "Cannot batch-send more than 10 events at once (got 11)"),
		biHTTP("API batch item with channels", "POST", "/apps/1/batch_events", map[string]any{"batch": []any{map[string]any{"name": "e", "data": "x", "channels": []string{"a"}}}}, 0, nil,
			400, "batch[0]: a batch event takes one channel, not channels"),
		biHTTP("API channels as a string", "POST", "/apps/1/events", `{"name":"e","channels":"pub","data":"x"}`, 0, nil,
			400, "Request body is not valid JSON: channels must be an array, not a string"),
		biHTTP("API batch as an object", "POST", "/apps/1/batch_events", `{"batch":{"a":1}}`, 0, nil,
			400, "Request body is not valid JSON: batch must be an array, not an object"),
		biFrame("signin data an array", `{"event":"pusher:signin","data":[1]}`, protocol.CodeUnauthorized, "Invalid signin: frame field has the wrong type: data: the value must be an object, not an array", ""),
		biHTTP("API malformed JSON body", "POST", "/apps/1/events", `{"name":"e",`, 0, nil, 400, "Request body is not valid JSON"),
		biHTTP("API empty body", "POST", "/apps/1/events", nil, 0, nil, 400, "Request body is empty"),
		biHTTP("API data as a JSON object", "POST", "/apps/1/events", `{"name":"e","channels":["pub"],"data":{"a":1}}`, 0, nil,
			400, "data must be a string (JSON-encode objects before sending)"),
		biHTTP("API data missing", "POST", "/apps/1/events", `{"name":"e","channels":["pub"]}`, 0, nil, 400, "data is required"),
		biHTTP("API event name of 201 chars", "POST", "/apps/1/events", biEvent("pub", long(201), "x"), 0, nil,
			400, "name is 201 characters, over the limit of 200"),
		biHTTP("API invalid socket_id", "POST", "/apps/1/events", map[string]any{"name": "e", "data": "x", "channels": []string{"pub"}, "socket_id": "abc"}, 0, nil,
			400, `Invalid socket_id "abc"`),
		biHTTP("API invalid channel name", "POST", "/apps/1/events", biEvent("#foo", "e", "x"), 0, nil, 400, `Invalid channel name "#foo"`),
		biHTTP("API encrypted channel among several", "POST", "/apps/1/events", map[string]any{"name": "e", "data": "x", "channels": []string{"a", "private-encrypted-b"}}, 0, nil,
			400, "an encrypted channel (private-encrypted-b) must be triggered alone"),
		{name: "API body over 256 KiB", run: func(t *testing.T, ts *testServer) *testClient {
			body := []byte(`{"name":"e","channels":["pub"],"data":"` + long(DefaultMaxHTTPBody) + `"}`)
			q := protocol.SignRequest(testKey, testSecret, "POST", "/apps/1/events", body, nil, time.Now())
			status, resp := ts.rawAPI("POST", "/apps/1/events?"+q.Encode(), body)
			biCheckHTTP(t, status, resp, 413, "Request body is over 262144 bytes")
			return nil
		}},

		// HTTP API: queries.
		biHTTP("API channel info=user_count on a public channel", "GET", "/apps/1/channels/pub", nil, 0, nil, 400,
			"info=user_count is only for presence channels", "info", "user_count"),
		biHTTP("API channels info=user_count without presence filter", "GET", "/apps/1/channels", nil, 0, nil, 400,
			"info=user_count needs filter_by_prefix=presence-", "info", "user_count"),
		biHTTP("API channels unknown info attribute", "GET", "/apps/1/channels", nil, 0, nil, 400,
			`info: unknown attribute "members"`, "info", "members"),
		biHTTP("API channel info=cache on a non-cache channel", "GET", "/apps/1/channels/pub", nil, 0, nil, 400,
			"info=cache is only for cache channels", "info", "cache"),
		biHTTP("API users of a public channel", "GET", "/apps/1/channels/pub/users", nil, 0, nil, 400,
			"users are only listed for presence channels"),
	}

	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg)
			observer := ts.dial()
			observer.join("observer", "")

			offender := tc.run(t, ts)

			// The server still serves others: the observer gets an HTTP-triggered event...
			ts.trigger("observer", "still-serving", "ok")
			biWantEvent(t, observer, "still-serving", "observer")
			// ...and the offending connection, when it was not closed, still answers pings.
			if offender != nil {
				biWantPong(t, offender)
			}
		})
	}
}

// biNext returns the next frame of c; it fails if c closes or nothing arrives in time.
func biNext(t testing.TB, c *testClient) frame {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			t.Fatalf("connection closed (code %d) while a frame was expected", <-c.closed)
		}
		return f
	case <-time.After(wait):
		t.Fatalf("no frame within %v", wait)
	}
	return frame{}
}

// biWantError asserts the next frame is a pusher:error with this code (0: null), a message
// containing phrase, and this channel member ("" when absent).
func biWantError(t testing.TB, c *testClient, code int, phrase, channel string) {
	t.Helper()
	f := biNext(t, c)
	if f.msg.Event != protocol.EventError {
		t.Fatalf("got %s, want pusher:error", f.raw)
	}
	var d protocol.ErrorData
	if err := json.Unmarshal(f.msg.Data, &d); err != nil {
		t.Fatalf("pusher:error data is not an object: %s", f.raw)
	}
	switch {
	case code == 0 && d.Code != nil:
		t.Errorf("code: got %d, want null: %s", *d.Code, f.raw)
	case code != 0 && (d.Code == nil || *d.Code != code):
		t.Errorf("code: want %d: %s", code, f.raw)
	}
	if code == 0 && !strings.Contains(f.raw, `"code":null`) {
		t.Errorf("code null must be sent explicitly: %s", f.raw)
	}
	if !strings.Contains(d.Message, phrase) {
		t.Errorf("message: got %q, want it to contain %q", d.Message, phrase)
	}
	biSpeaksJSON(t, d.Message)
	if f.msg.Channel != channel {
		t.Errorf("channel: got %q, want %q", f.msg.Channel, channel)
	}
}

// biWantEvent asserts the next frame is event on channel.
func biWantEvent(t testing.TB, c *testClient, event, channel string) frame {
	t.Helper()
	f := biNext(t, c)
	if f.msg.Event != event || f.msg.Channel != channel {
		t.Fatalf("got %s, want %s on %q", f.raw, event, channel)
	}
	return f
}

// biWantPong sends pusher:ping and asserts the very next frame is pusher:pong.
func biWantPong(t testing.TB, c *testClient) {
	t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:ping","data":{}}`)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	biWantEvent(t, c, protocol.EventPong, "")
}

// biWantClose asserts that c is closed with code and receives no frame before.
func biWantClose(t testing.TB, c *testClient, code int) {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		if ok {
			t.Fatalf("got %s, want a close %d", f.raw, code)
		}
		if got := <-c.closed; got != code {
			t.Fatalf("close code: got %d, want %d", got, code)
		}
	case <-time.After(wait):
		t.Fatalf("not closed within %v", wait)
	}
}

// biWaitConnections waits until the server counts n connections.
func biWaitConnections(t testing.TB, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for ts.Connections() != n {
		if time.Now().After(deadline) {
			t.Fatalf("connections: got %d, want %d", ts.Connections(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// biSignin signs c in with userData and waits for pusher:signin_success.
func biSignin(t testing.TB, c *testClient, userData string) {
	t.Helper()
	c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{
		"user_data": userData, "auth": protocol.SignUser(testKey, testSecret, c.socketID, userData)}})
	f := biWantEvent(t, c, protocol.EventSigninSuccess, "")
	var d struct {
		UserData string `json:"user_data"`
	}
	if err := f.msg.DecodeData(&d); err != nil || d.UserData != userData {
		t.Fatalf("signin_success: got %s, want user_data %s echoed", f.raw, userData)
	}
}

// biFrame is a case sending one text frame on a fresh connection and expecting one pusher:error.
func biFrame(name, text string, code int, phrase, channel string) badInputCase {
	return badInputCase{name: name, run: func(t *testing.T, ts *testServer) *testClient {
		c := ts.dial()
		c.send(text)
		biWantError(t, c, code, phrase, channel)
		return c
	}}
}

// biSubscribe is a case subscribing with the given auth and channel_data.
func biSubscribe(name, channel, auth, channelData string, code int, phrase, errChannel string) badInputCase {
	return badInputCase{name: name, run: func(t *testing.T, ts *testServer) *testClient {
		c := ts.dial()
		c.subscribe(channel, auth, channelData)
		biWantError(t, c, code, phrase, errChannel)
		return c
	}}
}

// biPresence is a case subscribing to presence-x with channelData correctly signed.
func biPresence(name, channelData string, code int, phrase string) badInputCase {
	return badInputCase{name: name, run: func(t *testing.T, ts *testServer) *testClient {
		c := ts.dial()
		c.subscribe("presence-x", protocol.SignChannel(testKey, testSecret, c.socketID, "presence-x", channelData), channelData)
		biWantError(t, c, code, phrase, "presence-x")
		return c
	}}
}

// biRefused is a case whose connection is refused: pusher:error with code, then a close with code.
func biRefused(name, key, query string, code int, phrase string) badInputCase {
	return badInputCase{name: name, run: func(t *testing.T, ts *testServer) *testClient {
		c := ts.dialRaw(key, query)
		biWantError(t, c, code, phrase, "")
		biWantClose(t, c, code)
		biWaitConnections(t, ts, 1)
		return nil
	}}
}

func biEvent(channel, name, data string) map[string]any {
	return map[string]any{"name": name, "channels": []string{channel}, "data": data}
}

func biChannels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ch-%d", i)
	}
	return out
}

func biBatch(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": "e", "channel": "pub", "data": "x"}
	}
	return out
}

// biHTTP is an HTTP API case: the request is signed at now+skew, then tamper alters the signed query;
// query lists extra parameters as key, value pairs. Status 200 expects the body {}.
func biHTTP(name, method, path string, body any, skew time.Duration, tamper func(url.Values), status int, phrase string, query ...string) badInputCase {
	return badInputCase{name: name, run: func(t *testing.T, ts *testServer) *testClient {
		var b []byte
		switch v := body.(type) {
		case nil:
		case string:
			b = []byte(v)
		default:
			b, _ = json.Marshal(v)
		}
		extra := url.Values{}
		for i := 0; i+1 < len(query); i += 2 {
			extra.Add(query[i], query[i+1])
		}
		q := protocol.SignRequest(testKey, testSecret, method, path, b, extra, time.Now().Add(skew))
		if tamper != nil {
			tamper(q)
			if q.Get(protocol.ParamBodyMD5) != "" && q.Get(protocol.ParamBodyMD5) != protocol.BodyMD5(b) {
				// Re-sign, so that the body_md5 is the only fault.
				q.Set(protocol.ParamSignature, protocol.HMACHex(testSecret, protocol.StringToSign(method, path, q)))
			}
		}
		got, resp := ts.rawAPI(method, path+"?"+q.Encode(), b)
		biCheckHTTP(t, got, resp, status, phrase)
		return nil
	}}
}

// biCheckHTTP asserts the status and, for errors, a JSON body {"error": ...} containing phrase.
// biSpeaksJSON fails when an error told to a client names Go's types instead of its JSON.
func biSpeaksJSON(t testing.TB, msg string) {
	t.Helper()
	for _, goWord := range []string{"Go value", "Go struct", "json: ", "refserver.", "protocol.", "RawMessage"} {
		if strings.Contains(msg, goWord) {
			t.Errorf("message %q speaks of Go (%q), not of what the client sent", msg, goWord)
		}
	}
}

func biCheckHTTP(t testing.TB, got int, body string, status int, phrase string) {
	t.Helper()
	biSpeaksJSON(t, body)
	if got != status {
		t.Fatalf("status: got %d %s, want %d", got, body, status)
	}
	if status == 200 {
		if body != "{}" {
			t.Errorf("body: got %s, want {}", body)
		}
		return
	}
	var e map[string]string
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e) != 1 {
		t.Fatalf("body: got %s, want a JSON object with only \"error\"", body)
	}
	if !strings.Contains(e["error"], phrase) {
		t.Errorf("error: got %q, want it to contain %q", e["error"], phrase)
	}
}
