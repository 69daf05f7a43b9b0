package loadgen

import "time"

// pollee is a connection a poller reads a socket for. The poller owns the reading: it reads the
// socket when it is ready and hands the bytes over, in order, from one goroutine at a time; fd
// names the socket they came from, so a connection that has replaced its socket tells the old
// one's last bytes from its own.
type pollee interface {
	// received takes bytes read from socket fd at now; b is the poller's, valid during the call.
	received(fd int, b []byte, now time.Time)
	// ended says the peer closed socket fd without a close frame, or the socket failed.
	ended(fd int)
}

// pollRead is the most one read of a socket takes.
const pollRead = 64 << 10
