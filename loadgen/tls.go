package loadgen

import (
	"net"
	"time"
)

// tlsTransport is the connection crypto/tls runs over for a wss:// client. Until unhook it is
// the TCP connection itself, read and written with deadlines by the handshakes. After unhook the
// socket belongs to a poller: Read hands TLS the bytes the poller read and, when none are left,
// a temporary error, which crypto/tls takes as "come back later" without spoiling the
// connection (a record read in part stays in its buffer); Write writes the descriptor. So the
// records of every wss client are decrypted in user space, on the poller's goroutine, over the
// bytes of the same epoll set as ws:// clients, with no goroutine per client.
type tlsTransport struct {
	net.Conn // the TCP connection, until unhook
	sock     socket
	unhooked bool
	in       []byte // read by the poller, not yet taken by TLS
}

// noBytes is Read's answer when the poller's bytes are used up.
type noBytes struct{}

func (noBytes) Error() string   { return "no bytes read yet" }
func (noBytes) Timeout() bool   { return true }
func (noBytes) Temporary() bool { return true }

func (t *tlsTransport) Read(b []byte) (int, error) {
	if !t.unhooked {
		return t.Conn.Read(b)
	}
	if len(t.in) == 0 {
		return 0, noBytes{}
	}
	n := copy(b, t.in)
	t.in = t.in[n:]
	return n, nil
}

func (t *tlsTransport) Write(b []byte) (int, error) {
	if !t.unhooked {
		return t.Conn.Write(b)
	}
	if err := t.sock.write(b, time.Now().Add(writeTimeout)); err != nil {
		return 0, err
	}
	return len(b), nil
}
