//go:build linux && !pollfallback

package loadgen

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// poller reads the sockets of many clients with one epoll set and one goroutine. A message costs
// one read, and one wake serves every socket that became readable, where a goroutine per client
// costs a read, a second read that finds nothing, a park and a wake for each message.
//
// The sockets are out of Go's own poller (see wire.unhook), so that the runtime is not woken for
// them too. The epoll set itself sits in Go's poller: the goroutine parks there when the set has
// nothing ready, like any goroutine waiting on a socket, and holds no thread or processor while
// it waits.
type poller struct {
	epfd *os.File
	// mu guards the set and every read of a socket in it: once remove returns, no read of that
	// descriptor is in progress or to come, so its number may be closed and reused.
	mu      sync.Mutex
	clients map[int32]pollee // by fd
	stopped atomic.Bool
	done    chan struct{}
	fail    func(error) // told if the poller stops reading before stop
}

// pollBatch is how many ready sockets one epoll_wait takes.
const pollBatch = 128

func newPoller(fail func(error)) (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor given to os.NewFile is registered with the runtime's poller.
	p := &poller{epfd: os.NewFile(uintptr(fd), "epoll"), clients: map[int32]pollee{}, done: make(chan struct{}), fail: fail}
	go p.run()
	return p, nil
}

// add starts reading socket s for c.
func (p *poller) add(s socket, c pollee) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := int32(s.fd)
	if p.stopped.Load() {
		return errors.New("poller stopped")
	}
	p.clients[fd] = c
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: fd}
	err := p.control(func(epfd int) error { return unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, int(fd), &ev) })
	if err != nil {
		delete(p.clients, fd)
	}
	return err
}

// remove stops reading fd. Call it before the socket is closed, so that a new socket given the
// same number is never taken for the old one; a pollee may call it while it handles bytes.
func (p *poller) remove(fd int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clients[int32(fd)] != nil {
		delete(p.clients, int32(fd))
		_ = p.control(func(epfd int) error { return unix.EpollCtl(epfd, unix.EPOLL_CTL_DEL, fd, nil) })
	}
}

func (p *poller) control(fn func(epfd int) error) error {
	raw, err := p.epfd.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// stop ends the poller's goroutine and closes the set; the sockets are the clients' to close.
func (p *poller) stop() {
	p.stopped.Store(true)
	_ = p.epfd.SetReadDeadline(time.Now()) // wakes a parked run
	<-p.done
	p.epfd.Close()
}

func (p *poller) run() {
	defer close(p.done)
	raw, err := p.epfd.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, pollBatch)
	scratch := make([]byte, pollRead)
	for !p.stopped.Load() {
		// Read calls the function until it returns true, parking in the runtime's poller each
		// time it returns false; it returns early when stop sets a deadline.
		err := raw.Read(func(fd uintptr) bool {
			for !p.stopped.Load() {
				n, err := unix.EpollWait(int(fd), events, 0)
				if err == unix.EINTR {
					continue
				}
				if n <= 0 {
					return false
				}
				for _, ev := range events[:n] {
					p.readable(int(ev.Fd), scratch)
				}
				// Ask again until the set is empty: a socket read only in part (more than the
				// scratch buffer, or bytes then the end) is put back in the set without waking
				// the runtime's poller, so parking now could leave it unread.
			}
			return true
		})
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			p.fail(err)
			return
		}
	}
}

// readable reads socket fd once and hands what it read to its pollee, timed when it was read.
func (p *poller) readable(fd int, scratch []byte) {
	p.mu.Lock()
	c := p.clients[int32(fd)]
	n, err := 0, error(nil)
	if c != nil {
		n, err = unix.Read(fd, scratch)
	}
	p.mu.Unlock()
	switch {
	case c == nil:
	case n > 0:
		c.received(fd, scratch[:n], time.Now())
	case err == unix.EAGAIN || err == unix.EINTR:
	default: // the peer went without a close frame, or the socket failed
		c.ended(fd)
	}
}

// dialControl lets the kernel choose a client socket's port at connect instead of at bind
// (IP_BIND_ADDRESS_NO_PORT). Bound to a source address with port 0, every bind looks for a port
// no socket of that address holds, the last run's TIME_WAIT ones included: with tens of
// thousands of them, each bind scanned the range (seen: 34 s of CPU in bind, and dials that
// failed). At connect, a port is only taken for that one destination. A kernel without the
// option (before 4.2) dials as before.
func dialControl(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
}
