package refserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/redisproc"
	"github.com/pushcert/pushcert/internal/webhook"
)

// clusterWait bounds the waits for what crosses nodes: generous, since a busy machine may be
// slow; the tests assert what arrives, never how fast.
const clusterWait = 15 * time.Second

// startRedis runs a real redis-server on a free loopback port for one test.
func startRedis(t *testing.T) *redisproc.Server {
	t.Helper()
	r, err := redisproc.Start(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// startCluster runs n nodes on one Redis; mod adjusts each node's config.
func startCluster(t *testing.T, n int, mod func(*Config)) []*testServer {
	t.Helper()
	r := startRedis(t)
	nodes := make([]*testServer, n)
	for i := range nodes {
		nodes[i] = startServer(t, func(c *Config) {
			c.Redis = r.URL()
			if mod != nil {
				mod(c)
			}
		})
	}
	return nodes
}

func (c *testClient) expectData(event string) map[string]any {
	c.t.Helper()
	f := c.expect(event)
	var d map[string]any
	if err := f.msg.DecodeData(&d); err != nil {
		c.t.Fatalf("%s data: %v (%s)", event, err, f.raw)
	}
	return d
}

// memberIDs is the sorted member list of a presence subscription_succeeded.
func memberIDs(t *testing.T, f frame) []string {
	t.Helper()
	var d struct {
		Presence protocol.PresenceData `json:"presence"`
	}
	if err := f.msg.DecodeData(&d); err != nil {
		t.Fatalf("subscription_succeeded data: %v (%s)", err, f.raw)
	}
	ids := slices.Clone(d.Presence.IDs)
	slices.Sort(ids)
	if d.Presence.Count != len(ids) {
		t.Errorf("presence count %d, ids %v", d.Presence.Count, ids)
	}
	return ids
}

// TestClusterPublishCrossesNodes: a publish through node A reaches every subscriber on B, all of
// it and in order, and not the socket it excludes (on A).
func TestClusterPublishCrossesNodes(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	onA, onB := a.dial(), b.dial()
	onA.join("orders", "")
	onB.join("orders", "")
	const n = 50
	for i := range n {
		status, body := a.api("POST", "/apps/"+testAppID+"/events", map[string]any{
			"name": "seat", "channels": []string{"orders"}, "data": fmt.Sprint(i), "socket_id": onA.socketID}, nil)
		if status != 200 {
			t.Fatalf("publish %d: %d %s", i, status, body)
		}
	}
	for i := range n {
		f := onB.expect("seat")
		var d string
		_ = json.Unmarshal(f.msg.Data, &d)
		if d != fmt.Sprint(i) {
			t.Fatalf("event %d on node B carries %q: out of order", i, d)
		}
	}
	b.trigger("orders", "after", "x") // a publish through B reaches A after the 50 did
	for _, f := range onA.until("after") {
		if f.msg.Event == "seat" {
			t.Fatalf("the excluded socket, on node A, got %s", f.raw)
		}
	}
}

// TestClusterPresenceAcrossNodes: the member list on subscribe is the cluster's, a user is one
// member however many nodes its tabs are on, and member events cross nodes once.
func TestClusterPresenceAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ann := a.dial()
	if ids := memberIDs(t, ann.join("presence-room", presenceData("ann", `{"name":"Ann"}`))); !slices.Equal(ids, []string{"ann"}) {
		t.Fatalf("first member list: %v", ids)
	}
	bob1 := b.dial()
	if ids := memberIDs(t, bob1.join("presence-room", presenceData("bob", ""))); !slices.Equal(ids, []string{"ann", "bob"}) {
		t.Fatalf("node B's member list: %v, want ann and bob", ids)
	}
	if d := ann.expectData(protocol.EventMemberAdded); d["user_id"] != "bob" {
		t.Fatalf("member_added on A: %v", d)
	}
	bob2 := c.dial() // bob's second tab, on a third node: no new member
	if ids := memberIDs(t, bob2.join("presence-room", presenceData("bob", ""))); !slices.Equal(ids, []string{"ann", "bob"}) {
		t.Fatalf("node C's member list: %v", ids)
	}
	for _, node := range nodes {
		status, body := node.api("GET", "/apps/"+testAppID+"/channels/presence-room/users", nil, nil)
		if status != 200 || body != `{"users":[{"id":"ann"},{"id":"bob"}]}` {
			t.Fatalf("users on a node: %d %s", status, body)
		}
	}
	bob1.ws.Close() // one tab of two gone: bob stays
	waitCount(t, a, "presence-room", 2)
	a.trigger("presence-room", "marker", "1") // published after the registry saw the tab go
	for _, f := range ann.until("marker") {
		if f.msg.Event == protocol.EventMemberRemoved {
			t.Fatalf("member_removed while bob has a tab on node C: %s", f.raw)
		}
	}
	bob2.ws.Close()
	if d := ann.expectData(protocol.EventMemberRemoved); d["user_id"] != "bob" {
		t.Fatalf("member_removed on A: %v", d)
	}
	ann.expectNone(protocol.EventMemberAdded, 500*time.Millisecond)
}

// TestClusterCountsAgree: occupancy and counts answer for the whole cluster from any node.
func TestClusterCountsAgree(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	a.dial().join("lobby", "")
	b.dial().join("lobby", "")
	b.dial().join("lobby", "")
	a.dial().join("presence-hall", presenceData("u1", ""))
	b.dial().join("presence-hall", presenceData("u1", ""))
	b.dial().join("presence-hall", presenceData("u2", ""))
	for i, node := range nodes {
		_, body := node.api("GET", "/apps/"+testAppID+"/channels", nil, map[string][]string{"info": {"subscription_count"}})
		if want := `{"channels":{"lobby":{"subscription_count":3},"presence-hall":{"subscription_count":3}}}`; body != want {
			t.Errorf("node %d channels: %s, want %s", i, body, want)
		}
		_, body = node.api("GET", "/apps/"+testAppID+"/channels/presence-hall", nil, map[string][]string{"info": {"user_count,subscription_count"}})
		if want := `{"occupied":true,"subscription_count":3,"user_count":2}`; body != want {
			t.Errorf("node %d presence-hall: %s, want %s", i, body, want)
		}
	}
}

// TestClusterPresenceLimit: the member limit of a presence channel is the cluster's: a node
// with no member of its own refuses a join past it (4100), and a second tab of a member is no
// new member.
func TestClusterPresenceLimit(t *testing.T) {
	nodes := startCluster(t, 2, func(c *Config) { c.Apps[0].MaxPresenceMembers = 1 })
	nodes[0].dial().join("presence-small", presenceData("ann", ""))
	nodes[1].dial().join("presence-small", presenceData("ann", "")) // ann's second tab
	bob := nodes[1].dial()
	bob.subscribe("presence-small", protocol.SignChannel(testKey, testSecret, bob.socketID, "presence-small", presenceData("bob", "")), presenceData("bob", ""))
	if f := bob.expect(protocol.EventError); errorCode(f) == nil || *errorCode(f) != protocol.CodeOverCapacity {
		t.Fatalf("a join past the cluster's limit on another node: %s", f.raw)
	}
}

// TestClusterClientEventsAndTerminate: a client event crosses nodes with its user_id, never back
// to its sender; terminate_connections through one node ends the user's connections on another.
func TestClusterClientEventsAndTerminate(t *testing.T) {
	nodes := startCluster(t, 2, func(c *Config) { c.Apps[0].ClientEvents = ptr(true) })
	a, b := nodes[0], nodes[1]
	sender, other := a.dial(), b.dial()
	sender.join("presence-chat", presenceData("ann", ""))
	other.join("presence-chat", presenceData("bob", ""))
	sender.send(map[string]any{"event": "client-typing", "channel": "presence-chat", "data": map[string]bool{"on": true}})
	f := other.expect("client-typing")
	if f.msg.UserID != "ann" {
		t.Errorf("client event on B: user_id %q, want ann (%s)", f.msg.UserID, f.raw)
	}
	sender.expectNone("client-typing", 300*time.Millisecond)

	u := b.dial()
	biSignin(t, u, `{"id":"carol"}`)
	if status, body := a.api("POST", "/apps/1/users/carol/terminate_connections", nil, nil); status != 200 {
		t.Fatalf("terminate through A: %d %s", status, body)
	}
	biWantClose(t, u, TerminateCloseCode)
}

// TestClusterCacheAcrossNodes: a cache channel's last event, published through A while nobody
// is subscribed anywhere, reaches a subscriber that joins on B.
func TestClusterCacheAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	nodes[0].trigger("cache-prices", "price", "42")
	c := nodes[1].dial()
	c.join("cache-prices", "")
	f := c.expect("price")
	if !strings.Contains(f.raw, "42") {
		t.Fatalf("cached event on B: %s", f.raw)
	}
}

// TestClusterWebhooksOncePerCluster: channel_occupied and channel_vacated go out once for the
// cluster, from whichever node made the transition; a user moving from one node to another
// within the debounce produces no member webhook at all.
func TestClusterWebhooksOncePerCluster(t *testing.T) {
	rcv, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	nodes := startCluster(t, 2, func(c *Config) {
		c.Apps[0].Webhooks = []Webhook{{URL: rcv.URL(testAppID)}}
		c.WebhookDebounce = 300 * time.Millisecond
	})
	a, b := nodes[0], nodes[1]
	x, y := a.dial(), b.dial()
	x.join("room", "")
	y.join("room", "")
	x.ws.Close() // the room is still occupied on B
	settle()
	y.ws.Close()
	events(t, rcv, 1, named(protocol.HookChannelVacated, "room"))

	p := a.dial()
	p.join("presence-seat", presenceData("ann", ""))
	events(t, rcv, 1, named(protocol.HookMemberAdded, "presence-seat"))
	q := b.dial()
	q.join("presence-seat", presenceData("ann", "")) // ann's tab moves to B...
	p.ws.Close()                                     // ...and leaves A
	settle()
	q.ws.Close()
	events(t, rcv, 1, named(protocol.HookMemberRemoved, "presence-seat"))
	settle()
	for name, want := range map[string]int{
		protocol.HookChannelOccupied: 2, protocol.HookChannelVacated: 2,
		protocol.HookMemberAdded: 1, protocol.HookMemberRemoved: 1,
	} {
		got := len(webhook.Events(rcv.Requests(), func(e protocol.WebhookEvent) bool { return e.Name == name }))
		if got != want {
			t.Errorf("%s: %d webhooks, want %d (once per cluster); requests: %s", name, got, want, dumpRequests(rcv))
		}
	}
}

// TestClusterDeadNodeLeavesNoGhost: a node that stops without a word (no heartbeat, no cleanup)
// loses its members on the others after NodeDeadAfter: member_removed is sent and the counts
// forget its subscribers.
func TestClusterDeadNodeLeavesNoGhost(t *testing.T) {
	nodes := startCluster(t, 2, func(c *Config) { c.NodeDeadAfter = 3 * time.Second })
	a, b := nodes[0], nodes[1]
	ann := a.dial()
	ann.join("presence-room", presenceData("ann", ""))
	ghost := b.dial()
	ghost.join("presence-room", presenceData("bob", ""))
	ann.expect(protocol.EventMemberAdded)
	start := time.Now()
	b.registry.(*redisCluster).abandon() // node B dies: it says nothing more to Redis
	if d := ann.expectDataWithin(protocol.EventMemberRemoved, clusterWait); d["user_id"] != "bob" {
		t.Fatalf("member_removed after the node died: %v", d)
	}
	t.Logf("dead node's member removed %v after it stopped (NodeDeadAfter 3s, heartbeat 1s)", time.Since(start).Round(time.Millisecond))
	_, body := a.api("GET", "/apps/"+testAppID+"/channels/presence-room", nil, map[string][]string{"info": {"user_count,subscription_count"}})
	if want := `{"occupied":true,"subscription_count":1,"user_count":1}`; body != want {
		t.Errorf("after the dead node: %s, want %s", body, want)
	}
}

// until returns the frames received before the next event, which it waits for.
func (c *testClient) until(event string) []frame {
	c.t.Helper()
	_, seen := c.next(event, clusterWait)
	return seen
}

// waitCount waits until node answers that channel has n subscriptions in the cluster.
func waitCount(t *testing.T, node *testServer, channel string, n int) {
	t.Helper()
	want := fmt.Sprintf(`"subscription_count":%d`, n)
	var body string
	for deadline := time.Now().Add(clusterWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, body = node.api("GET", "/apps/"+testAppID+"/channels/"+channel, nil, map[string][]string{"info": {"subscription_count"}}); strings.Contains(body, want) {
			return
		}
	}
	t.Fatalf("%s never had %d subscriptions in the cluster: %s", channel, n, body)
}

// expectDataWithin is expectData with its own bound.
func (c *testClient) expectDataWithin(event string, d time.Duration) map[string]any {
	c.t.Helper()
	f, _ := c.next(event, d)
	var m map[string]any
	_ = f.msg.DecodeData(&m)
	return m
}

func ptr[T any](v T) *T { return &v }

// TestClusterMemberEventsAfterTheList: a member event that the member list on subscribe
// already counts (published before it, delivered after) is not sent to that subscriber; a
// later one is.
func TestClusterMemberEventsAfterTheList(t *testing.T) {
	nodes := startCluster(t, 1, nil)
	a := nodes[0]
	rc := a.registry.(*redisCluster)
	ann := a.dial()
	ann.join("presence-room", presenceData("ann", ""))
	p, err := rc.Members(testAppID, "presence-room")
	if err != nil {
		t.Fatal(err)
	}
	late := Message{Kind: MsgMemberAdded, AppID: testAppID, Channel: "presence-room", UserID: "zed", Version: p.Version}
	next := late
	next.UserID, next.Version = "yan", p.Version+1
	for _, m := range []Message{late, next} {
		if err := rc.Publish(m); err != nil {
			t.Fatal(err)
		}
	}
	if d := ann.expectData(protocol.EventMemberAdded); d["user_id"] != "yan" {
		t.Fatalf("member_added of %v: the list ann was sent already had that version", d["user_id"])
	}
	a.trigger("presence-room", "marker", "1")
	for _, f := range ann.until("marker") {
		if f.msg.Event == protocol.EventMemberAdded {
			t.Fatalf("a second member_added: %s", f.raw)
		}
	}
}

// FuzzClusterMessage: whatever comes over the cluster's pub/sub channel, a node never panics,
// and its clients get only well-formed Pusher messages.
func FuzzClusterMessage(f *testing.F) {
	for _, seed := range []string{
		`{"k":"event","a":"1","cs":["room"],"e":"seat","d":"{\"a\":1}"}`,
		`{"k":"client_event","a":"1","c":"presence-room","e":"client-x","r":{"x":1},"s":"1.2","u":"ann"}`,
		`{"k":"member_added","a":"1","c":"presence-room","u":"bob","i":{"name":"Bob"},"v":3}`,
		`{"k":"member_removed","a":"1","c":"presence-room","u":"bob","v":4}`,
		`{"k":"terminate","a":"1","u":"ann"}`,
		`{"k":"count","a":"1","c":"room","n":3}`, `{"k":"count","a":"1","c":"room","n":-1}`,
		`{"k":"watch","a":"1","u":"bob","e":"online"}`, `{"k":"watch","a":"1","u":"bob","e":"away"}`,
		`{"k":"event","a":"1","cs":[]}`, `{"k":"nope"}`, `[]`, `{"k":"member_added","a":"1","c":"presence-room","i":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	ts := startServer(f, counting)
	c := ts.dial()
	c.signIn("ann", "bob")
	c.join("presence-room", presenceData("ann", ""))
	c.join("room", "")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		ts.deliver(m)
		for {
			select {
			case fr, ok := <-c.frames:
				if !ok {
					return // terminated: the next inputs have no client, which is fine
				}
				if !utf8.ValidString(fr.raw) || fr.msg.Event == "!undecodable" {
					t.Fatalf("a client got %q from %s", fr.raw, b)
				}
			default:
				return
			}
		}
	})
}

// TestClusterRedisRestart: Redis stops and comes back empty (no persistence). Meanwhile the HTTP
// API refuses publishes with 503 (none is half-delivered) and the nodes refuse subscriptions;
// a member leaving is told once Redis answers. Then every node puts its state back: the
// cluster's members and counts are right again, with no member_added repeated, and publishes
// reach every node. It logs what was delivered, refused and lost.
func TestClusterRedisRestart(t *testing.T) {
	rs := startRedis(t)
	_, port, _ := strings.Cut(rs.Addr, "127.0.0.1:")
	nodes := make([]*testServer, 2)
	for i := range nodes {
		nodes[i] = startServer(t, func(c *Config) { c.Redis = rs.URL() })
	}
	a, b := nodes[0], nodes[1]
	ann, bob, carl := a.dial(), b.dial(), b.dial()
	ann.join("presence-room", presenceData("ann", ""))
	bob.join("presence-room", presenceData("bob", ""))
	carl.join("presence-room", presenceData("carl", ""))
	for range 2 {
		ann.expect(protocol.EventMemberAdded)
	}
	bob.expect(protocol.EventMemberAdded) // carl
	publish := func(i int) int {
		status, _ := a.api("POST", "/apps/"+testAppID+"/events", map[string]any{"name": "n", "channels": []string{"presence-room"}, "data": fmt.Sprint(i)}, nil)
		return status
	}
	delivered, refused := 0, 0
	rs.Stop()
	if status := publish(-1); status != 503 {
		t.Fatalf("a publish while Redis is away: %d, want 503", status)
	}
	refused++
	late := b.dial()
	late.subscribe("presence-room", protocol.SignChannel(testKey, testSecret, late.socketID, "presence-room", presenceData("dan", "")), presenceData("dan", ""))
	if f := late.expect(protocol.EventError); !strings.Contains(f.raw, "cluster is unavailable") {
		t.Fatalf("a subscribe while Redis is away: %s", f.raw)
	}
	ann.send(map[string]any{"event": "client-wave", "channel": "presence-room", "data": map[string]int{"n": 1}})
	if f := ann.expect(protocol.EventError); !strings.Contains(f.raw, "Client event not delivered") {
		t.Fatalf("a client event while Redis is away: %s", f.raw)
	}
	carl.ws.Close() // carl leaves while nobody can be told
	waitUnheard(t, b, "carl's leave")

	var err error
	port0, _ := strconv.Atoi(port)
	if rs, err = redisproc.Start(port0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	for _, node := range nodes {
		waitBody(t, node, "/channels/presence-room/users", `{"users":[{"id":"ann"},{"id":"bob"}]}`)
	}
	if d := ann.expectDataWithin(protocol.EventMemberRemoved, clusterWait); d["user_id"] != "carl" {
		t.Fatalf("member_removed after Redis returned: %v", d)
	}
	const n = 20
	for i := range n {
		if status := publish(i); status != 200 {
			t.Fatalf("publish %d after Redis returned: %d", i, status)
		}
	}
	for _, c := range []*testClient{ann, bob} {
		for _, f := range c.until("n") {
			if f.msg.Event == protocol.EventMemberAdded {
				t.Errorf("member_added repeated after Redis returned: %s", f.raw)
			}
		}
		for range n - 1 {
			c.expect("n")
		}
		delivered += n
	}
	t.Logf("Redis restarted: %d deliveries of %d publishes after it returned, %d publish refused with 503 while away, 0 lost", delivered, n, refused)
}

func waitConns(t *testing.T, ts *testServer, n int) {
	t.Helper()
	for deadline := time.Now().Add(clusterWait); ts.Connections() != n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("connections: %d, want %d", ts.Connections(), n)
		}
	}
}

// waitBody waits until node answers GET path with want.
func waitBody(t *testing.T, node *testServer, path, want string) {
	t.Helper()
	var body string
	for deadline := time.Now().Add(clusterWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, body = node.api("GET", "/apps/"+testAppID+path, nil, nil); body == want {
			return
		}
	}
	t.Fatalf("GET %s: %s, want %s", path, body, want)
}

// TestClusterConnectionQuota: an app's connection quota is the cluster's: connections on every
// node count against it, one that would pass it is refused with 4004 on any node, a closed one
// frees its place for another node, and a dead node's connections stop counting once it is
// reaped.
func TestClusterConnectionQuota(t *testing.T) {
	nodes := startCluster(t, 2, func(c *Config) { c.Apps[0].MaxConnections = 3; c.NodeDeadAfter = 3 * time.Second })
	a, b := nodes[0], nodes[1]
	first := a.dial()
	a.dial()
	b.dial()
	for _, node := range nodes { // the cluster holds 3: a fourth is refused wherever it comes
		over := node.dialRaw(testKey, "?protocol=7")
		biWantError(t, over, protocol.CodeOverQuota, "Application is over connection quota", "")
		biWantClose(t, over, protocol.CodeOverQuota)
	}
	first.ws.Close() // its place goes to a connection on the other node
	for deadline := time.Now().Add(clusterWait); ; time.Sleep(50 * time.Millisecond) {
		c := b.dialRaw(testKey, "?protocol=7")
		if f, ok := <-c.frames; ok && f.msg.Event == protocol.EventConnectionEstablished {
			break // the frame after a refusal's error is the close: the channel ends
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection on node A never freed its place for node B")
		}
	}
	b.registry.(*redisCluster).abandon() // node B dies: its 2 connections must stop counting
	for deadline := time.Now().Add(clusterWait); ; time.Sleep(100 * time.Millisecond) {
		ok, err := a.registry.Connections(testAppID, int(a.byID[testAppID].connCount.Load())+2, 3)
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dead node's connections still count against the quota")
		}
	}
}

// TestClusterQuotaAfterRedisRestart: while Redis is away a node admits within its own count;
// once Redis returns empty, every node puts its count back, and the cluster's quota holds again.
func TestClusterQuotaAfterRedisRestart(t *testing.T) {
	rs := startRedis(t)
	_, port, _ := strings.Cut(rs.Addr, "127.0.0.1:")
	nodes := make([]*testServer, 2)
	for i := range nodes {
		nodes[i] = startServer(t, func(c *Config) { c.Redis = rs.URL(); c.Apps[0].MaxConnections = 2 })
	}
	a, b := nodes[0], nodes[1]
	a.dial()
	b.dial()
	rs.Stop()
	a.dial() // Redis away: node A admits within its own quota of 2
	port0, _ := strconv.Atoi(port)
	var err error
	if rs, err = redisproc.Start(port0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	for _, node := range []*testServer{a, b} { // each node's count is put back
		rc := node.registry.(*redisCluster)
		want := fmt.Sprint(node.byID[testAppID].connCount.Load())
		for deadline := time.Now().Add(clusterWait); ; time.Sleep(50 * time.Millisecond) {
			got, _ := rc.rdb.HGet(context.Background(), rc.key("conns", rc.node), testAppID).Result()
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s's count after Redis returned: %q, want %s", rc.node, got, want)
			}
		}
	}
	over := b.dialRaw(testKey, "?protocol=7") // the cluster holds 3 of 2: none more
	biWantError(t, over, protocol.CodeOverQuota, "Application is over connection quota", "")
}

// waitUnheard waits until node keeps a leave whose registry call failed, for its resync.
func waitUnheard(t *testing.T, node *testServer, what string) {
	t.Helper()
	for deadline := time.Now().Add(clusterWait); ; time.Sleep(10 * time.Millisecond) {
		node.unheardMu.Lock()
		n := len(node.unheard)
		node.unheardMu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not kept for the resync", what)
		}
	}
}
