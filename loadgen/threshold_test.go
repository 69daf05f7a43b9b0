package loadgen

import (
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pushcert/pushcert/reports"
)

func TestThresholds(t *testing.T) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	for i := 1; i <= 100; i++ {
		_ = h.RecordValue(int64(i * 1000)) // 1 ms .. 100 ms
	}
	m, err := reports.NewLatencyMetric(MetricDelivery, h)
	if err != nil {
		t.Fatal(err)
	}
	s := &reports.LoadSummary{Metrics: []reports.LatencyMetric{m}, Delivery: reports.Delivery{Expected: 1000, Received: 999, Lost: 1, Reach: 0.999}}
	for _, tc := range []struct {
		expr string
		pass bool
	}{
		{"delivery.p99<100ms", true},
		{"delivery.p99<50ms", false},
		{"delivery.p50<=51ms", true},
		{"delivery.max<0.2s", true},
		{"reach>=99.9%", true},
		{"reach>=99.95%", false},
		{"lost<1", false},
		{"connect.p99<1ms", false},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := th.Check(s); got.Pass != tc.pass {
			t.Errorf("%s: got pass=%v (%s), want %v", tc.expr, got.Pass, got.Detail, tc.pass)
		}
	}
	for _, bad := range []string{"delivery<5ms", "p99<5", "delivery.p99<5%", "reach=1", "delivry.p99<10ms", "delivery.p98<10ms", "reach>=100"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}
