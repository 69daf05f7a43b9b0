package refserver

import (
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// expectCount waits for the next subscription_count of channel and returns its count.
func (c *testClient) expectCount(channel string, d time.Duration) int {
	c.t.Helper()
	for deadline := time.Now().Add(d); ; {
		f, _ := c.next(protocol.EventSubscriptionCount, time.Until(deadline))
		if f.msg.Channel != channel {
			continue
		}
		var sc protocol.SubscriptionCount
		if err := f.msg.DecodeData(&sc); err != nil {
			c.t.Fatalf("subscription_count data: %v (%s)", err, f.raw)
		}
		return sc.Count
	}
}

func counting(c *Config) { c.Apps[0].SubscriptionCount = true }

// TestSubscriptionCountEvents: with counting on, each subscriber of a public or private
// channel is told the count after its own subscribe (after subscription_succeeded), after
// another's and after a leave; presence channels and apps without counting get none.
func TestSubscriptionCountEvents(t *testing.T) {
	ts := startServer(t, counting)
	ann, bob := ts.dial(), ts.dial()
	ann.subscribe("room", "", "")
	if seen := ann.until(protocol.EventSubscriptionCount); len(seen) != 1 || seen[0].msg.Event != protocol.EventSubscriptionSucceeded {
		t.Fatalf("before the first count: %v, want subscription_succeeded alone", seen)
	}
	bob.subscribe("room", "", "")
	if n := ann.expectCount("room", wait); n != 2 {
		t.Errorf("ann told %d after bob's subscribe, want 2", n)
	}
	if n := bob.expectCount("room", wait); n != 2 {
		t.Errorf("bob told %d on his subscribe, want 2", n)
	}
	bob.send(map[string]any{"event": protocol.EventUnsubscribe, "data": map[string]string{"channel": "room"}})
	if n := ann.expectCount("room", wait); n != 1 {
		t.Errorf("ann told %d after bob left, want 1", n)
	}
	bob.ws.Close()
	ann.join("presence-room", presenceData("ann", ""))
	ann.expectNone(protocol.EventSubscriptionCount, 300*time.Millisecond)

	quiet := startServer(t, nil)
	c := quiet.dial()
	c.subscribe("room", "", "")
	c.expect(protocol.EventSubscriptionSucceeded)
	c.expectNone(protocol.EventSubscriptionCount, 300*time.Millisecond)
}

// TestSubscriptionCountThrottled: past 100 subscribers a channel's count is told at most once
// per interval (countEvery), with the count as it is at the interval's end. It waits one
// interval.
func TestSubscriptionCountThrottled(t *testing.T) {
	ts := startServer(t, counting)
	first := ts.dial()
	first.subscribe("crowd", "", "")
	first.expectCount("crowd", wait)
	for i := 2; i <= countEveryAbove; i++ {
		c := ts.dial()
		c.subscribe("crowd", "", "")
		if n := first.expectCount("crowd", wait); n != i {
			t.Fatalf("told %d after subscriber %d", n, i)
		}
	}
	for range 3 {
		c := ts.dial()
		c.subscribe("crowd", "", "")
		c.expect(protocol.EventSubscriptionSucceeded)
	}
	// The count of 100 went out just now: 101 to 103 wait for the interval's end.
	first.expectNone(protocol.EventSubscriptionCount, time.Second)
	if n := first.expectCount("crowd", countEvery+10*time.Second); n != countEveryAbove+3 {
		t.Errorf("told %d at the interval's end, want %d (the count then)", n, countEveryAbove+3)
	}
	first.expectNone(protocol.EventSubscriptionCount, 300*time.Millisecond)
}

// TestClusterSubscriptionCount: the count told on every node is the cluster's, after a
// subscribe or leave on any node and after a node dies without a word.
func TestClusterSubscriptionCount(t *testing.T) {
	nodes := startCluster(t, 3, func(c *Config) { counting(c); c.NodeDeadAfter = 3 * time.Second })
	ann := nodes[0].dial()
	ann.subscribe("room", "", "")
	if n := ann.expectCount("room", clusterWait); n != 1 {
		t.Fatalf("ann told %d alone, want 1", n)
	}
	bob, cat := nodes[1].dial(), nodes[2].dial()
	bob.subscribe("room", "", "")
	if n := ann.expectCount("room", clusterWait); n != 2 {
		t.Errorf("ann told %d after bob's subscribe on node 2, want 2", n)
	}
	if n := bob.expectCount("room", clusterWait); n != 2 {
		t.Errorf("bob told %d on his subscribe, want 2", n)
	}
	cat.subscribe("room", "", "")
	for i, c := range []*testClient{ann, bob, cat} {
		if n := c.expectCount("room", clusterWait); n != 3 {
			t.Errorf("client %d told %d after cat's subscribe on node 3, want 3", i, n)
		}
	}
	nodes[1].registry.(*redisCluster).abandon() // node 2 dies: bob no longer counts
	if n := ann.expectCount("room", clusterWait); n != 2 {
		t.Errorf("ann told %d after node 2 died, want 2", n)
	}
	cat.ws.Close()
	if n := ann.expectCount("room", clusterWait); n != 1 {
		t.Errorf("ann told %d after cat left, want 1", n)
	}
}
