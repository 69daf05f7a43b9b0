package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// compareStats are the latency statistics CompareLoad looks at: the median for the typical case,
// p99 and p99.9 for the tail that SLOs are written against.
var compareStats = []string{"50", "99", "99.9"}

// RegressionFloorUS is the smallest latency increase, in microseconds, that counts as a
// regression. Below about 50 µs the difference between two runs is scheduler and timer noise:
// a p50 moving from 80 to 110 µs is +37% but says nothing about the server.
const RegressionFloorUS = 50

// Regression is one statistic of two runs side by side. Latencies are in microseconds; reach is a
// fraction (1 = every expected delivery arrived). Change is relative: (Current - Base) / Base,
// +Inf when Base is 0 and Current is not.
type Regression struct {
	Metric    string
	Stat      string // "p50", "p99", "p99.9" or "reach"
	Base      float64
	Current   float64
	Change    float64
	Regressed bool
}

// CompareLoad compares a run with a baseline: p50, p99 and p99.9 of every latency metric present
// (with values) in both, and the delivery reach when both runs expected deliveries.
//
// A latency regressed when Current > Base × (1 + maxRegression) and Current - Base is more than
// RegressionFloorUS, the absolute floor that keeps noise at tiny values from failing a build.
// maxRegression is a fraction: 0.1 allows 10%. Any drop of reach is a regression: lost messages
// are a defect, not noise.
func CompareLoad(base, cur *LoadSummary, maxRegression float64) ([]Regression, error) {
	if base == nil || cur == nil {
		return nil, errors.New("reports: compare: nil load summary")
	}
	if math.IsNaN(maxRegression) || maxRegression < 0 {
		return nil, fmt.Errorf("reports: compare: max regression %v is not a fraction >= 0", maxRegression)
	}
	if base.Format != cur.Format {
		return nil, fmt.Errorf("reports: compare: formats differ: %q and %q", base.Format, cur.Format)
	}
	var out []Regression
	for _, bm := range base.Metrics {
		cm, ok := cur.Metric(bm.Name)
		if !ok || bm.Count == 0 || cm.Count == 0 {
			continue
		}
		for _, q := range compareStats {
			b, okb := bm.Quantiles[q]
			c, okc := cm.Quantiles[q]
			if !okb || !okc {
				continue
			}
			out = append(out, Regression{
				Metric: bm.Name, Stat: "p" + q, Base: b, Current: c, Change: relChange(b, c),
				Regressed: c > b*(1+maxRegression) && c-b > RegressionFloorUS,
			})
		}
	}
	if base.Delivery.Expected > 0 && cur.Delivery.Expected > 0 {
		b, c := base.Delivery.Reach, cur.Delivery.Reach
		out = append(out, Regression{
			Metric: "delivery", Stat: "reach", Base: b, Current: c, Change: relChange(b, c), Regressed: c < b,
		})
	}
	return out, nil
}

func relChange(b, c float64) float64 {
	switch {
	case b == c:
		return 0
	case b == 0:
		return math.Inf(1)
	}
	return (c - b) / b
}

// WriteCompare writes the comparison as a table, latencies in milliseconds, and a closing line
// counting the regressions.
func WriteCompare(w io.Writer, regs []Regression) error {
	bw := bufio.NewWriter(w)
	line := func(s string) { bw.WriteString(strings.TrimRight(s, " ")); bw.WriteByte('\n') }
	rows := [][]string{{"metric", "stat", "base", "current", "change", "verdict"}}
	n := 0
	for _, r := range regs {
		verdict := "ok"
		if r.Regressed {
			verdict = "REGRESSED"
			n++
		}
		b, c := fmtMS(r.Base)+" ms", fmtMS(r.Current)+" ms"
		if r.Stat == "reach" {
			b, c = fmtPercent(r.Base), fmtPercent(r.Current)
		}
		rows = append(rows, []string{clean(r.Metric), r.Stat, b, c, fmtChange(r.Change), verdict})
	}
	writeCols(line, rows, 0, "llrrrl")
	line("")
	switch {
	case len(regs) == 0:
		line("nothing to compare: the runs share no metric with values")
	case n == 0:
		line("no regression in " + plural(len(regs), "statistic"))
	default:
		line(fmt.Sprintf("%s in %s", plural(n, "regression"), plural(len(regs), "statistic")))
	}
	return bw.Flush()
}

func fmtPercent(f float64) string { return strconv.FormatFloat(100*f, 'f', 3, 64) + "%" }

func fmtChange(c float64) string {
	switch {
	case math.IsInf(c, 1):
		return "new"
	case c == 0:
		return "0.0%"
	}
	prec := 1
	if math.Abs(100*c) < 0.1 {
		prec = 3 // a reach drop of 0.012% must not read as 0.0%
	}
	s := strconv.FormatFloat(100*c, 'f', prec, 64) + "%"
	if c > 0 {
		s = "+" + s
	}
	return s
}
