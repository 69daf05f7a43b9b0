package loadgen

import (
	"sort"
	"sync"
	"time"
)

// What the server owes a client that reconnected.
//
// A delivery is owed when the server accepted the event while the receiver was subscribed. The
// generator cannot see the server's clock, so it brackets both sides: every event has a span, from
// its due time to the moment the server accepted it (the HTTP response; for a client event, the
// write plus clientEventGrace, since no answer comes), and every reconnected client has away
// windows, from awayGrace before it saw the close to when it was subscribed again. An event that
// did not arrive is not owed when its span touches one of the receiver's away windows, or when the
// server refused its publish. Everything else that did not arrive is lost. Arrivals are kept
// exactly (a bit per event), so nothing that arrived is ever excused.
const (
	// awayGrace reaches back from the close a client saw to when the server decided it: frames
	// the server queued before that still arrive, those it took after it do not.
	awayGrace = 100 * time.Millisecond
	// clientEventGrace is how long after its write a client event is taken as on its way.
	clientEventGrace = 50 * time.Millisecond
	// otherShardSpan is the span taken for events another shard sent: their due times are read
	// off this shard's timetable, whose clock starts at a slightly different instant.
	otherShardSpan = time.Second
)

// spanUnknown and spanRefused mark a timetable entry not sent by this shard, and one the server
// refused (owed to nobody). Other values are 1 + µs from due to accepted.
const (
	spanUnknown uint32 = 0
	spanRefused uint32 = 1<<32 - 1
)

// spans records, per event of one timetable, how long after its due time the server took it.
// Each entry has one writer (its sender); it is read after the senders are done.
type spans struct {
	p  Pacer
	of []uint32

	mu         sync.Mutex // the timetable and the publisher both record
	maxLen     time.Duration
	refusedIdx []int64
}

func newSpans(p Pacer) *spans { return &spans{p: p, of: make([]uint32, p.Count)} }

// accepted records that event i, due at due, was taken by the server at at.
func (s *spans) accepted(i int64, due, at time.Time) {
	d := max(0, at.Sub(due))
	s.of[i] = uint32(min(d.Microseconds()+1, int64(spanRefused-1)))
	s.mu.Lock()
	s.maxLen = max(s.maxLen, d)
	s.mu.Unlock()
}

// refused records that the server did not take event i.
func (s *spans) refused(i int64) {
	s.of[i] = spanRefused
	s.mu.Lock()
	s.refusedIdx = append(s.refusedIdx, i)
	s.mu.Unlock()
}

// touches reports whether event i's span meets window w, or whether it was refused.
func (s *spans) touches(i int64, w window) bool {
	v := s.of[i]
	if v == spanRefused {
		return true
	}
	due := s.p.Due(i).UnixNano()
	end := due + otherShardSpan.Nanoseconds()
	if v != spanUnknown {
		end = due + int64(v-1)*1000
	}
	return due <= w.to && end >= w.from
}

// candidates is the range of events whose span may meet w.
func (s *spans) candidates(w window, longest time.Duration) (int64, int64) {
	from := w.from - max(longest, otherShardSpan).Nanoseconds()
	lo := sort.Search(int(s.p.Count), func(i int) bool { return s.p.Due(int64(i)).UnixNano() >= from })
	hi := sort.Search(int(s.p.Count), func(i int) bool { return s.p.Due(int64(i)).UnixNano() > w.to })
	return int64(lo), int64(hi)
}

// bitset is a set of event indices.
type bitset []uint64

func newBitset(n int64) bitset      { return make(bitset, (n+63)/64) }
func (b bitset) set(i int64)        { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int64) bool   { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) valid(i int64) bool { return i >= 0 && i/64 < int64(len(b)) }

// notOwed counts the events the plan made for c that did not arrive and that the server did not
// owe it: refused publishes, and events whose span met one of c's away windows.
func (r *runner) notOwed(c *lclient) int64 {
	rm := c.room
	var n int64
	k := int64(len(rm.members))
	owedSeat := func(i int64) bool {
		pos := int(i % k)
		s, mine := rm.byPos[pos]
		return pos != c.pos && !(mine && !s.alive) // not its own change, nor one never sent
	}
	check := func(sp *spans, got bitset, owed func(int64) bool) {
		if sp == nil {
			return
		}
		counted := map[int64]bool{}
		excuse := func(i int64) {
			if !counted[i] && !got.has(i) && owed(i) {
				counted[i] = true
				n++
			}
		}
		for _, i := range sp.refusedIdx {
			excuse(i)
		}
		for _, w := range c.away {
			lo, hi := sp.candidates(w, sp.maxLen)
			for i := lo; i < hi; i++ {
				if sp.touches(i, w) {
					excuse(i)
				}
			}
		}
	}
	if r.seats {
		check(rm.seatSpans, c.gotSeat, owedSeat)
	}
	if r.avail {
		check(rm.availSpans, c.gotAvail, func(int64) bool { return true })
	}
	return n
}
