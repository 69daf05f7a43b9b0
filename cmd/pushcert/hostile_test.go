package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/reports"
)

// hostileServer listens on a loopback port and treats each connection with serve until the test
// ends.
func hostileServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String()
}

// answer reads one HTTP request from c and writes reply.
func answer(reply string) func(c net.Conn) {
	return func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, reply)
		time.Sleep(time.Minute) // and holds the connection
	}
}

// upgradeThen completes a WebSocket handshake on c, sends connection_established, and then the
// raw bytes of after: frames no server may send.
func upgradeThen(after []byte) func(c net.Conn) {
	return func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(h[:]))
		est := protocol.EncodeInternal(protocol.EventConnectionEstablished, "", protocol.ConnectionEstablished{SocketID: "1.1", ActivityTimeout: 120})
		c.Write(append([]byte{0x81, byte(len(est))}, est...)) // one unmasked text frame (under 126 bytes)
		c.Write(after)
		time.Sleep(time.Minute)
	}
}

// TestHostileTargets: check and load against servers that are not Pusher servers, or broken
// ones, end within their bound with the documented exit code and one line saying why; nothing
// reaches a case or a timetable.
func TestHostileTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on silent servers")
	}
	real := startServe(t, buildBinary(t), "--app-id", "1", "--key", "k", "--secret", "s", "--log-level", "error")
	for _, tc := range []struct {
		name    string
		serve   func(c net.Conn)
		hostile string // the hostile side: "both", "api" (the WebSocket side is a real server's) or "ws" (the API is)
		code    int
		bound   time.Duration
	}{
		{"silent (accepts, answers nothing)", func(c net.Conn) { time.Sleep(time.Minute) }, "both", exitUnreachable, 30 * time.Second},
		{"immediate close", func(c net.Conn) {}, "both", exitUnreachable, 10 * time.Second},
		{"garbage instead of HTTP", func(c net.Conn) { io.WriteString(c, "\x00\xffgarbage\r\n\r\n") }, "both", exitUnreachable, 10 * time.Second},
		// After a good handshake: a masked frame with reserved bits and an opcode that does not
		// exist. The preflight gets its connection_established; the run must still end.
		{"garbage frames after the handshake", upgradeThen([]byte{0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}), "ws", exitFail, 60 * time.Second},
		{"HTTP 500", answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), "both", exitUnreachable, 10 * time.Second},
		{"HTTP API answers 500", answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), "api", exitUnreachable, 10 * time.Second},
		{"HTTP API answers 101", answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), "api", exitUnreachable, 10 * time.Second},
		{"HTTP API hangs", func(c net.Conn) { time.Sleep(time.Minute) }, "api", exitUnreachable, 40 * time.Second},
	} {
		addr := hostileServer(t, tc.serve)
		ws, api := "ws://"+addr, "http://"+addr
		switch tc.hostile {
		case "api":
			ws = "ws://" + real
		case "ws":
			api = "http://" + real
		}
		for _, verb := range []string{"check", "load"} {
			args := []string{verb, "--target", ws, "--api-url", api, "--app-id", "1", "--key", "k", "--secret", "s"}
			if verb == "load" {
				args = append(args, "--quiet", "--clients", "20", "--duration", "1s", "--ramp", "200ms")
			}
			start := time.Now()
			code, out, errs := runCmd(args...)
			took := time.Since(start)
			t.Logf("%-40s %s: exit %d after %v: %q", tc.name, verb, code, took.Round(time.Millisecond), errs)
			if code != tc.code || took > tc.bound {
				t.Errorf("%s, %s: exit %d after %v, want %d within %v\nstderr %s\nstdout %.500s", tc.name, verb, code, took.Round(time.Millisecond), tc.code, tc.bound, errs, out)
			}
		}
	}
}

// TestNoCasePassesWithoutTheServer runs the suite against a server that completes the handshake,
// sends connection_established and then does nothing (its HTTP API answers 200 {} to
// anything). The cases that pass are exactly those about what it does: its handshake, its
// socket ids, a connection left open after bad input, an API that accepts. Any other PASS would
// be a case that passes without the server taking part.
func TestNoCasePassesWithoutTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	var n atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/app/") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		id := n.Add(1)
		est := protocol.EncodeInternal(protocol.EventConnectionEstablished, "", protocol.ConnectionEstablished{SocketID: fmt.Sprintf("%d.%d", id, id), ActivityTimeout: 120})
		_ = ws.WriteMessage(websocket.TextMessage, est)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer hs.Close()
	dir := t.TempDir()
	runCmd("check", "--target", "ws"+strings.TrimPrefix(hs.URL, "http"), "--api-url", hs.URL, "--app-id", "1", "--key", "k", "--secret", "s",
		"--supports", "all", "--concurrency", "24", "--json", filepath.Join(dir, "report.json"))
	rep := readReport(t, filepath.Join(dir, "report.json"))
	var passed []string
	for _, k := range rep.Cases {
		if k.Outcome == reports.OutcomePass {
			passed = append(passed, k.ID)
		}
	}
	want := []string{"CONN-001", "CONN-002", "CONN-008", "CONN-009", "CONN-010", "API-001", "API-006", "API-008", "API-021"}
	slices.Sort(passed)
	slices.Sort(want)
	if !slices.Equal(passed, want) {
		t.Errorf("against a server that does nothing, these passed: %v; want only %v", passed, want)
	}
}
