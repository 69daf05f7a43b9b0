package refserver

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/pushcert/pushcert/internal/protocol"
)

// pongFrame is prepared once and shared by every connection.
var (
	pongFrame = mustPrepare(protocol.FramePong)
	pingFrame = mustPrepare(protocol.FramePing)
)

// closeFrame builds a close frame whose reason fits the 123 bytes a control frame allows, cut on
// a character boundary: a reason that is not valid UTF-8 is a protocol error for the client.
func closeFrame(code int, reason string) []byte {
	const max = 120
	if len(reason) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return websocket.FormatCloseMessage(code, strings.ToValidUTF8(reason, ""))
}

// prepared is a server frame encoded once, with its size: what a connection's send queue holds
// and counts against its byte budget. A broadcast shares one among all its deliveries.
type prepared struct {
	*websocket.PreparedMessage
	size int
}

func prepare(frame []byte) (*prepared, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil {
		return nil, err
	}
	return &prepared{pm, len(frame)}, nil
}

func mustPrepare(frame []byte) *prepared {
	p, err := prepare(frame)
	if err != nil {
		panic(err) // only constant frames are prepared here
	}
	return p
}

// maxBatch bounds how many queued frames one write carries.
const maxBatch = 64

// closeGrace is how long a closing connection may take to write its close frame.
const closeGrace = time.Second

// conn is one client connection. readLoop owns it and handles every message; a writeLoop
// goroutine, the only writer of data frames, runs while frames are queued.
type conn struct {
	srv      *Server
	app      *appState
	ws       *websocket.Conn
	raw      *batchConn
	socketID string

	quit chan struct{} // closed once by kill

	qmu     sync.Mutex
	queue   []*prepared // frames waiting for the writer
	queued  int         // their bytes, bounded by Config.SendQueueBytes
	peak    int         // the most queued bytes seen, for the metrics
	spare   []*prepared // the writer's last batch, reused by the next burst
	writing bool        // a writeLoop goroutine is running
	dead    bool        // killed: nothing is queued any more

	closeCode atomic.Int32
	closeMsg  atomic.Pointer[string]
	killOnce  sync.Once
	writer    func()      // c.writeLoop, bound once
	authTimer *time.Timer // UserAuthTimeout, stopped when the connection ends

	lastSeen atomic.Int64 // unix nanoseconds of the last frame received
	pingSent atomic.Int64 // unix nanoseconds of the server ping awaiting any frame; 0 when none

	mu        sync.Mutex // guards the fields below; taken after app and channel locks, never before
	subs      map[*channel]struct{}
	subLimit  *rate.Limiter    // subscribes, made on the first one
	userID    string           // set by a successful sign-in
	watchlist []string         // the signed-in user's watchlist
	watchVers map[string]int64 // in a cluster: the watch version of each watched user it was told
	userInfo  []byte           // the signed-in user's user_info
	limiter   *rate.Limiter
	authed    bool // signed in or subscribed to an authorized channel
}

// enqueue queues a frame without ever blocking. A queue past its bounds (SendQueue frames,
// SendQueueBytes bytes waiting for the writer) means the client is not keeping up: it is
// disconnected with 4100 so that it cannot slow anyone else down nor hold the server's memory.
// The queue is a slice reused between bursts, so a delivery allocates nothing once a connection
// has written.
func (c *conn) enqueue(p *prepared) bool {
	c.qmu.Lock()
	if c.dead { // nothing more after the close is decided: no gap before the close frame
		c.qmu.Unlock()
		return false
	}
	if len(c.queue) >= c.srv.cfg.SendQueue || c.queued+p.size > c.srv.cfg.SendQueueBytes {
		c.qmu.Unlock()
		c.kill(protocol.CodeOverCapacity, "Over capacity: the client is not reading its messages")
		return false
	}
	c.queue = append(c.queue, p)
	c.queued += p.size
	c.peak = max(c.peak, c.queued)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.writer() // a func value made once: `go c.writeLoop()` would allocate a closure each time
	}
	return true
}

// enqueueFrame prepares and queues a frame for this connection alone.
func (c *conn) enqueueFrame(frame []byte) bool {
	p, err := prepare(frame)
	if err != nil {
		return false
	}
	return c.enqueue(p)
}

// sendError queues a pusher:error; code 0 is sent as null. The channel is the client's, cut to
// maxEcho like every quote of its input.
func (c *conn) sendError(code int, msg, channel string) {
	c.app.metrics.errors.WithLabelValues(codeLabel(code)).Inc()
	c.enqueueFrame(protocol.EncodeError(code, msg, truncate(channel, maxEcho)))
}

// kill closes the connection with a Pusher close code, once. It never blocks: the writer
// sends the close frame. A writer stuck on a full socket is unblocked by the short deadline.
func (c *conn) kill(code int, msg string) { c.end(code, msg, false) }

// finish closes the connection with code after the frames already queued: a graceful close
// (shutdown) loses nothing the connection was owed before it. Frames queued later are refused.
func (c *conn) finish(code int, msg string) { c.end(code, msg, true) }

func (c *conn) end(code int, msg string, flush bool) {
	c.killOnce.Do(func() {
		c.closeCode.Store(int32(code))
		c.closeMsg.Store(&msg)
		if code != 0 {
			c.app.metrics.errors.WithLabelValues(codeLabel(code)).Inc()
		}
		c.qmu.Lock()
		if !flush {
			c.raw.abort()
			c.queue = nil
		}
		c.dead = true
		start := !c.writing
		c.writing = true
		c.qmu.Unlock()
		close(c.quit)
		if start {
			go c.writer()
		}
	})
}

// queuedBytes is what every connection has waiting to be written.
func (s *Server) queuedBytes() float64 {
	n := 0
	for _, a := range s.byID {
		for _, c := range a.allConns() {
			c.qmu.Lock()
			n += c.queued
			c.qmu.Unlock()
		}
	}
	return float64(n)
}

// touch records that the peer is alive.
func (c *conn) touch(now time.Time) {
	c.lastSeen.Store(now.UnixNano())
	if c.pingSent.Load() != 0 {
		c.pingSent.Store(0)
	}
}

// writeLoop takes everything queued at once and writes it, coalescing up to maxBatch frames per
// socket write, until the queue is empty; then it exits, so an idle connection has no writer
// goroutine. After kill, or on a write error, it sends the close frame and closes the socket,
// which ends readLoop.
func (c *conn) writeLoop() {
	for {
		c.qmu.Lock()
		if c.dead {
			last := c.queue // frames queued before a graceful close (finish); none after kill
			c.queue, c.queued = nil, 0
			c.qmu.Unlock()
			if len(last) > 0 {
				_ = c.writeFrames(last)
			}
			c.writeClose()
			_ = c.raw.Close()
			return // writing stays true: no writer will ever run again
		}
		batch := c.queue
		if len(batch) == 0 {
			c.writing = false
			c.qmu.Unlock()
			return
		}
		c.queue, c.queued = c.spare, 0
		c.spare = nil
		c.qmu.Unlock()

		err := c.writeFrames(batch)
		clear(batch) // drop the frames so their memory can go
		c.qmu.Lock()
		if cap(batch) <= maxKeptQueue {
			c.spare = batch[:0]
		}
		c.qmu.Unlock()
		if err != nil {
			c.kill(0, "")
		}
	}
}

// maxKeptQueue bounds the queue capacity a connection keeps between bursts.
const maxKeptQueue = 256

// writeFrames writes frames in groups of maxBatch, each group in one socket write. A lone frame
// goes straight out: nothing to coalesce, no buffer to borrow.
func (c *conn) writeFrames(frames []*prepared) error {
	if len(frames) == 1 {
		_ = c.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
		return c.ws.WritePreparedMessage(frames[0].PreparedMessage)
	}
	for len(frames) > 0 && !c.raw.closing.Load() { // stop at kill; a graceful finish writes all
		n := min(len(frames), maxBatch)
		c.raw.begin()
		var err error
		for _, p := range frames[:n] {
			if err = c.ws.WritePreparedMessage(p.PreparedMessage); err != nil {
				break
			}
		}
		if ferr := c.raw.flush(time.Now().Add(c.srv.cfg.WriteTimeout)); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		frames = frames[n:]
	}
	return nil
}

func (c *conn) writeClose() {
	code := int(c.closeCode.Load())
	if code == 0 {
		return
	}
	msg := ""
	if p := c.closeMsg.Load(); p != nil {
		msg = *p
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, closeFrame(code, msg), time.Now().Add(closeGrace))
}

// batchConn is the socket under gorilla's Conn. Between begin and flush it collects the frames
// gorilla writes, so that many queued frames leave in one write system call. Outside a batch,
// writes (control frames from the read goroutine) go straight through.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      *[]byte
	closing  atomic.Bool
	// sent and received count the bytes written and read, this connection's alone: a counter
	// the app's connections shared would bounce between the cores on every write and read.
	// /metrics sums them per app (appState.wire).
	sent, received atomic.Uint64
}

// Read reads from the socket and counts what came.
func (b *batchConn) Read(p []byte) (int, error) {
	n, err := b.Conn.Read(p)
	if n > 0 {
		b.received.Add(uint64(n))
	}
	return n, err
}

// write writes p to the socket and counts what went; b.mu is held.
func (b *batchConn) write(p []byte) (int, error) {
	n, err := b.Conn.Write(p)
	if n > 0 {
		b.sent.Add(uint64(n))
	}
	return n, err
}

// abort bounds any write in progress or to come by closeGrace, without waiting for the lock.
func (b *batchConn) abort() {
	b.closing.Store(true)
	_ = b.Conn.SetWriteDeadline(time.Now().Add(closeGrace))
}

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// SetWriteDeadline is what gorilla calls before each write. Once abort has run, the short
// deadline wins: the check follows the set, so a concurrent abort is never overridden.
func (b *batchConn) SetWriteDeadline(deadline time.Time) error {
	err := b.Conn.SetWriteDeadline(deadline)
	if b.closing.Load() {
		err = b.Conn.SetWriteDeadline(time.Now().Add(closeGrace))
	}
	return err
}

func (b *batchConn) begin() {
	b.mu.Lock()
	b.batching = true
	b.buf = batchPool.Get().(*[]byte)
	b.mu.Unlock()
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		*b.buf = append(*b.buf, p...)
		return len(p), nil
	}
	return b.write(p)
}

func (b *batchConn) flush(deadline time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	buf := b.buf
	b.buf = nil
	_ = b.SetWriteDeadline(deadline)
	_, err := b.write(*buf)
	if cap(*buf) <= 64<<10 {
		*buf = (*buf)[:0]
		batchPool.Put(buf)
	}
	return err
}

// readLoop reads and handles frames until the socket fails or is closed, then unregisters the
// connection. A bad frame gets a pusher:error and the connection goes on.
func (c *conn) readLoop() {
	defer c.srv.wg.Done()
	defer func() {
		if c.authTimer != nil {
			c.authTimer.Stop()
		}
		c.app.removeConn(c)
		c.app.metrics.connections.Dec()
		c.qmu.Lock()
		c.srv.metrics.sendQueuePeak.Observe(float64(c.peak))
		c.qmu.Unlock()
		c.kill(0, "")
	}()
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.touch(time.Now())
		c.app.metrics.messagesIn.Inc()
		if mt != websocket.TextMessage {
			c.sendError(0, "Invalid message format: binary frames are not supported, send JSON text", "")
			continue
		}
		if !utf8.Valid(data) && !c.srv.cfg.Faults.RelayInvalidUTF8 {
			// RFC 6455 8.1: a text frame that is not UTF-8 fails the connection. Relayed, its
			// bytes would make the other subscribers' clients drop theirs.
			c.kill(websocket.CloseInvalidFramePayloadData, "Invalid UTF-8 in a text frame: send UTF-8 JSON text")
			return
		}
		c.handleOnFreshStack(data)
	}
}

// handleOnFreshStack runs handle on a short-lived goroutine and waits for it. Handling needs a
// deep stack for a moment (JSON decoding, signatures, encoders); a readLoop that then parks for
// hours in a read would keep that stack, 8 KiB instead of 2 KiB per idle connection. The
// hand-off costs about a microsecond per received frame; deliveries do not pass here.
func (c *conn) handleOnFreshStack(data []byte) {
	done := make(chan struct{})
	go func() {
		c.handle(data)
		close(done)
	}()
	<-done
}

// handle dispatches one text frame.
func (c *conn) handle(frame []byte) {
	m, err := protocol.DecodeMessage(frame)
	if err != nil {
		c.sendError(0, "Invalid message format: "+err.Error(), "")
		return
	}
	switch m.Event {
	case protocol.EventPing:
		if !c.srv.cfg.Faults.NoPong {
			c.enqueue(pongFrame)
		}
	case protocol.EventPong:
	case protocol.EventSubscribe:
		c.subscribe(m)
	case protocol.EventUnsubscribe:
		c.unsubscribe(m)
	case protocol.EventSignin:
		c.signin(m)
	default:
		switch {
		case isReserved(m.Event):
			c.sendError(0, "Unsupported event: "+truncate(m.Event, maxEcho)+": a client sends pusher:ping, pusher:pong, pusher:subscribe, pusher:unsubscribe, pusher:signin or client- events", m.Channel)
		case strings.HasPrefix(m.Event, protocol.ClientEventPrefix) || c.srv.cfg.Faults.RelayUnprefixedEvents:
			c.clientEvent(m)
		default:
			c.sendError(0, "Invalid event name "+truncate(m.Event, maxEcho)+": events from clients must start with client-", m.Channel)
		}
	}
}
