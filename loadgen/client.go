package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

	ws       *websocket.Conn
	wmu      sync.Mutex
	socketID string
	alive    bool

	// Owned by the reader goroutine until it ends.
	lastSeq  []seqWindow     // per sender position in the room: the seat-change seqs seen
	lastAvl  seqWindow       // the availability seqs seen
	seats    []int8          // the seat map as this client saw it: sender pos*seatsPerMember+j -> action+1
	members  map[string]bool // with churn: the room's presence members as this client saw them
	memMu    sync.Mutex      // members is read by the drain while the reader writes it
	readDone chan struct{}
}

const seatsPerMember = 4

func (c *lclient) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// connect dials, waits for the handshake and subscribes to the room's channels, recording the
// connect and subscribe latencies.
func (c *lclient) connect(ctx context.Context) error {
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
	c.ws, c.socketID = ws, est.SocketID

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
	c.alive = true
	r.rec.Connections.Add(1)
	go c.read()
	return nil
}

// awaitSubscribed reads until subscription_succeeded for ch; presence member events that come
// first are skipped.
func (c *lclient) awaitSubscribed(ch string) error {
	for {
		_, frame, err := c.ws.ReadMessage()
		if err != nil {
			return err
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
					for _, id := range d.Presence.IDs {
						c.members[id] = true
					}
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

// read takes every frame: it times load frames from their intended send time, counts them,
// finds duplicates and reorderings, and keeps the seat map.
func (c *lclient) read() {
	defer close(c.readDone)
	r := c.r
	buf := bytes.NewBuffer(make([]byte, 0, 512))
	for {
		_, rd, err := c.ws.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			if asCloseError(err, &ce) {
				r.rec.Error(fmt.Sprint(ce.Code))
			}
			if c.alive {
				r.rec.Connections.Add(-1)
			}
			return
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
			metricName := MetricDelivery
			if bytes.Equal(name, evSeatCE) {
				metricName = MetricClientEvent
			}
			r.rec.Record(metricName, now.Sub(time.Unix(0, ts)), c.idx)
			c.count(&c.lastSeq[by], seq)
			s, ok1 := intAfter(frame, keySeat, keySeatQ)
			a, ok2 := intAfter(frame, keyAction, keyActionQ)
			if ok1 && ok2 && int(by)*seatsPerMember+int(s) < len(c.seats) {
				c.seats[int(by)*seatsPerMember+int(s)] = int8(a + 1)
			}
		case bytes.Equal(name, evAvail):
			ts, seq, _, ok := stamp(frame)
			if !ok {
				r.rec.Error("bad-frame")
				continue
			}
			r.rec.Record(MetricDelivery, now.Sub(time.Unix(0, ts)), c.idx)
			if c.count(&c.lastAvl, seq) {
				c.room.fanout(seq, now, r.rec, c.idx)
			}
		case bytes.Equal(name, evPing):
			_ = c.write(pongMessage)
		case c.members != nil && (bytes.Equal(name, evMemberAdded) || bytes.Equal(name, evMemberRemoved)):
			m, err := protocol.DecodeMessage(frame)
			var d struct {
				UserID string `json:"user_id"`
			}
			if err != nil || m.DecodeData(&d) != nil {
				r.rec.Error("bad-frame")
				continue
			}
			c.memMu.Lock()
			c.members[d.UserID] = bytes.Equal(name, evMemberAdded)
			c.memMu.Unlock()
		}
	}
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
