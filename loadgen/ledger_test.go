package loadgen

import (
	"testing"
	"time"
)

// TestSettle: what a ledger adds up to, rule by rule. One timetable of 100 events, due every
// 100 ms from start; every event answered 1 ms after its due time unless a case says otherwise.
func TestSettle(t *testing.T) {
	start := time.Unix(1000, 0)
	p := Pacer{Start: start, Rate: 10, Count: 100}
	at := func(ms int64) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	ns := func(ms int64) int64 { return at(ms).UnixNano() }
	spansWith := func(shards int, shared bool, answered map[int64]time.Time, outcomes map[int64]outcome) *spans {
		sp := newSpans(p, shards, shared)
		for i := range p.Count {
			a, ok := answered[i]
			if !ok {
				a = p.Due(i).Add(time.Millisecond)
			}
			sp.settled(i, p.Due(i), a, outcomes[i])
		}
		return sp
	}
	plain := spansWith(1, false, nil, nil)
	// twoShards: the odd events are shard 1's; this shard has no span for them.
	twoShards := func(shared bool) *spans {
		sp := spansWith(2, shared, nil, nil)
		for i := int64(1); i < p.Count; i += 2 {
			sp.of[i] = spanUnknown
		}
		return sp
	}
	// got is a receiver's arrivals: every event but the missing ones.
	got := func(missing ...int64) bitset {
		b := newBitset(p.Count)
		for i := range p.Count {
			b.set(i)
		}
		for _, i := range missing {
			b[i/64] &^= 1 << (i % 64)
		}
		return b
	}
	one := []sender{{shard: 0, sent: true}}
	// The restart of TestNotOwedAcrossARestart: 3000-3500 ms; event 30 refused in it, 32
	// accepted in it, 34 refused in it yet delivered, 50 refused after it, 33 due in it and
	// refused long after (sent during the restart: the restart's, too).
	restartSpans := spansWith(1, false,
		map[int64]time.Time{30: at(3010), 32: at(3220), 34: at(3450), 50: at(5010), 33: at(13500)},
		map[int64]outcome{30: refused, 34: refused, 50: refused, 33: refused})
	restart := window{from: ns(3000), to: ns(3500)}
	restartGot := got(30, 32, 33, 50) // 34 arrived: nothing that arrived is excused

	for _, tc := range []struct {
		name string
		l    ledger
		want tally
	}{
		{"everything arrived", ledger{events: plain, senders: one, receivers: []receiver{{self: -1, got: got()}}},
			tally{Owed: 100, Expected: 100, Arrived: 100}},
		{"two missing, receiver never away: lost", ledger{events: plain, senders: one, receivers: []receiver{{self: -1, got: got(7, 8)}}},
			tally{Owed: 100, Expected: 100, Arrived: 98, Lost: 2}},
		{"its own events are not owed", ledger{events: plain, senders: []sender{{0, true}, {0, true}}, receivers: []receiver{{self: 1, got: got(1, 3, 5)}}},
			tally{Owed: 50, Expected: 50, Arrived: 50}},
		{"a sender that never connected sent nothing", ledger{events: plain, senders: []sender{{0, true}, {0, false}}, receivers: []receiver{{self: -1, got: got(1, 3, 5)}}},
			tally{Owed: 50, Expected: 50, Arrived: 50}},
		{"missing while away: not owed", ledger{events: plain, senders: one, receivers: []receiver{{self: -1, got: got(20, 21, 40), away: []window{{from: ns(1950), to: ns(2150)}}}}},
			tally{Owed: 100, NotOwed: 2, Expected: 98, Arrived: 97, Lost: 1}},
		{"missing while away, never back: lost", ledger{events: plain, senders: one, receivers: []receiver{{self: -1, got: got(20, 21, 40), away: []window{{from: ns(1950), to: ns(2150), open: true}}}}},
			tally{Owed: 100, Expected: 100, Arrived: 97, Lost: 3}},
		{"refused while away: lost", ledger{events: spansWith(1, false, nil, map[int64]outcome{20: refused, 21: unsent}), senders: one,
			receivers: []receiver{{self: -1, got: got(20, 21), away: []window{{from: ns(1950), to: ns(2150)}}}}},
			tally{Owed: 100, NotOwed: 1, Expected: 99, Arrived: 98, Lost: 1}},
		{"interrupted at 5 s: nothing due after it is owed", ledger{events: plain, senders: one, cut: ns(5000), receivers: []receiver{{self: -1, got: got(20, 60, 70)}}},
			tally{Owed: 51, Expected: 51, Arrived: 50, Lost: 1}},
		{"interrupted: an event of this shard never sent is not owed", ledger{events: func() *spans {
			sp := spansWith(1, false, nil, nil)
			sp.of[48], sp.of[49] = spanUnknown, spanUnknown // the timetable lagged and was stopped
			return sp
		}(), senders: one, cut: ns(5000), receivers: []receiver{{self: -1, got: got(48, 49)}}},
			tally{Owed: 49, Expected: 49, Arrived: 49}},
		{"interrupted: another shard's events due within a second of the cut are not owed", ledger{events: twoShards(true),
			senders: []sender{{0, true}, {1, true}}, cut: ns(5000), receivers: []receiver{{self: -1, got: got()}}},
			tally{Owed: 46, Expected: 46, Arrived: 46}},
		{"arrived while away: still counted", ledger{events: plain, senders: one, receivers: []receiver{{self: -1, got: got(), away: []window{{from: ns(1950), to: ns(2150)}}}}},
			tally{Owed: 100, Expected: 100, Arrived: 100}},
		{"a slow answer reaches the away window", ledger{events: spansWith(1, false, map[int64]time.Time{10: at(2500)}, nil), senders: one,
			receivers: []receiver{{self: -1, got: got(10), away: []window{{from: ns(2400), to: ns(2600)}}}}},
			tally{Owed: 100, NotOwed: 1, Expected: 99, Arrived: 99}},
		{"another shard's event, offset never learnt: lost", ledger{events: twoShards(false), senders: []sender{{0, true}, {1, true}},
			receivers: []receiver{{self: 0, got: got(21), away: []window{{from: ns(2050), to: ns(2150)}}}}},
			tally{Owed: 50, Expected: 50, Arrived: 49, Lost: 1}},
		{"another shard's event with --start-at: placed at its due time", ledger{events: twoShards(true), senders: []sender{{0, true}, {1, true}},
			receivers: []receiver{{self: 0, got: got(21), away: []window{{from: ns(2050), to: ns(2150)}}}}},
			tally{Owed: 50, NotOwed: 1, Expected: 49, Arrived: 49}},
		{"a receiver per client: tallies add", ledger{events: plain, senders: one, receivers: []receiver{{self: -1, got: got(1)}, {self: -1, got: got(2, 3)}}},
			tally{Owed: 200, Expected: 200, Arrived: 197, Lost: 3}},
		{"no restart, no away window: refused events are lost", ledger{events: restartSpans, senders: one, receivers: []receiver{{self: -1, got: restartGot}}},
			tally{Owed: 100, Expected: 100, Arrived: 96, Lost: 4}},
		{"refused during the restart: owed to no one", ledger{events: restartSpans, senders: one, restart: restart, restarted: true,
			receivers: []receiver{{self: -1, got: restartGot}}},
			tally{Owed: 100, NotOwed: 2, Expected: 98, Arrived: 96, Lost: 2}},
		// A client the restart closed (a reconnect-now close) that read it late (away from 3300
		// to 13600 ms) was away from the restart on: not owed 32 either. 50 falls in its window,
		// but the server refused it once it was up again: lost.
		{"the restart's close read late: away from the restart", ledger{events: restartSpans, senders: one, restart: restart, restarted: true,
			receivers: []receiver{{self: -1, got: restartGot, away: []window{{from: ns(3300), to: ns(13600), retry: true}}}}},
			tally{Owed: 100, NotOwed: 3, Expected: 97, Arrived: 96, Lost: 1}},
		{"another close in the restart is not moved back to it", ledger{events: restartSpans, senders: one, restart: restart, restarted: true,
			receivers: []receiver{{self: -1, got: restartGot, away: []window{{from: ns(3300), to: ns(3600)}}}}},
			tally{Owed: 100, NotOwed: 2, Expected: 98, Arrived: 96, Lost: 2}},
		{"a reconnect-now close before the restart is not the restart's", ledger{events: restartSpans, senders: one, restart: restart, restarted: true,
			receivers: []receiver{{self: -1, got: restartGot, away: []window{{from: ns(2000), to: ns(2500), retry: true}}}}},
			tally{Owed: 100, NotOwed: 2, Expected: 98, Arrived: 96, Lost: 2}},
		{"only the first reconnect-now close after the restart is its", ledger{events: restartSpans, senders: one, restart: restart, restarted: true,
			receivers: []receiver{{self: -1, got: restartGot, away: []window{
				{from: ns(3100), to: ns(3150), retry: true}, {from: ns(3400), to: ns(3450), retry: true}}}}},
			tally{Owed: 100, NotOwed: 2, Expected: 98, Arrived: 96, Lost: 2}},
	} {
		if got := settle(tc.l); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
