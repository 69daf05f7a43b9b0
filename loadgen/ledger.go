package loadgen

// The ledger: what a run saw about the deliveries of one timetable, kept as data while it runs,
// and settle, the one pure function that says what the facts add up to. Every figure of the
// summary's delivery (console, JSON and HTML alike) comes from it:
//
//   - owed by the plan: every event of the timetable, to every receiver that connected in the
//     ramp, except the receiver's own events and those of this shard's senders that never
//     connected (they sent nothing);
//   - not owed: an event owed by the plan that did not arrive, and that the server did not owe
//     its receiver: the server took it (or it was never sent) and its span (due to answered) met
//     one of the receiver's away windows that ended (the receiver came back), or the server
//     refused it while --restart-at restarted the server;
//   - expected: owed by the plan, less not owed;
//   - arrived: expected events that arrived, each counted once (a bit per event and receiver);
//   - lost: expected, less arrived.
//
// Duplicates and reorderings are counted as messages arrive (seqWindow) and added beside.

// ledger holds the delivery facts of one room's timetable (its seat changes, or its
// availability publishes) for this shard's receivers.
type ledger struct {
	events *spans // per event: when it was due and answered, and whether it was refused
	// senders: event i is sent by senders[i % len(senders)].
	senders []sender
	// restart is when --restart-at restarted the server, from the restart to the new process
	// being up; restarted says whether it did.
	restart   window
	restarted bool
	// cut, when not 0, is when the run was interrupted (Unix ns): no event due after it is owed,
	// nor one of this shard's (shard) that its timetable never sent.
	cut       int64
	shard     int
	receivers []receiver
}

// sender is who sends a share of a timetable's events.
type sender struct {
	shard int  // the shard that sends them
	sent  bool // false for this shard's senders that never connected: they sent nothing
}

// receiver is one client that connected in the ramp, and what it saw.
type receiver struct {
	self int      // its own position among the senders, whose events it is not owed; -1: none
	node int      // the cluster's node it was connected to (0-based)
	away []window // when it was reconnecting, in order
	got  bitset   // the events that arrived
}

// tally is what a ledger adds up to, in deliveries.
type tally struct {
	Owed     int64 // owed by the plan
	NotOwed  int64 // owed by the plan, not arrived, and not owed by the server
	Expected int64 // Owed - NotOwed
	Arrived  int64 // expected and arrived, once each
	Lost     int64 // Expected - Arrived
}

func (t tally) add(u tally) tally {
	return tally{t.Owed + u.Owed, t.NotOwed + u.NotOwed, t.Expected + u.Expected, t.Arrived + u.Arrived, t.Lost + u.Lost}
}

// settle adds up a ledger. It reads only the ledger.
func settle(l ledger) tally {
	var t tally
	for _, rc := range l.receivers {
		t = t.add(l.settleOne(rc))
	}
	return t
}

// owed is what the plan owes the ledger's receivers, from the plan alone: it reads no receiver's
// facts but its position, so it may be called while the readers still run.
func (l ledger) owed() int64 {
	var n int64
	for _, rc := range l.receivers {
		owed, _ := l.count(rc, false)
		n += owed
	}
	return n
}

// count is how many events the plan owes rc and, with arrivals, how many of those arrived.
func (l ledger) count(rc receiver, arrivals bool) (owed, arrived int64) {
	for i := range l.events.p.Count {
		if _, ok := l.owes(i, rc); ok {
			owed++
			if arrivals && rc.got.has(i) {
				arrived++
			}
		}
	}
	return owed, arrived
}

// cutOff says whether event i, sent by shard, falls after an interruption: due after the cut,
// or, of this shard, never sent; of another shard, due within otherShardSpan of the cut (shards
// interrupted a moment apart stop their timetables at different times).
func (l ledger) cutOff(i int64, shard int) bool {
	due := l.events.p.Due(i).UnixNano()
	if shard == l.shard {
		return due > l.cut || l.events.of[i] == spanUnknown
	}
	return due > l.cut-otherShardSpan.Nanoseconds()
}

// owes says whether the plan owes event i to rc, and which shard sent it.
func (l ledger) owes(i int64, rc receiver) (int, bool) {
	pos := int(i % int64(len(l.senders)))
	s := l.senders[pos]
	if l.cut != 0 && l.cutOff(i, s.shard) {
		return s.shard, false
	}
	return s.shard, s.sent && pos != rc.self
}

func (l ledger) settleOne(rc receiver) tally {
	var t tally
	t.Owed, t.Arrived = l.count(rc, true)
	t.NotOwed = l.notOwed(rc)
	t.Expected = t.Owed - t.NotOwed
	t.Lost = t.Expected - t.Arrived
	return t
}

// notOwed counts the events owed to rc by the plan that did not arrive and that the server did
// not owe it.
func (l ledger) notOwed(rc receiver) int64 {
	if len(rc.away) == 0 && !l.restarted {
		return 0
	}
	excused := map[int64]bool{}
	excuse := func(w window, why func(i int64, shard int) bool) {
		lo, hi := l.events.candidates(w)
		for i := lo; i < hi; i++ {
			shard, ok := l.owes(i, rc)
			if ok && !excused[i] && !rc.got.has(i) && why(i, shard) {
				excused[i] = true
			}
		}
	}
	extended := false
	for _, w := range rc.away {
		if l.restarted && !extended && w.retry && w.from+awayGrace.Nanoseconds() >= l.restart.from {
			// The first reconnect-now close the client read after the restart began is the
			// restart's: it was away from the restart on, however late it read it.
			w.from, extended = min(w.from, l.restart.from), true
		}
		if w.open {
			continue // it never came back: the server owed it everything
		}
		excuse(w, func(i int64, shard int) bool { return !l.events.refused(i) && l.events.touches(i, shard, w) })
	}
	if l.restarted {
		excuse(l.restart, func(i int64, _ int) bool { return l.events.refusedWithin(i, l.restart) })
	}
	return int64(len(excused))
}
