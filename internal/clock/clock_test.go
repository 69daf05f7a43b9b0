package clock

import (
	"context"
	"testing"
	"time"
)

// TestUntilNeverEarly: Until never returns before its instant, and a cancelled context ends it.
func TestUntilNeverEarly(t *testing.T) {
	var w Waiter
	for i := 0; i < 50; i++ {
		at := time.Now().Add(time.Duration(i%7) * 700 * time.Microsecond)
		if !w.Until(context.Background(), at) {
			t.Fatal("Until returned false without a cancelled context")
		}
		if early := time.Until(at); early > 0 {
			t.Fatalf("returned %v early", early)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if w.Until(ctx, time.Now().Add(time.Hour)) {
		t.Fatal("Until returned true with a cancelled context")
	}
}

// TestWindowLearns: a late wake widens the window at once; timely wakes narrow it slowly, never
// below MinWindow nor above MaxWindow.
func TestWindowLearns(t *testing.T) {
	var w Waiter
	w.learn(5 * time.Millisecond)
	if got := w.Window(); got != MaxWindow {
		t.Errorf("after a 5 ms late wake: window %v, want %v", got, MaxWindow)
	}
	w.learn(0)
	if got := w.Window(); got >= MaxWindow || got < MaxWindow-MaxWindow/8 {
		t.Errorf("after one timely wake: window %v, want a sixteenth of the way down", got)
	}
	for i := 0; i < 50000; i++ {
		w.learn(0)
	}
	if got := w.Window(); got != max(MinWindow, margin) {
		t.Errorf("after many timely wakes: window %v, want %v", got, max(MinWindow, margin))
	}
}

// TestWakesOnTime: the alarm wakes close to its instant even when the process is otherwise idle
// (a Go timer can be a millisecond late then). Generous bounds: this checks that the alarm works,
// not how fast the machine is.
func TestWakesOnTime(t *testing.T) {
	a, err := newAlarm()
	if err != nil {
		t.Skip("no alarm on this platform:", err)
	}
	defer a.close()
	var worst time.Duration
	for i := 0; i < 20; i++ {
		at := time.Now().Add(1300 * time.Microsecond)
		if !a.sleep(context.Background(), at) {
			t.Fatal("sleep returned false")
		}
		late := time.Since(at)
		if late < 0 {
			t.Fatalf("woke %v early", -late)
		}
		worst = max(worst, late)
	}
	t.Logf("latest wake: %v after the instant", worst)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	start := time.Now()
	if a.sleep(ctx, time.Now().Add(time.Hour)) {
		t.Fatal("a cancelled sleep returned true")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancelling took %v", d)
	}
	if !a.sleep(context.Background(), time.Now().Add(time.Millisecond)) {
		t.Fatal("the alarm does not work after a cancelled sleep")
	}
}
