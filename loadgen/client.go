package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

	wmu      sync.Mutex // guards ws and socketID, which a reconnection replaces
	ws       *websocket.Conn
	socketID string
	alive    bool        // connected and subscribed in the ramp: the plan owes it deliveries; set once
	up       atomic.Bool // the connection is subscribed now (false while reconnecting)

	// Owned by the reader goroutine until it ends.
	lastSeq  []seqWindow     // per sender position in the room: the seat-change seqs seen
	lastAvl  seqWindow       // the availability seqs seen
	seats    []int8          // the seat map as this client saw it: sender pos*seatsPerMember+j -> action+1
	members  map[string]bool // with churn: the room's presence members as this client saw them
	memMu    sync.Mutex      // members is read by the drain while the reader writes it
	away     []window        // when the client was reconnecting
	gotSeat  bitset          // the room's seat changes that arrived, by timetable index
	gotAvail bitset          // the room's availability publishes that arrived
	readDone chan struct{}
}

// window is a span of time, in Unix ns.
type window struct{ from, to int64 }

// seatUnknown marks a seat map entry a reconnected client has not heard of since it resubscribed:
// what happened while it was away is not on the wire again.
const seatUnknown = -1

const seatsPerMember = 4

func (c *lclient) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// session is the current socket id, and whether the connection is up to send on.
func (c *lclient) session() (string, bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.socketID, c.up.Load()
}

// closeConn closes the current connection, if any.
func (c *lclient) closeConn() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.ws != nil {
		c.ws.Close()
	}
}

// connect opens the client's connection in the ramp and starts its reader.
func (c *lclient) connect(ctx context.Context) error {
	if err := c.establish(ctx); err != nil {
		return err
	}
	c.alive = true
	c.up.Store(true)
	c.r.rec.Connections.Add(1)
	go c.read()
	return nil
}

// establish dials, waits for the handshake and subscribes to the client's channels, recording
// the connect and subscribe latencies.
func (c *lclient) establish(ctx context.Context) error {
	r := c.r
	src := r.cfg.Sources[c.idx%len(r.cfg.Sources)]
	d := websocket.Dialer{
		HandshakeTimeout: 15 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024,
		NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 15 * time.Second}).DialContext,
	}
	start := time.Now()
	ws, _, err := d.DialContext(ctx, r.cfg.Target.AppURL(r.cfg.Target.Key, "?protocol=7&client=pushcert-load&version=1"), nil)
	if err != nil {
		r.rec.Error("dial")
		return err
	}
	// The handshake and the subscriptions read with a deadline; the run ending closes the socket
	// at once instead.
	stopClose := context.AfterFunc(ctx, func() { ws.Close() })
	defer stopClose()
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, frame, err := ws.ReadMessage()
	if err != nil || !bytes.Contains(frame, []byte(protocol.EventConnectionEstablished)) {
		r.rec.Error("handshake")
		ws.Close()
		return fmt.Errorf("handshake: %v %s", err, frame)
	}
	m, _ := protocol.DecodeMessage(frame)
	var est protocol.ConnectionEstablished
	if err := m.DecodeData(&est); err != nil {
		r.rec.Error("handshake")
		ws.Close()
		return err
	}
	r.rec.Record(MetricConnect, time.Since(start), c.idx)
	c.wmu.Lock()
	c.ws, c.socketID = ws, est.SocketID
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
				ws.Close()
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
			ws.Close()
			return err
		}
		if err := c.awaitSubscribed(ch); err != nil {
			kind := "subscribe"
			if rf, ok := err.(*refusal); ok {
				kind = "subscribe-" + rf.code // e.g. subscribe-4100: a full presence channel
			}
			r.rec.Error(kind)
			ws.Close()
			return err
		}
		r.rec.Record(MetricSubscribe, time.Since(start), c.idx)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return nil
}

// awaitSubscribed reads until subscription_succeeded for ch. Member events of a channel
// subscribed before are applied; other frames that come first are not counted (a reconnecting
// client is not owed them: it is still away).
func (c *lclient) awaitSubscribed(ch string) error {
	for {
		_, frame, err := c.ws.ReadMessage()
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

// authorize asks the application's auth endpoint, as Echo does, with the client's token.
func (c *lclient) authorize(ctx context.Context, ch string) (string, string, error) {
	r := c.r
	form := url.Values{"socket_id": {c.socketID}, "channel_name": {ch}}
	req, _ := http.NewRequestWithContext(ctx, "POST", r.authURL+"/broadcasting/auth", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", c.token.Header())
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

// read takes every frame until the client is done. When the server closes the connection with a
// code that says to come back (4200-4299 at once; 4100-4199, protocol errors and abnormal closes
// after a second, as pusher-js does), it reconnects and resubscribes, and goes on reading.
func (c *lclient) read() {
	defer close(c.readDone)
	r := c.r
	buf := bytes.NewBuffer(make([]byte, 0, 512))
	for {
		err := c.readFrames(buf)
		c.up.Store(false)
		r.rec.Connections.Add(-1)
		code := 0
		var ce *websocket.CloseError
		if asCloseError(err, &ce) {
			code = ce.Code
			r.rec.Error(fmt.Sprint(ce.Code))
		}
		if c.ephemeral || !c.reconnect(code) {
			return
		}
	}
}

// readFrames reads one connection's frames until it fails: it times load frames from their
// intended send time, counts them, finds duplicates and reorderings, and keeps the seat map.
func (c *lclient) readFrames(buf *bytes.Buffer) error {
	r := c.r
	c.wmu.Lock()
	ws := c.ws
	c.wmu.Unlock()
	for {
		_, rd, err := ws.NextReader()
		if err != nil {
			return err
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			continue
		}
		frame := buf.Bytes()
		if c.ephemeral {
			if bytes.Equal(eventName(frame), evPing) {
				_ = c.write(pongMessage)
			}
			continue
		}
		now := time.Now()
		name := eventName(frame)
		switch {
		case bytes.Equal(name, evSeat), bytes.Equal(name, evSeatCE):
			ts, seq, by, ok := stamp(frame)
			if !ok || by < 0 || int(by) >= len(c.lastSeq) {
				r.rec.Error("bad-frame")
				continue
			}
			if int(by) == c.pos {
				// Its own change: published through the HTTP API while it was reconnecting, and
				// delivered once it was back. Anything else is an echo the server owes no one.
				if !c.wasAway(ts) {
					r.rec.Error("self-delivery")
				}
				continue
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
				continue
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
			_ = c.write(pongMessage)
		case c.members != nil && (bytes.Equal(name, evMemberAdded) || bytes.Equal(name, evMemberRemoved)):
			c.memberEvent(frame, name)
		}
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
	c.memMu.Lock()
	c.members[d.UserID] = bytes.Equal(name, evMemberAdded)
	c.memMu.Unlock()
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
	switch protocol.ActionFor(code) {
	case protocol.ActionRetry:
		wait = 0
	case protocol.ActionRefused, protocol.ActionTLSOnly:
		return false
	}
	from := time.Now()
	for attempt := 0; ; attempt++ {
		if wait > 0 {
			select {
			case <-r.life.Done():
				return false
			case <-time.After(wait):
			}
		}
		if r.life.Err() != nil {
			return false
		}
		err := c.establish(r.life)
		if r.life.Err() != nil { // the run ended meanwhile; closeConn may have missed the new socket
			c.closeConn()
			return false
		}
		if err == nil {
			break
		}
		wait = min(maxRetryWait, retryWait<<min(attempt, 8)) + time.Duration(rand.Int64N(int64(retryWait)))
	}
	now := time.Now()
	r.rec.Record(MetricReconnect, now.Sub(from), c.idx)
	r.rec.Reconnects.Add(1)
	w := window{from.Add(-awayGrace).UnixNano(), now.UnixNano()}
	if n := len(c.away); n > 0 && c.away[n-1].to >= w.from {
		c.away[n-1].to = w.to
	} else {
		c.away = append(c.away, w)
	}
	for i := range c.seats {
		c.seats[i] = seatUnknown
	}
	c.up.Store(true)
	r.rec.Connections.Add(1)
	return true
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

func asCloseError(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

// refusal is a pusher:error answering a subscription.
type refusal struct{ code, text string }

func (e *refusal) Error() string { return "subscription refused: " + e.text }
