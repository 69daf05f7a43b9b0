package refserver

import (
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// httpLimits are the HTTP side of a listener: how long a connection may take before it is a
// WebSocket, and how many may wait. A WebSocket upgrade clears the deadlines (gorilla does) and
// takes the connection out of the counts.
type httpLimits struct {
	readHeader, read, write, idle time.Duration // the request line and headers; the request; the answer; between requests
	// conns bounds the connections not upgraded to WebSocket (waiting for a request, in one,
	// or idle between two): past it a new one is closed at once, so that they cannot take the
	// file descriptors of the WebSocket clients.
	conns int
	// idleConns bounds the keep-alive connections idle at once: past it the one that just went
	// idle is closed (a client opens another when it needs one).
	idleConns int
}

var defaultHTTPLimits = httpLimits{readHeader: 10 * time.Second, read: 30 * time.Second, write: 30 * time.Second,
	idle: 60 * time.Second, conns: 1024, idleConns: 256}

// HTTPServer returns an http.Server serving s with the bounds of defaultHTTPLimits: 10 s for
// the headers, 30 s for a request and its answer, 60 s idle between requests, 1,024 connections
// that are not WebSocket yet, 256 of them idle. errorLog takes net/http's own messages (failed
// TLS handshakes and the like); nil is the standard logger.
func (s *Server) HTTPServer(errorLog *log.Logger) *http.Server {
	return s.httpServer(errorLog, defaultHTTPLimits)
}

func (s *Server) httpServer(errorLog *log.Logger, l httpLimits) *http.Server {
	g := &httpConns{limits: l, idle: map[net.Conn]bool{}, open: map[net.Conn]bool{}}
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		ConnState:         g.track,
		ErrorLog:          errorLog,
	}
}

// httpConns follows the connections of one http.Server that are still HTTP.
type httpConns struct {
	limits httpLimits
	mu     sync.Mutex
	open   map[net.Conn]bool // not upgraded, not closed
	idle   map[net.Conn]bool // of those, idle between requests
}

func (g *httpConns) track(c net.Conn, state http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch state {
	case http.StateNew:
		if len(g.open) >= g.limits.conns {
			c.Close()
			return
		}
		g.open[c] = true
	case http.StateActive:
		delete(g.idle, c)
	case http.StateIdle:
		if len(g.idle) >= g.limits.idleConns {
			c.Close()
			return
		}
		g.idle[c] = true
	case http.StateHijacked, http.StateClosed:
		delete(g.open, c)
		delete(g.idle, c)
	}
}
