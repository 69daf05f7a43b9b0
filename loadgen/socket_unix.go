//go:build unix

package loadgen

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// socket is a client's connection once it left Go's poller: a bare non-blocking descriptor,
// read by a loadgen poller and written here.
type socket struct{ fd int }

// unhookConn takes c's socket out of Go's poller: it keeps a duplicate of the descriptor and
// closes c, which removes the original from the runtime's epoll set. The duplicate shares the
// socket and its non-blocking mode.
func unhookConn(c net.Conn) (socket, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return socket{-1}, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return socket{-1}, err
	}
	dup, derr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return socket{-1}, err
	}
	if derr != nil {
		return socket{-1}, derr
	}
	c.Close()
	return socket{dup}, nil
}

// id names the socket to its poller: the descriptor.
func (s socket) id() int { return s.fd }

// write writes all of b, waiting for room in the send buffer until deadline.
func (s socket) write(b []byte, deadline time.Time) error {
	for len(b) > 0 {
		n, err := unix.Write(s.fd, b)
		if n > 0 {
			b = b[n:]
		}
		switch err {
		case nil, unix.EINTR:
		case unix.EAGAIN:
			left := time.Until(deadline)
			if left <= 0 {
				return os.ErrDeadlineExceeded
			}
			_, _ = unix.Poll([]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLOUT}}, int(min(left, time.Second)/time.Millisecond)+1)
		default:
			return err
		}
	}
	return nil
}

// shutdown ends both directions: the poller reads the end.
func (s socket) shutdown() { _ = unix.Shutdown(s.fd, unix.SHUT_RDWR) }

// close releases the descriptor; the caller has taken it from its poller first.
func (s socket) close() { unix.Close(s.fd) }

// reader is a connection of its own over the socket, in Go's poller, for the goroutine-per-client
// poller (poller_other.go); closing it leaves the socket open.
func (s socket) reader() (net.Conn, error) {
	dup, err := unix.Dup(s.fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "client")
	defer f.Close()
	return net.FileConn(f)
}
