package loadgen

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// attached gives a new poller one ephemeral client whose connection is one end of a loopback
// TCP pair, and returns the server's end.
func attached(t *testing.T) (*lclient, net.Conn, *Recorder) {
	t.Helper()
	p, err := newPoller(func(err error) { t.Errorf("poller: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	rec := NewRecorder(time.Now(), nil)
	c, peer := attachTo(t, &runner{rec: rec, pollers: []*poller{p}})
	return c, peer, rec
}

// attachTo gives r's poller one more ephemeral client, as attached does.
func attachTo(t *testing.T, r *runner) (*lclient, net.Conn) {
	t.Helper()
	conn, peer := tcpPair(t)
	c := newClient(r, 0, 0, nil, "")
	c.ephemeral, c.w = true, &wire{conn: conn, tcp: conn}
	if err := c.attach(); err != nil {
		t.Fatal(err)
	}
	return c, peer
}

// tcpPair is a loopback TCP connection's two ends, the server's closed when the test ends.
func tcpPair(t *testing.T) (conn, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if conn, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if peer, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return conn, peer
}

// pongFrom reads the pusher:pong a client owes after a pusher:ping, within d.
func pongFrom(t *testing.T, peer net.Conn, d time.Duration) {
	t.Helper()
	_ = peer.SetReadDeadline(time.Now().Add(d))
	h, err := ws.ReadHeader(peer)
	if err != nil || h.OpCode != ws.OpText {
		t.Fatalf("reply: %+v %v", h, err)
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(peer, payload); err != nil {
		t.Fatal(err)
	}
	ws.Cipher(payload, h.Mask, 0)
	if string(payload) != `{"event":"pusher:pong","data":{}}` {
		t.Fatalf("reply %s", payload)
	}
}

var pusherPing = frameOf(ws.Header{Fin: true, OpCode: ws.OpText}, []byte(`{"event":"pusher:ping","data":"{}"}`))

func ended(t *testing.T, c *lclient) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not end")
	}
}

// TestPollerEndsConnections: whatever ends a connection under a poller is seen and counted by its
// close code, and the socket is closed: a server's close frame (answered with the same code), a
// frame a server must not send (1002), and a server that goes without a word (1006).
func TestPollerEndsConnections(t *testing.T) {
	cases := []struct {
		name  string
		send  []byte // nil: the server closes its socket
		code  string
		reply []byte // the code of the client's close frame
	}{
		{"close frame", frameOf(ws.Header{Fin: true, OpCode: ws.OpClose}, []byte{0x10, 0x68}), "4200", []byte{0x10, 0x68}},
		{"masked frame", frameOf(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{9, 9, 9, 9}}, []byte("{}")), "1002", []byte{0x03, 0xea}},
		{"close code no server may send", frameOf(ws.Header{Fin: true, OpCode: ws.OpClose}, []byte{0x03, 0xed}), "1002", []byte{0x03, 0xea}},
		{"gone", nil, "1006", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, peer, rec := attached(t)
			if tc.send != nil {
				// A ping first: it is answered with a pong, and the poller goes on reading.
				if _, err := peer.Write(frameOf(ws.Header{Fin: true, OpCode: ws.OpPing}, []byte("hi"))); err != nil {
					t.Fatal(err)
				}
				if _, err := peer.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			} else {
				peer.Close()
			}
			ended(t, c)
			if got := rec.Errors()[tc.code]; got != 1 {
				t.Fatalf("errors %v, want one %s", rec.Errors(), tc.code)
			}
			if tc.send == nil {
				return
			}
			// What the client wrote before it closed: a masked pong, then the closing handshake.
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			h, err := ws.ReadHeader(peer)
			if err != nil || h.OpCode != ws.OpPong || !h.Masked || h.Length != 2 {
				t.Fatalf("first frame from the client: %+v %v, want a masked pong of 2 bytes", h, err)
			}
			payload := make([]byte, h.Length)
			if _, err := peer.Read(payload); err != nil {
				t.Fatal(err)
			}
			ws.Cipher(payload, h.Mask, 0)
			if string(payload) != "hi" {
				t.Fatalf("pong payload %q", payload)
			}
			h, err = ws.ReadHeader(peer)
			if tc.reply != nil {
				if err != nil || h.OpCode != ws.OpClose || h.Length != 2 {
					t.Fatalf("second frame: %+v %v, want a close with the code", h, err)
				}
				_, _ = io.ReadFull(peer, payload[:2])
				if ws.Cipher(payload[:2], h.Mask, 0); string(payload[:2]) != string(tc.reply) {
					t.Fatalf("close code %x, want %x", payload[:2], tc.reply)
				}
				h, err = ws.ReadHeader(peer)
			}
			if err == nil {
				t.Fatalf("the client's socket is still open: %+v", h)
			}
		})
	}
}

// TestPollerReadsMessagesSplitAcrossReads: a message that arrives in pieces is taken once whole.
func TestPollerReadsMessagesSplitAcrossReads(t *testing.T) {
	c, peer, rec := attached(t)
	for i := range pusherPing {
		if _, err := peer.Write(pusherPing[i : i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	pongFrom(t, peer, 5*time.Second) // the ephemeral client answers pusher:ping
	c.closeConn()
	ended(t, c)
	if len(rec.Errors()) != 0 {
		t.Fatalf("errors %v", rec.Errors())
	}
}

// TestPollerReadsWhatOneReadLeaves: bytes past one read's buffer, and the end of the stream
// behind a last message, are read without waiting for anything else to arrive.
func TestPollerReadsWhatOneReadLeaves(t *testing.T) {
	big := `{"event":"pusher:ping","data":"` + strings.Repeat("x", 150_000) + `"}`
	for try := range 5 {
		c, peer, _ := attached(t)
		if _, err := peer.Write(frameOf(ws.Header{Fin: true, OpCode: ws.OpText}, []byte(big))); err != nil {
			t.Fatal(err)
		}
		pongFrom(t, peer, 2*time.Second)

		c, peer, rec := attached(t)
		if _, err := peer.Write(text(`{"event":"x"}`)); err != nil {
			t.Fatal(err)
		}
		peer.Close()
		ended(t, c)
		if rec.Errors()["1006"] != 1 {
			t.Fatalf("try %d: errors %v, want one 1006", try, rec.Errors())
		}
	}
}

// TestPollerNotHeldUpByStuckWrites: a client whose server reads nothing, with a writer stuck on
// its full send buffer, does not hold up the other clients of its poller, even when its server
// pings it.
func TestPollerNotHeldUpByStuckWrites(t *testing.T) {
	p, err := newPoller(func(err error) { t.Errorf("poller: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	r := &runner{rec: NewRecorder(time.Now(), nil), pollers: []*poller{p}}
	stuck, stuckPeer := attachTo(t, r)
	other, otherPeer := attachTo(t, r)
	go func() { // fills the send buffer, then blocks in the write
		for {
			if up, err := stuck.send(make([]byte, 1<<20)); !up || err != nil {
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := stuckPeer.Write(frameOf(ws.Header{Fin: true, OpCode: ws.OpPing}, []byte("p"))); err != nil {
		t.Fatal(err)
	}
	if _, err := stuckPeer.Write(pusherPing); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := otherPeer.Write(pusherPing); err != nil {
		t.Fatal(err)
	}
	pongFrom(t, otherPeer, 2*time.Second)
	other.closeConn()
	stuck.closeConn()
	ended(t, stuck)
}
