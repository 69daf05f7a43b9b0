package loadgen

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pushcert/pushcert/reports"
)

// Threshold is a pass/fail gate on a run, such as "delivery.p99<50ms" or "reach>=99.9%".
type Threshold struct {
	Expr   string
	metric string // a latency metric, or "reach", "lost", "duplicates", "errors"
	stat   string // p50, p99, p99.9, max, mean (latency metrics)
	op     string
	value  float64 // µs for latencies, a fraction for reach, a count otherwise
}

// thresholdPercentiles are the percentiles a summary holds.
var thresholdPercentiles = []string{"50", "90", "95", "97", "99", "99.9", "99.99"}

var thresholdRE = regexp.MustCompile(`^([a-z_]+)(?:\.(p[0-9.]+|max|mean|min))?\s*(<=|>=|<|>)\s*([0-9.]+)\s*(us|µs|ms|s|%)?$`)

// ParseThreshold reads one threshold expression.
func ParseThreshold(expr string) (Threshold, error) {
	m := thresholdRE.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return Threshold{}, fmt.Errorf("threshold %q: want METRIC.STAT<VALUE (delivery.p99<50ms) or reach>=99.9%%, lost<1, errors<1", expr)
	}
	t := Threshold{Expr: expr, metric: m[1], stat: m[2], op: m[3]}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return t, fmt.Errorf("threshold %q: %w", expr, err)
	}
	switch t.metric {
	case "reach":
		switch {
		case m[5] == "%":
			v /= 100
		case v > 1:
			return t, fmt.Errorf("threshold %q: reach is a fraction (reach>=0.999) or a percentage (reach>=99.9%%)", expr)
		}
	case "lost", "duplicates", "errors", "out_of_order":
	default:
		if !slices.Contains(AllMetrics, t.metric) {
			return t, fmt.Errorf("threshold %q: no metric %q (%s, or reach, lost, duplicates, out_of_order, errors)", expr, t.metric, strings.Join(AllMetrics, ", "))
		}
		if t.stat == "" {
			return t, fmt.Errorf("threshold %q: a latency needs a statistic, e.g. %s.p99", expr, t.metric)
		}
		if p, ok := strings.CutPrefix(t.stat, "p"); ok && !slices.Contains(thresholdPercentiles, p) {
			return t, fmt.Errorf("threshold %q: no percentile %s (%s)", expr, t.stat, strings.Join(thresholdPercentiles, ", "))
		}
		unit := map[string]time.Duration{"us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "": time.Millisecond}[m[5]]
		if m[5] == "%" {
			return t, fmt.Errorf("threshold %q: a latency takes us, ms or s", expr)
		}
		v = v * float64(unit) / float64(time.Microsecond)
	}
	t.value = v
	return t, nil
}

// Check evaluates the threshold on a summary.
func (t Threshold) Check(s *reports.LoadSummary) reports.Check {
	var got float64
	var shown string
	switch t.metric {
	case "reach":
		got, shown = s.Delivery.Reach, fmt.Sprintf("%.4f%%", 100*s.Delivery.Reach)
	case "lost":
		got = float64(s.Delivery.Lost)
	case "duplicates":
		got = float64(s.Delivery.Duplicates)
	case "out_of_order":
		got = float64(s.Delivery.OutOfOrder)
	case "errors":
		for _, n := range s.Errors {
			got += float64(n)
		}
	default:
		m, ok := s.Metric(t.metric)
		if !ok {
			return reports.Check{Name: "threshold " + t.Expr, Pass: false, Detail: "no " + t.metric + " measured"}
		}
		switch t.stat {
		case "max":
			got = m.MaxUS
		case "min":
			got = m.MinUS
		case "mean":
			got = m.MeanUS
		default:
			q, ok := m.Quantiles[strings.TrimPrefix(t.stat, "p")]
			if !ok {
				return reports.Check{Name: "threshold " + t.Expr, Pass: false, Detail: "no percentile " + t.stat + " (" + strings.Join(thresholdPercentiles, ", ") + ")"}
			}
			got = q
		}
		shown = fmt.Sprintf("%.3f ms", got/1000)
	}
	if shown == "" {
		shown = fmt.Sprintf("%.0f", got)
	}
	// Values are compared at 1e-9 relative precision: 99.9% written in a threshold is 0.999 measured.
	eps := 1e-9 * max(1, abs(t.value))
	pass := map[string]bool{"<": got < t.value-eps, "<=": got <= t.value+eps, ">": got > t.value+eps, ">=": got >= t.value-eps}[t.op]
	return reports.Check{Name: "threshold " + t.Expr, Pass: pass, Detail: "measured " + shown}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
