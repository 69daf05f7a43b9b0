package loadgen

import (
	"testing"
	"time"
)

// TestSpansTouchAwayWindows: an event is excused for a receiver only when its span, from due to
// answered, meets the receiver's away window; another shard's events are placed by the offset
// learnt from an arrival, and not excused before one is learnt.
func TestSpansTouchAwayWindows(t *testing.T) {
	start := time.Unix(1000, 0)
	p := Pacer{Start: start, Rate: 10, Count: 100} // event i due at start + i*100 ms
	ms := func(d int64) int64 { return start.Add(time.Duration(d) * time.Millisecond).UnixNano() }
	sp := newSpans(p, 2)
	sp.settled(10, p.Due(10), p.Due(10).Add(30*time.Millisecond), false)  // due 1000 ms, answered 1030
	sp.settled(20, p.Due(20), p.Due(20).Add(1500*time.Millisecond), true) // due 2000 ms, refused at 3500

	for _, tc := range []struct {
		name  string
		i     int64
		shard int
		w     window
		want  bool
	}{
		{"window before the span", 10, 0, window{ms(900), ms(999)}, false},
		{"window over the due time", 10, 0, window{ms(950), ms(1000)}, true},
		{"window over the answer", 10, 0, window{ms(1030), ms(1200)}, true},
		{"window after the answer", 10, 0, window{ms(1031), ms(1200)}, false},
		{"a slow answer reaches a later window", 20, 0, window{ms(3400), ms(3600)}, true},
		{"another shard, offset not learnt", 30, 1, window{ms(2900), ms(3100)}, false},
	} {
		if got := sp.touches(tc.i, tc.shard, tc.w); got != tc.want {
			t.Errorf("%s: touches = %v, want %v", tc.name, got, tc.want)
		}
	}

	// Shard 1 started 5 s later: its event 30 is due at 8000 ms on this clock.
	sp.learn(1, 30, ms(3000+5000))
	sp.learn(1, 31, ms(0)) // the first arrival set it; later ones do not move it
	if !sp.touches(30, 1, window{ms(8500), ms(8600)}) {
		t.Error("shard 1's event 30 (due 8000 ms, span 1 s) does not meet a window at 8500 ms")
	}
	if sp.touches(30, 1, window{ms(2900), ms(3100)}) {
		t.Error("shard 1's event 30 meets a window at its unshifted due time")
	}
	lo, hi := sp.candidates(window{ms(8500), ms(8600)})
	if lo > 30 || hi <= 30 {
		t.Errorf("candidates [%d, %d) miss shard 1's event 30", lo, hi)
	}
	if lo, hi := sp.candidates(window{ms(3400), ms(3600)}); lo > 20 || hi <= 20 {
		t.Errorf("candidates [%d, %d) miss event 20, answered at 3500 ms", lo, hi)
	}
}

// TestNotOwedAcrossARestart: while the run restarts the server, the events it refused are owed
// to no one, even to a client that had not seen its close yet; what it accepted is still owed to
// a client that was not away, and what it refused outside the restart is lost.
func TestNotOwedAcrossARestart(t *testing.T) {
	start := time.Unix(1000, 0)
	p := Pacer{Start: start, Rate: 10, Count: 100} // event i due at start + i*100 ms
	at := func(ms int64) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	sp := newSpans(p, 1)
	sp.settled(30, p.Due(30), at(3010), true)  // refused during the restart (3000-3500 ms)
	sp.settled(32, p.Due(32), at(3220), false) // accepted during it, but never delivered
	sp.settled(34, p.Due(34), at(3450), true)  // refused during it, and delivered anyway?
	sp.settled(50, p.Due(50), at(5010), true)  // refused after the new server was up
	for i := range int64(100) {
		if sp.of[i] == spanUnknown {
			sp.settled(i, p.Due(i), p.Due(i).Add(time.Millisecond), false)
		}
	}
	rm := &room{}
	rm.availSpansP.Store(sp)
	r := &runner{avail: true, cfg: Config{Shards: 1}}
	c := &lclient{room: rm, r: r, gotAvail: newBitset(100)}
	for i := range int64(100) {
		if i != 30 && i != 32 && i != 34 && i != 50 {
			c.gotAvail.set(i)
		}
	}
	c.gotAvail.set(34) // it did arrive: nothing that arrived is excused
	if n := r.notOwed(c); n != 0 {
		t.Fatalf("without a restart or an away window, %d events not owed, want 0", n)
	}
	r.restarted.Store(at(3000).UnixNano())
	r.restartedUp.Store(at(3500).UnixNano())
	if n := r.notOwed(c); n != 1 {
		t.Fatalf("across a restart, %d events not owed, want 1 (event 30)", n)
	}
	// A client the restart closed, that read its close late (away from 3300 to 3600 ms), was
	// away from the restart on: it was not owed event 32 either.
	c.away = []window{{at(3300).UnixNano(), at(3600).UnixNano()}}
	if n := r.notOwed(c); n != 2 {
		t.Fatalf("across a restart and an away window, %d events not owed, want 2 (30, 32)", n)
	}
	// An away window of its own, before the restart, does not reach back to event 32.
	c.away = []window{{at(2000).UnixNano(), at(2500).UnixNano()}}
	if n := r.notOwed(c); n != 1 {
		t.Fatalf("with an earlier away window, %d events not owed, want 1 (30)", n)
	}
}
