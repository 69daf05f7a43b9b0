//go:build !linux

package loadgen

import (
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller, where there is no epoll, reads each client's socket with a goroutine of its own that
// waits in poll(2). It is correct but costs a thread per waiting client: the load generator's
// figures are for Linux, where poller_linux.go serves thousands of sockets with one goroutine.
type poller struct {
	fail    func(error)
	stopped atomic.Bool
}

func newPoller(fail func(error)) (*poller, error) { return &poller{fail: fail}, nil }

// add starts reading c's socket, c.fd, until c leaves it.
func (p *poller) add(c *lclient) error {
	fd := c.fd
	go func() {
		scratch := make([]byte, 64<<10)
		for !p.stopped.Load() {
			if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 200); err != nil && err != unix.EINTR {
				p.fail(err)
				return
			}
			c.rmu.Lock()
			current := c.fd == fd
			c.rmu.Unlock()
			if !current {
				return
			}
			c.readable(scratch) // reads the client's socket as it is now, under rmu
		}
	}()
	return nil
}

func (p *poller) remove(int) {}

func (p *poller) stop() { p.stopped.Store(true) }

// dialControl leaves the dial as it is.
func dialControl(string, string, syscall.RawConn) error { return nil }
