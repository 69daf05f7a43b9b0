package refserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// listen serves srv with limits on a loopback port until the test ends.
func listen(t *testing.T, srv *Server, l httpLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.httpServer(log.New(io.Discard, "", 0), l)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// closedByServer says whether the server closed c: a read ends with EOF (or a reset) instead
// of waiting.
func closedByServer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestHTTPConnectionsBounded: keep-alive connections idle past the cap are closed, a
// connection past the cap of those not upgraded is closed at once, and an upgraded WebSocket
// is no longer under the HTTP timeouts.
func TestHTTPConnectionsBounded(t *testing.T) {
	srv, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(t.Context()) })
	addr := listen(t, srv, httpLimits{readHeader: 10 * time.Second, read: time.Second, write: time.Second, idle: time.Minute, conns: 20, idleConns: 5})

	// Ten keep-alive clients, one GET /up each: five stay idle, the others are closed.
	var idle []net.Conn
	for range 10 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /up HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		idle = append(idle, c)
	}
	open := 0
	for _, c := range idle {
		if !closedByServer(c, time.Second) { // a busy machine may be slow to close the others
			open++
		}
		c.Close()
	}
	if open != 5 {
		t.Errorf("%d of 10 idle keep-alive connections left open, want the cap of 5", open)
	}

	// Twenty connections that send nothing take the cap of 20; the 21st is closed at once.
	var silent []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	time.Sleep(200 * time.Millisecond) // the server has accepted them
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedByServer(extra, 5*time.Second) {
		t.Errorf("a connection past the cap of 20 was kept")
	}
	for _, c := range silent {
		c.Close()
	}

	// Once the server has seen them go, a WebSocket client gets in, and idles past the 1 s read
	// timeout.
	var ws *websocket.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ws, _, err = websocket.DefaultDialer.Dial("ws://"+addr+"/app/"+testKey+"?protocol=7", nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	defer ws.Close()
	if _, _, err := ws.ReadMessage(); err != nil { // connection_established
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:ping","data":{}}`)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != `{"event":"pusher:pong","data":{}}` {
		t.Fatalf("after 1.5 s idle: %s %v, want pusher:pong", msg, err)
	}
}

// TestPipelinedUpgradeDroppedQuietly: an upgrade request with bytes pipelined behind it is
// dropped, and net/http logs nothing about it (it logged two lines a request).
func TestPipelinedUpgradeDroppedQuietly(t *testing.T) {
	srv, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(t.Context()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logged lockedBuffer
	hs := srv.httpServer(log.New(&logged, "", 0), defaultHTTPLimits)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /app/"+testKey+"?protocol=7 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nGARBAGE")
		if !closedByServer(c, 5*time.Second) {
			t.Errorf("a pipelined upgrade was kept open")
		}
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	if s := logged.String(); s != "" {
		t.Errorf("net/http logged:\n%s", s)
	}
}

// lockedBuffer is a bytes.Buffer a logger may write from other goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
