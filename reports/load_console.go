package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// consoleLatencyStats are the columns of the latency table, as keys of LatencyMetric.Quantiles.
// p95, p97 and p99.99 stay in the JSON and the .hgrm files: a terminal has room for six numbers.
var consoleLatencyStats = []string{"50", "90", "99", "99.9"}

// WriteLoadConsole writes a load summary for a terminal, in the manner of wrk2 and k6: the plan and
// the verdict, one row per latency metric, delivery counters, errors by code, the generator's own
// cost and the checks.
//
// Latencies are shown in milliseconds with three decimals: the histograms resolve microseconds, and
// milliseconds are the unit thresholds and SLOs are written in, so one unit serves every row from a
// 100 µs loopback delivery to a 5 s connect timeout without a reader having to compare units.
// Text from the summary file is stripped of control characters.
func WriteLoadConsole(w io.Writer, s *LoadSummary) error {
	if s == nil {
		return errors.New("reports: nil load summary")
	}
	bw := bufio.NewWriter(w)
	line := func(s string) { bw.WriteString(strings.TrimRight(s, " ")); bw.WriteByte('\n') }
	kv := func(k, v string) { line(fmt.Sprintf("  %-12s %s", k, v)) }

	line("Load test of " + clean(loadTargetName(s)) + " — " + clean(strings.TrimSpace(s.Tool.Name+" "+s.Tool.Version)))
	for _, f := range loadFacts(s) {
		kv(f.Key, clean(f.Value))
	}
	if s.Valid {
		kv("result", "VALID")
	} else {
		kv("result", "INVALID")
		for _, r := range s.Invalid {
			kv("", "- "+clean(r))
		}
	}

	line("")
	line("Latency (ms; connect and subscribe during the ramp, the rest during the steady phase)")
	writeTable(line, latencyRows(s.Metrics, "-"), 2)

	line("")
	line("Delivery")
	d := s.Delivery
	writeCols(line, [][]string{
		{"expected", "received", "lost", "duplicates", "out-of-order", "reach"},
		{fmtInt(d.Expected), fmtInt(d.Received), fmtInt(d.Lost), fmtInt(d.Duplicates), fmtInt(d.OutOfOrder), fmtReach(d)},
	}, 2, "r")
	if d.Reconnects > 0 || d.NotOwed > 0 {
		line(fmt.Sprintf("  %s reconnections; %s events not owed: due while their receiver was away, or refused while the run restarted the server (not in expected)",
			fmtInt(d.Reconnects), fmtInt(d.NotOwed)))
	}

	if len(s.Nodes) > 0 {
		line("")
		line("Nodes (each one's clients' deliveries, and the publishes through its HTTP API)")
		writeCols(line, nodeRows(s.Nodes, "-"), 2, "rlrrrrrrrr")
	}

	if n := s.Webhooks; n != nil {
		line("")
		line("Webhooks    " + clean(webhookNote(n)))
		writeCols(line, webhookRows(n), 2, "lrrrr")
	}

	line("")
	if len(s.Errors) == 0 {
		line("Errors      none")
	} else {
		line(fmt.Sprintf("Errors      %s in total", fmtInt(errorTotal(s.Errors))))
		rows := [][]string{{"code", "count"}}
		for _, e := range sortedErrors(s.Errors) {
			rows = append(rows, []string{clean(e.Code), fmtInt(e.Count)})
		}
		writeTable(line, rows, 2)
	}

	line("")
	if s.Server != nil {
		line("Load generator and server")
	} else {
		line("Load generator")
	}
	for _, f := range generatorFacts(s) {
		kv(f.Key, f.Value)
	}

	if len(s.Checks) > 0 {
		line("")
		failed := failedChecks(s.Checks)
		line(fmt.Sprintf("Checks (%d of %d passed)", len(s.Checks)-failed, len(s.Checks)))
		rows := make([][]string, 0, len(s.Checks))
		for _, c := range s.Checks {
			rows = append(rows, []string{passFail(c.Pass), clean(c.Name), clean(c.Detail)})
		}
		writeCols(line, rows, 2, "lll")
	}

	line("")
	line(loadVerdict(s))
	return bw.Flush()
}

// loadVerdict is the last line of the console report, the one a CI log is searched for.
func loadVerdict(s *LoadSummary) string {
	v := "VALID"
	if !s.Valid {
		v = "INVALID (" + plural(len(s.Invalid), "reason") + ")"
	}
	if len(s.Checks) == 0 {
		return v + ", no checks"
	}
	if f := failedChecks(s.Checks); f > 0 {
		return fmt.Sprintf("%s, %d of %d checks FAILED", v, f, len(s.Checks))
	}
	return fmt.Sprintf("%s, all %d checks passed", v, len(s.Checks))
}

func failedChecks(cs []Check) int {
	n := 0
	for _, c := range cs {
		if !c.Pass {
			n++
		}
	}
	return n
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// fact is one labelled line of the header or of the generator block, shared by console and HTML.
type fact struct{ Key, Value string }

func loadTargetName(s *LoadSummary) string {
	return loadNodeName(s) + moreNodes(s)
}

// moreNodes says how many nodes a cluster has besides the first; "" for one node.
func moreNodes(s *LoadSummary) string {
	if n := len(s.Target.Nodes); n > 1 {
		return fmt.Sprintf(" and %d more nodes", n-1)
	}
	return ""
}

// loadNodeName names the target by its first node.
func loadNodeName(s *LoadSummary) string {
	switch {
	case s.Target.WebSocketURL != "" && s.Target.Name != "":
		return s.Target.WebSocketURL + " (" + s.Target.Name + ")"
	case s.Target.WebSocketURL != "" && s.Target.Embedded:
		return s.Target.WebSocketURL + " (embedded reference server)"
	case s.Target.WebSocketURL != "":
		return s.Target.WebSocketURL
	case s.Target.Embedded:
		return "the embedded reference server"
	}
	return "(unnamed target)"
}

func loadFacts(s *LoadSummary) []fact {
	p := s.Plan
	var fs []fact
	if s.Target.APIURL != "" || s.Target.AppID != "" {
		fs = append(fs, fact{"http api", strings.TrimSpace(s.Target.APIURL + orEmpty(s.Target.AppID, ", app "+s.Target.AppID))})
	}
	if len(s.Target.Nodes) > 1 {
		fs = append(fs, fact{"nodes", strings.Join(s.Target.Nodes, ", ")})
	}
	fs = append(fs,
		fact{"scenarios", orNone(strings.Join(p.Scenarios, ", "))},
		fact{"clients", fmtInt(int64(p.Clients)) + " in " + plural(p.Rooms, "room")},
		fact{"rate", fmtFloat(p.Rate) + "/s"},
		fact{"duration", fmtSeconds(p.DurationS) + " (ramp " + fmtSeconds(p.RampS) + ", drain " + fmtSeconds(p.DrainS) +
			"); steady " + fmtFloat(s.Steady.FromS) + "–" + fmtFloat(s.Steady.ToS) + " s"},
	)
	if !s.Started.IsZero() {
		run := s.Started.UTC().Format("2006-01-02 15:04:05 MST")
		if !s.Finished.IsZero() {
			run += ", " + s.Finished.Sub(s.Started).Round(time.Second).String()
		}
		fs = append(fs, fact{"started", run})
	}
	shards := fmtInt(int64(max(s.Shards, 1)))
	if s.Shards <= 1 && p.ShardCount > 1 {
		shards = fmt.Sprintf("1 (shard %d of %d)", p.Shard+1, p.ShardCount)
	} else if s.Shards > 1 {
		shards += " merged"
	}
	fs = append(fs, fact{"shards", shards})
	if len(p.Thresholds) > 0 {
		fs = append(fs, fact{"thresholds", strings.Join(p.Thresholds, "; ")})
	}
	return fs
}

// bottleneckText says what a Generator.Bottleneck means.
func bottleneckText(b string) string {
	switch b {
	case "cpu":
		return "the generator was CPU-bound"
	case "timetable":
		return "the generator fell behind its timetable"
	case "machine":
		return "the machine was busy: the timetable fired late while the generator was mostly idle"
	}
	return "the generator was the bottleneck"
}

func generatorFacts(s *LoadSummary) []fact {
	g := s.Generator
	perClient := "-"
	if g.KiBPerClient > 0 {
		perClient = strconv.FormatFloat(g.KiBPerClient, 'f', 1, 64) + " KiB/client"
	}
	sat := "no"
	if g.Saturated {
		sat = "YES: " + bottleneckText(g.Bottleneck)
	}
	facts := []fact{
		{"cpu", strconv.FormatFloat(g.CPUPercent, 'f', 1, 64) + "% of one core (" + strconv.FormatFloat(g.CPUSeconds, 'f', 2, 64) + " s)"},
		{"rss", fmtKiB(g.MaxRSSKiB) + " (" + perClient + ")"},
		{"cpu/message", strconv.FormatFloat(g.CPUPerMessageUS, 'f', 2, 64) + " µs"},
		{"pacer lag", "p99 " + fmtMS(g.LagP99US) + " ms, max " + fmtMS(g.LagMaxUS) + " ms"},
		{"saturated", sat},
	}
	if u := s.Server; u != nil {
		cpu := strconv.FormatFloat(u.CPUSeconds, 'f', 2, 64) + " s"
		if wall := s.Finished.Sub(s.Started).Seconds(); wall > 0 {
			cpu = strconv.FormatFloat(100*u.CPUSeconds/wall, 'f', 1, 64) + "% of one core (" + cpu + ")"
		}
		rss := fmtKiB(u.MaxRSSKiB)
		switch {
		case u.Nodes > 1 && u.Processes > u.Nodes:
			rss += fmt.Sprintf(" (the sum of %d nodes' peaks; %d processes: restarted)", u.Nodes, u.Processes)
		case u.Nodes > 1:
			rss += fmt.Sprintf(" (the sum of %d nodes' peaks)", u.Nodes)
		case u.Processes > 1:
			rss += fmt.Sprintf(" (largest of %d processes: restarted)", u.Processes)
		}
		facts = append(facts, fact{"server cpu", cpu}, fact{"server rss", rss})
	}
	return facts
}

// latencyRows is the latency table with its header row; missing values read as dash.
func latencyRows(ms []LatencyMetric, dash string) [][]string {
	head := []string{"metric", "count", "min"}
	for _, q := range consoleLatencyStats {
		head = append(head, "p"+q)
	}
	rows := [][]string{append(head, "max")}
	for _, m := range ms {
		row := []string{clean(m.Name), fmtInt(m.Count)}
		if m.Count == 0 {
			for range len(consoleLatencyStats) + 2 {
				row = append(row, dash)
			}
		} else {
			row = append(row, fmtMS(m.MinUS))
			for _, q := range consoleLatencyStats {
				if v, ok := m.Quantiles[q]; ok {
					row = append(row, fmtMS(v))
				} else {
					row = append(row, dash)
				}
			}
			row = append(row, fmtMS(m.MaxUS))
		}
		rows = append(rows, row)
	}
	return rows
}

// nodeRows is the table of a cluster's nodes: each node's clients, their deliveries, and the
// delivery and trigger latencies at p50 and p99 (ms).
func nodeRows(ns []NodeLoad, dash string) [][]string {
	rows := [][]string{{"node", "target", "clients", "expected", "lost", "reach", "delivery p50", "p99", "trigger p50", "p99"}}
	quantile := func(n NodeLoad, name, q string) string {
		if m, ok := n.Metric(name); ok && m.Count > 0 {
			return fmtMS(m.Quantiles[q])
		}
		return dash
	}
	for _, n := range ns {
		rows = append(rows, []string{strconv.Itoa(n.Node), clean(n.WebSocketURL), fmtInt(n.Clients), fmtInt(n.Expected), fmtInt(n.Lost),
			fmtReach(Delivery{Expected: n.Expected, Reach: n.Reach}),
			quantile(n, "delivery", "50"), quantile(n, "delivery", "99"), quantile(n, "trigger", "50"), quantile(n, "trigger", "99")})
	}
	return rows
}

type errorCount struct {
	Code  string
	Count int64
}

// sortedErrors orders errors by count, most frequent first, then by code.
func sortedErrors(m map[string]int64) []errorCount {
	out := make([]errorCount, 0, len(m))
	for k, v := range m {
		out = append(out, errorCount{k, v})
	}
	slices.SortFunc(out, func(a, b errorCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Code, b.Code)
	})
	return out
}

func errorTotal(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// writeTable writes rows as columns, the first left-aligned and the others right-aligned.
func writeTable(line func(string), rows [][]string, indent int) {
	writeCols(line, rows, indent, "l")
}

// writeCols writes rows as columns. align holds one letter per column, 'l' or 'r'; a column past
// its end is right-aligned, except the first, which is left-aligned.
func writeCols(line func(string), rows [][]string, indent int, align string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString(strings.Repeat(" ", indent))
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			a := byte('r')
			switch {
			case i < len(align):
				a = align[i]
			case i == 0:
				a = 'l'
			}
			if a == 'l' {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		line(b.String())
	}
}

// fmtMS formats microseconds as milliseconds with three decimals: "0.512".
func fmtMS(us float64) string {
	if math.IsNaN(us) || math.IsInf(us, 0) {
		return "-"
	}
	return strconv.FormatFloat(us/1000, 'f', 3, 64)
}

// fmtInt groups thousands: 1234567 -> "1,234,567".
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtFloat writes whole numbers with thousands separators and others as short as exact.
func fmtFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmtInt(int64(f))
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func fmtSeconds(s float64) string { return fmtFloat(s) + " s" }

// webhookNote says where a run's webhooks came and what was not counted.
func webhookNote(n *Webhooks) string {
	note := fmt.Sprintf("%s requests to %s, %s refused, %s events about other channels; waited %.1f s after the clients closed",
		fmtInt(n.Requests), n.URL, fmtInt(n.Refused), fmtInt(n.Foreign), n.WaitedS)
	if n.OtherApps > 0 {
		note += fmt.Sprintf("; %s requests for other apps", fmtInt(n.OtherApps))
	}
	if n.Unsure > 0 {
		note += fmt.Sprintf("; %s channels or members not judged", fmtInt(n.Unsure))
	}
	return note
}

// webhookRows is the webhook count as a table, header first.
func webhookRows(n *Webhooks) [][]string {
	rows := [][]string{{"event", "expected", "received", "lost", "duplicates"}}
	for _, k := range n.Kinds {
		rows = append(rows, []string{k.Name, fmtInt(k.Expected), fmtInt(k.Received), fmtInt(k.Lost), fmtInt(k.Duplicates)})
	}
	return rows
}

// fmtReach is the reach with three decimals, so one lost message in 100,000 shows.
func fmtReach(d Delivery) string {
	if d.Expected == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*d.Reach, 'f', 3, 64) + "%"
}

func fmtKiB(kib int64) string {
	switch {
	case kib >= 1<<20:
		return strconv.FormatFloat(float64(kib)/(1<<20), 'f', 2, 64) + " GiB"
	case kib >= 1<<10:
		return strconv.FormatFloat(float64(kib)/(1<<10), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatInt(kib, 10) + " KiB"
}

func orEmpty(cond, s string) string {
	if cond == "" {
		return ""
	}
	return s
}
