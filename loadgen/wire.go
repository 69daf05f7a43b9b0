package loadgen

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// wire is a client's WebSocket connection below the protocol: it dials, writes masked text
// frames, and cuts whole messages out of the bytes read, wherever they were read (the blocking
// reads of the handshake, then the poller's). Reading frames out of bytes, instead of through a
// reader per connection, is what lets one poller goroutine serve thousands of connections.
//
// Until unhook, the socket is a net.Conn in Go's poller, read with deadlines; after it, it is a
// bare non-blocking descriptor that only a loadgen poller reads. For wss://, TLS runs over the
// socket through tlsTransport, before and after unhook alike.
type wire struct {
	conn net.Conn      // before unhook: what frames are read and written on (tcp, or sec over it)
	tcp  net.Conn      // the socket, before unhook
	sec  *tls.Conn     // wss: TLS over tr
	tr   *tlsTransport // wss: the socket under sec
	sock socket        // after unhook
	// unhooked: the socket is sock, read by a poller; false before, and once closed
	unhooked bool
	in       []byte    // bytes read that do not make a whole frame yet
	msg      []byte    // a fragmented message's payload so far
	op       ws.OpCode // the fragmented message's opcode
	frag     bool      // a fragmented message is in progress
	// broken is the error of a write that failed, perhaps in the middle of a frame: every later
	// write fails with it.
	broken error
	hdr    bytes.Reader
}

// errProtocol is a frame the client cannot take: the connection is closed as after 1002.
var errProtocol = errors.New("websocket protocol error")

// unhook takes the socket out of Go's poller (see unhookConn); TLS, for wss://, goes on over it.
func (w *wire) unhook() error {
	s, err := unhookConn(w.tcp)
	if err != nil {
		return err
	}
	w.conn, w.tcp, w.sock, w.unhooked = nil, nil, s, true
	if w.tr != nil {
		w.tr.Conn, w.tr.sock, w.tr.unhooked = nil, s, true
	}
	return nil
}

// id names the socket to the poller once unhooked; -1 before, and once closed.
func (w *wire) id() int {
	if !w.unhooked {
		return -1
	}
	return w.sock.id()
}

// abort closes the socket before unhook at once, failing a handshake or read in progress (TLS
// is not told: a close_notify could wait on a full send buffer).
func (w *wire) abort() {
	if w.tcp != nil {
		w.tcp.Close()
	}
}

// close closes the socket; writes fail after it. The caller serializes it with writes and, once
// unhooked, has taken the descriptor from its poller.
func (w *wire) close() {
	switch {
	case w.unhooked:
		w.sock.close()
		w.unhooked = false
	case w.tcp != nil:
		w.tcp.Close()
	}
	w.broken = net.ErrClosed
}

// writeTimeout bounds one message's write.
const writeTimeout = 10 * time.Second

// write sends one message of op, masked, in a single write; the caller serializes writes.
func (w *wire) write(op ws.OpCode, payload []byte) error {
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload)), Masked: true, Mask: ws.NewMask()}
	var b bytes.Buffer
	b.Grow(ws.HeaderSize(h) + len(payload))
	_ = ws.WriteHeader(&b, h)
	n := b.Len()
	b.Write(payload)
	frame := b.Bytes()
	ws.Cipher(frame[n:], h.Mask, 0)
	var err error
	switch {
	case w.broken != nil:
		return w.broken
	case w.unhooked:
		if w.sec != nil {
			_, err = w.sec.Write(frame) // one record, written by tlsTransport
		} else {
			err = w.sock.write(frame, time.Now().Add(writeTimeout))
		}
		if err != nil {
			// A frame may be half written: nothing more can go on this connection. Shutting
			// it down makes the poller read the end and the client go through reconnection.
			w.sock.shutdown()
		}
	case w.conn != nil:
		_ = w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err = w.conn.Write(frame); err != nil {
			w.abort()
		}
	default:
		err = net.ErrClosed
	}
	if err != nil {
		w.broken = err
	}
	return err
}

// writeText sends one text message; the caller serializes writes.
func (w *wire) writeText(b []byte) error { return w.write(ws.OpText, b) }

// feed takes bytes read and calls fn for every whole message (text or binary, reassembled) and
// every control frame in them, in order; payloads are valid during the call only. fn returns
// false to stop; the bytes not taken yet, and those of an incomplete frame, are kept for next
// time. A frame RFC 6455 forbids from a server (masked, reserved bits or opcodes, a fragmented
// or long control frame, fragments out of order, a message over maxFrame) is errProtocol.
func (w *wire) feed(data []byte, fn func(op ws.OpCode, payload []byte) bool) error {
	buf := data
	own := len(w.in) > 0
	if own {
		w.in = append(w.in, data...)
		buf = w.in
	}
	stop := false
	for len(buf) >= 2 && !stop {
		w.hdr.Reset(buf)
		h, err := ws.ReadHeader(&w.hdr)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil || !legalFromServer(h, w.frag) {
			return errProtocol
		}
		head := len(buf) - w.hdr.Len()
		end := head + int(h.Length)
		if len(buf) < end {
			break
		}
		payload := buf[head:end]
		buf = buf[end:]
		switch {
		case h.OpCode.IsControl():
			stop = !fn(h.OpCode, payload)
		case h.Fin && !w.frag:
			stop = !fn(h.OpCode, payload)
		default:
			if !w.frag {
				w.op, w.frag = h.OpCode, true
			}
			if len(w.msg)+len(payload) > maxFrame {
				return errProtocol
			}
			w.msg = append(w.msg, payload...)
			if h.Fin {
				stop = !fn(w.op, w.msg)
				w.msg, w.frag = w.msg[:0], false
				if cap(w.msg) > 4096 {
					w.msg = nil
				}
			}
		}
	}
	if own {
		if len(buf) < len(w.in) { // some was taken: keep the rest at the front
			n := copy(w.in, buf)
			w.in = w.in[:n]
		}
	} else {
		w.in = append(w.in, buf...)
	}
	if len(w.in) == 0 && cap(w.in) > 4096 {
		w.in = nil // a large message passed: do not keep its buffer
	}
	return nil
}

// errEnded is the end of a wss:// connection's TLS stream (close_notify, or the socket's end):
// nothing more can arrive, as after a TCP end.
var errEnded = errors.New("the TLS stream ended")

// received takes bytes a poller read from the socket: for wss://, the TLS records they complete
// are decrypted first. Then as feed, and nothing more once fn stopped. An error is a frame or
// record the client cannot take (errProtocol, or TLS's), or errEnded.
func (w *wire) received(raw []byte, fn func(op ws.OpCode, payload []byte) bool) error {
	if w.sec == nil {
		return w.feed(raw, fn)
	}
	stopped := false
	take := func(op ws.OpCode, p []byte) bool {
		stopped = !fn(op, p)
		return !stopped
	}
	w.tr.in = raw
	bp := plainBufs.Get().(*[]byte)
	defer plainBufs.Put(bp)
	for !stopped {
		n, err := w.sec.Read(*bp)
		if n > 0 {
			if ferr := w.feed((*bp)[:n], take); ferr != nil {
				return ferr
			}
		}
		switch err.(type) {
		case nil:
		case noBytes:
			return nil
		default:
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return errEnded
			}
			return err
		}
	}
	return nil
}

// plainBufs hold the decrypted bytes of one TLS record while they are fed.
var plainBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// legalFromServer says whether a server may send a frame with header h, frag telling whether a
// fragmented message is in progress.
func legalFromServer(h ws.Header, frag bool) bool {
	switch {
	case h.Masked, h.Rsv != 0, h.Length < 0, h.Length > maxFrame:
		return false
	case h.OpCode.IsControl():
		return h.Fin && h.Length <= 125 && (h.OpCode == ws.OpClose || h.OpCode == ws.OpPing || h.OpCode == ws.OpPong)
	case h.OpCode == ws.OpContinuation:
		return frag
	}
	return !frag && (h.OpCode == ws.OpText || h.OpCode == ws.OpBinary)
}

// maxFrame bounds a message the client accepts.
const maxFrame = 1 << 20

// readMessage blocks until the next text message, answering pings, until deadline; a close
// frame or a failed read is an error. It is for the handshake and the subscriptions, before the
// connection goes to a poller.
func (w *wire) readMessage(deadline time.Time, write func(op ws.OpCode, p []byte) error) ([]byte, error) {
	var out []byte
	var ferr error
	take := func(op ws.OpCode, p []byte) bool {
		switch op {
		case ws.OpText, ws.OpBinary:
			out = append([]byte(nil), p...)
			return false
		case ws.OpPing:
			_ = write(ws.OpPong, p)
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(p)
			ferr = &closeErr{code: int(code), reason: reason}
			return false
		}
		return true
	}
	if err := w.feed(nil, take); err != nil || out != nil || ferr != nil {
		return out, errors.Join(err, ferr)
	}
	_ = w.conn.SetReadDeadline(deadline)
	defer w.conn.SetReadDeadline(time.Time{})
	var scratch [2048]byte
	for {
		n, err := w.conn.Read(scratch[:])
		if n > 0 {
			if perr := w.feed(scratch[:n], take); perr != nil {
				return nil, perr
			}
			if out != nil || ferr != nil {
				return out, ferr
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

// closeErr is a close frame from the server.
type closeErr struct {
	code   int
	reason string
}

func (e *closeErr) Error() string {
	return "closed by the server: " + strconv.Itoa(e.code) + " " + e.reason
}
