package refserver

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pushcert/pushcert/internal/protocol"
)

func TestHandshake(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dialRaw(testKey, "?protocol=7")
	f := c.expect(protocol.EventConnectionEstablished)
	if !f.msg.DataIsString() {
		t.Errorf("connection_established data is not a JSON string: %s", f.raw)
	}
	var est protocol.ConnectionEstablished
	if err := f.msg.DecodeData(&est); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(est.SocketID) {
		t.Errorf("socket_id %q does not match digits.digits", est.SocketID)
	}
	if est.ActivityTimeout != 120 {
		t.Errorf("activity_timeout: got %d, want 120", est.ActivityTimeout)
	}
}

func TestPublicChannelDelivery(t *testing.T) {
	ts := startServer(t, nil)
	a, b := ts.dial(), ts.dial()
	a.join("event.1", "")
	b.join("event.1", "")
	ts.trigger("event.1", "availability.updated", `{"left":3}`)
	for _, c := range []*testClient{a, b} {
		f := c.expect("availability.updated")
		var data string
		if err := json.Unmarshal(f.msg.Data, &data); err != nil || data != `{"left":3}` {
			t.Errorf("data: got %s, want the string {\"left\":3}", f.msg.Data)
		}
	}
	// Unsubscribed clients stop receiving.
	b.send(`{"event":"pusher:unsubscribe","data":{"channel":"event.1"}}`)
	a.send(`{"event":"pusher:ping","data":{}}`)
	a.expect(protocol.EventPong)
	b.send(`{"event":"pusher:ping","data":{}}`)
	b.expect(protocol.EventPong)
	ts.trigger("event.1", "second", `x`)
	a.expect("second")
	b.expectNone("second", 200*time.Millisecond)
}

func TestPresenceMembersAcrossTabs(t *testing.T) {
	ts := startServer(t, nil)
	alice1, bob := ts.dial(), ts.dial()
	alice1.join("presence-room", presenceData("alice", `{"name":"Alice"}`))
	f := bob.join("presence-room", presenceData("bob", `{"name":"Bob"}`))
	var d struct {
		Presence protocol.PresenceData `json:"presence"`
	}
	if err := f.msg.DecodeData(&d); err != nil {
		t.Fatal(err)
	}
	if d.Presence.Count != 2 || string(d.Presence.Hash["alice"]) != `{"name":"Alice"}` {
		t.Errorf("presence: got %+v", d.Presence)
	}
	added := alice1.expect(protocol.EventMemberAdded)
	var m struct {
		UserID string `json:"user_id"`
	}
	_ = added.msg.DecodeData(&m)
	if m.UserID != "bob" {
		t.Errorf("member_added user_id: got %q, want bob", m.UserID)
	}
	bob.expectNone(protocol.EventMemberAdded, 100*time.Millisecond)

	// A second tab of alice: no member_added; closing it: no member_removed.
	alice2 := ts.dial()
	alice2.join("presence-room", presenceData("alice", `{"name":"Alice"}`))
	bob.expectNone(protocol.EventMemberAdded, 200*time.Millisecond)
	alice2.ws.Close()
	bob.expectNone(protocol.EventMemberRemoved, 300*time.Millisecond)
	alice1.ws.Close()
	removed := bob.expect(protocol.EventMemberRemoved)
	_ = removed.msg.DecodeData(&m)
	if m.UserID != "alice" {
		t.Errorf("member_removed user_id: got %q, want alice", m.UserID)
	}
}

func TestClientEventsNotEchoedAndCarryUserID(t *testing.T) {
	ts := startServer(t, nil)
	a, b := ts.dial(), ts.dial()
	a.join("presence-chat", presenceData("1", ""))
	b.join("presence-chat", presenceData("2", ""))
	a.send(`{"event":"client-typing","channel":"presence-chat","data":{"x":1}}`)
	f := b.expect("client-typing")
	if f.msg.UserID != "1" || string(f.msg.Data) != `{"x":1}` {
		t.Errorf("client event: got %s", f.raw)
	}
	a.expectNone("client-typing", 200*time.Millisecond)
}

func TestCloseFrameReasonStaysValidUTF8(t *testing.T) {
	reason := strings.Repeat("é", 100) // 200 bytes: cut inside a character at byte 120 would break it
	b := closeFrame(4001, reason)
	if len(b) > 125 || !utf8.Valid(b[2:]) {
		t.Errorf("close frame of %d bytes, valid UTF-8 %v", len(b), utf8.Valid(b[2:]))
	}
}
