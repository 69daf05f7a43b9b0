package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// TestLoadAcrossNodes runs seats and availability against three reference nodes on a real
// redis-server: the clients spread over every node, the publishes go through every node's
// HTTP API, and the summary accounts for each node apart and for the cluster as a whole.
func TestLoadAcrossNodes(t *testing.T) {
	tg, stop, err := target.StartEmbeddedCluster(3, refserver.Config{}, refserver.App{ClientEventRate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioSeats, ScenarioAvailability},
		Clients: 120, Rooms: 4, Rate: 20, Duration: 2 * time.Second, Ramp: 500 * time.Millisecond, Drain: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if d := s.Delivery; d.Expected == 0 || d.Lost != 0 || d.Duplicates != 0 || d.Reach != 1 {
		t.Errorf("cluster delivery: %+v", d)
	}
	for _, c := range s.Checks {
		if !c.Pass {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	if len(s.Target.Nodes) != 3 || len(s.Nodes) != 3 {
		t.Fatalf("target nodes %v, summary nodes %d: want 3", s.Target.Nodes, len(s.Nodes))
	}
	var clients, expected, deliveries int64
	for i, n := range s.Nodes {
		if n.Node != i+1 || n.WebSocketURL != tg.Nodes[i].WebSocketURL || n.APIURL != tg.Nodes[i].APIURL {
			t.Errorf("node %d is %+v, want %s", i+1, n, tg.Nodes[i].WebSocketURL)
		}
		if n.Clients != 40 || n.Expected == 0 || n.Lost != 0 || n.Reach != 1 {
			t.Errorf("node %d: %d clients, %d expected, %d lost, reach %g; want its 40 clients all served", n.Node, n.Clients, n.Expected, n.Lost, n.Reach)
		}
		for _, name := range NodeMetrics { // its clients got events, and its API took publishes
			if m, ok := n.Metric(name); !ok || m.Count == 0 {
				t.Errorf("node %d has no %s", n.Node, name)
			}
		}
		m, _ := n.Metric(MetricDelivery)
		clients, expected, deliveries = clients+n.Clients, expected+n.Expected, deliveries+m.Count
	}
	all, _ := s.Metric(MetricDelivery)
	if clients != 120 || expected != s.Delivery.Expected || deliveries != all.Count {
		t.Errorf("the nodes add up to %d clients, %d expected, %d deliveries; the cluster has 120, %d, %d", clients, expected, deliveries, s.Delivery.Expected, all.Count)
	}
	same, _ := s.Metric(MetricSameNode)
	cross, _ := s.Metric(MetricCrossNode)
	if same.Count == 0 || cross.Count == 0 || same.Count+cross.Count != all.Count {
		t.Errorf("same-node %d + cross-node %d deliveries, want both and %d in all", same.Count, cross.Count, all.Count)
	}
}

// TestOneNodeHasNoNodeFigures: a run against a single server reports no nodes and no
// same-node or cross-node split.
func TestOneNodeHasNoNodeFigures(t *testing.T) {
	tg := embedded(t, refserver.Config{})
	res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioAvailability},
		Clients: 20, Rooms: 2, Rate: 20, Duration: time.Second, Ramp: 200 * time.Millisecond, Drain: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if len(s.Nodes) != 0 || len(s.Target.Nodes) != 0 {
		t.Errorf("nodes %v / %v for one server", s.Nodes, s.Target.Nodes)
	}
	for _, name := range []string{MetricSameNode, MetricCrossNode} {
		if _, ok := s.Metric(name); ok {
			t.Errorf("metric %s for one server", name)
		}
	}
}
