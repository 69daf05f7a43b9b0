package loadgen

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// What the server owes a client that reconnected.
//
// A delivery is owed when the server took the event while the receiver was subscribed. The
// generator cannot see the server's clock, so it brackets both sides: every event has a span, from
// its due time to the moment the server answered its publish (accepting or refusing it; for a
// client event, the write plus clientEventGrace, since no answer comes), and every reconnected
// client has away windows, from awayGrace before it saw the close to when it was subscribed again.
// An event that did not arrive is not owed when its span touches one of the receiver's away
// windows, unless the server refused it, or the receiver never came back: an away window still
// open when the run ended excuses nothing (a server that went down and stayed down fails the
// run). Everything else that did not arrive is lost, refused publishes included: a server that
// refuses publishes fails the run, with one exception: while --restart-at restarts the embedded
// server (from the restart until the new process is up), nobody is owed an event the server
// refused whose span, from its due time to the refusal, met that window, whether its receivers
// had seen their close yet or not. The generator keeps no send time: a publish due before the
// restart but sent once the new server was up, and refused by it, is excused too. An event the
// generator could not send at all (a client event whose socket had ended, a publish its backlog
// dropped) is not refused: it is excused like an accepted one. A
// client's first reconnect-now close (4200-4299) read after the restart began is the restart's:
// it is away from the moment the restart began, not only from awayGrace before it read the
// close, since a generator that lags reads it late. Arrivals are kept exactly (a bit per event),
// so nothing that arrived is ever excused.
//
// Events another shard sent have no span here. Their due times are this shard's timetable's:
// with --start-at every shard's timetables begin at the same instant; without it, shifted by
// that shard's offset, learnt from the first of its events to arrive in the room (the payload
// carries the sender's due time). They are given otherShardSpan.
const (
	// awayGrace reaches back from the close a client saw to when the server decided it: frames
	// the server queued before that still arrive, those it took after it do not.
	awayGrace = 100 * time.Millisecond
	// clientEventGrace is how long after its write a client event is taken as on its way.
	clientEventGrace = 50 * time.Millisecond
	// otherShardSpan is the span given to an event another shard sent.
	otherShardSpan = time.Second
)

// spanUnknown marks a timetable entry this shard did not send; other values are 1 + µs from due
// to answered, with spanRefused set when the server refused the event, or spanUnsent when it
// never reached the server.
const (
	spanUnknown uint32 = 0
	spanRefused uint32 = 1 << 31
	spanUnsent  uint32 = 1 << 30
	spanFlags          = spanRefused | spanUnsent
)

// outcome is how the server answered an event of the timetable.
type outcome uint32

const (
	accepted = outcome(0)
	refused  = outcome(spanRefused) // the server refused it, or its HTTP API failed
	unsent   = outcome(spanUnsent)  // it never reached the server
)

// noOffset marks a shard whose timetable offset is not known yet.
const noOffset = math.MinInt64

// spans records, per event of one timetable, how long after its due time the server answered it,
// and the offsets of the other shards' copies of the timetable.
type spans struct {
	p  Pacer
	of []uint32 // one writer per entry (its sender); read after the senders are done

	mu     sync.Mutex // the timetable and the publisher both record
	maxLen time.Duration

	offsets []atomic.Int64 // per shard: its due times minus this shard's, ns; learnt by readers
}

// newSpans makes the spans of timetable p. When every shard started its timetables at one
// shared instant (--start-at), the other shards' copies are known to have no offset.
func newSpans(p Pacer, shards int, shared bool) *spans {
	s := &spans{p: p, of: make([]uint32, p.Count), offsets: make([]atomic.Int64, shards)}
	for i := range s.offsets {
		if shared {
			s.offsets[i].Store(0)
		} else {
			s.offsets[i].Store(noOffset)
		}
	}
	return s
}

// settled records that event i, due at due, had outcome o at at.
func (s *spans) settled(i int64, due, at time.Time, o outcome) {
	d := max(0, at.Sub(due))
	v := uint32(min(d.Microseconds()+1, int64(spanUnsent-1))) | uint32(o)
	s.of[i] = v
	s.mu.Lock()
	s.maxLen = max(s.maxLen, d)
	s.mu.Unlock()
}

// learn records, from an arrival of event i sent by shard with due time ts (Unix ns), how that
// shard's timetable is shifted from this one's. The first arrival sets it.
func (s *spans) learn(shard int, i, ts int64) {
	if shard < 0 || shard >= len(s.offsets) || i < 0 || i >= s.p.Count {
		return
	}
	s.offsets[shard].CompareAndSwap(noOffset, ts-s.p.Due(i).UnixNano())
}

// touches reports whether the span of event i, sent by shard, meets window w. An event of a
// shard whose offset was never learnt (nothing of it arrived in the room) is not excused.
func (s *spans) touches(i int64, shard int, w window) bool {
	due := s.p.Due(i).UnixNano()
	var end int64
	if v := s.of[i]; v != spanUnknown {
		end = due + answeredAfter(v)
	} else {
		off := s.offsets[shard].Load()
		if off == noOffset {
			return false
		}
		due += off
		end = due + otherShardSpan.Nanoseconds()
	}
	return due <= w.to && end >= w.from
}

// refused says whether the server refused this shard's event i.
func (s *spans) refused(i int64) bool { return s.of[i]&spanRefused != 0 }

// refusedWithin says whether the server refused this shard's event i (or it was never sent),
// and its span, from due to refused, met w.
func (s *spans) refusedWithin(i int64, w window) bool {
	v := s.of[i]
	if v&spanFlags == 0 {
		return false
	}
	due := s.p.Due(i).UnixNano()
	return due <= w.to && due+answeredAfter(v) >= w.from
}

// answeredAfter is how long after its due time, in ns, the server answered an event whose entry
// is v (not spanUnknown).
func answeredAfter(v uint32) int64 { return int64(v&^spanFlags-1) * 1000 }

// candidates is the range of events whose span may meet w, whichever shard sent them.
func (s *spans) candidates(w window) (int64, int64) {
	s.mu.Lock()
	longest := max(s.maxLen, otherShardSpan)
	s.mu.Unlock()
	offMin, offMax := int64(0), int64(0)
	for i := range s.offsets {
		if off := s.offsets[i].Load(); off != noOffset {
			offMin, offMax = min(offMin, off), max(offMax, off)
		}
	}
	from := w.from - longest.Nanoseconds() - offMax // due + offset + span >= w.from
	to := w.to - offMin                             // due + offset <= w.to
	lo := sort.Search(int(s.p.Count), func(i int) bool { return s.p.Due(int64(i)).UnixNano() >= from })
	hi := sort.Search(int(s.p.Count), func(i int) bool { return s.p.Due(int64(i)).UnixNano() > to })
	return int64(lo), int64(hi)
}

// bitset is a set of event indices.
type bitset []uint64

func newBitset(n int64) bitset      { return make(bitset, (n+63)/64) }
func (b bitset) set(i int64)        { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int64) bool   { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) valid(i int64) bool { return i >= 0 && i/64 < int64(len(b)) }
