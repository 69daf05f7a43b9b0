package loadgen

import (
	"context"
	"time"

	"github.com/pushcert/pushcert/internal/clock"
)

// Pacer is an open-model timetable: event i is due at Start + i/Rate, whatever happened to the
// events before it. Latency is measured from the due time, not from when the event was sent.
type Pacer struct {
	Start time.Time
	Rate  float64 // events per second
	Count int64   // how many events in all
	// Wait, shared by a run's timetables, learns how early to stop sleeping; nil: one of its own.
	Wait *clock.Waiter
}

// Due is the intended time of event i.
func (p Pacer) Due(i int64) time.Time {
	return p.Start.Add(time.Duration(float64(i) / p.Rate * float64(time.Second)))
}

// Run calls fire for every event at its due time. fire must not block for long: slow work goes
// to a goroutine, so one slow send never delays the next (that delay is exactly the coordinated
// omission an open model avoids). lag receives how late each event fired.
func (p Pacer) Run(ctx context.Context, fire func(i int64, due time.Time), lag func(time.Duration)) {
	wait := p.Wait
	if wait == nil {
		wait = new(clock.Waiter)
		defer wait.Close()
	}
	for i := int64(0); i < p.Count; i++ {
		due := p.Due(i)
		// A timer alone fires up to a millisecond late, and that lateness would land in every
		// latency measured: the waiter sleeps until shortly before and yields the rest.
		if !wait.Until(ctx, due) {
			return
		}
		if lag != nil {
			lag(time.Since(due))
		}
		fire(i, due)
	}
}
