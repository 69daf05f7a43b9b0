package loadgen

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Metric names.
const (
	MetricConnect   = "connect"
	MetricSubscribe = "subscribe"
	MetricTrigger   = "trigger"
	MetricDelivery  = "delivery"
	// MetricSameNode and MetricCrossNode split the delivery metric of a cluster's run: events
	// published through the receiving client's own node, and through another node.
	MetricSameNode    = "delivery_same_node"
	MetricCrossNode   = "delivery_cross_node"
	MetricFanout      = "fanout"
	MetricClientEvent = "client_event"
	// MetricSilentDrop is how long after a silent client went silent a staying member saw its
	// member_removed.
	MetricSilentDrop = "silent_drop"
	MetricReconnect  = "reconnect" // from a close the protocol retries to resubscribed
	MetricLag        = "lag"       // how late the pacer fired: the generator's own health
)

// AllMetrics in report order.
var AllMetrics = []string{MetricConnect, MetricSubscribe, MetricTrigger, MetricDelivery, MetricSameNode, MetricCrossNode, MetricFanout, MetricClientEvent, MetricReconnect, MetricSilentDrop,
	MetricHookOccupied, MetricHookVacated, MetricHookMemberAdded, MetricHookMemberRemoved, MetricLag}

const (
	histMin   = 1                // µs
	histMax   = 60 * 1000 * 1000 // 60 s in µs
	histSig   = 3
	numStripe = 8
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSig) }

// stripe is one shard of a metric's current-second histogram.
type stripe struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
	_  [40]byte // keep stripes on their own cache lines
}

// metric is one latency distribution: striped for recording, merged each second.
type metric struct {
	name    string
	stripes [numStripe]stripe
	all     *hdrhistogram.Histogram // the whole run; owned by the aggregator
}

func newMetric(name string) *metric {
	m := &metric{name: name, all: newHist()}
	for i := range m.stripes {
		m.stripes[i].h = newHist()
	}
	return m
}

// record adds one value in microseconds; hint spreads writers over stripes.
func (m *metric) record(us int64, hint int) {
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	s := &m.stripes[uint(hint)%numStripe]
	s.mu.Lock()
	_ = s.h.RecordValue(us)
	s.mu.Unlock()
}

// swap takes the current second's values from every stripe into one interval histogram.
func (m *metric) swap(into *hdrhistogram.Histogram, spare []*hdrhistogram.Histogram) {
	for i := range m.stripes {
		s := &m.stripes[i]
		fresh := spare[i]
		s.mu.Lock()
		old := s.h
		s.h = fresh
		s.mu.Unlock()
		into.Merge(old)
		old.Reset()
		spare[i] = old
	}
}

// NodeMetrics are the metrics of one node of a cluster: the deliveries to the clients connected
// to it, and the publishes through its HTTP API.
var NodeMetrics = []string{MetricDelivery, MetricClientEvent, MetricTrigger}

// Recorder holds every metric and counter of a run.
type Recorder struct {
	metrics map[string]*metric
	// nodes, in a cluster's run, are each node's NodeMetrics by name; nil for one node.
	nodes []map[string]*metric
	start time.Time

	Sent        atomic.Int64 // publishes and client events sent
	Expected    atomic.Int64 // deliveries the server owes
	Received    atomic.Int64 // deliveries that arrived, duplicates included
	Duplicates  atomic.Int64
	OutOfOrder  atomic.Int64
	Connections atomic.Int64
	Reconnects  atomic.Int64 // connections a client brought back after the server closed them

	errMu  sync.Mutex
	errors map[string]int64
	errSec atomic.Int64

	intervalLog *hdrhistogram.HistogramLogWriter
	seconds     []second
	secMu       sync.Mutex
}

type second struct {
	t                       int
	phase                   string
	conns, sent, recv, errs int64
	p50, p99, max           float64
}

// NewRecorder starts a recorder; intervalLog, if not nil, receives the HdrHistogram interval
// log of the delivery metric (and the others, tagged).
func NewRecorder(start time.Time, intervalLog io.Writer) *Recorder {
	r := &Recorder{metrics: map[string]*metric{}, start: start, errors: map[string]int64{}}
	for _, n := range AllMetrics {
		r.metrics[n] = newMetric(n)
	}
	if intervalLog != nil {
		r.intervalLog = hdrhistogram.NewHistogramLogWriter(intervalLog)
		_ = r.intervalLog.OutputLogFormatVersion()
		_ = r.intervalLog.OutputStartTime(start.UnixMilli())
		_ = r.intervalLog.OutputLegend()
	}
	return r
}

// Record adds a latency to a metric.
func (r *Recorder) Record(name string, d time.Duration, hint int) {
	r.metrics[name].record(d.Microseconds(), hint)
}

// SetNodes gives the recorder a cluster's n nodes (n >= 2): RecordOn then keeps each node's
// metrics too. Call before the run records anything.
func (r *Recorder) SetNodes(n int) {
	r.nodes = make([]map[string]*metric, n)
	for i := range r.nodes {
		r.nodes[i] = map[string]*metric{}
		for _, name := range NodeMetrics {
			r.nodes[i][name] = newMetric(fmt.Sprintf("node%d.%s", i+1, name))
		}
	}
}

// RecordOn adds a latency of a NodeMetrics metric of node (0-based) to the run's metric and,
// in a cluster's run, to the node's.
func (r *Recorder) RecordOn(name string, node int, d time.Duration, hint int) {
	r.Record(name, d, hint)
	if r.nodes != nil {
		r.nodes[node][name].record(d.Microseconds(), hint)
	}
}

// RecordDelivery adds the latency of an HTTP publish's delivery to a client on node rx,
// published through node tx: the delivery metric, rx's, and in a cluster's run the same-node or
// cross-node one.
func (r *Recorder) RecordDelivery(rx, tx int, d time.Duration, hint int) {
	r.RecordOn(MetricDelivery, rx, d, hint)
	switch {
	case r.nodes == nil:
	case rx == tx:
		r.Record(MetricSameNode, d, hint)
	default:
		r.Record(MetricCrossNode, d, hint)
	}
}

// Nodes is how many nodes the recorder keeps metrics of: 0 for one node.
func (r *Recorder) Nodes() int { return len(r.nodes) }

// NodeAll returns the histogram of a node's metric over the run; call after the run.
func (r *Recorder) NodeAll(node int, name string) *hdrhistogram.Histogram {
	return r.nodes[node][name].all
}

// Error counts an error by kind ("4100", "dial", "auth-403", ...).
func (r *Recorder) Error(kind string) {
	r.errMu.Lock()
	r.errors[kind]++
	r.errMu.Unlock()
	r.errSec.Add(1)
}

// Errors returns a copy of the error counts.
func (r *Recorder) Errors() map[string]int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	out := make(map[string]int64, len(r.errors))
	for k, v := range r.errors {
		out[k] = v
	}
	return out
}

// All returns the histogram of a metric over the run; call after the run. Only the steady phase
// sends, so every delivery, fan-out, client-event, trigger and lag sample belongs to it, even
// when it arrives during the drain; connect and subscribe samples come from the ramp.
func (r *Recorder) All(name string) *hdrhistogram.Histogram { return r.metrics[name].all }

// aggregate runs once a second until ctx ends: it swaps the stripes, writes the interval log,
// and keeps the timeline. It returns after a final flush.
func (r *Recorder) aggregate(stop <-chan struct{}, phase func() string) {
	spares := map[*metric][]*hdrhistogram.Histogram{}
	order := make([]*metric, 0, len(AllMetrics)+len(r.nodes)*len(NodeMetrics))
	for _, n := range AllMetrics {
		order = append(order, r.metrics[n])
	}
	for _, node := range r.nodes {
		for _, n := range NodeMetrics {
			order = append(order, node[n])
		}
	}
	for _, m := range order {
		s := make([]*hdrhistogram.Histogram, numStripe)
		for i := range s {
			s[i] = newHist()
		}
		spares[m] = s
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastSent, lastRecv int64
	tick := func(now time.Time) {
		sec := second{t: int(now.Sub(r.start).Round(time.Second) / time.Second), phase: phase()}
		for _, m := range order {
			interval := newHist()
			m.swap(interval, spares[m])
			m.all.Merge(interval)
			if m == r.metrics[MetricDelivery] && interval.TotalCount() > 0 {
				sec.p50 = float64(interval.ValueAtPercentile(50))
				sec.p99 = float64(interval.ValueAtPercentile(99))
				sec.max = float64(interval.Max())
			}
			if r.intervalLog != nil && interval.TotalCount() > 0 {
				interval.SetTag(m.name)
				interval.SetStartTimeMs(now.Add(-time.Second).UnixMilli())
				interval.SetEndTimeMs(now.UnixMilli())
				_ = r.intervalLog.OutputIntervalHistogram(interval)
			}
		}
		sent, recv := r.Sent.Load(), r.Received.Load()
		sec.sent, sec.recv = sent-lastSent, recv-lastRecv
		lastSent, lastRecv = sent, recv
		sec.conns = r.Connections.Load()
		sec.errs = r.errSec.Swap(0)
		r.secMu.Lock()
		r.seconds = append(r.seconds, sec)
		r.secMu.Unlock()
	}
	for {
		select {
		case now := <-t.C:
			tick(now)
		case <-stop:
			tick(time.Now())
			return
		}
	}
}

// Current returns the latest second, for progress displays.
func (r *Recorder) Current() (second, bool) {
	r.secMu.Lock()
	defer r.secMu.Unlock()
	if len(r.seconds) == 0 {
		return second{}, false
	}
	return r.seconds[len(r.seconds)-1], true
}
