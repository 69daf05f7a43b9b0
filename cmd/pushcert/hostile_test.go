package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
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
		apiOnly bool // the WebSocket side is a real server; the API is hostile
		code    int
		bound   time.Duration
	}{
		{"silent (accepts, answers nothing)", func(c net.Conn) { time.Sleep(time.Minute) }, false, exitUnreachable, 30 * time.Second},
		{"immediate close", func(c net.Conn) {}, false, exitUnreachable, 10 * time.Second},
		{"garbage instead of HTTP", func(c net.Conn) { io.WriteString(c, "\x00\xffgarbage\r\n\r\n") }, false, exitUnreachable, 10 * time.Second},
		{"HTTP 500", answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), false, exitUnreachable, 10 * time.Second},
		{"HTTP API answers 500", answer("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), true, exitUnreachable, 10 * time.Second},
		{"HTTP API answers 101", answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), true, exitUnreachable, 10 * time.Second},
		{"HTTP API hangs", func(c net.Conn) { time.Sleep(time.Minute) }, true, exitUnreachable, 40 * time.Second},
	} {
		addr := hostileServer(t, tc.serve)
		ws, api := "ws://"+addr, "http://"+addr
		if tc.apiOnly {
			ws = "ws://" + real
		}
		for _, verb := range []string{"check", "load"} {
			args := []string{verb, "--target", ws, "--api-url", api, "--app-id", "1", "--key", "k", "--secret", "s", "--quiet"}
			if verb == "check" {
				args = args[:len(args)-1]
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
