package loadgen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/ticketing"
)

// lclient is one simulated browser: one connection, subscribed to its room's channels. This file
// is the connection: its state, its socket on a poller, its one writer, its end; session.go
// opens it (handshake, auth, subscriptions), reconnect.go brings it back, view.go is what it
// saw.
//
// One owner: everything that changes in a connection (its state, wire, socket, session and
// view) is read and written under mu, and nowhere else. The goroutine that dials and subscribes
// (the ramp's, or a reconnection's) owns the new wire until attach hands it to the poller; no
// one else writes it before. Every frame then goes out through the outbox, the one writer.
type lclient struct {
	idx   int // global index over every shard
	pos   int // position in its room
	node  int // the cluster's node it connects to and publishes through (0-based)
	room  *room
	r     *runner
	token ticketing.Token

	channels  []string // set for ephemeral clients: their own channels instead of the room's
	ephemeral bool     // churn, private and silent clients: frames are read and dropped, not counted
	alive     bool     // connected and subscribed in the ramp: the plan owes it deliveries; set once

	mu       sync.Mutex
	state    connState
	w        *wire
	fd       int       // the socket on the poller; -1 when none is: bytes of any other are not this connection's
	socketID string    // of the current connection
	userID   string    // the presence user id the auth endpoint gave it
	view               // what it saw
	setupBy  time.Time // the deadline of the handshake and subscriptions in progress
	// hooked are the subscriptions of the current connection the run's webhook counter was told
	// of, with the user they were made as; they end with the connection
	hooked   []hookJoin
	hookUser string

	out  outbox
	done chan struct{} // closed when it is closed: nothing reads it any more
}

func newClient(r *runner, idx, pos int, rm *room, tok ticketing.Token) *lclient {
	return &lclient{idx: idx, pos: pos, node: r.nodeOf(idx), room: rm, r: r, token: tok, fd: -1, done: make(chan struct{})}
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

func (c *lclient) enter(s connState) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

// setupTimeout bounds a connection's dial, handshake, auth and subscriptions.
const setupTimeout = 15 * time.Second

// window is a span of time, in Unix ns. For an away window, retry says it began with a close
// that told the client to reconnect at once (4200-4299), as a server's restart does, and open
// that the client was still away when the run ended.
type window struct {
	from, to    int64
	retry, open bool
}

// seatUnknown marks a seat map entry a reconnected client has not heard of since it resubscribed:
// what happened while it was away is not on the wire again.
const seatUnknown = -1

const seatsPerMember = 4

// send writes a text frame on the current connection, if it is up (else it says so), and waits
// until the frame is written.
func (c *lclient) send(b []byte) (up bool, err error) {
	c.mu.Lock()
	w, up := c.w, c.state == stateSubscribed
	c.mu.Unlock()
	if !up {
		return false, nil
	}
	written := make(chan error, 1)
	c.out.put(outFrame{w: w, op: ws.OpText, payload: b, done: func(err error) { written <- err }}, true)
	return true, <-written
}

// session is the current socket id, and whether the connection is up to send on.
func (c *lclient) session() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketID, c.state == stateSubscribed
}

// closeConn ends the client's connection for good (the run ends, or a churning client leaves).
// A client that is reconnecting ends when the run's life does.
func (c *lclient) closeConn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.fd >= 0:
		c.detach(nil)
		c.finish()
	case c.w != nil:
		c.w.abort() // fails a handshake or subscription in progress
		c.unhook(time.Now())
	}
}

// connect opens the client's connection in the ramp and hands it to a poller.
func (c *lclient) connect(ctx context.Context) error {
	if err := c.establish(ctx); err != nil {
		return err
	}
	if err := c.attach(); err != nil {
		c.r.rec.Error("poll")
		c.enter(stateClosed)
		return err
	}
	c.alive = true
	return nil
}

// attach takes the established connection out of Go's poller and gives it to the client's: it
// is subscribed from now. On failure the connection is closed.
func (c *lclient) attach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.w.unhook()
	if err == nil {
		c.fd = c.w.id()
		err = c.r.pollerOf(c).add(c.w.sock, c)
	}
	if err != nil {
		c.w.close()
		c.fd = -1
		c.unhook(time.Now())
		return err
	}
	c.state = stateSubscribed
	c.r.rec.Connections.Add(1)
	// Bytes that came with the last frames read before now are already in w.in, or, for
	// wss://, in whole records TLS read but did not hand over yet.
	if len(c.w.in) > 0 || c.w.sec != nil {
		c.take(nil, time.Now())
	}
	return nil
}

// detach takes the socket from the poller; the caller holds mu. The socket is closed after the
// frames put before and, when closing is given, a close frame with that payload.
func (c *lclient) detach(closing []byte) {
	c.r.pollerOf(c).remove(c.fd)
	c.fd = -1
	c.state = stateAway
	c.r.rec.Connections.Add(-1)
	c.unhook(time.Now())
	c.out.put(outFrame{w: c.w, op: ws.OpClose, payload: closing, close: true}, false)
}

// hook tells the webhook counter that the current connection subscribes ch with a request sent
// at.
func (c *lclient) hook(ch string, at time.Time) {
	if c.r.hooks == nil {
		return
	}
	j := c.r.hooks.joined(ch, c.userID, at)
	c.mu.Lock()
	c.hooked, c.hookUser = append(c.hooked, j), c.userID
	c.mu.Unlock()
}

// unhookRefused takes back a subscription of ch the server refused.
func (c *lclient) unhookRefused(ch string) {
	if c.r.hooks == nil {
		return
	}
	c.mu.Lock()
	i := slices.IndexFunc(c.hooked, func(j hookJoin) bool { return j.ch == ch })
	if i < 0 {
		c.mu.Unlock()
		return
	}
	j := c.hooked[i]
	c.hooked = slices.Delete(c.hooked, i, i+1)
	c.mu.Unlock()
	c.r.hooks.refusedJoin(j, c.hookUser)
}

// unhook tells the webhook counter that the current connection's subscriptions ended at; the
// caller holds mu.
func (c *lclient) unhook(at time.Time) {
	c.r.hooks.left(c.hooked, c.hookUser, at)
	c.hooked = nil
}

// reply writes a frame the poller owes the server (a pong, pusher:pong), after the frames put
// before it, without waiting for it. The caller holds mu.
func (c *lclient) reply(op ws.OpCode, payload []byte) {
	c.out.put(outFrame{w: c.w, op: op, payload: append([]byte{}, payload...)}, false)
}

// finish marks the client done: nothing reads it any more. The caller holds mu.
func (c *lclient) finish() {
	if c.state != stateClosed {
		c.state = stateClosed
		close(c.done)
	}
}

// received is the poller's: bytes read from socket fd at now, the time its messages are timed by.
func (c *lclient) received(fd int, b []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd == fd {
		c.take(b, now)
	}
}

// ended is the poller's: socket fd ended without a close frame.
func (c *lclient) ended(fd int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd == fd {
		c.lost(websocket.CloseAbnormalClosure, nil)
	}
}

// take handles the messages in data (and any left from before); the caller holds mu.
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
// caller holds mu.
func (c *lclient) lost(code int, closing []byte) {
	c.detach(closing)
	c.r.rec.Error(fmt.Sprint(code))
	if c.ephemeral {
		c.finish()
		return
	}
	go func() {
		if c.reconnect(code) {
			err := c.attach()
			if err == nil {
				return
			}
			if c.r.life.Err() == nil { // else the run's end closed the new socket first
				c.r.rec.Error("poll")
			}
		}
		c.mu.Lock()
		c.finish()
		c.mu.Unlock()
	}()
}
