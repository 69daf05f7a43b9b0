package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// MergeLoad merges the summaries of several shards of one run (several load processes or machines)
// into one, without losing precision where precision can be kept:
//
//   - Latency metrics: the histograms of each name are decoded and merged, and every statistic
//     (count, min, mean, max, quantiles) is recomputed from the merged histogram. Percentiles are
//     never averaged.
//   - Delivery: counters are summed; Lost and Reach are recomputed from the sums (see mergeDelivery).
//   - Nodes (a cluster's): by node, counts summed, reach recomputed, histograms merged; every
//     shard must have loaded the same nodes.
//   - Webhooks: the count of the one run that had them (load --webhook-listen runs as one shard).
//   - Errors are summed by code.
//   - Timeline: seconds with the same T are combined; connections, sent, received and errors are
//     summed. The per-second p50, p99 and max are NOT exact: a second's histogram is not kept, so
//     the merged value is the largest of the shards' values (exact for max, an upper bound for the
//     percentiles). The headline percentiles come from the merged histograms and are exact.
//   - Generator: CPU seconds and RSS are summed (the fleet's cost); CPU percent is the busiest
//     shard's (saturation is per machine); KiB per client and CPU per message are recomputed
//     from the sums; lag is the worst shard's; saturated if any shard was.
//   - Plan: clients are summed, ShardCount is len(parts), Shard is 0.
//   - Valid only if every shard is valid; invalid reasons are unioned (prefixed by the shard
//     index); checks are concatenated with the shard index in their names.
//   - Started is the earliest, Finished the latest, Shards the sum (merging merged files works).
//   - Shards that each ran the plan's steady phase in their own window measured less load at
//     once than the plan: the check "steady windows overlap" passes when the time every shard
//     was steady at once is at least MinSteadyOverlap of the plan's duration (--start-at gives
//     every shard the same start).
//
// Every part must have the current Format and the same scenarios; the parts are not modified.
func MergeLoad(parts []*LoadSummary) (*LoadSummary, error) {
	if len(parts) == 0 {
		return nil, errors.New("reports: merge: no summaries")
	}
	for i, p := range parts {
		if p == nil {
			return nil, fmt.Errorf("reports: merge: summary %d is nil", i)
		}
		if p.Format != LoadFormat {
			return nil, fmt.Errorf("reports: merge: summary %d has format %q, want %q", i, p.Format, LoadFormat)
		}
		if !sameSet(p.Plan.Scenarios, parts[0].Plan.Scenarios) {
			return nil, fmt.Errorf("reports: merge: summary %d ran scenarios %v, summary 0 ran %v", i, p.Plan.Scenarios, parts[0].Plan.Scenarios)
		}
		a, b := p.Plan, parts[0].Plan
		if a.Rooms != b.Rooms || a.Rate != b.Rate || a.DurationS != b.DurationS || a.ShardCount != b.ShardCount {
			return nil, fmt.Errorf("reports: merge: summary %d ran another plan (rooms %d, rate %g, %gs, %d shards) than summary 0 (rooms %d, rate %g, %gs, %d shards)",
				i, a.Rooms, a.Rate, a.DurationS, a.ShardCount, b.Rooms, b.Rate, b.DurationS, b.ShardCount)
		}
		for j := range i {
			if p.Shards <= 1 && parts[j].Shards <= 1 && p.Plan.ShardCount > 1 && p.Plan.Shard == parts[j].Plan.Shard {
				return nil, fmt.Errorf("reports: merge: summaries %d and %d are both shard %d of %d", j, i, p.Plan.Shard+1, p.Plan.ShardCount)
			}
		}
	}
	// Shards start apart (pods of a Job do): every part's seconds are counted from the earliest
	// start, so the timelines add up second by second of wall time.
	var earliest time.Time
	for _, p := range parts {
		if !p.Started.IsZero() && (earliest.IsZero() || p.Started.Before(earliest)) {
			earliest = p.Started
		}
	}
	offset := func(p *LoadSummary) float64 {
		if p.Started.IsZero() || earliest.IsZero() {
			return 0
		}
		return math.Round(p.Started.Sub(earliest).Seconds())
	}
	first := parts[0]
	out := &LoadSummary{
		Format:   LoadFormat,
		Tool:     first.Tool,
		Target:   first.Target,
		Plan:     first.Plan,
		Started:  first.Started,
		Finished: first.Finished,
		Steady:   Window{FromS: first.Steady.FromS + offset(first), ToS: first.Steady.ToS + offset(first)},
		Errors:   map[string]int64{},
		Valid:    true,
	}
	out.Plan.Scenarios = slices.Clone(first.Plan.Scenarios)
	out.Plan.Thresholds = slices.Clone(first.Plan.Thresholds)
	out.Plan.Clients, out.Plan.Shard, out.Plan.ShardCount = 0, 0, len(parts)

	var messages float64 // messages the generators handled, recovered from CPU per message
	var kib float64      // memory of the clients, recovered from KiB per client
	for i, p := range parts {
		kib += p.Generator.KiBPerClient * float64(p.Plan.Clients)
		out.Plan.Clients += p.Plan.Clients
		if !p.Started.IsZero() && (out.Started.IsZero() || p.Started.Before(out.Started)) {
			out.Started = p.Started
		}
		if p.Finished.After(out.Finished) {
			out.Finished = p.Finished
		}
		out.Steady.FromS = min(out.Steady.FromS, p.Steady.FromS+offset(p))
		out.Steady.ToS = max(out.Steady.ToS, p.Steady.ToS+offset(p))
		out.Shards += max(p.Shards, 1)
		for k, v := range p.Errors {
			out.Errors[k] += v
		}
		if !p.Valid {
			out.Valid = false
		}
		out.Interrupted = out.Interrupted || p.Interrupted
		for _, r := range p.Invalid {
			r = "shard " + strconv.Itoa(i) + ": " + r
			if !slices.Contains(out.Invalid, r) {
				out.Invalid = append(out.Invalid, r)
			}
		}
		for _, c := range p.Checks {
			c.Name = "shard " + strconv.Itoa(i) + ": " + c.Name
			out.Checks = append(out.Checks, c)
		}
		out.Delivery = addDelivery(out.Delivery, p.Delivery)
		if p.Webhooks != nil && out.Webhooks == nil { // one run counts them: a server posts to one URL
			out.Webhooks = p.Webhooks
		}

		g := p.Generator
		og := &out.Generator
		og.CPUSeconds += g.CPUSeconds
		og.CPUPercent = max(og.CPUPercent, g.CPUPercent)
		og.MaxRSSKiB += g.MaxRSSKiB
		og.LagP99US = max(og.LagP99US, g.LagP99US)
		og.LagMaxUS = max(og.LagMaxUS, g.LagMaxUS)
		og.Saturated = og.Saturated || g.Saturated
		if og.Bottleneck == "" || g.Bottleneck == "cpu" {
			og.Bottleneck = g.Bottleneck
		}
		if g.CPUPerMessageUS > 0 {
			messages += g.CPUSeconds * 1e6 / g.CPUPerMessageUS
		}
	}
	if out.Plan.Clients > 0 { // the same definition as a single run's: RSS growth over the ramp per client
		out.Generator.KiBPerClient = kib / float64(out.Plan.Clients)
	}
	if messages > 0 {
		out.Generator.CPUPerMessageUS = out.Generator.CPUSeconds * 1e6 / messages
	}
	out.Delivery = finishDelivery(out.Delivery)

	metrics, err := mergeMetrics(parts)
	if err != nil {
		return nil, err
	}
	out.Metrics = metrics
	if out.Nodes, err = mergeNodes(parts); err != nil {
		return nil, err
	}
	out.Timeline = mergeTimelines(parts, offset)
	for _, p := range parts { // each shard's own embedded server: the CPU adds up
		if p.Server != nil {
			if out.Server == nil {
				out.Server = &ServerUsage{}
			}
			out.Server.CPUSeconds += p.Server.CPUSeconds
			out.Server.MaxRSSKiB = max(out.Server.MaxRSSKiB, p.Server.MaxRSSKiB)
			out.Server.Processes += p.Server.Processes
		}
	}
	for _, p := range parts {
		for _, at := range p.Restarts {
			out.Restarts = append(out.Restarts, at+offset(p))
		}
	}
	if c, from, to, ok := steadyOverlap(parts); ok {
		out.Checks = append(out.Checks, c)
		out.SteadyAt, out.SteadyEnd = from, to // when every shard was steady
	}
	return out, nil
}

// MinSteadyOverlap is the share of the plan's steady phase that every shard must have run at
// once for a merged run to be one run.
const MinSteadyOverlap = 0.95

// steadyOverlap compares the shards' steady windows in wall time, when every part recorded its
// own: the time all were steady at once, as a share of the plan's duration.
func steadyOverlap(parts []*LoadSummary) (c Check, from, to time.Time, ok bool) {
	d := time.Duration(parts[0].Plan.DurationS * float64(time.Second))
	for i, p := range parts {
		if p.SteadyAt.IsZero() || d <= 0 {
			return Check{}, from, to, false
		}
		end := p.SteadyAt.Add(d)
		if !p.SteadyEnd.IsZero() { // a merged part: its shards' time together
			end = p.SteadyEnd
		}
		if i == 0 || p.SteadyAt.After(from) {
			from = p.SteadyAt
		}
		if i == 0 || end.Before(to) {
			to = end
		}
	}
	shards := 0
	for _, p := range parts {
		shards += max(p.Shards, 1)
	}
	share := max(0, to.Sub(from).Seconds()/d.Seconds())
	return Check{Name: "steady windows overlap", Pass: share >= MinSteadyOverlap,
		Detail: fmt.Sprintf("all %d shards were in their steady phase together for %.1f%% of its %s (want %.0f%%; --start-at starts them together)",
			shards, 100*share, d, 100*MinSteadyOverlap)}, from, to, true
}

func addDelivery(a, b Delivery) Delivery {
	a.Expected += b.Expected
	a.Received += b.Received
	a.Duplicates += b.Duplicates
	a.OutOfOrder += b.OutOfOrder
	a.Reconnects += b.Reconnects
	a.NotOwed += b.NotOwed
	return a
}

// finishDelivery recomputes the derived counters. Received counts duplicates (as the recorder
// does), so the unique arrivals are Received - Duplicates; Lost is what remains of Expected and
// never negative; Reach is unique arrivals over Expected, and 0 when nothing was expected.
func finishDelivery(d Delivery) Delivery {
	unique := d.Received - d.Duplicates
	d.Lost = max(d.Expected-unique, 0)
	d.Reach = 0
	if d.Expected > 0 {
		d.Reach = float64(unique) / float64(d.Expected)
	}
	return d
}

// mergeMetrics merges the histograms of each metric name, in order of first appearance.
func mergeMetrics(parts []*LoadSummary) ([]LatencyMetric, error) {
	lists := make([][]LatencyMetric, len(parts))
	for i, p := range parts {
		lists[i] = p.Metrics
	}
	return mergeMetricLists(lists)
}

// mergeMetricLists merges the histograms of each metric name over the shards' lists, in order
// of first appearance.
func mergeMetricLists(lists [][]LatencyMetric) ([]LatencyMetric, error) {
	var names []string
	merged := map[string]*hdrhistogram.Histogram{}
	for i, list := range lists {
		for _, m := range list {
			if m.Histogram == "" {
				if m.Count > 0 {
					return nil, fmt.Errorf("reports: merge: shard %d metric %s has %d values but no histogram", i, m.Name, m.Count)
				}
				if _, ok := merged[m.Name]; !ok {
					names = append(names, m.Name)
					merged[m.Name] = nil
				}
				continue
			}
			h, err := m.DecodeHistogram()
			if err != nil {
				return nil, fmt.Errorf("reports: merge: shard %d: %w", i, err)
			}
			into := merged[m.Name]
			if into == nil {
				if _, ok := merged[m.Name]; !ok {
					names = append(names, m.Name)
				}
				into = hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
				merged[m.Name] = into
			}
			if dropped := into.Merge(h); dropped > 0 {
				return nil, fmt.Errorf("reports: merge: shard %d metric %s: %d values outside the histogram range", i, m.Name, dropped)
			}
		}
	}
	out := make([]LatencyMetric, 0, len(names))
	for _, n := range names {
		h := merged[n]
		if h == nil {
			out = append(out, LatencyMetric{Name: n, Quantiles: map[string]float64{}})
			continue
		}
		m, err := NewLatencyMetric(n, h)
		if err != nil {
			return nil, fmt.Errorf("reports: merge: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// mergeNodes adds up each node of a cluster over the shards that loaded it: the counts are
// summed, reach recomputed, the histograms merged. Every shard must have named the same nodes.
func mergeNodes(parts []*LoadSummary) ([]NodeLoad, error) {
	var out []NodeLoad
	var lists [][][]LatencyMetric // per node, per shard
	for i, p := range parts {
		switch {
		case len(p.Nodes) == 0 && len(out) == 0:
			continue
		case i > 0 && len(p.Nodes) != len(out):
			return nil, fmt.Errorf("reports: merge: summary %d loaded %d node(s), the ones before %d", i, len(p.Nodes), len(out))
		}
		for j, n := range p.Nodes {
			if i == 0 {
				out = append(out, NodeLoad{Node: n.Node, WebSocketURL: n.WebSocketURL, APIURL: n.APIURL})
				lists = append(lists, nil)
			}
			o := &out[j]
			if n.WebSocketURL != o.WebSocketURL || n.APIURL != o.APIURL {
				return nil, fmt.Errorf("reports: merge: summary %d's node %d is %s, summary 0's %s", i, j+1, n.WebSocketURL, o.WebSocketURL)
			}
			o.Clients += n.Clients
			o.Expected += n.Expected
			o.Arrived += n.Arrived
			o.Lost += n.Lost
			lists[j] = append(lists[j], n.Metrics)
		}
	}
	for j := range out {
		if out[j].Expected > 0 {
			out[j].Reach = float64(out[j].Arrived) / float64(out[j].Expected)
		}
		ms, err := mergeMetricLists(lists[j])
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", j+1, err)
		}
		out[j].Metrics = ms
	}
	return out, nil
}

// mergeTimelines combines the seconds of every shard by T; see MergeLoad for what is exact.
func mergeTimelines(parts []*LoadSummary, offset func(*LoadSummary) float64) []Second {
	byT := map[int]int{}
	var out []Second
	for _, p := range parts {
		shift := int(offset(p))
		for _, s := range p.Timeline {
			s.T += shift
			i, ok := byT[s.T]
			if !ok {
				byT[s.T] = len(out)
				out = append(out, s)
				continue
			}
			o := &out[i]
			if o.Phase == "" {
				o.Phase = s.Phase
			}
			o.Connections += s.Connections
			o.Sent += s.Sent
			o.Received += s.Received
			o.Errors += s.Errors
			o.P50US = max(o.P50US, s.P50US)
			o.P99US = max(o.P99US, s.P99US)
			o.MaxUS = max(o.MaxUS, s.MaxUS)
		}
	}
	slices.SortFunc(out, func(a, b Second) int { return a.T - b.T })
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
