package reports

import (
	"bytes"
	"strings"
	"testing"
)

// nodesOf are two nodes as one shard saw them: delivery latencies of vs on node 1, the rest on 2.
func nodesOf(t *testing.T, clients, expected, arrived int64, vs ...int64) []NodeLoad {
	t.Helper()
	h1, h2 := newLoadHist(), newLoadHist()
	for i, v := range vs {
		if i%2 == 0 {
			h1.RecordValue(v)
		} else {
			h2.RecordValue(v)
		}
	}
	n := func(i int, h LatencyMetric) NodeLoad {
		return NodeLoad{Node: i, WebSocketURL: "ws://127.0.0." + string(rune('0'+i)) + ":6001", APIURL: "http://127.0.0." + string(rune('0'+i)) + ":6001",
			Clients: clients, Expected: expected, Arrived: arrived, Lost: expected - arrived, Reach: float64(arrived) / float64(expected), Metrics: []LatencyMetric{h}}
	}
	return []NodeLoad{n(1, mustMetric(t, "delivery", h1)), n(2, mustMetric(t, "delivery", h2))}
}

func TestMergeLoadNodes(t *testing.T) {
	a, b := shardOf(t, 0, nil), shardOf(t, 1, nil)
	a.Nodes = nodesOf(t, 10, 100, 100, 1000, 2000, 3000, 4000)
	b.Nodes = nodesOf(t, 5, 50, 40, 5000, 6000)
	m, err := MergeLoad([]*LoadSummary{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Nodes) != 2 {
		t.Fatalf("%d nodes merged, want 2", len(m.Nodes))
	}
	n1, n2 := m.Nodes[0], m.Nodes[1]
	if n1.Clients != 15 || n1.Expected != 150 || n1.Arrived != 140 || n1.Lost != 10 || n1.Reach != 140.0/150 {
		t.Errorf("node 1 merged as %+v", n1)
	}
	d1, _ := n1.Metric("delivery")
	d2, _ := n2.Metric("delivery")
	if d1.Count != 3 || d2.Count != 3 || d1.MaxUS < 5000 || d1.MaxUS > 5010 || d2.MinUS < 2000 || d2.MinUS > 2002 {
		t.Errorf("node histograms merged: node 1 %d values, max %g; node 2 %d values, min %g", d1.Count, d1.MaxUS, d2.Count, d2.MinUS)
	}

	c := shardOf(t, 1, nil) // a shard that loaded no cluster
	if _, err := MergeLoad([]*LoadSummary{a, c}); err == nil || !strings.Contains(err.Error(), "node") {
		t.Errorf("merging a cluster's shard with a single server's: %v", err)
	}
	b.Nodes[1].WebSocketURL = "ws://127.0.0.9:6001" // another cluster
	if _, err := MergeLoad([]*LoadSummary{a, b}); err == nil || !strings.Contains(err.Error(), "127.0.0.9") {
		t.Errorf("merging shards of two clusters: %v", err)
	}
}

func TestLoadConsoleAndHTMLShowNodes(t *testing.T) {
	s := shardOf(t, 0, nil)
	s.Nodes = nodesOf(t, 10, 100, 99, 1000, 2000)
	var con, page bytes.Buffer
	if err := WriteLoadConsole(&con, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteLoadHTML(&page, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Nodes (", "ws://127.0.0.1:6001", "ws://127.0.0.2:6001", "99.000%"} {
		if !strings.Contains(con.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, con.String())
		}
		if !strings.Contains(page.String(), want) && want != "Nodes (" {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(page.String(), "Cluster nodes") {
		t.Error("page lacks its Cluster nodes card")
	}
	s.Nodes = nil
	con.Reset()
	_ = WriteLoadConsole(&con, s)
	if strings.Contains(con.String(), "Nodes (") {
		t.Error("a single server's console shows nodes")
	}
}
