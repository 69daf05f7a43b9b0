package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/ticketing"
)

// lclient is one simulated browser: one connection, subscribed to its room's channels.
type lclient struct {
	idx   int // global index over every shard
	pos   int // position in its room
	room  *room
	r     *runner
	token ticketing.Token

	channels  []string // set for ephemeral clients: their own channels instead of the room's
	ephemeral bool     // churn and private clients: frames are read and dropped, not counted

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

	// Owned by whoever reads the client (the poller, or the reconnecting goroutine) until
	// readDone is closed.
	lastSeq  []seqWindow     // per sender position in the room: the seat-change seqs seen
	lastAvl  seqWindow       // the availability seqs seen
	seats    []int8          // the seat map as this client saw it: sender pos*seatsPerMember+j -> action+1
	members  map[string]bool // with churn: the room's presence members as this client saw them
	memMu    sync.Mutex      // members is read by the drain while the reader writes it
	away     []window        // when the client was reconnecting
	gotSeat  bitset          // the room's seat changes that arrived, by timetable index
	gotAvail bitset          // the room's availability publishes that arrived
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
	// Bytes that came with the last frames read before now are already in w.in.
	if len(c.w.in) > 0 {
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
	if err != nil {
		closeCode = websocket.CloseProtocolError
	}
	switch closeCode {
	case 0:
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

// establish dials, waits for the handshake and subscribes to the client's channels, recording
// the connect and subscribe latencies.
func (c *lclient) establish(ctx context.Context) error {
	r := c.r
	src := r.cfg.Sources[c.idx%len(r.cfg.Sources)]
	start := time.Now()
	c.setupBy = start.Add(setupTimeout)
	c.enter(stateDialing)
	w, err := dialWire(ctx, r.cfg.Target.AppURL(r.cfg.Target.Key, "?protocol=7&client=pushcert-load&version=1"), src, r.dialing)
	if err != nil {
		r.rec.Error("dial")
		return err
	}
	c.enter(stateHandshaking)
	// The handshake and the subscriptions read with a deadline; the run ending closes the socket
	// at once instead.
	conn := w // abort fails the reads in progress
	stopClose := context.AfterFunc(ctx, conn.abort)
	defer stopClose()
	c.wmu.Lock()
	c.w = w
	c.wmu.Unlock()
	frame, err := c.readMessage()
	if err != nil || !bytes.Contains(frame, []byte(protocol.EventConnectionEstablished)) {
		r.rec.Error("handshake")
		conn.abort()
		return fmt.Errorf("handshake: %v %s", err, frame)
	}
	m, _ := protocol.DecodeMessage(frame)
	var est protocol.ConnectionEstablished
	if err := m.DecodeData(&est); err != nil {
		r.rec.Error("handshake")
		conn.abort()
		return err
	}
	r.rec.Record(MetricConnect, time.Since(start), c.idx)
	c.wmu.Lock()
	c.socketID = est.SocketID
	c.wmu.Unlock()
	if c.members != nil { // the member list starts again from subscription_succeeded
		c.memMu.Lock()
		clear(c.members)
		c.memMu.Unlock()
	}

	for _, ch := range r.channelsOf(c) {
		start := time.Now()
		auth, data := "", ""
		if protocol.KindOf(ch).NeedsAuth() {
			if auth, data, err = c.authorize(ctx, ch); err != nil {
				conn.abort()
				return err
			}
		}
		sub := map[string]string{"channel": ch}
		if auth != "" {
			sub["auth"] = auth
		}
		if data != "" {
			sub["channel_data"] = data
		}
		b, _ := json.Marshal(map[string]any{"event": protocol.EventSubscribe, "data": sub})
		if err := c.write(b); err != nil {
			r.rec.Error("subscribe")
			conn.abort()
			return err
		}
		if err := c.awaitSubscribed(ch); err != nil {
			kind := "subscribe"
			if rf, ok := err.(*refusal); ok {
				kind = "subscribe-" + rf.code // e.g. subscribe-4100: a full presence channel
			}
			r.rec.Error(kind)
			conn.abort()
			return err
		}
		r.rec.Record(MetricSubscribe, time.Since(start), c.idx)
	}
	return nil
}

// readMessage reads the next message before the connection goes to the poller, by the time the
// whole setup must be done.
func (c *lclient) readMessage() ([]byte, error) {
	return c.w.readMessage(c.setupBy, func(op ws.OpCode, p []byte) error {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.w.write(op, p)
	})
}

// awaitSubscribed reads until subscription_succeeded for ch. Member events of a channel
// subscribed before are applied; other frames that come first are not counted (a reconnecting
// client is not owed them: it is still away).
func (c *lclient) awaitSubscribed(ch string) error {
	for {
		frame, err := c.readMessage()
		if err != nil {
			return err
		}
		if name := eventName(frame); c.members != nil && (bytes.Equal(name, evMemberAdded) || bytes.Equal(name, evMemberRemoved)) {
			c.memberEvent(frame, name)
			continue
		}
		m, err := protocol.DecodeMessage(frame)
		if err != nil {
			continue
		}
		switch {
		case m.Event == protocol.EventSubscriptionSucceeded && m.Channel == ch:
			if c.members != nil && protocol.KindOf(ch) == protocol.Presence {
				var d struct {
					Presence protocol.PresenceData `json:"presence"`
				}
				if err := m.DecodeData(&d); err == nil {
					c.memMu.Lock()
					for _, id := range d.Presence.IDs {
						c.members[id] = true
					}
					c.memMu.Unlock()
				}
			}
			return nil
		case m.Event == protocol.EventError:
			var d protocol.ErrorData
			code := "null"
			if m.DecodeData(&d) == nil && d.Code != nil {
				code = fmt.Sprint(*d.Code)
			}
			return &refusal{code: code, text: string(frame)}
		}
	}
}

// authorize asks the application's auth endpoint, as Echo does: the seed application's with the
// client's token, or the one given with its headers.
func (c *lclient) authorize(ctx context.Context, ch string) (string, string, error) {
	r := c.r
	form := url.Values{"socket_id": {c.socketID}, "channel_name": {ch}}
	endpoint := r.authURL + "/broadcasting/auth"
	if r.cfg.AuthEndpoint != "" {
		endpoint = r.cfg.AuthEndpoint
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.cfg.AuthEndpoint == "" {
		req.Header.Set("Authorization", c.token.Header())
	}
	client := strconv.Itoa(c.idx)
	for k, vs := range r.cfg.AuthHeader {
		for _, v := range vs {
			req.Header.Add(k, strings.ReplaceAll(v, "{client}", client))
		}
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.rec.Error("auth")
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.rec.Error(fmt.Sprintf("auth-%d", resp.StatusCode))
		return "", "", fmt.Errorf("auth %s: %d %s", ch, resp.StatusCode, body)
	}
	var a struct {
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return "", "", err
	}
	if a.ChannelData != "" { // the presence user the application made the client
		if pm, err := protocol.ParseChannelData(a.ChannelData); err == nil {
			c.userID = pm.UserID
		}
	}
	return a.Auth, a.ChannelData, nil
}

var (
	evPrefix        = []byte(`"event":"`)
	evSeat          = []byte("seat.changed")
	evSeatCE        = []byte("client-seat.changed")
	evAvail         = []byte("availability.updated")
	evPing          = []byte(protocol.EventPing)
	evMemberAdded   = []byte(protocol.EventMemberAdded)
	evMemberRemoved = []byte(protocol.EventMemberRemoved)
	keySeat         = []byte(`"s":`)
	keySeatQ        = []byte(`\"s\":`)
	keyAction       = []byte(`"a":`)
	keyActionQ      = []byte(`\"a\":`)
	pongMessage     = protocol.FramePong
)

func eventName(frame []byte) []byte {
	i := bytes.Index(frame, evPrefix)
	if i < 0 {
		return nil
	}
	i += len(evPrefix)
	j := bytes.IndexByte(frame[i:], '"')
	if j < 0 {
		return nil
	}
	return frame[i : i+j]
}

// onMessage handles one message of the server: it times load events from their intended send
// time, counts them, finds duplicates and reorderings, and keeps the seat map. The caller holds
// rmu.
func (c *lclient) onMessage(frame []byte, now time.Time) {
	r := c.r
	if c.ephemeral {
		if bytes.Equal(eventName(frame), evPing) {
			c.reply(ws.OpText, pongMessage)
		}
		return
	}
	name := eventName(frame)
	switch {
	case bytes.Equal(name, evSeat), bytes.Equal(name, evSeatCE):
		ts, seq, by, ok := stamp(frame)
		if !ok || by < 0 || int(by) >= len(c.lastSeq) {
			r.rec.Error("bad-frame")
			return
		}
		if int(by) == c.pos {
			// Its own change: published through the HTTP API while it was reconnecting, and
			// delivered once it was back. Anything else is an echo the server owes no one.
			if !c.wasAway(ts) {
				r.rec.Error("self-delivery")
			}
			return
		}
		metricName := MetricDelivery
		if bytes.Equal(name, evSeatCE) {
			metricName = MetricClientEvent
		}
		r.rec.Record(metricName, now.Sub(time.Unix(0, ts)), c.idx)
		if c.count(&c.lastSeq[by], seq) {
			i := seq*int64(len(c.lastSeq)) + by // the event's index in the room's timetable
			if c.gotSeat.valid(i) {
				c.gotSeat.set(i)
			}
			if shard := c.room.members[by] % r.cfg.Shards; shard != r.cfg.Shard {
				if sp := c.room.seatSpansP.Load(); sp != nil {
					sp.learn(shard, i, ts)
				}
			}
			s, ok1 := intAfter(frame, keySeat, keySeatQ)
			a, ok2 := intAfter(frame, keyAction, keyActionQ)
			if ok1 && ok2 && int(by)*seatsPerMember+int(s) < len(c.seats) {
				c.seats[int(by)*seatsPerMember+int(s)] = int8(a + 1)
			}
		}
	case bytes.Equal(name, evAvail):
		ts, seq, _, ok := stamp(frame)
		if !ok {
			r.rec.Error("bad-frame")
			return
		}
		r.rec.Record(MetricDelivery, now.Sub(time.Unix(0, ts)), c.idx)
		if c.count(&c.lastAvl, seq) {
			if c.gotAvail.valid(seq) {
				c.gotAvail.set(seq)
			}
			if shard := c.room.idx % r.cfg.Shards; shard != r.cfg.Shard {
				if sp := c.room.availSpansP.Load(); sp != nil {
					sp.learn(shard, seq, ts)
				}
			}
			c.room.fanout(seq, now, r.rec, c.idx)
		}
	case bytes.Equal(name, evPing):
		c.reply(ws.OpText, pongMessage)
	case c.members != nil && (bytes.Equal(name, evMemberAdded) || bytes.Equal(name, evMemberRemoved)):
		c.memberEvent(frame, name)
	}
}

// memberEvent applies member_added or member_removed to the client's member list.
func (c *lclient) memberEvent(frame, name []byte) {
	m, err := protocol.DecodeMessage(frame)
	var d struct {
		UserID string `json:"user_id"`
	}
	if err != nil || m.DecodeData(&d) != nil {
		c.r.rec.Error("bad-frame")
		return
	}
	added := bytes.Equal(name, evMemberAdded)
	c.memMu.Lock()
	c.members[d.UserID] = added
	c.memMu.Unlock()
	if since, ok := c.r.silenced.wentSilent(d.UserID); ok && !added {
		c.r.rec.Record(MetricSilentDrop, time.Since(since), c.idx)
	}
}

// wasAway says whether ts (Unix ns) fell in one of the client's away windows.
func (c *lclient) wasAway(ts int64) bool {
	for _, w := range c.away {
		if ts >= w.from && ts <= w.to {
			return true
		}
	}
	return false
}

// Reconnection timing.
const (
	reconnectBackoff = time.Second            // after 4100-4199 and abnormal closes
	retryWait        = 100 * time.Millisecond // after a failed attempt, doubling ...
	maxRetryWait     = 2 * time.Second        // ... up to this
)

// reconnect brings the client back after a close with code (0: no close frame), if the protocol
// says to and the run is not ending. It records the reconnection time (close to resubscribed) and
// the away window, and forgets the seat map: what changed meanwhile is not sent again.
func (c *lclient) reconnect(code int) bool {
	r := c.r
	wait := reconnectBackoff
	retry := protocol.ActionFor(code) == protocol.ActionRetry
	switch protocol.ActionFor(code) {
	case protocol.ActionRetry:
		wait = 0
	case protocol.ActionRefused, protocol.ActionTLSOnly:
		return false
	}
	from := time.Now()
	var held time.Duration // waiting for the generator's admission, not for the server
	gaveUp := func() bool {
		// The run ended first: the client was away from its close to the end.
		c.markAway(window{from.Add(-awayGrace).UnixNano(), time.Now().UnixNano(), retry})
		return false
	}
	for attempt := 0; ; attempt++ {
		if wait > 0 {
			select {
			case <-r.life.Done():
				return gaveUp()
			case <-time.After(wait):
			}
		}
		asked := time.Now()
		if !r.redials.acquire(r.life) {
			return gaveUp()
		}
		held += time.Since(asked)
		err := c.establish(r.life)
		r.redials.release(err == nil)
		if r.life.Err() != nil { // the run ended meanwhile; closeConn may have missed the new socket
			c.closeConn()
			return gaveUp()
		}
		if err == nil {
			break
		}
		wait = min(maxRetryWait, retryWait<<min(attempt, 8)) + time.Duration(rand.Int64N(int64(retryWait)))
	}
	now := time.Now()
	r.rec.Record(MetricReconnect, now.Sub(from)-held, c.idx)
	r.rec.Reconnects.Add(1)
	c.markAway(window{from.Add(-awayGrace).UnixNano(), now.UnixNano(), retry})
	for i := range c.seats {
		c.seats[i] = seatUnknown
	}
	c.enter(stateSubscribed)
	r.rec.Connections.Add(1)
	return true
}

// markAway records that the client was away during w, joining it to the last window when they
// meet.
func (c *lclient) markAway(w window) {
	if n := len(c.away); n > 0 && c.away[n-1].to >= w.from {
		c.away[n-1].to = max(c.away[n-1].to, w.to)
		c.away[n-1].retry = c.away[n-1].retry || w.retry
		return
	}
	c.away = append(c.away, w)
}

// count records one arrival of seq from a sender; it reports whether the arrival was new.
func (c *lclient) count(w *seqWindow, seq int64) bool {
	r := c.r
	r.rec.Received.Add(1)
	dup, late := w.arrive(seq)
	switch {
	case dup:
		r.rec.Duplicates.Add(1)
		return false
	case late:
		r.rec.OutOfOrder.Add(1)
	}
	return true
}

// seqWindow remembers the highest seq of a sender and which of the 64 below it arrived, so a
// duplicate that comes after later events is still told from a reordering.
type seqWindow struct {
	last int64  // highest seq seen; -1 before any
	seen uint64 // bit i: seq last-1-i arrived
}

func newSeqWindow() seqWindow { return seqWindow{last: -1} }

// arrive records seq: dup when it was seen before, late when it came after a higher one.
func (w *seqWindow) arrive(seq int64) (dup, late bool) {
	switch {
	case seq > w.last:
		shift := seq - w.last
		if w.last < 0 || shift > 64 {
			w.seen = 0
		} else {
			w.seen = w.seen<<shift | 1<<(shift-1)
		}
		w.last = seq
		return false, false
	case seq == w.last:
		return true, false
	}
	back := w.last - 1 - seq
	if back >= 64 {
		return false, true // too far back to remember: counted as a reordering
	}
	if w.seen&(1<<back) != 0 {
		return true, true
	}
	w.seen |= 1 << back
	return false, true
}

// refusal is a pusher:error answering a subscription.
type refusal struct{ code, text string }

func (e *refusal) Error() string { return "subscription refused: " + e.text }
