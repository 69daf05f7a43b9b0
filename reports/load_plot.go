package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot sizes in points. The page scales every SVG to its column, so wide and half-width plots are
// sized in the same proportion as their columns and their text ends up the same size on screen.
const (
	plotWideW = 760
	plotWideH = 300
	plotHalfW = 372
	plotHalfH = 230
)

// plotFont is Liberation Sans, the sans-serif face gonum measures text with. The SVG names it
// without embedding it (that would add hundreds of KiB per plot); svgFonts adds fallbacks with
// the same metrics (Arial, Helvetica), so labels keep the width they were laid out with.
var plotFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Colors of the series, from the page's palette.
var (
	colInk     = rgb(0x1f2328)
	colMuted   = rgb(0x59636e)
	colGrid    = rgb(0xe4e8ec)
	colSteady  = color.NRGBA{R: 0x1a, G: 0x7f, B: 0x37, A: 0x16}
	colBlue    = seriesColor{"blue", rgb(0x0969da)}
	colOrange  = seriesColor{"orange", rgb(0xbc4c00)}
	colRed     = seriesColor{"red", rgb(0xcf222e)}
	colGreen   = seriesColor{"green", rgb(0x1a7f37)}
	colPurple  = seriesColor{"purple", rgb(0x8250df)}
	colTeal    = seriesColor{"teal", rgb(0x1b7c83)}
	colRestart = seriesColor{"ink", rgb(0x1f2328)} // a vertical dashed line where the server restarted
	colErrFill = color.NRGBA{R: 0xcf, G: 0x22, B: 0x2e, A: 0x33}
)

// seriesColor is a line color and the class (ln-<name>) of its swatch in the page's legends: the
// legends are HTML above each plot, so they never cover data and read at the page's text size.
type seriesColor struct {
	Name string
	RGB  color.NRGBA
}

// legendEntry is one item of a plot's legend.
type legendEntry struct{ Name, Class string }

// chart is a plot and its legend, drawn by the page.
type chart struct {
	*plot.Plot
	Legend []legendEntry
}

func rgb(v uint32) color.NRGBA {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// percentileMetrics are the metrics of the percentile plot, each with its color, in legend order.
var percentileMetrics = []struct {
	Name  string
	Color seriesColor
}{
	{"delivery", colBlue},
	{"fanout", colPurple},
	{"client_event", colGreen},
	{"connect", colOrange},
	{"subscribe", colTeal},
	{"reconnect", colRed},
}

// percentileLabels label the x axis of the percentile plot, at log10(1/(1-q)).
var percentileLabels = []plot.Tick{
	{Value: 0, Label: "0%"}, {Value: math.Log10(2), Label: "50%"}, {Value: 1, Label: "90%"}, {Value: 2, Label: "99%"},
	{Value: 3, Label: "99.9%"}, {Value: 4, Label: "99.99%"}, {Value: 5, Label: "99.999%"},
	{Value: 6, Label: "99.9999%"},
}

// newPlot is a plot in the house style: sans-serif text, light grid, no top or right frame.
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.White
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(plotFont, 10)
		a.Label.TextStyle.Color = colInk
		a.Tick.Label.Font = font.From(plotFont, 9)
		a.Tick.Label.Color = colMuted
		a.LineStyle.Color = colMuted
		a.Tick.LineStyle.Color = colMuted
		a.Tick.Length = vg.Points(4)
		a.Padding = 0
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	p.X.Label.Padding = vg.Points(4)
	p.Y.Label.Padding = vg.Points(6)
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = colGrid, colGrid
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(g)
	return p
}

func newSeries(xys plotter.XYs, c seriesColor, width float64) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.LineStyle.Color = c.RGB
	l.LineStyle.Width = vg.Points(width)
	return l, nil
}

// percentilePlot is HdrHistogram's percentile plot: latency against 1/(1-q) on a log axis, so
// the tail gets as much room as the median. Each line stops at the quantile its sample count
// supports (1/(1-q) <= count): past that, a line would only repeat the maximum.
//
// Log axes plot log10 of the values on a linear scale, with ticks labelled in the values:
// gonum's LogScale places the axis label's glyph box at the arithmetic midpoint of the range,
// which on a log axis sits near the end and pads the plot with a wide empty margin.
func percentilePlot(s *LoadSummary) (*chart, error) {
	p := newPlot("Percentile", "Latency (ms)")
	var legend []legendEntry
	var maxCount int64
	ymin, ymax := math.Inf(1), 0.0
	n := 0
	for _, pm := range percentileMetrics {
		m, ok := s.Metric(pm.Name)
		if !ok || m.Count == 0 {
			continue
		}
		h, err := m.DecodeHistogram()
		if err != nil {
			return nil, err
		}
		maxCount = max(maxCount, m.Count)
		xs := percentileXs(m.Count)
		xys := make(plotter.XYs, len(xs))
		for i, x := range xs {
			q := 100 * (1 - 1/x)
			if i == len(xs)-1 {
				q = 100 // end the line at the maximum, which the last sampled quantile may miss
			}
			ms := max(float64(h.ValueAtQuantile(q)), 1) / 1000
			xys[i] = plotter.XY{X: math.Log10(x), Y: math.Log10(ms)}
			ymin, ymax = min(ymin, ms), max(ymax, ms)
		}
		l, err := newSeries(xys, pm.Color, 1.6)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		legend = append(legend, legendEntry{pm.Name, "ln-" + pm.Color.Name})
		n++
	}
	if n == 0 {
		return nil, nil
	}
	xmax := percentileXMax(maxCount)
	p.X.Min, p.X.Max = 0, math.Log10(xmax)
	var ticks []plot.Tick
	for _, t := range percentileLabels {
		if t.Value <= p.X.Max {
			ticks = append(ticks, t)
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	// A log latency axis: the five metrics span three orders of magnitude, and on a linear axis
	// the connect tail flattens the delivery median into the x axis.
	p.Y.Tick.Marker = logTicks{}
	p.Y.Min, p.Y.Max = math.Log10(floor125(ymin)), math.Log10(ymax*1.25)
	p.Y.Label.Text = "Latency (ms, log scale)"
	return &chart{p, legend}, nil
}

// percentileXMax is the power of ten past the largest count: 10,000 values reach 99.99%.
func percentileXMax(count int64) float64 {
	x := 100.0
	for x < float64(count) && x < 1e6 {
		x *= 10
	}
	return x
}

// percentileXs samples 1/(1-q) at 40 points per decade, up to the count.
func percentileXs(count int64) []float64 {
	limit := min(percentileXMax(count), float64(max(count, 2)))
	var xs []float64
	for i := 0; ; i++ {
		x := math.Pow(10, float64(i)/40)
		if x >= limit {
			return append(xs, limit)
		}
		xs = append(xs, x)
	}
}

// steadyBand shades the steady window over the full height of a plot.
func steadyBand(w Window, ymin, ymax float64) (*plotter.Polygon, error) {
	if w.ToS <= w.FromS {
		return nil, nil
	}
	poly, err := plotter.NewPolygon(plotter.XYs{{X: w.FromS, Y: ymin}, {X: w.ToS, Y: ymin}, {X: w.ToS, Y: ymax}, {X: w.FromS, Y: ymax}})
	if err != nil {
		return nil, err
	}
	poly.Color = colSteady
	poly.LineStyle.Width = 0
	return poly, nil
}

// timelineOptions shape a timeline plot: a legend, a log y axis (latencies whose median and
// maximum are orders of magnitude apart), whole-number ticks (counts).
type timelineOptions struct{ Legend, Log, Integer bool }

// timeSeries is one line of a timeline plot.
type timeSeries struct {
	Name  string
	Color seriesColor
	Width float64
	Fill  color.Color
	Value func(Second) (float64, bool) // false leaves the second out (no deliveries in it)
}

// timelinePlot draws series over the seconds of the run, with the steady window shaded. It returns
// nil when no series has a value.
func timelinePlot(s *LoadSummary, yLabel string, opt timelineOptions, series ...timeSeries) (*chart, error) {
	p := newPlot("Time since start (s)", yLabel)
	var legend []legendEntry
	ymin, ymax := math.Inf(1), 0.0
	var lines []*plotter.Line
	for _, ts := range series {
		var xys plotter.XYs
		for _, sec := range s.Timeline {
			if v, ok := ts.Value(sec); ok {
				y := v
				if opt.Log {
					y = math.Log10(v) // see percentilePlot
				}
				xys = append(xys, plotter.XY{X: float64(sec.T), Y: y})
				ymin, ymax = min(ymin, v), max(ymax, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := newSeries(xys, ts.Color, ts.Width)
		if err != nil {
			return nil, err
		}
		l.FillColor = ts.Fill
		lines = append(lines, l)
		if opt.Legend {
			legend = append(legend, legendEntry{ts.Name, "ln-" + ts.Color.Name})
		}
	}
	if len(lines) == 0 {
		return nil, nil
	}
	bottom, top := 0.0, ymax*1.08
	if ymax == 0 {
		top = 1
	}
	if opt.Log {
		// Every value is > 0 here: series leave out the seconds without one.
		bottom, top = math.Log10(floor125(ymin)), math.Log10(ymax*1.25)
	}
	band, err := steadyBand(s.Steady, bottom, top)
	if err != nil {
		return nil, err
	}
	if band != nil {
		p.Add(band)
	}
	for _, l := range lines {
		p.Add(l)
	}
	for i, at := range s.Restarts {
		l, err := newSeries(plotter.XYs{{X: at, Y: bottom}, {X: at, Y: top}}, colRestart, 1.5)
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		if opt.Legend && i == 0 {
			legend = append(legend, legendEntry{"server restart", "ln-" + colRestart.Name})
		}
	}
	first, last := s.Timeline[0].T, s.Timeline[len(s.Timeline)-1].T
	p.X.Min, p.X.Max = float64(min(first, 0)), float64(max(last, first+1))
	p.Y.Min, p.Y.Max = bottom, top
	p.Y.Tick.Marker = niceTicks{Integer: opt.Integer}
	if opt.Log {
		p.Y.Tick.Marker = logTicks{}
	}
	p.X.Tick.Marker = timeTicks{}
	return &chart{p, legend}, nil
}

// The plots of the page, in order; a nil plot has no data and is left out.
func deliveryOverTime(s *LoadSummary) (*chart, error) {
	pos := func(f func(Second) float64) func(Second) (float64, bool) {
		return func(sec Second) (float64, bool) { v := f(sec); return v / 1000, v > 0 }
	}
	return timelinePlot(s, "Delivery latency (ms, log scale)", timelineOptions{Legend: true, Log: true},
		timeSeries{Name: "max", Color: colRed, Width: 1, Value: pos(func(x Second) float64 { return x.MaxUS })},
		timeSeries{Name: "p99", Color: colOrange, Width: 1.6, Value: pos(func(x Second) float64 { return x.P99US })},
		timeSeries{Name: "p50", Color: colBlue, Width: 1.6, Value: pos(func(x Second) float64 { return x.P50US })},
	)
}

func sentOverTime(s *LoadSummary) (*chart, error) {
	return timelinePlot(s, "Sent per second", timelineOptions{Integer: true},
		timeSeries{Name: "sent", Color: colBlue, Width: 1.6, Value: func(x Second) (float64, bool) { return float64(x.Sent), true }},
	)
}

func receivedOverTime(s *LoadSummary) (*chart, error) {
	return timelinePlot(s, "Received per second", timelineOptions{Integer: true},
		timeSeries{Name: "received", Color: colGreen, Width: 1.6, Value: func(x Second) (float64, bool) { return float64(x.Received), true }},
	)
}

func connectionsOverTime(s *LoadSummary) (*chart, error) {
	return timelinePlot(s, "Open connections", timelineOptions{Integer: true},
		timeSeries{Name: "connections", Color: colPurple, Width: 1.6, Value: func(x Second) (float64, bool) { return float64(x.Connections), true }},
	)
}

func errorsOverTime(s *LoadSummary) (*chart, error) {
	return timelinePlot(s, "Errors per second", timelineOptions{Integer: true},
		timeSeries{Name: "errors", Color: colRed, Width: 1.2, Fill: colErrFill, Value: func(x Second) (float64, bool) { return float64(x.Errors), true }},
	)
}

// niceTicks label a linear axis at about five round steps (1, 2, 2.5 or 5 times a power of ten),
// in one unit for the whole axis: 2.5k, 5k, 7.5k, 10k. gonum's default often labels only three
// values. Integer keeps steps whole, for counts.
type niceTicks struct{ Integer bool }

func (n niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: compactNumber(lo, 1)}}
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if n.Integer {
		step = math.Max(1, math.Round(step))
	}
	var vs []float64
	for i := math.Ceil(lo / step); i*step <= hi*(1+1e-9); i++ {
		vs = append(vs, i*step)
	}
	unit := 1.0
	if len(vs) > 0 {
		top := math.Max(math.Abs(vs[0]), math.Abs(vs[len(vs)-1]))
		switch {
		case top >= 1e6:
			unit = 1e6
		case top >= 1e4:
			unit = 1e3
		}
	}
	ts := make([]plot.Tick, len(vs))
	for i, v := range vs {
		ts[i] = plot.Tick{Value: v, Label: compactNumber(v, unit)}
	}
	return ts
}

// timeTicks label a time axis in seconds at a round step, at most ten labels.
type timeTicks struct{}

func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 3600.0
	for _, s := range []float64{1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800} {
		if (hi-lo)/s <= 10 {
			step = s
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ts
}

// logTicks label a log10-transformed axis (lo and hi are exponents) at 1, 2 and 5 times each
// power of ten (only the powers of ten when that would crowd the axis), in plain decimals:
// 0.2, 0.5, 1, 2, 5, 10.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	mantissas := []float64{1, 2, 5}
	if hi-lo > 4 {
		mantissas = []float64{1}
	}
	var ts []plot.Tick
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for _, m := range mantissas {
			v := m * math.Pow(10, e)
			if x := math.Log10(v); x >= lo-1e-9 && x <= hi+1e-9 {
				ts = append(ts, plot.Tick{Value: x, Label: strconv.FormatFloat(v, 'g', 6, 64)})
			}
		}
	}
	return ts
}

// floor125 rounds v down to 1, 2 or 5 times a power of ten.
func floor125(v float64) float64 {
	if v <= 0 {
		return 0.001
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*p <= v*(1+1e-9) {
			return m * p
		}
	}
	return p
}

// compactNumber formats a tick value in a unit (1, 1e3 or 1e6), with exact decimals.
func compactNumber(v, unit float64) string {
	f := strconv.FormatFloat(math.Round(v/unit*1000)/1000, 'f', -1, 64)
	switch {
	case v == 0:
		return "0"
	case unit == 1e6:
		return f + "M"
	case unit == 1e3:
		return f + "k"
	}
	return f
}

var (
	svgSize  = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)
	svgXlink = regexp.MustCompile(`\s*xmlns:xlink="[^"]*"`)
)

// renderSVG draws the plot and returns SVG ready to sit inline in the page: no XML prolog, no
// fixed size (the viewBox keeps the proportions, CSS sets the width), no xlink namespace (no
// links are drawn), and font families with metric-compatible fallbacks.
func renderSVG(p *plot.Plot, w, h float64, title string) (string, error) {
	c := vgsvg.New(vg.Length(w), vg.Length(h))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("reports: render %s plot: %w", title, err)
	}
	out := buf.String()
	i := strings.Index(out, "<svg")
	if i < 0 {
		return "", fmt.Errorf("reports: render %s plot: no <svg> element", title)
	}
	out = out[i:]
	out = svgSize.ReplaceAllLiteralString(out, `<svg class="plot" role="img" aria-label="`+htmlAttr(title)+`"`)
	out = svgXlink.ReplaceAllLiteralString(out, "")
	out = strings.ReplaceAll(out, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return strings.TrimSpace(out), nil
}

func htmlAttr(s string) string {
	r := strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;")
	return r.Replace(s)
}
