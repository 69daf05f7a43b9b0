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
	sp.settled(10, p.Due(10), p.Due(10).Add(30*time.Millisecond), accepted)  // due 1000 ms, answered 1030
	sp.settled(20, p.Due(20), p.Due(20).Add(1500*time.Millisecond), refused) // due 2000 ms, refused at 3500

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
