package target

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pushcert/pushcert/internal/redisproc"
	"github.com/pushcert/pushcert/refserver"
)

// Node is one node of a cluster under test: where its clients connect and its HTTP API.
type Node struct {
	WebSocketURL string `json:"websocket_url"`
	APIURL       string `json:"api_url"`
}

// NodeCount is how many nodes the target has: one unless Nodes names more.
func (t *Target) NodeCount() int { return max(1, len(t.Nodes)) }

// OnNode is the target reached through node n (1 for the first): its URLs, the same app.
func (t *Target) OnNode(n int) (*Target, error) {
	if n < 1 || n > t.NodeCount() {
		return nil, fmt.Errorf("node %d: the target has %d node(s); give --target (and --api-url) once per node", n, t.NodeCount())
	}
	c := *t
	if len(t.Nodes) > 0 {
		c.WebSocketURL, c.APIURL = t.Nodes[n-1].WebSocketURL, t.Nodes[n-1].APIURL
	}
	if n > 1 {
		c.Restart = nil // a restart is the first node's
	}
	return &c, nil
}

// StartEmbeddedCluster runs a real redis-server (from PATH, on a free loopback port) and n
// reference nodes on it, each on a free loopback port, with the suite's app configured by app.
// The target is the first node; Nodes lists all of them. Restart restarts the first node.
func StartEmbeddedCluster(n int, cfg refserver.Config, app refserver.App) (*Target, func(), error) {
	app.ID, app.Key, app.Secret = EmbeddedAppID, EmbeddedKey, EmbeddedSecret
	cfg.Apps = []refserver.App{app}
	t, stop, err := StartCluster(n, cfg)
	if err == nil {
		t.Name = fmt.Sprintf("pushcert refserver (%d nodes on Redis)", n)
	}
	return t, stop, err
}

// StartCluster is StartEmbeddedCluster with cfg's apps as they are; the target's app is the
// first of them.
func StartCluster(n int, cfg refserver.Config) (*Target, func(), error) {
	if n < 2 {
		return nil, nil, fmt.Errorf("a cluster has 2 nodes or more, not %d", n)
	}
	rs, err := redisproc.Start(0)
	if err != nil {
		return nil, nil, err
	}
	cfg.Redis = rs.URL()
	var (
		mu    sync.Mutex
		stops []func()
	)
	stopAll := func() {
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		stops = nil
		rs.Stop()
	}
	var first *Target
	nodes := make([]Node, n)
	crashes := make([]func() error, n)
	for i := range nodes {
		t, stop, err := StartServer("127.0.0.1:0", cfg)
		if err != nil {
			stopAll()
			return nil, nil, errors.Join(fmt.Errorf("cluster node %d", i+1), err)
		}
		stops = append(stops, stop)
		nodes[i] = Node{WebSocketURL: t.WebSocketURL, APIURL: t.APIURL}
		crashes[i] = t.Crash
		if i == 0 {
			first = t
		}
	}
	first.Nodes = nodes
	first.Crash = nil // a crash is a node's
	first.CrashNode = func(k int) error {
		if k < 1 || k > n {
			return fmt.Errorf("node %d: the cluster has %d nodes", k, n)
		}
		return crashes[k-1]()
	}
	return first, stopAll, nil
}
