package loadgen

import (
	"context"
	"sync"
	"time"
)

// admission bounds the clients reconnecting at once by what the timetables can bear. In a storm
// every client comes back at the same moment; on loopback their work is CPU, not waiting, and
// with all of them runnable the timetables' goroutines waited behind them for a processor. The
// bound halves when a timetable fires late and grows by one with each reconnection that
// completes (doubling per round, as TCP's slow start), so a remote server, where reconnecting is
// mostly waiting, still gets its storm at full width. Seen on 2 cores, 2,000 clients restarted
// with the embedded server: schedule lag p99 51 ms without the bound, 5.6-7.2 ms with it, the
// storm lasting up to twice as long.
type admission struct {
	mu       sync.Mutex
	cond     *sync.Cond
	limit    int
	inUse    int
	lastLate time.Time
}

// Bounds of admission's limit, and the lateness that halves it (at most once per
// admitHalvingGap: one late burst is one signal, not one per timetable).
const (
	admitStart      = 64
	admitMin        = 4
	admitMax        = 4096
	admitLate       = time.Millisecond
	admitHalvingGap = 10 * time.Millisecond
)

func newAdmission() *admission {
	a := &admission{limit: admitStart}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// acquire waits for a place; it reports false when ctx ends first.
func (a *admission) acquire(ctx context.Context) bool {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.inUse >= a.limit {
		if ctx.Err() != nil {
			a.cond.Signal() // a wake this waiter took is passed on
			return false
		}
		a.cond.Wait()
	}
	a.inUse++
	return true
}

// release gives the place back; ok says the reconnection completed, which widens the bound.
func (a *admission) release(ok bool) {
	a.mu.Lock()
	a.inUse--
	a.cond.Signal() // the place given back
	if ok && a.limit < admitMax {
		a.limit++
		a.cond.Signal() // and the one added
	}
	a.mu.Unlock()
}

// lag takes a timetable's lateness: past admitLate, while clients are reconnecting, the bound
// halves. Lateness with nobody reconnecting (a pause of the generator's own) says nothing of
// what reconnections cost.
func (a *admission) lag(d time.Duration) {
	if d < admitLate {
		return
	}
	now := time.Now()
	a.mu.Lock()
	if a.inUse > 0 && now.Sub(a.lastLate) >= admitHalvingGap {
		a.limit = max(admitMin, a.limit/2)
		a.lastLate = now
	}
	a.mu.Unlock()
}
