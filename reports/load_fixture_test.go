package reports

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// newLoadHist has the load generator's histogram range: 1 µs to 60 s, 3 significant digits.
func newLoadHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

func mustMetric(t testing.TB, name string, h *hdrhistogram.Histogram) LatencyMetric {
	t.Helper()
	m, err := NewLatencyMetric(name, h)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func metricsOf(names []string, hs ...*hdrhistogram.Histogram) ([]LatencyMetric, error) {
	out := make([]LatencyMetric, len(names))
	for i, n := range names {
		m, err := NewLatencyMetric(n, hs[i])
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// logNormalUS draws a latency in µs around median with the given spread, clamped to the range.
func logNormalUS(r *rand.Rand, median, sigma float64) int64 {
	v := math.Exp(math.Log(median) + sigma*r.NormFloat64())
	return int64(min(max(v, 1), 59_000_000))
}

// fixtureLoad is a realistic run: 10,000 seat-map clients in 100 presence rooms, 90 s (10 s ramp,
// 70 s steady, 10 s drain), 50 broadcasts/s fanned out to 100 members each (5,000 deliveries/s),
// a 1% slow tail, a stall at t=45 s with over-capacity closes, 37 lost deliveries and a failed
// reach check. Generated from a fixed seed, so every rendering is stable.
func fixtureLoad(t testing.TB) *LoadSummary {
	t.Helper()
	b, err := fixtureLoadJSON()
	if err != nil {
		t.Fatal(err)
	}
	var s LoadSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// fixtureLoadJSON generates the fixture once per test binary (a third of a million recorded values
// is slow under -race); every test gets its own copy decoded from it.
var fixtureLoadJSON = sync.OnceValues(func() ([]byte, error) {
	s, err := generateFixtureLoad()
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
})

func generateFixtureLoad() (*LoadSummary, error) {
	r := rand.New(rand.NewPCG(7, 11))
	const (
		clients    = 10_000
		rooms      = 100
		broadcasts = 50 // per second
		perRoom    = clients / rooms
		rampS      = 10
		steadyS    = 70
		drainS     = 10
	)
	delivery, fanout, trigger := newLoadHist(), newLoadHist(), newLoadHist()
	connect, subscribe, clientEvent := newLoadHist(), newLoadHist(), newLoadHist()

	for range clients {
		c := logNormalUS(r, 2800, 0.45)
		if r.IntN(200) == 0 {
			c += 20_000 + r.Int64N(30_000) // SYN retries and TLS under load
		}
		connect.RecordValue(c)
		subscribe.RecordValue(logNormalUS(r, 1700, 0.4))
	}

	var timeline []Second
	var expected, received int64
	for sec := 0; sec < rampS+steadyS+drainS; sec++ {
		s := Second{T: sec}
		switch {
		case sec < rampS:
			s.Phase = "ramp"
			s.Connections = int64(clients * (sec + 1) / rampS)
		case sec < rampS+steadyS:
			s.Phase = "steady"
			s.Connections = clients
		default:
			s.Phase = "drain"
			s.Connections = int64(clients * (rampS + steadyS + drainS - sec - 1) / drainS)
		}
		steady := s.Phase == "steady"
		if sec >= 2 && sec < rampS+steadyS {
			s.Sent = broadcasts + int64(r.IntN(3)) - 1
			receivers := min(int64(perRoom), s.Connections/rooms)
			per := newLoadHist()
			for b := range s.Sent {
				slowest := int64(0)
				base := logNormalUS(r, 620, 0.3)
				if steady {
					trigger.RecordValue(logNormalUS(r, 900, 0.35))
				}
				for range receivers {
					v := base + logNormalUS(r, 60, 0.8)
					if r.IntN(100) == 0 {
						v += 2_000 + r.Int64N(6_000) // the slow 1%: a busy write pump
					}
					if sec == 45 && b < 10 {
						v += 9_000 + r.Int64N(14_000) // a stop-the-world stall on the server
					}
					per.RecordValue(v)
					slowest = max(slowest, v)
					if steady {
						delivery.RecordValue(v)
					}
				}
				if steady {
					fanout.RecordValue(slowest)
				}
				s.Received += receivers
				if steady {
					expected += receivers
				}
			}
			if sec >= 44 && sec <= 46 {
				s.Received -= int64(9 + 5*(sec-44)) // the stall lost a few
			}
			if steady {
				received += s.Received
			}
			s.P50US = float64(per.ValueAtQuantile(50))
			s.P99US = float64(per.ValueAtQuantile(99))
			s.MaxUS = float64(per.Max())
		}
		if steady && sec%2 == 0 {
			for range 300 {
				clientEvent.RecordValue(logNormalUS(r, 450, 0.35))
			}
		}
		switch sec {
		case 7:
			s.Errors = 2
		case 45:
			s.Errors = 12
		case 46:
			s.Errors = 5
		case 47:
			s.Errors = 3
		}
		timeline = append(timeline, s)
	}

	metrics, err := metricsOf([]string{"connect", "subscribe", "trigger", "delivery", "fanout", "client_event"},
		connect, subscribe, trigger, delivery, fanout, clientEvent)
	if err != nil {
		return nil, err
	}
	start := time.Date(2026, 5, 4, 14, 0, 0, 0, time.UTC)
	d := finishDelivery(Delivery{Expected: expected, Received: received + 4, Duplicates: 4, OutOfOrder: 11})
	return &LoadSummary{
		Format: LoadFormat,
		Tool:   Suite{Name: "pushcert", Version: "0.4.0"},
		Target: Target{WebSocketURL: "ws://10.0.0.12:6001/app/ticketing-key", APIURL: "http://10.0.0.12:6001", AppID: "ticketing"},
		Plan: LoadPlan{
			Scenarios: []string{"seat-map"}, Clients: clients, Rooms: rooms, Rate: broadcasts,
			DurationS: rampS + steadyS + drainS, RampS: rampS, DrainS: drainS, ShardCount: 1,
			Thresholds: []string{"delivery p99 <= 10ms", "delivery p99.9 <= 50ms", "reach == 100%"},
		},
		Started:  start,
		Finished: start.Add(91 * time.Second),
		Steady:   Window{FromS: rampS, ToS: rampS + steadyS},
		Metrics:  metrics,
		Delivery: d,
		Webhooks: &Webhooks{URL: "http://10.0.0.5:9090/hooks/{app_id}", Requests: 412, Foreign: 3, WaitedS: 3.1, Kinds: []WebhookKind{
			{Name: "channel_occupied", Expected: 20, Received: 20}, {Name: "channel_vacated", Expected: 20, Received: 20},
			{Name: "member_added", Expected: 2_000, Received: 2_000}, {Name: "member_removed", Expected: 2_000, Received: 1_998, Lost: 2},
		}},
		Errors:   map[string]int64{"4100": 20, "dial": 2},
		Timeline: timeline,
		Generator: Generator{
			CPUSeconds: 21.42, CPUPercent: 23.8, MaxRSSKiB: 98_304, KiBPerClient: 9.8304,
			CPUPerMessageUS: 0.61, LagP99US: 180, LagMaxUS: 2_400,
		},
		Checks: []Check{
			{Name: "delivery p99 <= 10ms", Pass: true, Detail: "p99 = " + fmtMS(float64(delivery.ValueAtQuantile(99))) + " ms"},
			{Name: "delivery p99.9 <= 50ms", Pass: true, Detail: "p99.9 = " + fmtMS(float64(delivery.ValueAtQuantile(99.9))) + " ms"},
			{Name: "reach == 100%", Pass: false, Detail: fmtReach(d) + ": " + fmtInt(d.Lost) + " deliveries lost"},
			{Name: "seat map agrees across clients", Pass: true},
		},
		Valid:  true,
		Shards: 1,
	}, nil
}

// fixtureLoadSmall is an invalid run with no timeline, one empty metric and no checks: the edges.
func fixtureLoadSmall(t testing.TB) *LoadSummary {
	t.Helper()
	h := newLoadHist()
	for _, v := range []int64{120, 130, 150, 180, 240, 900, 15_000} {
		h.RecordValue(v)
	}
	return &LoadSummary{
		Format: LoadFormat,
		Tool:   Suite{Name: "pushcert", Version: "0.4.0"},
		Target: Target{WebSocketURL: "ws://127.0.0.1:41234/app/key", Embedded: true},
		Plan: LoadPlan{Scenarios: []string{"availability", "chat"}, Clients: 500, Rooms: 1, Rate: 2.5,
			DurationS: 10, RampS: 1, DrainS: 1, Shard: 1, ShardCount: 4},
		Steady:    Window{FromS: 1, ToS: 9},
		Metrics:   []LatencyMetric{mustMetric(t, "delivery", h), mustMetric(t, "client_event", newLoadHist())},
		Delivery:  Delivery{},
		Generator: Generator{CPUSeconds: 9.9, CPUPercent: 99.1, MaxRSSKiB: 512, KiBPerClient: 1.024, CPUPerMessageUS: 14.2, LagP99US: 48_000, LagMaxUS: 310_000, Saturated: true, Bottleneck: "timetable"},
		Valid:     false,
		Invalid:   []string{"generator saturated: 99% CPU", "pacer lag p99 48 ms > 1 ms"},
		Shards:    1,
	}
}
