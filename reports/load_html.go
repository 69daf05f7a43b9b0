package reports

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

// loadPage is the view model of the load report: every string is formatted here, so the template
// only places them (it shares its parse with the conformance templates and their functions).
type loadPage struct {
	S         *LoadSummary
	Outcomes  []Outcome // for the shared stylesheet
	Title     string
	Embedded  bool // the target is the in-process reference server
	Tool      string
	Date      string
	Verdict   string
	Badge     string // CSS class of the verdict: ok, warn (valid, a check failed), ko (invalid)
	BadgeNote string
	Facts     []loadMeta
	KPIs      []loadKPI

	Latency     [][]string // header row first
	Delivery    []fact
	Webhooks    [][]string // header row first; nil without --webhook-listen
	Nodes       [][]string // header row first; nil for one node
	WebhookNote string
	Errors      []fact
	ErrorTotal  string
	Generator   []fact
	Server      bool // the embedded server's usage is in Generator too
	Checks      []Check
	ChecksNote  string
	SteadyNote  string
	Plots       []loadPlot // full width
	SmallPlots  []loadPlot // two per row
	NoTimeline  bool
	Percentiles *loadPlot
}

// generatorLabels are the page's names for the console's generator lines.
var generatorLabels = map[string]string{
	"cpu": "CPU", "rss": "Peak RSS", "cpu/message": "CPU per message", "pacer lag": "Pacer lag", "saturated": "Saturated",
	"server cpu": "Server CPU", "server rss": "Server peak RSS",
}

// loadMeta is one cell of the plan grid; Span widens the last cell to fill its row.
type loadMeta struct {
	Key, Value, Span string
}

type loadKPI struct {
	Label, Value, Unit, Note string
	Bad                      bool
}

type loadPlot struct {
	Title, Note string
	SVG         template.HTML
	Legend      []legendEntry
	Empty       string // shown instead of the plot when there is nothing to draw
}

// WriteLoadHTML writes one self-contained page for a load summary: inline CSS, plots as inline SVG
// drawn by gonum/plot, no script, no external asset (fonts are named, never fetched). It shows the
// summary of WriteLoadConsole, the HdrHistogram percentile plot of the latency metrics, and the
// delivery latency, throughput, connections and errors second by second with the steady window
// shaded.
func WriteLoadHTML(w io.Writer, s *LoadSummary) error {
	if s == nil {
		return errors.New("reports: nil load summary")
	}
	page, err := newLoadPage(s)
	if err != nil {
		return err
	}
	return renderPage(w, "load", page)
}

func newLoadPage(s *LoadSummary) (*loadPage, error) {
	p := &loadPage{
		S:        s,
		Outcomes: Outcomes(),
		Title:    s.Target.WebSocketURL,
		Tool:     s.Tool.Name + " " + s.Tool.Version,
		Latency:  latencyRows(s.Metrics, "—"),
		Checks:   s.Checks,
	}
	if p.Title == "" {
		p.Title = loadTargetName(s)
	} else {
		p.Title += moreNodes(s)
		p.Embedded = s.Target.Embedded
	}
	if !s.Started.IsZero() {
		p.Date = s.Started.UTC().Format("2 January 2006, 15:04 MST")
	}
	facts := loadFacts(s)
	for i, f := range facts {
		m := loadMeta{Key: f.Key, Value: f.Value}
		if r := len(facts) % 3; i == len(facts)-1 && r != 0 {
			m.Span = "span" + strconv.Itoa(4-r)
		}
		p.Facts = append(p.Facts, m)
	}
	p.Server = s.Server != nil
	for _, f := range generatorFacts(s) {
		p.Generator = append(p.Generator, fact{generatorLabels[f.Key], f.Value})
	}
	p.Verdict, p.Badge = "VALID", "ok"
	switch {
	case !s.Valid:
		p.Verdict, p.Badge = "INVALID", "ko"
	case failedChecks(s.Checks) > 0:
		p.Badge = "warn"
	}
	switch f := failedChecks(s.Checks); {
	case len(s.Checks) == 0:
		p.BadgeNote = "no checks"
	case f == 0:
		p.BadgeNote = "all " + plural(len(s.Checks), "check") + " passed"
	default:
		p.BadgeNote = fmt.Sprintf("%d of %s failed", f, plural(len(s.Checks), "check"))
	}
	if len(s.Checks) > 0 {
		p.ChecksNote = fmt.Sprintf("%d of %d passed", len(s.Checks)-failedChecks(s.Checks), len(s.Checks))
	}
	d := s.Delivery
	p.Delivery = []fact{
		{"Expected", fmtInt(d.Expected)}, {"Received", fmtInt(d.Received)}, {"Lost", fmtInt(d.Lost)},
		{"Duplicates", fmtInt(d.Duplicates)}, {"Out of order", fmtInt(d.OutOfOrder)}, {"Reach", strings.Replace(fmtReach(d), "-", "—", 1)},
	}
	if d.Reconnects > 0 || d.NotOwed > 0 {
		p.Delivery = append(p.Delivery, fact{"Reconnections", fmtInt(d.Reconnects)}, fact{"Not owed (receiver away, or refused during the restart)", fmtInt(d.NotOwed)})
	}
	if len(s.Nodes) > 0 {
		p.Nodes = nodeRows(s.Nodes, "–")
	}
	if n := s.Webhooks; n != nil {
		p.Webhooks, p.WebhookNote = webhookRows(n), webhookNote(n)
	}
	for _, e := range sortedErrors(s.Errors) {
		p.Errors = append(p.Errors, fact{e.Code, fmtInt(e.Count)})
	}
	if len(s.Errors) > 0 {
		p.ErrorTotal = fmtInt(errorTotal(s.Errors))
	}
	p.KPIs = loadKPIs(s)
	p.SteadyNote = fmt.Sprintf("Shaded: the steady window, %s–%s s, the only phase that feeds the headline numbers.",
		fmtFloat(s.Steady.FromS), fmtFloat(s.Steady.ToS))

	if pp, err := percentilePlot(s); err != nil {
		return nil, err
	} else if pp != nil {
		svg, err := renderSVG(pp.Plot, plotWideW, plotWideH, "Latency by percentile")
		if err != nil {
			return nil, err
		}
		p.Percentiles = &loadPlot{Title: "Latency by percentile", SVG: template.HTML(svg), Legend: pp.Legend,
			Note: "HdrHistogram percentile plot: the x axis spreads the tail, each step right is ten times rarer."}
	}
	if len(s.Timeline) == 0 {
		p.NoTimeline = true
		return p, nil
	}
	dt, err := plotOrEmpty(deliveryOverTime, s, plotWideW, plotWideH, "Delivery latency over time", "No delivery was measured.")
	if err != nil {
		return nil, err
	}
	dt.Note = "p50, p99 and maximum of each second's deliveries."
	p.Plots = append(p.Plots, dt)
	for _, sp := range []struct {
		f            func(*LoadSummary) (*chart, error)
		title, empty string
	}{
		{sentOverTime, "Sent per second", ""},
		{receivedOverTime, "Received per second", ""},
		{connectionsOverTime, "Open connections", ""},
		{errorsOverTime, "Errors per second", ""},
	} {
		lp, err := plotOrEmpty(sp.f, s, plotHalfW, plotHalfH, sp.title, "Nothing to plot.")
		if err != nil {
			return nil, err
		}
		p.SmallPlots = append(p.SmallPlots, lp)
	}
	if errorTotal(s.Errors) == 0 && timelineErrors(s.Timeline) == 0 {
		p.SmallPlots[3] = loadPlot{Title: "Errors per second", Empty: "No errors during the run."}
	}
	return p, nil
}

func plotOrEmpty(f func(*LoadSummary) (*chart, error), s *LoadSummary, w, h float64, title, empty string) (loadPlot, error) {
	pl, err := f(s)
	if err != nil {
		return loadPlot{}, err
	}
	if pl == nil {
		return loadPlot{Title: title, Empty: empty}, nil
	}
	svg, err := renderSVG(pl.Plot, w, h, title)
	if err != nil {
		return loadPlot{}, err
	}
	return loadPlot{Title: title, SVG: template.HTML(svg), Legend: pl.Legend}, nil
}

func timelineErrors(ts []Second) int64 {
	var n int64
	for _, s := range ts {
		n += s.Errors
	}
	return n
}

// loadKPIs are the headline tiles: the delivery latency a user feels, whether everything
// arrived, how much traffic that was, and whether the generator can be trusted.
func loadKPIs(s *LoadSummary) []loadKPI {
	var ks []loadKPI
	if m, ok := s.Metric("delivery"); ok && m.Count > 0 {
		for _, q := range []string{"50", "99", "99.9"} {
			if v, ok := m.Quantiles[q]; ok {
				ks = append(ks, loadKPI{Label: "Delivery p" + q, Value: fmtMS(v), Unit: "ms", Note: fmtInt(m.Count) + " deliveries"})
			}
		}
	}
	if d := s.Delivery; d.Expected > 0 {
		ks = append(ks, loadKPI{Label: "Reach", Value: strconv.FormatFloat(100*d.Reach, 'f', 3, 64), Unit: "%",
			Note: fmtInt(d.Lost) + " lost", Bad: d.Lost > 0})
	}
	if rate, ok := steadyRate(s); ok {
		ks = append(ks, loadKPI{Label: "Received", Value: fmtInt(int64(math.Round(rate))), Unit: "/s", Note: "steady average"})
	}
	g := s.Generator
	note := "not saturated"
	if g.Saturated {
		note = "SATURATED: " + bottleneckText(g.Bottleneck)
	}
	ks = append(ks, loadKPI{Label: "Generator CPU", Value: strconv.FormatFloat(g.CPUPercent, 'f', 0, 64), Unit: "%", Note: note, Bad: g.Saturated})
	return ks
}

// steadyRate is the mean of the received-per-second of the seconds inside the steady window.
func steadyRate(s *LoadSummary) (float64, bool) {
	var sum, n int64
	for _, sec := range s.Timeline {
		if t := float64(sec.T); t >= s.Steady.FromS && t < s.Steady.ToS {
			sum += sec.Received
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return float64(sum) / float64(n), true
}
