package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// consoleWireLines is how much of a failing case's wire log the console shows: the end, where
// the expectation broke. The JSON and HTML reports keep all of it.
const consoleWireLines = 20

// ANSI SGR sequences, used only when the caller asks for color.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func outcomeColor(o Outcome) string {
	switch o {
	case OutcomePass:
		return ansiGreen
	case OutcomeFail:
		return ansiBold + ansiRed
	case OutcomeNonStrict:
		return ansiYellow
	case OutcomeInfo:
		return ansiCyan
	default:
		return ansiDim
	}
}

// WriteConsole writes the report for a terminal: one line per case grouped by area, then the
// failing and non-strict cases with expected, actual and the end of their wire log, a summary
// table by level and outcome, and the verdict. ANSI colors are written only when color is true.
// Text that came from the target is stripped of control characters, so a hostile server cannot
// drive the terminal.
func WriteConsole(w io.Writer, c *Conformance, color bool) error {
	if c == nil {
		return errors.New("reports: nil report")
	}
	n := normalized(c)
	bw := bufio.NewWriter(w)
	p := consolePrinter{w: bw, color: color}

	p.header(n)
	for _, a := range areas(n.Areas, n.Cases) {
		p.line("")
		p.line(p.paint(ansiBold, clean(a.Name)))
		for _, k := range a.Cases {
			p.line(fmt.Sprintf("  %s  %-9s %-6s  %s", p.outcome(k.Outcome, 13), clean(k.ID), k.Level, clean(k.Name)))
		}
	}
	p.problems(n)
	p.recorded(n)
	p.table(n)
	p.line("")
	v := verdict(n)
	if n.Summary.Conformant {
		p.line(p.paint(ansiBold+ansiGreen, v))
	} else {
		p.line(p.paint(ansiBold+ansiRed, v))
	}
	if n.Baseline != nil {
		p.line(clean(baselineLine(n.Baseline)))
	}
	return bw.Flush()
}

type consolePrinter struct {
	w     *bufio.Writer
	color bool
}

func (p consolePrinter) line(s string) {
	p.w.WriteString(s)
	p.w.WriteByte('\n')
}

func (p consolePrinter) paint(code, s string) string {
	if !p.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// outcome pads before painting, so columns line up with or without escape sequences.
func (p consolePrinter) outcome(o Outcome, width int) string {
	return p.paint(outcomeColor(o), fmt.Sprintf("%-*s", width, o))
}

func (p consolePrinter) header(c *Conformance) {
	title := strings.TrimSpace(c.Implementation.Name + " " + c.Implementation.Version)
	if title == "" {
		title = "(unnamed implementation)"
	}
	p.line(p.paint(ansiBold, "Conformance of "+clean(title)) +
		" — " + clean(strings.TrimSpace(c.Suite.Name+" "+c.Suite.Version)))
	target := c.Target.WebSocketURL
	if c.Target.Embedded {
		target += " (embedded reference server)"
	}
	p.kv("target", target)
	p.kv("http api", c.Target.APIURL)
	if len(c.Target.Nodes) > 1 {
		p.kv("nodes", clean(strings.Join(c.Target.Nodes, ", ")))
	}
	p.kv("app id", c.Target.AppID)
	p.kv("declared", orNone(strings.Join(c.Capabilities, ", ")))
	mode := "default (SHOULD failures are NON-STRICT, still conformant)"
	if c.Strict {
		mode = "strict (SHOULD failures break conformance)"
	}
	p.kv("mode", mode)
	if !c.Started.IsZero() {
		p.kv("run", c.Started.Format(time.RFC3339)+", "+formatMS(c.DurationMS))
	}
	var suite []string
	if c.Suite.Commit != "" {
		suite = append(suite, "commit "+c.Suite.Commit)
	}
	if c.Suite.Digest != "" {
		suite = append(suite, "features sha256 "+c.Suite.Digest[:min(len(c.Suite.Digest), 16)])
	}
	p.kv("suite", strings.Join(suite, ", "))
}

func (p consolePrinter) kv(k, v string) {
	if v == "" {
		return
	}
	p.line(fmt.Sprintf("  %-9s %s", k, clean(v)))
}

// problems details every FAIL and NON-STRICT case: the cases a reader has to act on.
func (p consolePrinter) problems(c *Conformance) {
	bad := problemCases(c)
	if len(bad) == 0 {
		return
	}
	p.line("")
	p.line(p.paint(ansiBold, fmt.Sprintf("Failures and non-strict results (%d)", len(bad))))
	for _, k := range bad {
		p.line("")
		p.line(fmt.Sprintf("  %s  %s  %s  %s", p.outcome(k.Outcome, 0), clean(k.ID), k.Level, clean(k.Name)))
		p.line("    area      " + clean(k.Area))
		p.block("spec", specLine(k))
		p.block("known", k.Known)
		p.block("why", k.Message)
		p.block("expected", k.Expected)
		p.block("actual", k.Actual)
		for _, st := range k.Steps {
			if st.Status == StepFailed || st.Status == StepUndefined || st.Status == StepAmbiguous || st.Status == StepPending {
				p.block("step", fmt.Sprintf("%s%s [%s]", st.Keyword, st.Text, st.Status))
				p.block("", st.Error)
			}
		}
		if len(k.Wire) > 0 {
			wire := k.Wire
			label := fmt.Sprintf("    wire log (%d frames)", len(wire))
			if len(wire) > consoleWireLines {
				label = fmt.Sprintf("    wire log (last %d of %d frames)", consoleWireLines, len(wire))
				wire = wire[len(wire)-consoleWireLines:]
			}
			p.line(label)
			start := k.Wire[0].At
			conn := 0
			for _, e := range wire {
				conn = max(conn, len([]rune(clean(e.Conn))))
			}
			for _, e := range wire {
				p.line(fmt.Sprintf("      %s  %-*s %s %s",
					offset(start, e.At), conn, clean(e.Conn), e.Dir, clean(e.Text)))
			}
		}
	}
}

// recorded lists what the INFO cases observed: behaviour the spec leaves open, which a vendor
// documents rather than fixes.
func (p consolePrinter) recorded(c *Conformance) {
	info := recordedCases(c)
	if len(info) == 0 {
		return
	}
	p.line("")
	p.line(p.paint(ansiBold, fmt.Sprintf("Recorded behaviour (%d INFO cases)", len(info))))
	for _, k := range info {
		p.line(fmt.Sprintf("  %s  %s", clean(k.ID), clean(k.Name)))
		for _, o := range k.Observed {
			p.block("", o)
		}
	}
}

// block writes a labelled value; continuation lines are indented under the first.
func (p consolePrinter) block(label, v string) {
	if v == "" {
		return
	}
	lines := strings.Split(strings.TrimRight(v, "\n"), "\n")
	for i, l := range lines {
		if i > 0 {
			label = ""
		}
		p.line(fmt.Sprintf("    %-9s %s", label, clean(l)))
	}
}

func (p consolePrinter) table(c *Conformance) {
	p.line("")
	p.line(p.paint(ansiBold, "Summary"))
	outs := shownOutcomes(c.Summary)
	head := fmt.Sprintf("  %-7s", "level")
	for _, o := range outs {
		head += "  " + fmt.Sprintf("%*s", len(o), o)
	}
	p.line(head + "  total")
	row := func(name string, counts map[Outcome]int) {
		s := fmt.Sprintf("  %-7s", name)
		total := 0
		for _, o := range outs {
			n := counts[o]
			total += n
			cell := "-"
			if n > 0 {
				cell = strconv.Itoa(n)
			}
			s += "  " + fmt.Sprintf("%*s", len(o), cell)
		}
		p.line(s + fmt.Sprintf("  %5d", total))
	}
	for _, l := range Levels() {
		row(string(l), c.Summary.ByLevel[l])
	}
	row("total", c.Summary.ByOutcome)
}

// offset formats t relative to the first frame of the case: a timeout reads as "+5.002s".
func offset(start, t time.Time) string {
	if start.IsZero() || t.IsZero() {
		return "        "
	}
	return fmt.Sprintf("+%7.3fs", t.Sub(start).Seconds())
}

func formatMS(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d < time.Second {
		return d.String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// clean replaces control characters (ANSI escapes included) by visible escapes.
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r)
}
