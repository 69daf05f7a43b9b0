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
	// idleConns bounds the keep-alive connections idle at once: past it the one idle the longest
	// is closed. Clients reuse the connection they used last, so it is the one least likely to
	// be taken for a request meanwhile (a POST is not retried on a connection closed under it).
	idleConns int
}

// The caps stand above what one client pool holds (the load generator's API pool is 256) and a
// reconnect storm's concurrent upgrades (4,096 at most from one generator).
var defaultHTTPLimits = httpLimits{readHeader: 10 * time.Second, read: 30 * time.Second, write: 30 * time.Second,
	idle: 60 * time.Second, conns: 8192, idleConns: 1024}

// HTTPServer returns an http.Server serving s with the bounds of defaultHTTPLimits: 10 s for
// the headers, 30 s for a request and its answer, 60 s idle between requests, 8,192 connections
// that are not WebSocket yet, 1,024 of them idle. errorLog takes net/http's own messages (failed
// TLS handshakes and the like); nil is the standard logger.
func (s *Server) HTTPServer(errorLog *log.Logger) *http.Server {
	return s.httpServer(errorLog, defaultHTTPLimits)
}

func (s *Server) httpServer(errorLog *log.Logger, l httpLimits) *http.Server {
	g := &httpConns{limits: l, idle: map[net.Conn]time.Time{}, open: map[net.Conn]bool{}}
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
	open   map[net.Conn]bool      // not upgraded, not closed
	idle   map[net.Conn]time.Time // of those, idle between requests, since when
}

// track follows each connection's state. A connection past the cap is closed here, before
// net/http starts serving it (it calls ConnState with StateNew first): closed later, it could
// be upgraded to a WebSocket in between, and then lost under its client.
func (g *httpConns) track(c net.Conn, state http.ConnState) {
	if !g.admit(c, state) {
		c.Close() // not under g.mu; no TLS handshake was made, so nothing is written
	}
}

// admit records a state change; false refuses a new connection past the cap.
func (g *httpConns) admit(c net.Conn, state http.ConnState) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch state {
	case http.StateNew:
		if len(g.open) >= g.limits.conns {
			return false
		}
		g.open[c] = true
	case http.StateActive:
		delete(g.idle, c)
	case http.StateIdle:
		g.idle[c] = time.Now()
		if len(g.idle) > g.limits.idleConns {
			oldest := c
			for o, since := range g.idle {
				if since.Before(g.idle[oldest]) {
					oldest = o
				}
			}
			delete(g.idle, oldest)
			go oldest.Close()
		}
	case http.StateHijacked, http.StateClosed:
		delete(g.open, c)
		delete(g.idle, c)
	}
	return true
}
