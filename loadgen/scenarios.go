package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/pushcert/pushcert/internal/client"
)

// The seats and availability scenarios' timetables, their HTTP publishers, and the restart of
// --restart-at. (churn.go has the arriving clients, silent.go the silent ones.)

// runSeats plays a room's seat changes: change i is made by member i % k, on its own seat
// (i/k) % 4, as select, lock or deselect in turn. Even positions send client events; odd ones
// publish through the HTTP API with their socket excluded, as the seed's SeatSelected does.
func (r *runner) runSeats(ctx context.Context, rm *room, p Pacer) {
	pub := r.newPublisher(rm.idx)
	defer pub.close()
	k := int64(len(rm.members))
	p.Run(ctx, func(i int64, due time.Time) {
		pos := int(i % k)
		c := rm.byPos[pos]
		if c == nil || !c.alive {
			return // another shard's member, or one that never connected
		}
		seq := i / k
		seat, action := seq%seatsPerMember, (seq/seatsPerMember)%3
		data := padded(fmt.Sprintf(`{"ts":%d,"seq":%d,"by":%d,"s":%d,"a":%d,"customer_id":%d}`, due.UnixNano(), seq, pos, seat, action, c.idx), r.cfg.PayloadBytes)
		r.rec.Sent.Add(1)
		if pos%2 == 0 {
			frame := fmt.Sprintf(`{"event":"client-seat.changed","channel":%q,"data":%s}`, rm.seats, data)
			up, err := c.send([]byte(frame))
			switch {
			case up && err != nil:
				r.rec.Error("send")
				rm.seatSpansP.Load().settled(i, due, time.Now(), unsent)
				return
			case up:
				rm.seatSpansP.Load().settled(i, due, time.Now().Add(clientEventGrace), accepted)
				return
			}
		}
		socketID, _ := c.session()
		// A member that is reconnecting makes its change through the application, as a browser
		// whose socket is down would: the change still reaches the others.
		pub.publish(r, published{client.Event{Name: "seat.changed", Data: data, Channels: []string{rm.seats}, SocketID: socketID}, c.node, rm.seatSpansP.Load(), i, due})
	}, r.lagged(rm))
}

// runAvailability publishes availability.updated to a room's event channel on the timetable.
func (r *runner) runAvailability(ctx context.Context, rm *room, p Pacer) {
	pub := r.newPublisher(rm.idx)
	defer pub.close()
	p.Run(ctx, func(i int64, due time.Time) {
		s := &rm.ring[i%fanRing]
		s.seq.Store(i)
		s.due.Store(due.UnixNano())
		s.remaining.Store(rm.alive) // this shard's subscribers that connected
		data := padded(fmt.Sprintf(`{"event_id":%d,"ticket_types":[{"id":1,"name":"General","available":%d,"sold":%d,"status":"available"}],"ts":%d,"seq":%d}`,
			rm.eventID, 100000-i, i, due.UnixNano(), i), r.cfg.PayloadBytes)
		r.rec.Sent.Add(1)
		pub.publish(r, published{client.Event{Name: "availability.updated", Data: data, Channels: []string{rm.avail}}, r.availNode(rm), rm.availSpansP.Load(), i, due})
	}, r.lagged(rm))
}

// timetable is a room's steady-phase timetable for one of its two slots (0: seat changes, 1:
// availability publishes or arriving clients). Each room's timetable is shifted by a share of the
// interval, so that the rooms' events are spread evenly in time instead of all falling on the
// same instants (a burst the plan never asked for would measure as latency).
func (r *runner) timetable(rm *room, slot int) Pacer {
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	offset := interval * time.Duration(2*rm.idx+slot) / time.Duration(2*len(r.rooms))
	return Pacer{Start: r.steadyAt.Add(offset), Rate: r.cfg.Rate, Count: plannedCount(r.cfg), Wait: &r.wait}
}

// restartAt restarts the server at the given time: it closes every connection with 4200, and
// the clients come back at once (a reconnect storm).
func (r *runner) restartAt(ctx context.Context, at time.Time) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(at)):
	}
	when := time.Now().UnixNano()
	if err := r.cfg.Restart(); err != nil {
		r.rec.Error("restart")
		return
	}
	// The API's pooled connections went with the old process: a publish that took one would
	// fail after the new one is up.
	r.api.HTTP.CloseIdleConnections() // every node's: they share the client
	r.restartedUp.Store(time.Now().UnixNano())
	r.restarted.Store(when)
}

// lagged is what a room's timetables do with their lateness: record it, and narrow the
// reconnections when it grows.
func (r *runner) lagged(rm *room) func(time.Duration) {
	return func(lag time.Duration) {
		r.rec.Record(MetricLag, lag, rm.idx)
		r.redials.lag(lag)
	}
}

// restartWindow is when restartAt restarted the server, from the restart to the new server
// being up, if it did.
func (r *runner) restartWindow() (window, bool) {
	from := r.restarted.Load()
	return window{from: from, to: r.restartedUp.Load()}, from != 0
}

// publisher sends one room's HTTP publishes of one scenario in order, off the timetable's
// goroutine: the timetable never waits for the server, and the server receives a publisher's
// events in the order the plan made them (concurrent requests could overtake each other, and the
// reordering would be blamed on the server).
type publisher struct {
	queue  chan published
	done   chan struct{}
	ctx    context.Context // ended a drain after the timetable
	cancel context.CancelFunc
	drain  time.Duration
}

// published is an event of a timetable on its way to the HTTP API.
type published struct {
	ev   client.Event
	node int    // whose HTTP API takes it
	sp   *spans // where to record when the server took it
	i    int64
	due  time.Time
}

func (r *runner) newPublisher(hint int) *publisher {
	p := &publisher{queue: make(chan published, r.cfg.MaxInFlight), done: make(chan struct{}), drain: r.cfg.Drain}
	// Not the run's life: an interrupted run still gives what it sent its drain.
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(r.life))
	go func() {
		defer close(p.done)
		for pe := range p.queue {
			start := time.Now()
			_, err := r.apis[pe.node].Trigger(p.ctx, pe.ev)
			now := time.Now()
			r.rec.RecordOn(MetricTrigger, pe.node, now.Sub(start), hint)
			if err != nil {
				r.rec.Error("publish")
			}
			o := accepted
			if err != nil {
				o = refused
			}
			pe.sp.settled(pe.i, pe.due, now, o)
		}
	}()
	return p
}

// publish queues an event without waiting; a full queue means the server is far behind, and the
// event is counted as an error instead of delaying the timetable.
func (p *publisher) publish(r *runner, pe published) {
	select {
	case p.queue <- pe:
	default:
		r.rec.Error("publish-backlog")
		pe.sp.settled(pe.i, pe.due, time.Now(), unsent) // lost unless its receiver was away
	}
}

// close waits for the queued publishes for the drain at most: an HTTP API that stops answering
// costs the run its drain, not a request timeout per queued publish. What is still queued then
// fails at once (and counts as refused).
func (p *publisher) close() {
	stop := time.AfterFunc(p.drain, p.cancel)
	close(p.queue)
	<-p.done
	stop.Stop()
	p.cancel()
}
