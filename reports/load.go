package reports

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// LoadFormat names the load summary's JSON layout.
const LoadFormat = "pushcert.load/v2"

// loadFormatV1 is the layout before v2 named Delivery.NotOwed "missed_while_away"; ReadLoad
// reads it too.
const loadFormatV1 = "pushcert.load/v1"

// LoadSummary is the result of one `pushcert load` run (or of several shards merged). Latencies
// are in microseconds. Histograms travel encoded (HdrHistogram V2, base64) so shards merge
// losslessly: percentiles are recomputed from merged histograms, never averaged.
type LoadSummary struct {
	Format   string    `json:"format"`
	Tool     Suite     `json:"tool"`
	Target   Target    `json:"target"`
	Plan     LoadPlan  `json:"plan"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Steady   Window    `json:"steady"` // the phase that feeds the headline numbers
	// SteadyAt is when the steady phase's timetables began (all shards' at once with
	// --start-at): with the plan's duration, the steady window in wall time, which a merge
	// compares between shards.
	SteadyAt time.Time `json:"steady_at,omitzero"`
	// SteadyEnd, set in a merged summary, is when the first of its shards left the steady
	// phase: with SteadyAt, the time all of them were steady together. A single run's steady
	// window ends at SteadyAt plus the plan's duration.
	SteadyEnd time.Time       `json:"steady_end,omitzero"`
	Metrics   []LatencyMetric `json:"metrics"`
	Delivery  Delivery        `json:"delivery"`
	// Nodes, in a run against a cluster (several --target), are what each node served: its
	// clients' deliveries and the publishes through its HTTP API. Metrics and Delivery above
	// are the whole cluster's. Nil for one node.
	Nodes []NodeLoad `json:"nodes,omitempty"`
	// Webhooks counts the webhooks the run received (load --webhook-listen); nil without.
	Webhooks *Webhooks `json:"webhooks,omitempty"`
	// Server is what the embedded server used when load ran it as a child process; nil otherwise.
	Server *ServerUsage `json:"server,omitempty"`
	// Restarts are when the server was restarted on purpose (--restart-at), in seconds from the
	// start: the plots over time mark them.
	Restarts  []float64        `json:"restarts_s,omitempty"`
	Errors    map[string]int64 `json:"errors"` // by close code ("4100") or kind ("dial", "auth-403")
	Timeline  []Second         `json:"timeline"`
	Generator Generator        `json:"generator"`
	Checks    []Check          `json:"checks,omitempty"` // thresholds, seat-map agreement, ghost members
	Valid     bool             `json:"valid"`
	Invalid   []string         `json:"invalid,omitempty"` // why the run does not count (generator saturated, interrupted, ...)
	// Interrupted: Ctrl-C or SIGTERM ended the run early (it is INVALID too, saying when).
	Interrupted bool `json:"interrupted,omitempty"`
	Shards      int  `json:"shards"` // how many runs were merged into this one
}

// LoadPlan is what the run was asked to do.
type LoadPlan struct {
	Scenarios  []string `json:"scenarios"`
	Clients    int      `json:"clients"`
	Rooms      int      `json:"rooms"`
	Rate       float64  `json:"rate"` // per second, scenario-specific meaning
	DurationS  float64  `json:"duration_s"`
	RampS      float64  `json:"ramp_s"`
	DrainS     float64  `json:"drain_s"`
	Shard      int      `json:"shard"` // 0-based index of this shard
	ShardCount int      `json:"shard_count"`
	Thresholds []string `json:"thresholds,omitempty"`
}

// Window is a span of the run, in seconds from its start.
type Window struct {
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
}

// LatencyMetric is one latency distribution: connect, subscribe, trigger, delivery, fanout,
// client_event.
type LatencyMetric struct {
	Name      string             `json:"name"`
	Count     int64              `json:"count"`
	MinUS     float64            `json:"min_us"`
	MeanUS    float64            `json:"mean_us"`
	MaxUS     float64            `json:"max_us"`
	Quantiles map[string]float64 `json:"quantiles_us"` // "50", "90", "95", "97", "99", "99.9", "99.99"
	Histogram string             `json:"histogram"`    // base64 HdrHistogram V2, values in microseconds
}

// NodeLoad is one node of a cluster in a load run. The clients connected to the nodes in turn
// and published through their own node; each room's availability went through one node, the
// rooms taking the nodes in turn.
type NodeLoad struct {
	Node         int    `json:"node"` // 1-based, in the order of --target
	WebSocketURL string `json:"websocket_url"`
	APIURL       string `json:"api_url"`
	Clients      int64  `json:"clients"` // clients of the ramp that connected to it
	// Expected, Arrived and Lost are its clients' deliveries, as Delivery counts them for the
	// run; Reach is Arrived over Expected.
	Expected int64   `json:"expected"`
	Arrived  int64   `json:"arrived"`
	Lost     int64   `json:"lost"`
	Reach    float64 `json:"reach"`
	// Metrics: delivery and client_event to its clients, trigger through its HTTP API.
	Metrics []LatencyMetric `json:"metrics"`
}

// Metric returns the node's metric by name.
func (n NodeLoad) Metric(name string) (LatencyMetric, bool) {
	for _, m := range n.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return LatencyMetric{}, false
}

// ServerUsage is the CPU and memory of a server process the load generator ran.
type ServerUsage struct {
	CPUSeconds float64 `json:"cpu_s"`
	MaxRSSKiB  int64   `json:"max_rss_kib"`
	Processes  int     `json:"processes"` // more than one after restarts
	// Nodes, when more than one, are a cluster's node processes running at once: CPUSeconds
	// and MaxRSSKiB are their sums.
	Nodes int `json:"nodes,omitempty"`
}

// Delivery counts what the server had to deliver and what arrived.
type Delivery struct {
	Expected   int64   `json:"expected"`
	Received   int64   `json:"received"`
	Lost       int64   `json:"lost"`
	Duplicates int64   `json:"duplicates"`
	OutOfOrder int64   `json:"out_of_order"`
	Reach      float64 `json:"reach"` // received unique / expected
	// Reconnects counts connections clients brought back after the server closed them.
	Reconnects int64 `json:"reconnects,omitempty"`
	// NotOwed counts deliveries the plan made that did not arrive and that the server did not
	// owe: sent while their receiver was reconnecting, or refused while the run restarted the
	// server (nothing was subscribed to take them, or nothing was serving). They are not in
	// Expected.
	NotOwed int64 `json:"not_owed,omitempty"`
}

// Webhooks counts the webhooks a load run received against what its clients did: each channel
// they subscribed is owed a channel_occupied and, once they left, a channel_vacated; each user
// they joined to a presence channel a member_added and a member_removed.
type Webhooks struct {
	URL      string `json:"url"`      // where the server was to post them
	Requests int64  `json:"requests"` // requests received
	Refused  int64  `json:"refused"`  // answered 401 (key, signature) or 400 (not a webhook body)
	Foreign  int64  `json:"foreign"`  // events about channels the run never subscribed (other users of the app)
	// OtherApps counts requests to another app's URL (/hooks/{another id}): answered, not judged.
	OtherApps int64 `json:"other_apps,omitempty"`
	// Unsure counts the channels and members not judged: a subscription of theirs was lost with
	// its connection before the server answered, so the server may or may not have made it.
	Unsure  int64         `json:"unsure,omitempty"`
	WaitedS float64       `json:"waited_s"` // how long after the clients closed the run waited for the last ones
	Kinds   []WebhookKind `json:"kinds"`
}

// WebhookKind is the count of one webhook event name.
type WebhookKind struct {
	Name     string `json:"name"`
	Expected int64  `json:"expected"` // at least one per channel or member, and one per occupied or member_added
	Received int64  `json:"received"`
	// Lost are the expected ones that did not come by the end of the wait; Duplicates those that
	// came more often than the clients' own subscriptions could cause them.
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
}

// Second is one second of the run.
type Second struct {
	T           int     `json:"t"` // seconds from the start
	Phase       string  `json:"phase"`
	Connections int64   `json:"connections"`
	Sent        int64   `json:"sent"`
	Received    int64   `json:"received"`
	Errors      int64   `json:"errors"`
	P50US       float64 `json:"p50_us"`
	P99US       float64 `json:"p99_us"`
	MaxUS       float64 `json:"max_us"`
}

// Generator is the load generator's own cost, so a run that measured itself can be told apart.
type Generator struct {
	CPUSeconds      float64 `json:"cpu_seconds"`
	CPUPercent      float64 `json:"cpu_percent"` // of one core, averaged over the run
	MaxRSSKiB       int64   `json:"max_rss_kib"`
	KiBPerClient    float64 `json:"kib_per_client"`
	CPUPerMessageUS float64 `json:"cpu_per_message_us"`
	LagP99US        float64 `json:"lag_p99_us"` // how late the pacer fired, p99
	LagMaxUS        float64 `json:"lag_max_us"`
	Saturated       bool    `json:"saturated"`
	// Bottleneck says what made the run measure something else than the server: "cpu" (the
	// generator used its cores), "timetable" (it fell behind its timetable while busy), or
	// "machine" (the timetable fired late while the generator was mostly idle: other work on
	// the machine took the CPU). Empty when not saturated.
	Bottleneck string `json:"bottleneck,omitempty"`
}

// Check is one pass/fail verdict of the run.
type Check struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"`
}

// Quantiles reported for every latency metric, as percentiles.
var Quantiles = []float64{50, 90, 95, 97, 99, 99.9, 99.99}

// QuantileKey formats a percentile as a key of LatencyMetric.Quantiles.
func QuantileKey(q float64) string { return fmt.Sprintf("%g", q) }

// NewLatencyMetric summarises a histogram of microseconds.
func NewLatencyMetric(name string, h *hdrhistogram.Histogram) (LatencyMetric, error) {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return LatencyMetric{}, fmt.Errorf("encode %s histogram: %w", name, err)
	}
	m := LatencyMetric{Name: name, Count: h.TotalCount(), Histogram: base64.StdEncoding.EncodeToString(enc), Quantiles: map[string]float64{}}
	if m.Count > 0 {
		m.MinUS, m.MaxUS, m.MeanUS = float64(h.Min()), float64(h.Max()), h.Mean()
		for _, q := range Quantiles {
			m.Quantiles[QuantileKey(q)] = float64(h.ValueAtPercentile(q))
		}
	}
	return m, nil
}

// DecodeHistogram returns the metric's histogram.
func (m LatencyMetric) DecodeHistogram() (*hdrhistogram.Histogram, error) {
	b, err := base64.StdEncoding.DecodeString(m.Histogram)
	if err != nil {
		return nil, fmt.Errorf("%s histogram: %w", m.Name, err)
	}
	h, err := hdrhistogram.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s histogram: %w", m.Name, err)
	}
	return h, nil
}

// Metric returns the named latency metric.
func (s *LoadSummary) Metric(name string) (LatencyMetric, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return LatencyMetric{}, false
}

// ReadLoad decodes a load summary of this format or v1.
func ReadLoad(b []byte) (*LoadSummary, error) {
	var s LoadSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	switch s.Format {
	case LoadFormat:
	case loadFormatV1:
		var v1 struct {
			Delivery struct {
				Away int64 `json:"missed_while_away"`
			} `json:"delivery"`
		}
		if err := json.Unmarshal(b, &v1); err != nil {
			return nil, err
		}
		s.Format, s.Delivery.NotOwed = LoadFormat, v1.Delivery.Away
	default:
		return nil, fmt.Errorf("not a load summary (format %q, want %q)", s.Format, LoadFormat)
	}
	return &s, nil
}
