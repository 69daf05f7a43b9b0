package loadgen

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Metric names.
const (
	MetricConnect     = "connect"
	MetricSubscribe   = "subscribe"
	MetricTrigger     = "trigger"
	MetricDelivery    = "delivery"
	MetricFanout      = "fanout"
	MetricClientEvent = "client_event"
	// MetricSilentDrop is how long after a silent client went silent a staying member saw its
	// member_removed.
	MetricSilentDrop = "silent_drop"
	MetricReconnect  = "reconnect" // from a close the protocol retries to resubscribed
	MetricLag        = "lag"       // how late the pacer fired: the generator's own health
)

// AllMetrics in report order.
var AllMetrics = []string{MetricConnect, MetricSubscribe, MetricTrigger, MetricDelivery, MetricFanout, MetricClientEvent, MetricReconnect, MetricSilentDrop,
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

// Recorder holds every metric and counter of a run.
type Recorder struct {
	metrics map[string]*metric
	start   time.Time

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
	spares := map[string][]*hdrhistogram.Histogram{}
	for n := range r.metrics {
		s := make([]*hdrhistogram.Histogram, numStripe)
		for i := range s {
			s[i] = newHist()
		}
		spares[n] = s
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastSent, lastRecv int64
	tick := func(now time.Time) {
		sec := second{t: int(now.Sub(r.start).Round(time.Second) / time.Second), phase: phase()}
		for _, n := range AllMetrics {
			m := r.metrics[n]
			interval := newHist()
			m.swap(interval, spares[n])
			m.all.Merge(interval)
			if n == MetricDelivery && interval.TotalCount() > 0 {
				sec.p50 = float64(interval.ValueAtPercentile(50))
				sec.p99 = float64(interval.ValueAtPercentile(99))
				sec.max = float64(interval.Max())
			}
			if r.intervalLog != nil && interval.TotalCount() > 0 {
				interval.SetTag(n)
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
