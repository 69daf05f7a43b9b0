package reports

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWriteLoadConsoleGolden(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		s            func(testing.TB) *LoadSummary
	}{
		{"realistic valid run", "load_console.txt", fixtureLoad},
		{"invalid run without timeline", "load_console_invalid.txt", fixtureLoadSmall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteLoadConsole(&buf, tc.s(t)); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestWriteLoadConsoleStripsControlCharacters(t *testing.T) {
	s := fixtureLoadSmall(t)
	s.Target.WebSocketURL = "ws://evil/\x1b[2J"
	s.Errors = map[string]int64{"\x1b]0;pwned\x07": 1}
	var buf bytes.Buffer
	if err := WriteLoadConsole(&buf, s); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\x1b\x07") {
		t.Errorf("got control characters in the console output:\n%q", buf.String())
	}
}

func TestWriteLoadConsoleNil(t *testing.T) {
	if err := WriteLoadConsole(&bytes.Buffer{}, nil); err == nil {
		t.Error("got no error for a nil summary, want one")
	}
}

func TestWriteHgrm(t *testing.T) {
	s := fixtureLoad(t)
	m, _ := s.Metric("delivery")
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, m); err != nil {
		t.Fatal(err)
	}
	golden(t, "load_delivery.hgrm", buf.Bytes())

	// What the HdrHistogram plotter reads: a header, rows of value (ms), percentile, count and
	// 1/(1-percentile), and the summary footer.
	out := buf.String()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Scan()
	if got, want := strings.Fields(sc.Text()), []string{"Value", "Percentile", "TotalCount", "1/(1-Percentile)"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got header %q, want %q", got, want)
	}
	rows, last := 0, []string(nil)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 {
			rows++
			last = f
		}
	}
	if rows < 50 {
		t.Errorf("got %d percentile rows, want at least 50", rows)
	}
	if want := fmtMS(m.MaxUS); last[0] != want || last[1] != "1.000000" || last[3] != "inf" {
		t.Errorf("got last row %q, want value %s at percentile 1.000000 and inf", last, want)
	}
	if !strings.Contains(out, "#[Max     = ") {
		t.Error("got no #[Max footer, want HdrHistogram's summary footer")
	}
}

func TestWriteHgrmBadHistogram(t *testing.T) {
	if err := WriteHgrm(&bytes.Buffer{}, LatencyMetric{Name: "delivery", Histogram: "not base64!"}); err == nil {
		t.Error("got no error for a corrupt histogram, want one")
	}
}

// shardOf records vs into a fresh histogram and wraps it in a summary shard.
func shardOf(t *testing.T, idx int, vs map[string][]int64) *LoadSummary {
	t.Helper()
	s := &LoadSummary{
		Format: LoadFormat,
		Plan:   LoadPlan{Scenarios: []string{"seat-map", "chat"}, Clients: 100 * (idx + 1), Shard: idx, ShardCount: 2},
		Errors: map[string]int64{}, Valid: true, Shards: 1,
	}
	for _, name := range []string{"delivery", "connect"} {
		h := newLoadHist()
		for _, v := range vs[name] {
			if err := h.RecordValue(v); err != nil {
				t.Fatal(err)
			}
		}
		s.Metrics = append(s.Metrics, mustMetric(t, name, h))
	}
	return s
}

func TestMergeLoadHistogramsAreExact(t *testing.T) {
	a := map[string][]int64{
		"delivery": {101, 250, 250, 999, 1_000, 1_001, 4_567, 12_345, 250_000},
		"connect":  {2_000, 2_100, 3_000},
	}
	b := map[string][]int64{
		"delivery": {1, 7, 250, 3_333, 77_777, 1_234_567, 59_999_999},
		"connect":  {},
	}
	// Many values too, so the quantiles fall between recorded values.
	for i := range 5000 {
		a["delivery"] = append(a["delivery"], int64(100+i*7%9000))
		b["delivery"] = append(b["delivery"], int64(500+i*i%40000))
	}
	merged, err := MergeLoad([]*LoadSummary{shardOf(t, 0, a), shardOf(t, 1, b)})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"delivery", "connect"} {
		all := newLoadHist()
		for _, v := range append(append([]int64{}, a[name]...), b[name]...) {
			all.RecordValue(v)
		}
		want := mustMetric(t, name, all)
		got, ok := merged.Metric(name)
		if !ok {
			t.Fatalf("merged summary has no %s metric", name)
		}
		if got.Count != want.Count || got.MinUS != want.MinUS || got.MaxUS != want.MaxUS || got.MeanUS != want.MeanUS {
			t.Errorf("%s: got count %d min %v mean %v max %v, want %d %v %v %v",
				name, got.Count, got.MinUS, got.MeanUS, got.MaxUS, want.Count, want.MinUS, want.MeanUS, want.MaxUS)
		}
		for _, q := range Quantiles {
			k := QuantileKey(q)
			if got.Quantiles[k] != want.Quantiles[k] {
				t.Errorf("%s p%s: got %v, want %v", name, k, got.Quantiles[k], want.Quantiles[k])
			}
		}
		// Beyond the reported quantiles: the whole distribution is the same.
		gh, err := got.DecodeHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if !gh.Equals(all) {
			for q := 0.0; q <= 100; q += 0.01 {
				if g, w := gh.ValueAtQuantile(q), all.ValueAtQuantile(q); g != w {
					t.Fatalf("%s: at quantile %.2f got %d, want %d", name, q, g, w)
				}
			}
		}
	}
}

func TestMergeLoadCounters(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 14, 0, 0, 0, time.UTC)
	a := shardOf(t, 0, nil)
	a.Started, a.Finished = t0.Add(2*time.Second), t0.Add(62*time.Second)
	a.Delivery = Delivery{Expected: 1000, Received: 990, Duplicates: 5, OutOfOrder: 2, Reconnects: 7, NotOwed: 40}
	a.Errors = map[string]int64{"4100": 3, "dial": 1}
	a.Timeline = []Second{
		{T: 0, Phase: "ramp", Connections: 50, Sent: 10, Received: 400, Errors: 1, P50US: 300, P99US: 900, MaxUS: 1200},
		{T: 1, Phase: "steady", Connections: 100, Sent: 10, Received: 1000, P50US: 310, P99US: 800, MaxUS: 5000},
	}
	a.Generator = Generator{CPUSeconds: 10, CPUPercent: 16, MaxRSSKiB: 1000, KiBPerClient: 10, CPUPerMessageUS: 2, LagP99US: 100, LagMaxUS: 900}
	a.Checks = []Check{{Name: "reach == 100%", Pass: false}}
	a.Valid, a.Invalid = false, []string{"generator saturated"}

	b := shardOf(t, 1, nil)
	b.Plan.Scenarios = []string{"chat", "seat-map"} // same set, other order
	b.Started, b.Finished = t0, t0.Add(60*time.Second)
	b.Delivery = Delivery{Expected: 2000, Received: 2000, OutOfOrder: 1, Reconnects: 3, NotOwed: 2}
	b.Errors = map[string]int64{"4100": 2}
	b.Timeline = []Second{
		{T: 2, Phase: "steady", Connections: 200, Sent: 20, Received: 2000, P50US: 280, P99US: 700, MaxUS: 900},
		{T: 1, Phase: "steady", Connections: 200, Sent: 20, Received: 2000, Errors: 2, P50US: 290, P99US: 950, MaxUS: 1100},
	}
	b.Generator = Generator{CPUSeconds: 30, CPUPercent: 48, MaxRSSKiB: 3000, KiBPerClient: 15, CPUPerMessageUS: 3, LagP99US: 50, LagMaxUS: 2000, Saturated: true}
	b.Checks = []Check{{Name: "reach == 100%", Pass: true}}
	b.Shards = 2 // itself a merge of two
	b.Interrupted = true

	m, err := MergeLoad([]*LoadSummary{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Interrupted {
		t.Errorf("a merge with an interrupted shard is not marked interrupted")
	}
	// 985 unique + 2000 of 3000: 15 lost.
	if want := (Delivery{Expected: 3000, Received: 2990, Lost: 15, Duplicates: 5, OutOfOrder: 3, Reach: 2985.0 / 3000, Reconnects: 10, NotOwed: 42}); m.Delivery != want {
		t.Errorf("delivery: got %+v, want %+v", m.Delivery, want)
	}
	if m.Errors["4100"] != 5 || m.Errors["dial"] != 1 || len(m.Errors) != 2 {
		t.Errorf("errors: got %v, want 4100:5 dial:1", m.Errors)
	}
	// a started 2 s after b: its seconds move by 2, so the timelines add up in wall time.
	wantTL := []Second{
		{T: 1, Phase: "steady", Connections: 200, Sent: 20, Received: 2000, Errors: 2, P50US: 290, P99US: 950, MaxUS: 1100},
		{T: 2, Phase: "ramp", Connections: 250, Sent: 30, Received: 2400, Errors: 1, P50US: 300, P99US: 900, MaxUS: 1200},
		{T: 3, Phase: "steady", Connections: 100, Sent: 10, Received: 1000, P50US: 310, P99US: 800, MaxUS: 5000},
	}
	if len(m.Timeline) != len(wantTL) {
		t.Fatalf("timeline: got %d seconds, want %d", len(m.Timeline), len(wantTL))
	}
	for i := range wantTL {
		if m.Timeline[i] != wantTL[i] {
			t.Errorf("timeline[%d]: got %+v, want %+v", i, m.Timeline[i], wantTL[i])
		}
	}
	// 10 s at 2 µs/msg is 5M messages, 30 s at 3 µs/msg is 10M: 40 s over 15M messages.
	g := m.Generator
	if g.CPUSeconds != 40 || g.CPUPercent != 48 || g.MaxRSSKiB != 4000 || g.LagP99US != 100 || g.LagMaxUS != 2000 || !g.Saturated {
		t.Errorf("generator: got %+v", g)
	}
	if want := 40e6 / 15e6; math.Abs(g.CPUPerMessageUS-want) > 1e-9 {
		t.Errorf("cpu per message: got %v, want %v", g.CPUPerMessageUS, want)
	}
	if want := (10.0*100 + 15*200) / 300; math.Abs(g.KiBPerClient-want) > 1e-9 {
		t.Errorf("KiB per client: got %v, want %v", g.KiBPerClient, want)
	}
	if m.Plan.Clients != 300 || m.Plan.ShardCount != 2 || m.Plan.Shard != 0 || m.Shards != 3 {
		t.Errorf("plan: got clients %d shard %d/%d shards %d, want 300 0/2 3", m.Plan.Clients, m.Plan.Shard, m.Plan.ShardCount, m.Shards)
	}
	if !m.Started.Equal(t0) || !m.Finished.Equal(t0.Add(62*time.Second)) {
		t.Errorf("got started %v finished %v, want %v and +62s", m.Started, m.Finished, t0)
	}
	if m.Valid || len(m.Invalid) != 1 || m.Invalid[0] != "shard 0: generator saturated" {
		t.Errorf("got valid %v invalid %q, want false and the reason of shard 0", m.Valid, m.Invalid)
	}
	if len(m.Checks) != 2 || m.Checks[0].Name != "shard 0: reach == 100%" || m.Checks[1].Name != "shard 1: reach == 100%" {
		t.Errorf("checks: got %+v", m.Checks)
	}
	if a.Checks[0].Name != "reach == 100%" || len(a.Errors) != 2 || a.Errors["4100"] != 3 {
		t.Error("MergeLoad modified its input")
	}
}

func TestMergeLoadRefuses(t *testing.T) {
	ok := func() *LoadSummary { return shardOf(t, 0, nil) }
	for _, tc := range []struct {
		name  string
		parts func() []*LoadSummary
	}{
		{"no parts", func() []*LoadSummary { return nil }},
		{"nil part", func() []*LoadSummary { return []*LoadSummary{ok(), nil} }},
		{"other format", func() []*LoadSummary { b := ok(); b.Format = "pushcert.load/v2"; return []*LoadSummary{ok(), b} }},
		{"other scenarios", func() []*LoadSummary { b := ok(); b.Plan.Scenarios = []string{"chat"}; return []*LoadSummary{ok(), b} }},
		{"corrupt histogram", func() []*LoadSummary { b := ok(); b.Metrics[0].Histogram = "@@"; return []*LoadSummary{ok(), b} }},
		{"histogram missing", func() []*LoadSummary {
			b := ok()
			b.Metrics[0].Histogram, b.Metrics[0].Count = "", 3
			return []*LoadSummary{ok(), b}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MergeLoad(tc.parts()); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestMergeLoadOneShardKeepsNumbers(t *testing.T) {
	s := fixtureLoad(t)
	m, err := MergeLoad([]*LoadSummary{s})
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	s.Checks, m.Checks = nil, nil // renamed with the shard index
	if err := WriteLoadConsole(&a, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteLoadConsole(&b, m); err != nil {
		t.Fatal(err)
	}
	// KiB per client is recomputed (9.8304 from 98,304 KiB / 10,000), the rest is untouched.
	if a.String() != b.String() {
		t.Errorf("one shard merged renders differently:\n%s", firstDiff(b.Bytes(), a.Bytes()))
	}
}

// summaryWith is a summary whose delivery metric has the given p50, p99 and p99.9 (µs).
func summaryWith(p50, p99, p999, reach float64) *LoadSummary {
	return &LoadSummary{
		Format: LoadFormat,
		Metrics: []LatencyMetric{
			{Name: "delivery", Count: 1000, Quantiles: map[string]float64{"50": p50, "99": p99, "99.9": p999}},
			{Name: "connect", Count: 0, Quantiles: map[string]float64{}},
		},
		Delivery: Delivery{Expected: 1000, Reach: reach},
	}
}

func TestCompareLoad(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base, cur *LoadSummary
		max       float64
		want      map[string]bool // stat -> regressed
	}{
		{"identical", summaryWith(500, 4000, 9000, 1), summaryWith(500, 4000, 9000, 1), 0.1,
			map[string]bool{"p50": false, "p99": false, "p99.9": false, "reach": false}},
		{"within the allowance", summaryWith(500, 4000, 9000, 1), summaryWith(540, 4399, 9900, 1), 0.1,
			map[string]bool{"p50": false, "p99": false, "p99.9": false, "reach": false}},
		{"past the allowance", summaryWith(500, 4000, 9000, 1), summaryWith(600, 4401, 9000, 1), 0.1,
			map[string]bool{"p50": true, "p99": true, "p99.9": false, "reach": false}},
		{"tiny values under the 50 µs floor", summaryWith(40, 80, 100, 1), summaryWith(80, 130, 150, 1), 0.1,
			map[string]bool{"p50": false, "p99": false, "p99.9": false, "reach": false}},
		{"just past the floor", summaryWith(40, 80, 100, 1), summaryWith(91, 80, 100, 1), 0.1,
			map[string]bool{"p50": true, "p99": false, "p99.9": false, "reach": false}},
		{"faster is not a regression", summaryWith(500, 4000, 9000, 0.99), summaryWith(100, 400, 900, 1), 0,
			map[string]bool{"p50": false, "p99": false, "p99.9": false, "reach": false}},
		{"any reach drop", summaryWith(500, 4000, 9000, 1), summaryWith(500, 4000, 9000, 0.99999), 0.5,
			map[string]bool{"p50": false, "p99": false, "p99.9": false, "reach": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			regs, err := CompareLoad(tc.base, tc.cur, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, r := range regs {
				if r.Metric == "connect" {
					t.Errorf("compared connect, which has no values")
				}
				got[r.Stat] = r.Regressed
			}
			if len(got) != len(tc.want) {
				t.Errorf("got stats %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if g, ok := got[k]; !ok || g != w {
					t.Errorf("%s: got regressed %v (present %v), want %v", k, g, ok, w)
				}
			}
		})
	}
}

func TestCompareLoadRefuses(t *testing.T) {
	s := summaryWith(1, 2, 3, 1)
	other := summaryWith(1, 2, 3, 1)
	other.Format = "pushcert.load/v0"
	for _, tc := range []struct {
		name      string
		base, cur *LoadSummary
		max       float64
	}{
		{"nil base", nil, s, 0.1},
		{"negative allowance", s, s, -0.1},
		{"NaN allowance", s, s, math.NaN()},
		{"formats differ", s, other, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CompareLoad(tc.base, tc.cur, tc.max); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestWriteCompareGolden(t *testing.T) {
	base := fixtureLoad(t)
	cur := fixtureLoad(t)
	m := cur.Metrics[3] // delivery, 25% slower at p99 and p99.9
	m.Quantiles = map[string]float64{"50": m.Quantiles["50"], "99": m.Quantiles["99"] * 1.25, "99.9": m.Quantiles["99.9"] * 1.25}
	cur.Metrics[3] = m
	cur.Delivery.Reach = 0.9995
	regs, err := CompareLoad(base, cur, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCompare(&buf, regs); err != nil {
		t.Fatal(err)
	}
	golden(t, "load_compare.txt", buf.Bytes())
}

var plotSVG = regexp.MustCompile(`(?s)<svg class="plot".*?</svg>`)

// withoutPlots replaces each plot's SVG by a placeholder: the SVG is gonum's output, checked by the
// tests below, and floating-point layout may differ in the last digit between architectures.
func withoutPlots(b []byte) []byte {
	return plotSVG.ReplaceAllFunc(b, func(svg []byte) []byte {
		label := regexp.MustCompile(`aria-label="[^"]*"`).Find(svg)
		return append(append([]byte(`<svg class="plot" `), label...), []byte(`>…</svg>`)...)
	})
}

func renderLoadHTML(t *testing.T, s *LoadSummary) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteLoadHTML(&buf, s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteLoadHTMLGolden(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		s            func(testing.TB) *LoadSummary
	}{
		{"realistic valid run", "load_report.html", fixtureLoad},
		{"invalid run without timeline", "load_report_invalid.html", fixtureLoadSmall},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := renderLoadHTML(t, tc.s(t))
			if path := os.Getenv("PUSHCERT_LOAD_HTML_DIR"); path != "" {
				if err := os.WriteFile(path+"/"+strings.TrimSuffix(tc.golden, ".html")+".full.html", page, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden(t, tc.golden, withoutPlots(page))
		})
	}
}

func TestWriteLoadHTMLPlots(t *testing.T) {
	page := string(renderLoadHTML(t, fixtureLoad(t)))
	svgs := plotSVG.FindAllString(page, -1)
	// Percentiles, delivery over time, sent, received, connections, errors.
	if len(svgs) != 6 {
		t.Fatalf("got %d plots, want 6", len(svgs))
	}
	// The legend is HTML just above its plot.
	legendOf := func(svg string) string {
		head := page[:strings.Index(page, svg)]
		return head[strings.LastIndex(head, `<div class="plothead">`):]
	}
	for i, tc := range []struct {
		name       string
		want, not  []string
		legendWant []string
	}{
		{"percentile", []string{">0%<", ">50%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<", ">Latency (ms, log scale)<", ">Percentile<"}, nil,
			[]string{"ln-blue\"></span>delivery<", "fanout<", "client_event<", "connect<", "subscribe<"}},
		{"delivery over time", []string{">Delivery latency (ms, log scale)<", ">Time since start (s)<"}, nil,
			[]string{"ln-red\"></span>max<", "ln-orange\"></span>p99<", "ln-blue\"></span>p50<"}},
		{"sent", []string{">Sent per second<"}, nil, nil},
		{"received", []string{">Received per second<"}, nil, nil},
		{"connections", []string{">Open connections<", ">10k<"}, []string{">0k<"}, nil},
		{"errors", []string{">Errors per second<"}, nil, nil},
	} {
		for _, w := range tc.want {
			if !strings.Contains(svgs[i], w) {
				t.Errorf("%s plot lacks %q", tc.name, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(svgs[i], n) {
				t.Errorf("%s plot has %q", tc.name, n)
			}
		}
		for _, w := range tc.legendWant {
			if !strings.Contains(legendOf(svgs[i]), w) {
				t.Errorf("%s legend lacks %q", tc.name, w)
			}
		}
	}
	if strings.Contains(legendOf(svgs[0]), "trigger") {
		t.Error("percentile plot shows trigger, want only the five user-facing metrics")
	}
	for _, svg := range svgs {
		if strings.Contains(svg, "font-family:Liberation Sans;") || !strings.Contains(svg, "sans-serif") {
			t.Error("plot text has no fallback font family")
		}
	}
}

// TestWriteLoadHTMLMarksRestarts: a run whose server was restarted has a dashed line at that second
// in every plot over time, named in the delivery plot's legend; a run without one has neither.
func TestWriteLoadHTMLMarksRestarts(t *testing.T) {
	s := fixtureLoad(t)
	without := string(renderLoadHTML(t, s))
	s.Restarts = []float64{12}
	with := string(renderLoadHTML(t, s))
	if strings.Contains(without, "server restart") || strings.Contains(without, "stroke-dasharray") {
		t.Error("a run without a restart marks one")
	}
	if !strings.Contains(with, `ln-ink"></span>server restart<`) {
		t.Error("the delivery plot's legend does not name the restart")
	}
	if n := strings.Count(with, "stroke-dasharray"); n < 5 {
		t.Errorf("%d dashed lines, want one in each of the 5 plots over time", n)
	}
}

func TestWriteLoadHTMLDeterministic(t *testing.T) {
	s := fixtureLoad(t)
	a, b := renderLoadHTML(t, s), renderLoadHTML(t, s)
	if !bytes.Equal(a, b) {
		t.Errorf("two renderings differ:\n%s", firstDiff(a, b))
	}
}

func TestWriteLoadHTMLSelfContained(t *testing.T) {
	for name, s := range map[string]*LoadSummary{"realistic": fixtureLoad(t), "small": fixtureLoadSmall(t)} {
		page := string(renderLoadHTML(t, s))
		urls := regexp.MustCompile(`https?://[^\s"'<>)]*`).FindAllString(page, -1)
		for _, u := range urls {
			switch {
			case u == "http://www.w3.org/2000/svg":
			case strings.HasPrefix(u, "http://10.0.0.12:6001"): // the target's API URL, shown as text
			case strings.HasPrefix(u, "http://10.0.0.5:9090/hooks/"): // the webhook URL, shown as text
			default:
				t.Errorf("%s: page refers to %s", name, u)
			}
		}
		for _, bad := range []string{"<link", "<script src", "<img", "@import", "url(", "@font-face", "xlink:href"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: page contains %q", name, bad)
			}
		}
	}
}

func TestWriteLoadHTMLEscapes(t *testing.T) {
	s := fixtureLoadSmall(t)
	s.Invalid = append(s.Invalid, `<script>alert(1)</script>`)
	page := string(renderLoadHTML(t, s))
	if strings.Contains(page, "<script>alert") {
		t.Error("an invalid reason was written unescaped")
	}
}

func TestPercentileXs(t *testing.T) {
	for _, tc := range []struct {
		count int64
		last  float64
	}{{1, 2}, {7, 7}, {100, 100}, {12_345, 12_345}, {5_000_000, 1e6}} {
		xs := percentileXs(tc.count)
		if got := xs[len(xs)-1]; got != tc.last {
			t.Errorf("count %d: got last x %v, want %v", tc.count, got, tc.last)
		}
		if xs[0] != 1 {
			t.Errorf("count %d: got first x %v, want 1", tc.count, xs[0])
		}
	}
}

func TestMergeLoadRefusesMismatchedShards(t *testing.T) {
	a, b := shardOf(t, 0, nil), shardOf(t, 0, nil)
	a.Plan.ShardCount, b.Plan.ShardCount = 2, 2
	if _, err := MergeLoad([]*LoadSummary{a, b}); err == nil || !strings.Contains(err.Error(), "both shard 1 of 2") {
		t.Errorf("the same shard twice: got %v", err)
	}
	c := shardOf(t, 1, nil)
	c.Plan.ShardCount = 2
	c.Plan.Rate = a.Plan.Rate + 1
	if _, err := MergeLoad([]*LoadSummary{a, c}); err == nil || !strings.Contains(err.Error(), "another plan") {
		t.Errorf("another rate: got %v", err)
	}
}

// TestLoadReportsShowServerUsage: when load ran the embedded server as a child process, its CPU
// and peak memory stand beside the generator's in the console and on the page.
func TestLoadReportsShowServerUsage(t *testing.T) {
	s := fixtureLoad(t)
	s.Server = &ServerUsage{CPUSeconds: 12.5, MaxRSSKiB: 204800, Processes: 2}
	var b strings.Builder
	if err := WriteLoadConsole(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Load generator and server", "server cpu", "(12.50 s)", "server rss", "200.0 MiB (largest of 2 processes: restarted)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("console lacks %q:\n%s", want, b.String())
		}
	}
	page := string(renderLoadHTML(t, s))
	for _, want := range []string{"Load generator and server", "Server CPU", "Server peak RSS"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestSteadyOverlap: a merge says how long every shard was in its steady phase at once, and
// fails the check below MinSteadyOverlap.
func TestSteadyOverlap(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	part := func(shard int, start time.Time) *LoadSummary {
		return &LoadSummary{Plan: LoadPlan{DurationS: 20, Shard: shard, ShardCount: 2}, SteadyAt: start}
	}
	for _, tc := range []struct {
		name  string
		parts []*LoadSummary
		want  string // "" for no check
		pass  bool
	}{
		{"together", []*LoadSummary{part(0, at), part(1, at)}, "for 100.0%", true},
		{"half a second apart", []*LoadSummary{part(0, at), part(1, at.Add(500*time.Millisecond))}, "for 97.5%", true},
		{"three seconds apart", []*LoadSummary{part(0, at.Add(3*time.Second)), part(1, at)}, "for 85.0%", false},
		{"never together", []*LoadSummary{part(0, at), part(1, at.Add(time.Minute))}, "for 0.0%", false},
		{"a summary without its start", []*LoadSummary{part(0, at), part(1, time.Time{})}, "", false},
	} {
		c, _, _, ok := steadyOverlap(tc.parts)
		switch {
		case tc.want == "" && ok:
			t.Errorf("%s: a check without every start: %+v", tc.name, c)
		case tc.want != "" && (!ok || c.Pass != tc.pass || !strings.Contains(c.Detail, tc.want)):
			t.Errorf("%s: %+v, want pass %v saying %q", tc.name, c, tc.pass, tc.want)
		}
	}
}

// TestReadLoadV1: a v1 summary is read as v2, its missed_while_away as not owed; another format
// is refused.
func TestReadLoadV1(t *testing.T) {
	s, err := ReadLoad([]byte(`{"format":"pushcert.load/v1","delivery":{"expected":10,"missed_while_away":3}}`))
	if err != nil || s.Format != LoadFormat || s.Delivery.NotOwed != 3 || s.Delivery.Expected != 10 {
		t.Errorf("v1: %+v %v", s, err)
	}
	if _, err := ReadLoad([]byte(`{"format":"pushcert.report/v1"}`)); err == nil || !strings.Contains(err.Error(), "not a load summary") {
		t.Errorf("another format: %v", err)
	}
}

// TestSteadyOverlapOfMerges: a merged summary carries the time its shards were steady together,
// so merging merges judges what merging all the shards at once would.
func TestSteadyOverlapOfMerges(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	part := func(shard int, start time.Time) *LoadSummary {
		return &LoadSummary{Format: LoadFormat, Plan: LoadPlan{DurationS: 20, Shard: shard, ShardCount: 3}, SteadyAt: start, Shards: 1, Valid: true}
	}
	a, b, c := part(0, at), part(1, at.Add(2*time.Second)), part(2, at.Add(-2*time.Second))
	ab, err := MergeLoad([]*LoadSummary{a, b})
	if err != nil {
		t.Fatal(err)
	}
	whole, _, _, _ := steadyOverlap([]*LoadSummary{a, b, c})
	nested, _, _, _ := steadyOverlap([]*LoadSummary{ab, c})
	if whole.Pass || nested.Pass || whole.Detail != nested.Detail || !strings.Contains(nested.Detail, "all 3 shards") || !strings.Contains(nested.Detail, "80.0%") {
		t.Errorf("all at once: %s; merge of a merge: %s; want both 80.0%% of 3 shards, failed", whole.Detail, nested.Detail)
	}
}
