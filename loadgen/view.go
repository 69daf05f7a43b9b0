package loadgen

import (
	"bytes"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushcert/pushcert/internal/protocol"
)

// view is what a client saw of its room: the seat changes and availability publishes that
// arrived (for the ledger), the last seqs of each sender (duplicates, reorderings), the seat map,
// the presence members and the away windows. It is the connection's, under its mu; the ledger
// reads it once the client is done.
type view struct {
	lastSeq  []seqWindow     // per sender position in the room: the seat-change seqs seen
	lastAvl  seqWindow       // the availability seqs seen
	seats    []int8          // the seat map as this client saw it: sender pos*seatsPerMember+j -> action+1
	members  map[string]bool // with churn and silent: the room's presence members as this client saw them
	away     []window        // when the client was reconnecting
	gotSeat  bitset          // the room's seat changes that arrived, by timetable index
	gotAvail bitset          // the room's availability publishes that arrived
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
// mu.
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
		if bytes.Equal(name, evSeatCE) {
			r.rec.RecordOn(MetricClientEvent, c.node, now.Sub(time.Unix(0, ts)), c.idx)
		} else { // published through the sender's node
			r.rec.RecordDelivery(c.node, r.nodeOf(c.room.members[by]), now.Sub(time.Unix(0, ts)), c.idx)
		}
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
		r.rec.RecordDelivery(c.node, r.availNode(c.room), now.Sub(time.Unix(0, ts)), c.idx)
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

// memberEvent applies member_added or member_removed to the client's member list; the caller
// holds mu.
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
	c.members[d.UserID] = added
	if !c.r.silent || added {
		return
	}
	if since, ok := c.r.silenced.wentSilent(d.UserID); ok {
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
