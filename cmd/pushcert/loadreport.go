package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/pushcert/pushcert/reports"
)

// Until the reports package renders load summaries itself, a plain table and the histogram's
// own percentile distribution.

func writeLoadConsole(w io.Writer, s *reports.LoadSummary) error {
	verdict := "VALID"
	if !s.Valid {
		verdict = "INVALID"
	}
	fmt.Fprintf(w, "\npushcert load  %v  clients %d  rooms %d  rate %g/s/room  steady %.0fs  %s\n", s.Plan.Scenarios, s.Plan.Clients, s.Plan.Rooms, s.Plan.Rate, s.Plan.DurationS, verdict)
	for _, why := range s.Invalid {
		fmt.Fprintln(w, "  invalid:", why)
	}
	fmt.Fprintf(w, "\n  %-13s %9s %9s %9s %9s %9s %9s %9s\n", "metric (ms)", "count", "p50", "p90", "p99", "p99.9", "p99.99", "max")
	for _, m := range s.Metrics {
		q := m.Quantiles
		fmt.Fprintf(w, "  %-13s %9d %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", m.Name, m.Count, q["50"]/1000, q["90"]/1000, q["99"]/1000, q["99.9"]/1000, q["99.99"]/1000, m.MaxUS/1000)
	}
	d := s.Delivery
	fmt.Fprintf(w, "\n  delivery: expected %d, received %d, lost %d, duplicates %d, out of order %d, reach %.4f%%\n", d.Expected, d.Received, d.Lost, d.Duplicates, d.OutOfOrder, 100*d.Reach)
	if len(s.Errors) > 0 {
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprint(w, "  errors:")
		for _, k := range keys {
			fmt.Fprintf(w, " %s=%d", k, s.Errors[k])
		}
		fmt.Fprintln(w)
	}
	g := s.Generator
	fmt.Fprintf(w, "  generator: CPU %.1f%% (%.1f s), max RSS %d KiB, %.2f KiB/client, %.2f µs CPU/message, send lag p99 %.3f ms\n",
		g.CPUPercent, g.CPUSeconds, g.MaxRSSKiB, g.KiBPerClient, g.CPUPerMessageUS, g.LagP99US/1000)
	for _, c := range s.Checks {
		mark := "PASS"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %-22s %s\n", mark, c.Name, c.Detail)
	}
	return nil
}

func writeHgrm(w io.Writer, m reports.LatencyMetric) error {
	h, err := m.DecodeHistogram()
	if err != nil {
		return err
	}
	_, err = h.PercentilesPrint(w, 5, 1000.0)
	return err
}

func writeLoadHTML(path string, s *reports.LoadSummary) error { return nil }
