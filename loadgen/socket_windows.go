//go:build windows

package loadgen

import (
	"net"
	"sync/atomic"
	"time"
)

// socket, on Windows, is the client's net.Conn itself: it never leaves Go's poller, and the
// goroutine-per-client poller (poller_other.go) reads it. The cost figures of the README are for
// Linux's epoll poller.
type socket struct {
	conn net.Conn
	n    int
}

var sockets atomic.Int64

func unhookConn(c net.Conn) (socket, error) { return socket{c, int(sockets.Add(1))}, nil }

func (s socket) id() int { return s.n }

func (s socket) write(b []byte, deadline time.Time) error {
	_ = s.conn.SetWriteDeadline(deadline)
	_, err := s.conn.Write(b)
	return err
}

func (s socket) shutdown() { s.conn.Close() }

func (s socket) close() { s.conn.Close() }

// reader is the connection itself; closing the reader only stops its reads.
func (s socket) reader() (net.Conn, error) { return stopReads{s.conn}, nil }

type stopReads struct{ net.Conn }

func (r stopReads) Close() error { return r.Conn.SetReadDeadline(time.Now()) }
