package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestAdmission: the bound holds reconnections back, grows with each one that completes, halves
// (not below its floor, once per gap) when a timetable is late, and lets a waiter go when the
// run ends.
func TestAdmission(t *testing.T) {
	a := newAdmission()
	ctx := context.Background()
	a.lag(time.Second) // nobody reconnecting: no signal
	if a.limit != admitStart {
		t.Fatalf("lateness with nobody reconnecting moved the limit to %d", a.limit)
	}
	for range admitStart {
		if !a.acquire(ctx) {
			t.Fatal("acquire under the bound failed")
		}
	}
	got := make(chan bool)
	go func() { got <- a.acquire(ctx) }()
	select {
	case <-got:
		t.Fatal("acquire past the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	a.release(true) // a place back, and one more
	if !<-got {
		t.Fatal("the waiter was not let in")
	}
	if a.limit != admitStart+1 {
		t.Fatalf("limit %d after a completed reconnection, want %d", a.limit, admitStart+1)
	}
	a.release(false)
	if a.limit != admitStart+1 {
		t.Fatalf("a failed reconnection moved the limit to %d", a.limit)
	}

	a.lag(admitLate - time.Microsecond)
	if a.limit != admitStart+1 {
		t.Fatalf("lag under admitLate moved the limit to %d", a.limit)
	}
	a.lag(admitLate)
	a.lag(admitLate) // within the gap: one burst, one halving
	if a.limit != (admitStart+1)/2 {
		t.Fatalf("limit %d after a late timetable, want %d", a.limit, (admitStart+1)/2)
	}
	for range 20 {
		a.lastLate = time.Time{}
		a.lag(time.Second)
	}
	if a.limit != admitMin {
		t.Fatalf("limit %d after many late bursts, want the floor %d", a.limit, admitMin)
	}

	// Over the bound now (64 in use, limit 4): a waiter leaves when its run ends.
	ctx, cancel := context.WithCancel(ctx)
	go func() { got <- a.acquire(ctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case ok := <-got:
		if ok {
			t.Fatal("acquire succeeded after its context ended")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter did not leave when its context ended")
	}
}
