package loadgen

import (
	"context"
	"runtime"
	"time"
)

// spinWindow is how long before a due time the pacer stops sleeping and starts yielding.
const spinWindow = 300 * time.Microsecond

// Pacer is an open-model timetable: event i is due at Start + i/Rate, whatever happened to the
// events before it. Latency is measured from the due time, not from when the event was sent.
type Pacer struct {
	Start time.Time
	Rate  float64 // events per second
	Count int64   // how many events in all
}

// Due is the intended time of event i.
func (p Pacer) Due(i int64) time.Time {
	return p.Start.Add(time.Duration(float64(i) / p.Rate * float64(time.Second)))
}

// Run calls fire for every event at its due time. fire must not block for long: slow work goes
// to a goroutine, so one slow send never delays the next (that delay is exactly the coordinated
// omission an open model avoids). lag receives how late each event fired.
func (p Pacer) Run(ctx context.Context, fire func(i int64, due time.Time), lag func(time.Duration)) {
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for i := int64(0); i < p.Count; i++ {
		due := p.Due(i)
		// Sleep until just before the due time, then yield until it comes: a timer alone fires
		// up to a millisecond late, and that lateness would land in every latency measured.
		if d := time.Until(due) - spinWindow; d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		for time.Now().Before(due) {
			runtime.Gosched()
		}
		if lag != nil {
			lag(time.Since(due))
		}
		fire(i, due)
	}
}
