package loadgen

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/reports"
)

func (r *runner) summarize(started, finished time.Time, steadyFrom, steadyTo float64, count, connected int64, t tally) *reports.LoadSummary {
	cfg := r.cfg
	tg := cfg.Target
	s := &reports.LoadSummary{
		Format:   reports.LoadFormat,
		Tool:     reports.Suite{Name: "pushcert load"},
		Target:   reports.Target{WebSocketURL: tg.WebSocketURL, APIURL: tg.APIURL, AppID: tg.AppID, Embedded: tg.Embedded, Name: nullName(tg), Nodes: nodeURLs(tg)},
		Started:  started.UTC(),
		Finished: finished.UTC(),
		Steady:   reports.Window{FromS: math.Round(steadyFrom*10) / 10, ToS: math.Round(steadyTo*10) / 10},
		Errors:   r.rec.Errors(),
		Shards:   1,
		Plan: reports.LoadPlan{
			Scenarios: slices.Clone(cfg.Scenarios), Clients: len(r.clients), Rooms: cfg.Rooms, Rate: cfg.Rate,
			DurationS: cfg.Duration.Seconds(), RampS: cfg.Ramp.Seconds(), DrainS: cfg.Drain.Seconds(),
			Shard: cfg.Shard, ShardCount: cfg.Shards,
		},
	}
	for _, name := range AllMetrics {
		h := r.rec.All(name)
		if h.TotalCount() == 0 {
			continue
		}
		m, err := reports.NewLatencyMetric(name, h)
		if err != nil {
			s.Invalid = append(s.Invalid, err.Error())
			continue
		}
		s.Metrics = append(s.Metrics, m)
	}
	d := &s.Delivery // the ledgers' tally, and what the readers counted as messages arrived
	d.Expected, d.Lost, d.NotOwed = t.Expected, t.Lost, t.NotOwed
	d.Received = r.rec.Received.Load()
	d.Duplicates = r.rec.Duplicates.Load()
	d.OutOfOrder = r.rec.OutOfOrder.Load()
	d.Reconnects = r.rec.Reconnects.Load()
	if d.Expected > 0 {
		d.Reach = float64(t.Arrived) / float64(d.Expected)
	}
	r.rec.secMu.Lock()
	for _, sec := range r.rec.seconds {
		s.Timeline = append(s.Timeline, reports.Second{T: sec.t, Phase: sec.phase, Connections: sec.conns, Sent: sec.sent,
			Received: sec.recv, Errors: sec.errs, P50US: sec.p50, P99US: sec.p99, MaxUS: sec.max})
	}
	r.rec.secMu.Unlock()

	s.Checks = append(s.Checks, reports.Check{Name: "connected", Pass: connected == int64(len(r.clients)),
		Detail: fmt.Sprintf("%d of %d clients connected and subscribed", connected, len(r.clients))})
	// Nothing expected is no pass: a run whose every send failed must not read as perfect.
	s.Checks = append(s.Checks, reports.Check{Name: "reach", Pass: d.Expected > 0 && d.Lost == 0 && d.Duplicates == 0,
		Detail: fmt.Sprintf("%d of %d deliveries arrived (%.4f%%), %d lost, %d duplicated, %d out of order",
			t.Arrived, d.Expected, 100*d.Reach, d.Lost, d.Duplicates, d.OutOfOrder)})
	if r.seats && r.cut.Load() == 0 { // an interrupted run has no final seat map to agree on
		bad, total := 0, 0
		for _, rm := range r.rooms {
			final := finalSeats(int64(len(rm.members)), count)
			for _, c := range rm.own {
				if !c.alive {
					continue // never connected: it holds no map; the connected check counts it
				}
				total++
				for key, want := range final {
					by := key / seatsPerMember
					if sender, mine := rm.byPos[by]; by == c.pos || (mine && !sender.alive) {
						continue // its own seats, or those of a member that never connected and sent nothing
					}
					if c.seats[key] != seatUnknown && c.seats[key] != want {
						bad++
						break
					}
				}
			}
		}
		s.Checks = append(s.Checks, reports.Check{Name: "seat maps agree", Pass: bad == 0,
			Detail: fmt.Sprintf("%d of %d connected clients hold the final seat map of their room", total-bad, total)})
	}
	return s
}

// nodeURLs are the WebSocket URLs of a cluster's nodes; nil for one node.
func nodeURLs(t *target.Target) []string {
	if t.NodeCount() < 2 {
		return nil
	}
	out := make([]string, len(t.Nodes))
	for i, n := range t.Nodes {
		out[i] = n.WebSocketURL
	}
	return out
}

// nullName names the null server in the summary; other targets are named by their URL.
func nullName(t *target.Target) string {
	if t.Name == NullTargetName {
		return t.Name
	}
	return ""
}

// addNodes gives s a cluster's nodes as the run saw them, from each node's tally; nothing for
// one node.
func (r *runner) addNodes(s *reports.LoadSummary, byNode []tally) {
	if r.rec.Nodes() == 0 {
		return
	}
	clients := make([]int64, len(r.nodes))
	for _, c := range r.clients {
		if c.alive {
			clients[c.node]++
		}
	}
	out := make([]reports.NodeLoad, len(r.nodes))
	for i, node := range r.nodes {
		t := byNode[i]
		n := reports.NodeLoad{Node: i + 1, WebSocketURL: node.WebSocketURL, APIURL: node.APIURL, Clients: clients[i],
			Expected: t.Expected, Arrived: t.Arrived, Lost: t.Lost, Metrics: []reports.LatencyMetric{}}
		if t.Expected > 0 {
			n.Reach = float64(t.Arrived) / float64(t.Expected)
		}
		for _, name := range NodeMetrics {
			h := r.rec.NodeAll(i, name)
			if h.TotalCount() == 0 {
				continue
			}
			m, err := reports.NewLatencyMetric(name, h)
			if err != nil {
				s.Invalid = append(s.Invalid, fmt.Sprintf("node %d: %v", i+1, err))
				continue
			}
			n.Metrics = append(n.Metrics, m)
		}
		out[i] = n
	}
	s.Nodes = out
}
