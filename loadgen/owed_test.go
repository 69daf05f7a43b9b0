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
	sp := newSpans(p, 2, false)
	sp.settled(10, p.Due(10), p.Due(10).Add(30*time.Millisecond), false)  // due 1000 ms, answered 1030
	sp.settled(20, p.Due(20), p.Due(20).Add(1500*time.Millisecond), true) // due 2000 ms, refused at 3500

	for _, tc := range []struct {
		name  string
		i     int64
		shard int
		w     window
		want  bool
	}{
		{"window before the span", 10, 0, window{from: ms(900), to: ms(999)}, false},
		{"window over the due time", 10, 0, window{from: ms(950), to: ms(1000)}, true},
		{"window over the answer", 10, 0, window{from: ms(1030), to: ms(1200)}, true},
		{"window after the answer", 10, 0, window{from: ms(1031), to: ms(1200)}, false},
		{"a slow answer reaches a later window", 20, 0, window{from: ms(3400), to: ms(3600)}, true},
		{"another shard, offset not learnt", 30, 1, window{from: ms(2900), to: ms(3100)}, false},
	} {
		if got := sp.touches(tc.i, tc.shard, tc.w); got != tc.want {
			t.Errorf("%s: touches = %v, want %v", tc.name, got, tc.want)
		}
	}

	// Shard 1 started 5 s later: its event 30 is due at 8000 ms on this clock.
	sp.learn(1, 30, ms(3000+5000))
	sp.learn(1, 31, ms(0)) // the first arrival set it; later ones do not move it
	if !sp.touches(30, 1, window{from: ms(8500), to: ms(8600)}) {
		t.Error("shard 1's event 30 (due 8000 ms, span 1 s) does not meet a window at 8500 ms")
	}
	if sp.touches(30, 1, window{from: ms(2900), to: ms(3100)}) {
		t.Error("shard 1's event 30 meets a window at its unshifted due time")
	}
	lo, hi := sp.candidates(window{from: ms(8500), to: ms(8600)})
	if lo > 30 || hi <= 30 {
		t.Errorf("candidates [%d, %d) miss shard 1's event 30", lo, hi)
	}
	if lo, hi := sp.candidates(window{from: ms(3400), to: ms(3600)}); lo > 20 || hi <= 20 {
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
	sp := newSpans(p, 1, false)
	sp.settled(30, p.Due(30), at(3010), true)  // refused during the restart (3000-3500 ms)
	sp.settled(32, p.Due(32), at(3220), false) // accepted during it, but never delivered
	sp.settled(34, p.Due(34), at(3450), true)  // refused during it, and delivered anyway?
	sp.settled(50, p.Due(50), at(5010), true)  // refused after the new server was up
	sp.settled(33, p.Due(33), at(13500), true) // due during it, refused long after it by the new server
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
		if i != 30 && i != 32 && i != 33 && i != 34 && i != 50 {
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
	// A client the restart closed (a reconnect-now close), that read it late (away from 3300 to
	// 13600 ms), was away from the restart on: it was not owed event 32 either, and 33 and 50
	// fall in its own window.
	c.away = []window{{from: at(3300).UnixNano(), to: at(13600).UnixNano(), retry: true}}
	if n := r.notOwed(c); n != 4 {
		t.Fatalf("across a restart and its close, %d events not owed, want 4 (30, 32, 33, 50)", n)
	}
	// The same window after a close that was not the restart's (a dropped connection) is not
	// moved back to the restart.
	c.away = []window{{from: at(3300).UnixNano(), to: at(3600).UnixNano()}}
	if n := r.notOwed(c); n != 2 {
		t.Fatalf("after another close, %d events not owed, want 2 (30; 33, due in its window)", n)
	}
	// Nor is a reconnect-now close read before the restart began.
	c.away = []window{{from: at(2000).UnixNano(), to: at(2500).UnixNano(), retry: true}}
	if n := r.notOwed(c); n != 1 {
		t.Fatalf("with an earlier away window, %d events not owed, want 1 (30)", n)
	}
	// Only the first such close after the restart is the restart's.
	c.away = []window{
		{from: at(3100).UnixNano(), to: at(3150).UnixNano(), retry: true},
		{from: at(3400).UnixNano(), to: at(3450).UnixNano(), retry: true},
	}
	if n := r.notOwed(c); n != 2 {
		t.Fatalf("with two closes, %d events not owed, want 2 (30; 33, due before the second; not 32, answered between them)", n)
	}
}
