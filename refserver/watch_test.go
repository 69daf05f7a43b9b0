package refserver

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/redisproc"
)

// signIn signs c in as user, watching watch, and waits for signin_success.
func (c *testClient) signIn(user string, watch ...string) {
	c.t.Helper()
	ud := map[string]any{"id": user}
	if len(watch) > 0 {
		ud["watchlist"] = watch
	}
	b, _ := json.Marshal(ud)
	c.send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"user_data": string(b), "auth": protocol.SignUser(testKey, testSecret, c.socketID, string(b))}})
	c.expect(protocol.EventSigninSuccess)
}

// expectWatch waits for the next watchlist event and returns it as "online:a,b offline:c".
func (c *testClient) expectWatch(d time.Duration) string {
	c.t.Helper()
	f, _ := c.next(protocol.EventWatchlist, d)
	var data struct{ Events []protocol.WatchlistEvent }
	if err := f.msg.DecodeData(&data); err != nil {
		c.t.Fatalf("watchlist data: %v (%s)", err, f.raw)
	}
	var parts []string
	for _, e := range data.Events {
		parts = append(parts, e.Name+":"+strings.Join(e.UserIDs, ","))
	}
	return strings.Join(parts, " ")
}

// TestClusterWatchlist: a watcher's states and events are the cluster's: a user signed in on
// another node is online, online comes at the user's first connection anywhere and offline
// after its last, also when its node dies without a word.
func TestClusterWatchlist(t *testing.T) {
	nodes := startCluster(t, 3, func(c *Config) { c.NodeDeadAfter = 3 * time.Second })
	ann := nodes[0].dial()
	ann.signIn("ann")
	bob := nodes[1].dial()
	bob.signIn("bob", "ann", "cat")
	if got := bob.expectWatch(clusterWait); got != "online:ann offline:cat" {
		t.Fatalf("bob's watchlist on sign-in: %q, want ann online (node 1) and cat offline", got)
	}
	cat1, cat2 := nodes[2].dial(), nodes[0].dial()
	cat1.signIn("cat")
	if got := bob.expectWatch(clusterWait); got != "online:cat" {
		t.Errorf("cat's first connection (node 3): %q, want online:cat", got)
	}
	cat2.signIn("cat") // a second connection, on node 1: no event
	cat1.ws.Close()
	bob.expectNone(protocol.EventWatchlist, 500*time.Millisecond)
	nodes[0].registry.(*redisCluster).abandon() // node 1 dies: ann's and cat's last connections
	got := map[string]bool{}
	for len(got) < 2 {
		got[bob.expectWatch(clusterWait)] = true
	}
	if !got["offline:ann"] || !got["offline:cat"] {
		t.Errorf("after node 1 died: %v, want offline:ann and offline:cat", got)
	}
}

// TestClusterWatchlistRedisRestart: while Redis is away a user signs out on node 2 and another
// signs in there; once Redis is back (empty) and the nodes have resynced, the watcher on node 1
// is told both, and a later change is told as before.
func TestClusterWatchlistRedisRestart(t *testing.T) {
	rs := startRedis(t)
	_, port, _ := strings.Cut(rs.Addr, "127.0.0.1:")
	a := startServer(t, func(c *Config) { c.Redis = rs.URL() })
	b := startServer(t, func(c *Config) { c.Redis = rs.URL() })
	cat := b.dial()
	cat.signIn("cat")
	ann := a.dial()
	ann.signIn("ann", "cat", "dan", "eve")
	if got := ann.expectWatch(clusterWait); got != "online:cat offline:dan,eve" {
		t.Fatalf("ann's watchlist on sign-in: %q", got)
	}
	rs.Stop()
	cat.ws.Close() // cat leaves, and dan comes, while nobody can be told
	waitUnheard(t, b, "cat's sign-out")
	dan := b.dial()
	dan.signIn("dan")
	// A frame after the sign-in is read once the sign-in, and its call to Redis, are done.
	dan.send(map[string]any{"event": protocol.EventPing, "data": map[string]any{}})
	dan.expect(protocol.EventPong)
	port0, _ := strconv.Atoi(port)
	var err error
	if rs, err = redisproc.Start(port0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	got := map[string]bool{}
	for len(got) < 2 {
		got[ann.expectWatch(clusterWait)] = true
	}
	if !got["offline:cat"] || !got["online:dan"] {
		t.Errorf("after Redis returned: %v, want offline:cat and online:dan", got)
	}
	eve := b.dial()
	eve.signIn("eve")
	for {
		if w := ann.expectWatch(clusterWait); w == "online:eve" {
			break
		} else if w != "online:dan" && w != "offline:cat" { // told again by another resync: allowed
			t.Fatalf("after the resync, eve's sign-in: %q", w)
		}
	}
}
