package loadgen

import (
	"testing"
	"time"

	"github.com/pushcert/pushcert/reports"
)

// TestJudge: INVALID comes first, then a failed check, then a failed threshold.
func TestJudge(t *testing.T) {
	lost, err := ParseThreshold("lost<1")
	if err != nil {
		t.Fatal(err)
	}
	pass, fail := reports.Check{Name: "reach", Pass: true}, reports.Check{Name: "reach"}
	for _, tc := range []struct {
		name  string
		valid bool
		check reports.Check
		lost  int64
		want  Verdict
	}{
		{"all good", true, pass, 0, Passed},
		{"a threshold", true, pass, 3, ThresholdsFailed},
		{"a check before a threshold", true, fail, 3, ChecksFailed},
		{"invalid before all", false, fail, 3, Invalid},
	} {
		s := &reports.LoadSummary{Valid: tc.valid, Checks: []reports.Check{tc.check}, Delivery: reports.Delivery{Lost: tc.lost}}
		if got := Judge(s, []Threshold{lost}); got != tc.want || len(s.Checks) != 2 || s.Plan.Thresholds[0] != "lost<1" {
			t.Errorf("%s: %v, want %v; checks %v", tc.name, got, tc.want, s.Checks)
		}
	}
}

func TestOpenFiles(t *testing.T) {
	base := Config{Clients: 1000, Rooms: 10, Rate: 5, Duration: 20 * time.Second, Lifetime: time.Second, Shards: 2}
	for _, tc := range []struct {
		scenarios []string
		inProcess bool
		want      uint64
	}{
		{[]string{ScenarioSeats}, false, 500},
		{[]string{ScenarioSeats}, true, 1000},
		{[]string{ScenarioSeats, ScenarioChurn}, false, 500 + 10*5*2},
		{[]string{ScenarioSeats, ScenarioSilent}, false, 500 + 10*5*20},
	} {
		c := base
		c.Scenarios = tc.scenarios
		if got := c.OpenFiles(tc.inProcess); got != tc.want {
			t.Errorf("%v in-process %v: %d, want %d", tc.scenarios, tc.inProcess, got, tc.want)
		}
	}
}
