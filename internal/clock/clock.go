// Package clock waits until an instant to within microseconds.
//
// A Go timer can fire up to a millisecond late: when every thread of the process sleeps, the
// runtime waits in epoll_wait, whose timeout is in whole milliseconds. The load generator's
// timetable and the reference server's delay fault need better: latency is measured from the
// intended instant, and their lateness would land in every figure. A Waiter sleeps on an alarm
// that the kernel's high-resolution timers wake (a timerfd, which the runtime's poller watches
// like a socket; a Go timer where there is none) until shortly before the instant, then spins
// until it comes. How shortly is learnt from the lateness of the wakes seen, within MaxWindow.
package clock

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Window bounds and the margin over the wake lateness seen.
const (
	MinWindow = 20 * time.Microsecond
	MaxWindow = 300 * time.Microsecond // the most a wait spins
	margin    = 50 * time.Microsecond
	// decay: the window forgets a late wake by a sixteenth per wait.
	decayShift = 4
	// startWindow is the window before any wake was seen.
	startWindow = 200 * time.Microsecond
)

// Waiter waits until instants. It is safe for concurrent use: its users share one learnt window
// and a pool of alarms. Close releases the alarms.
type Waiter struct {
	window atomic.Int64 // ns

	mu     sync.Mutex
	free   []alarm
	closed bool
}

// alarm sleeps until an instant; newAlarm makes the best the platform has.
type alarm interface {
	sleep(ctx context.Context, until time.Time) bool
	close()
}

// Window is the current spin window.
func (w *Waiter) Window() time.Duration {
	if v := w.window.Load(); v > 0 {
		return time.Duration(v)
	}
	return startWindow
}

// Until returns at t (a few microseconds after it), or false when ctx ends first.
func (w *Waiter) Until(ctx context.Context, t time.Time) bool {
	if wake := t.Add(-w.Window()); time.Until(wake) > 0 {
		a := w.get()
		ok := a.sleep(ctx, wake)
		w.put(a)
		if !ok {
			return false
		}
		w.learn(time.Since(wake))
	} else if ctx.Err() != nil {
		return false
	}
	// Spin without yielding: a goroutine that yields in a loop keeps its processor's run queue
	// non-empty, so the scheduler stops polling the network (and the alarms) on it; two such
	// loops on two processors leave the poller to the runtime's 10 ms monitor.
	for time.Now().Before(t) {
	}
	return true
}

// Close releases the pooled alarms; a Waiter used after Close still works, on Go timers.
func (w *Waiter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, a := range w.free {
		a.close()
	}
	w.free = nil
}

func (w *Waiter) get() alarm {
	w.mu.Lock()
	if n := len(w.free); n > 0 {
		a := w.free[n-1]
		w.free = w.free[:n-1]
		w.mu.Unlock()
		return a
	}
	closed := w.closed
	w.mu.Unlock()
	if !closed {
		if a, err := newAlarm(); err == nil {
			return a
		}
	}
	return timerAlarm{}
}

func (w *Waiter) put(a alarm) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		a.close()
		return
	}
	w.free = append(w.free, a)
}

// learn moves the window towards the lateness seen plus a margin: at once upwards, slowly down.
func (w *Waiter) learn(late time.Duration) {
	want := int64(min(MaxWindow, max(MinWindow, late+margin)))
	for {
		old := w.window.Load()
		cur := old
		if cur == 0 {
			cur = int64(startWindow)
		}
		next := want
		if next < cur {
			next = cur - max(1, (cur-next)>>decayShift)
		}
		if w.window.CompareAndSwap(old, next) {
			return
		}
	}
}

// timerAlarm is the portable alarm: a Go timer, late by up to a millisecond when the process is
// idle, which the learnt window then covers.
type timerAlarm struct{}

func (timerAlarm) sleep(ctx context.Context, until time.Time) bool {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (timerAlarm) close() {}
