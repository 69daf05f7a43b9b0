package refserver

import (
	"context"
	"testing"

	"github.com/pushcert/pushcert/internal/protocol"
)

// fakeSubscribers puts n connections without sockets on the app's channel name: their writer
// is marked running, so a delivery only queues (the test empties the queues itself).
func fakeSubscribers(srv *Server, app *appState, name string, n int) []*conn {
	ch := newChannel(name)
	conns := make([]*conn, n)
	for i := range conns {
		conns[i] = &conn{srv: srv, app: app, socketID: protocol.FormatSocketID(uint64(i), 1), quit: make(chan struct{}), writing: true}
		ch.subs[conns[i]] = ""
	}
	app.channels[name] = ch
	return conns
}

func drain(conns []*conn) {
	for _, c := range conns {
		c.queue, c.queued = c.queue[:0], 0
	}
}

// TestDeliveryAllocatesNothing: queuing a broadcast allocates nothing per subscriber, in the
// broadcast loop and in the whole delivery of an HTTP API event (one encoding per event, the
// app's counters): 1,000 subscribers cost what 10 do.
func TestDeliveryAllocatesNothing(t *testing.T) {
	srv, err := New(Config{Apps: []App{{ID: "1", Key: "k", Secret: "s"}}, SendQueue: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	app := srv.byID["1"]
	few, many := fakeSubscribers(srv, app, "few", 10), fakeSubscribers(srv, app, "many", 1000)
	pm, err := prepare(protocol.EncodeEvent("availability.updated", "many", `{"left":42}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	ch := app.channels["many"]
	if a := testing.AllocsPerRun(100, func() { ch.broadcast(srv, pm, ""); drain(many) }); a != 0 {
		t.Errorf("the broadcast loop: %v allocations for 1,000 deliveries, want 0", a)
	}
	deliver := func(name string, conns []*conn) float64 {
		m := Message{Kind: MsgEvent, AppID: "1", Channels: []string{name}, Event: "availability.updated", Data: `{"left":42}`}
		return testing.AllocsPerRun(100, func() { srv.deliverEvent(app, m); drain(conns) })
	}
	a10, a1000 := deliver("few", few), deliver("many", many)
	// An allocation per delivery would add 990; the race detector's sync.Pool, which drops
	// items at random, may add one or two per event.
	if a1000 > a10+2 {
		t.Errorf("an event's delivery: %v allocations to 1,000 subscribers, %v to 10: want none per subscriber", a1000, a10)
	}
	t.Logf("allocations per event: %v to 10 subscribers, %v to 1,000", a10, a1000)
}
