//go:build !linux || pollfallback

package loadgen

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// poller, where there is no epoll, reads each client's socket with a goroutine of its own
// through a second descriptor of the socket that sits in Go's own poller (kqueue on macOS and
// the BSDs; on Windows the connection itself): a waiting client costs a parked goroutine, not a thread. The load generator's cost
// figures are for Linux, where poller_linux.go serves thousands of sockets with one goroutine.
// The tag pollfallback builds it on Linux too, for its tests: go test -tags pollfallback.
type poller struct {
	fail  func(error)
	mu    sync.Mutex
	conns map[int]net.Conn // by the client's descriptor
}

func newPoller(fail func(error)) (*poller, error) {
	return &poller{fail: fail, conns: map[int]net.Conn{}}, nil
}

// add starts reading socket s for c, until remove.
func (p *poller) add(s socket, c pollee) error {
	fd := s.id()
	conn, err := s.reader() // in Go's poller
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.conns[fd] = conn
	p.mu.Unlock()
	go p.read(fd, conn, c)
	return nil
}

// read reads conn, the poller's descriptor of socket fd, until it is closed, and hands what it
// read to c.
func (p *poller) read(fd int, conn net.Conn, c pollee) {
	buf := make([]byte, pollRead)
	for {
		n, err := conn.Read(buf)
		now := time.Now()
		p.mu.Lock()
		current := p.conns[fd] == conn
		p.mu.Unlock()
		if !current { // removed: the client closed this connection
			return
		}
		if n > 0 {
			c.received(fd, buf[:n], now)
		}
		if err != nil {
			c.ended(fd) // the peer went without a close frame
			return
		}
	}
}

// remove stops reading fd. A read in progress may still hand its bytes to the pollee, which
// tells them from its current socket's by fd.
func (p *poller) remove(fd int) {
	p.mu.Lock()
	conn := p.conns[fd]
	delete(p.conns, fd)
	p.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

func (p *poller) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for fd, conn := range p.conns {
		conn.Close()
		delete(p.conns, fd)
	}
}

// dialControl leaves the dial as it is.
func dialControl(string, string, syscall.RawConn) error { return nil }
