package loadgen

import (
	"slices"

	"github.com/pushcert/pushcert/reports"
)

// Verdict is what a finished run comes to, the first that applies.
type Verdict int

const (
	// Passed: a valid run whose checks and thresholds all passed.
	Passed Verdict = iota
	// Invalid: the generator or the machine was the bottleneck; the figures do not count,
	// whatever the checks said.
	Invalid
	// ChecksFailed: a check of the run itself failed (clients that did not connect, lost or
	// duplicated deliveries, seat maps, ghost or silent members, the server's count).
	ChecksFailed
	// ThresholdsFailed: a threshold gate failed.
	ThresholdsFailed
	// Interrupted: Ctrl-C or SIGTERM ended the run early; it comes before everything else.
	Interrupted
)

// Judge adds the thresholds' checks to s and says what the run comes to.
func Judge(s *reports.LoadSummary, ths []Threshold) Verdict {
	checksFailed := slices.ContainsFunc(s.Checks, func(c reports.Check) bool { return !c.Pass })
	thresholdsFailed := false
	for _, th := range ths {
		c := th.Check(s)
		thresholdsFailed = thresholdsFailed || !c.Pass
		s.Checks = append(s.Checks, c)
		s.Plan.Thresholds = append(s.Plan.Thresholds, th.Expr)
	}
	switch {
	case s.Interrupted:
		return Interrupted
	case !s.Valid:
		return Invalid
	case checksFailed:
		return ChecksFailed
	case thresholdsFailed:
		return ThresholdsFailed
	}
	return Passed
}

// OpenFiles is how many open files this shard's plan needs at its peak: one per client
// connection, the arriving clients of churn and private at their peak, every silent client,
// and twice all of it when the server's end is in this process too (inProcess).
func (c Config) OpenFiles(inProcess bool) uint64 {
	c.setDefaults()
	need := float64((c.Clients + c.Shards - 1) / c.Shards)
	rooms := float64(c.Rooms)
	if slices.Contains(c.Scenarios, ScenarioChurn) || slices.Contains(c.Scenarios, ScenarioPrivate) {
		need += rooms * c.Rate * (c.Lifetime.Seconds() + 1)
	}
	if slices.Contains(c.Scenarios, ScenarioSilent) {
		need += rooms * c.Rate * c.Duration.Seconds()
	}
	if inProcess {
		need *= 2
	}
	return uint64(need)
}
