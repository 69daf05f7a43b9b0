package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/ticketing"
)

// lclient is one simulated browser: one connection, subscribed to its room's channels. This file
// is the connection: its state, its socket on a poller, its one writer, its end; session.go
// opens it (handshake, auth, subscriptions), reconnect.go brings it back, view.go is what it
// saw.
type lclient struct {
	idx   int // global index over every shard
	pos   int // position in its room
	room  *room
	r     *runner
	token ticketing.Token

	channels  []string // set for ephemeral clients: their own channels instead of the room's
	ephemeral bool     // churn, private and silent clients: frames are read and dropped, not counted

	// The one writer: every frame to the server goes out under wmu, in order (replies the poller
	// owes go through inTurn, so the poller never waits for it).
	wmu      sync.Mutex // guards w's writes and socketID, which a reconnection replaces
	w        *wire
	socketID string
	userID   string // the presence user id the auth endpoint gave it
	// rmu serializes what the poller hands over with closing: fd is -1 when no socket is
	// attached, and bytes of any other socket than fd are not this connection's.
	rmu      sync.Mutex
	fd       int
	replied  chan struct{} // closed when the last write given to inTurn is done; guarded by rmu
	finished sync.Once
	alive    bool         // connected and subscribed in the ramp: the plan owes it deliveries; set once
	st       atomic.Int32 // its connState

	view     // what it saw, owned by its reader
	readDone chan struct{}
	setupBy  time.Time // the deadline of the handshake and subscriptions in progress
}

// connState is where a simulated connection is in its life.
type connState int32

const (
	stateDialing     connState = iota // connecting and upgrading to WebSocket
	stateHandshaking                  // waiting for connection_established, authorizing, subscribing
	stateSubscribed                   // on its poller, subscribed: owed every delivery
	stateAway                         // its connection ended; reconnecting, or told not to
	stateSilent                       // the silent scenario: open, but neither read nor answering
	stateClosed                       // done: nothing reads it any more
)

func (c *lclient) state() connState  { return connState(c.st.Load()) }
func (c *lclient) enter(s connState) { c.st.Store(int32(s)) }
func (c *lclient) subscribed() bool  { return c.state() == stateSubscribed }

// setupTimeout bounds a connection's dial, handshake, auth and subscriptions.
const setupTimeout = 15 * time.Second

// window is a span of time, in Unix ns. For an away window, retry says it began with a close
// that told the client to reconnect at once (4200-4299), as a server's restart does.
type window struct {
	from, to int64
	retry    bool
}

// seatUnknown marks a seat map entry a reconnected client has not heard of since it resubscribed:
// what happened while it was away is not on the wire again.
const seatUnknown = -1

const seatsPerMember = 4

func (c *lclient) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.writeText(b)
}

// session is the current socket id, and whether the connection is up to send on.
func (c *lclient) session() (string, bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.socketID, c.subscribed()
}

// closeConn ends the client's connection for good (the run ends, or a churning client leaves).
// A client that is reconnecting ends when the run's life does.
func (c *lclient) closeConn() {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.fd >= 0 {
		c.detach(nil)
		c.finish()
		return
	}
	c.wmu.Lock()
	if c.w != nil {
		c.w.abort() // fails a handshake or subscription in progress
	}
	c.wmu.Unlock()
}

// connect opens the client's connection in the ramp and hands it to a poller.
func (c *lclient) connect(ctx context.Context) error {
	if err := c.establish(ctx); err != nil {
		return err
	}
	c.alive = true
	c.r.rec.Connections.Add(1)
	c.enter(stateSubscribed)
	if err := c.attach(); err != nil {
		c.r.rec.Error("poll")
		c.alive = false
		c.enter(stateClosed)
		c.r.rec.Connections.Add(-1)
		return err
	}
	return nil
}

// attach takes the established connection out of Go's poller and gives it to the client's; on
// failure the connection is closed.
func (c *lclient) attach() error {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.wmu.Lock()
	err := c.w.unhook()
	c.fd = c.w.id()
	c.wmu.Unlock()
	if err == nil {
		err = c.r.pollerOf(c).add(c.w.sock, c)
	}
	if err != nil {
		c.wmu.Lock()
		c.w.close()
		c.wmu.Unlock()
		c.fd = -1
		return err
	}
	// Bytes that came with the last frames read before now are already in w.in, or, for
	// wss://, in whole records TLS read but did not hand over yet.
	if len(c.w.in) > 0 || c.w.sec != nil {
		c.take(nil, time.Now())
	}
	return nil
}

// detach takes the socket from the poller; the caller holds rmu. The socket is closed after the
// replies before it and, when closing is given, a close frame with that payload.
func (c *lclient) detach(closing []byte) {
	c.r.pollerOf(c).remove(c.fd)
	c.fd = -1
	c.enter(stateAway)
	c.r.rec.Connections.Add(-1)
	w := c.w
	c.inTurn(func() {
		if closing != nil {
			_ = w.write(ws.OpClose, closing)
		}
		w.close()
	})
}

// reply writes a frame the poller owes the server (a pong, pusher:pong), after the replies
// before it. The caller holds rmu.
func (c *lclient) reply(op ws.OpCode, payload []byte) {
	w, p := c.w, append([]byte(nil), payload...)
	c.inTurn(func() { _ = w.write(op, p) })
}

// inTurn runs write with the write lock, after the writes given to inTurn before, on a goroutine
// of its own: the poller never waits for a client's write lock or send buffer, so one client
// whose writes are stuck cannot hold up the poller's others. The caller holds rmu.
func (c *lclient) inTurn(write func()) {
	prev, done := c.replied, make(chan struct{})
	c.replied = done
	go func() {
		if prev != nil {
			<-prev
		}
		c.wmu.Lock()
		write()
		c.wmu.Unlock()
		close(done)
	}()
}

// finish marks the client done: nothing reads it any more.
func (c *lclient) finish() {
	c.finished.Do(func() {
		c.enter(stateClosed)
		close(c.readDone)
	})
}

// received is the poller's: bytes read from socket fd at now, the time its messages are timed by.
func (c *lclient) received(fd int, b []byte, now time.Time) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.fd == fd {
		c.take(b, now)
	}
}

// ended is the poller's: socket fd ended without a close frame.
func (c *lclient) ended(fd int) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.fd == fd {
		c.lost(websocket.CloseAbnormalClosure, nil)
	}
}

// take handles the messages in data (and any left from before); the caller holds rmu.
func (c *lclient) take(data []byte, now time.Time) {
	closeCode, echo := 0, []byte(nil)
	err := c.w.received(data, func(op ws.OpCode, p []byte) bool {
		switch op {
		case ws.OpText, ws.OpBinary:
			c.onMessage(p, now)
		case ws.OpPing:
			c.reply(ws.OpPong, p)
		case ws.OpClose:
			closeCode = websocket.CloseNoStatusReceived
			if len(p) > 0 {
				code, reason := ws.ParseCloseFrameData(p)
				if len(p) < 2 || ws.CheckCloseFrameData(code, reason) != nil {
					closeCode = websocket.CloseProtocolError
					return false
				}
				closeCode, echo = int(code), append([]byte(nil), p[:2]...) // the closing handshake
			}
			return false
		}
		return true
	})
	switch {
	case errors.Is(err, errEnded) && closeCode == 0: // as a socket's end without a close frame
		closeCode = websocket.CloseAbnormalClosure
	case err != nil && !errors.Is(err, errEnded):
		closeCode = websocket.CloseProtocolError
	}
	switch closeCode {
	case 0:
	case websocket.CloseAbnormalClosure:
		c.lost(closeCode, nil)
	case websocket.CloseProtocolError: // a frame no server may send: fail the connection
		c.lost(closeCode, ws.NewCloseFrameBody(ws.StatusProtocolError, ""))
	case websocket.CloseNoStatusReceived:
		c.lost(closeCode, []byte{})
	default:
		c.lost(closeCode, echo)
	}
}

// lost ends the current connection after a close with code, writing a close frame with closing
// (nil: none); the client reconnects, if the protocol says to, on a goroutine of its own. The
// caller holds rmu.
func (c *lclient) lost(code int, closing []byte) {
	c.detach(closing)
	c.r.rec.Error(fmt.Sprint(code))
	if c.ephemeral {
		c.finish()
		return
	}
	go func() {
		if !c.reconnect(code) {
			c.finish()
			return
		}
		if err := c.attach(); err != nil {
			if c.r.life.Err() == nil { // else the run's end closed the new socket first
				c.r.rec.Error("poll")
			}
			c.r.rec.Connections.Add(-1)
			c.finish()
		}
	}()
}
