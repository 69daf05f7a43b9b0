package refserver

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// fuzzCloseCodes are the close codes the server may legitimately end a fuzzed connection with.
var fuzzCloseCodes = map[int]bool{
	websocket.CloseMessageTooBig: true, // a frame over MaxMessageBytes
	protocol.CodeOverCapacity:    true, // a frame provoking more replies than the send queue holds
	protocol.CodeUnauthorized:    true,
	protocol.CodeReconnect:       true,
}

// fuzzConn is the connection FuzzHandleFrame reuses while it stays open.
type fuzzConn struct {
	ws     *websocket.Conn
	frames chan frame
	closed chan int
	// notUTF8: an input sent on it was not UTF-8, which fails the connection with 1007. A reply
	// may be read one input late (an input that is a ping has two pongs), so it counts for
	// every later input of the connection.
	notUTF8 bool
}

func fuzzDial(ts *testServer) (*fuzzConn, error) {
	ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL(testKey, "?protocol=7"), nil)
	if err != nil {
		return nil, err
	}
	tc := &testClient{ws: ws, frames: make(chan frame, 1024), closed: make(chan int, 1)}
	go tc.read()
	fc := &fuzzConn{ws: ws, frames: tc.frames, closed: tc.closed}
	select {
	case f, ok := <-fc.frames:
		if !ok || f.msg.Event != protocol.EventConnectionEstablished {
			ws.Close()
			return nil, errors.New("no connection_established")
		}
	case <-time.After(wait):
		ws.Close()
		return nil, errors.New("no connection_established in time")
	}
	return fc, nil
}

// FuzzHandleFrame sends each input as one text frame over a real connection, then checks that
// the server still answers pusher:ping with pusher:pong on it, or has closed it with a valid
// code. A panic in the server's handling would crash the test binary.
func FuzzHandleFrame(f *testing.F) {
	seeds := []string{
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"pusher:subscribe","data":{"channel":"my-channel"}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"my-channel\"}"}`,
		`{"event":"pusher:subscribe","data":{"channel":"private-x","auth":"test-key:00"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:s","channel_data":"{\"user_id\":1}"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"#server-to-user-1"}}`,
		`{"event":"pusher:unsubscribe","data":{"channel":"my-channel"}}`,
		`{"event":"pusher:signin","data":{"user_data":"{\"id\":\"1\"}","auth":"test-key:00"}}`,
		`{"event":"client-typing","channel":"private-x","data":{"x":1}}`,
		`{"event":"client-typing","channel":"my-channel","data":"str"}`,
		`{"event":"pusher_internal:member_added","channel":"presence-x","data":"{}"}`,
		`{"event":"pusher:pong"}`,
		`{"event":42}`,
		`{"event":"pusher:subscribe","data":42}`,
		`[1,2,3]`,
		`{"event":"pusher:subscribe","data":{"channel":null,"auth":[1]}}`,
		`{"event":"x","channel":"y","data":null,"user_id":1e400}`,
		"{\"event\":\"\xff\xfe\"}",
		`{`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}

	ts := startServer(f, nil)
	var conn *fuzzConn
	f.Cleanup(func() {
		if conn != nil {
			conn.ws.Close()
		}
	})

	f.Fuzz(func(t *testing.T, input []byte) {
		if conn == nil {
			var err error
			if conn, err = fuzzDial(ts); err != nil {
				t.Fatalf("dial: %v", err)
			}
		}
		c := conn
		c.notUTF8 = c.notUTF8 || !utf8.Valid(input)
		// A write error means the server already closed: the close code is checked below.
		_ = c.ws.WriteMessage(websocket.TextMessage, input)
		_ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:ping","data":{}}`))
		timeout := time.After(wait)
		for {
			select {
			case fr, ok := <-c.frames:
				if !ok {
					code := <-c.closed
					conn = nil
					c.ws.Close()
					if !fuzzCloseCodes[code] && !(code == websocket.CloseInvalidFramePayloadData && c.notUTF8) {
						t.Fatalf("input %q: connection closed with code %d", input, code)
					}
					return
				}
				if fr.msg.Event == protocol.EventPong {
					return
				}
				if fr.msg.Event == "!undecodable" {
					t.Fatalf("input %q: the server sent a frame that is not a protocol message: %q", input, fr.raw)
				}
			case <-timeout:
				t.Fatalf("input %q: neither pong nor close within %v", input, wait)
			}
		}
	})
}
