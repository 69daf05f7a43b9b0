package reports

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// parseTemplates parses the page templates afresh for each call: they are small, and this keeps
// the package free of mutable globals.
func parseTemplates() (*template.Template, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"slug":  outcomeSlug,
		"lower": strings.ToLower,
		"label": outcomeLabel,
		"level": levelLabel,
		"dict":  dict,
		"col":   col,
		"add":   func(a, b int) int { return a + b },
		"short": func(s string) string { return s[:min(len(s), 12)] },
	}).ParseFS(templateFS, "templates/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("reports: parse templates: %w", err)
	}
	return t, nil
}

// renderPage executes one page template into a buffer first, so a failing template writes
// nothing to w.
func renderPage(w io.Writer, name string, data any) error {
	t, err := parseTemplates()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("reports: render %s page: %w", name, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// dict passes several values to a sub-template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func outcomeSlug(o Outcome) string {
	return strings.ReplaceAll(strings.ToLower(string(o)), "-", "")
}

// outcomeLabel is the human reading of an outcome, for legends and tooltips.
func outcomeLabel(o Outcome) string {
	switch o {
	case OutcomePass:
		return "Passed"
	case OutcomeFail:
		return "Failed (MUST)"
	case OutcomeNonStrict:
		return "Non-strict (SHOULD)"
	case OutcomeInfo:
		return "Informational"
	case OutcomeNotSupported:
		return "Not supported"
	case OutcomeSkipped:
		return "Skipped"
	case OutcomeInterrupted:
		return "Interrupted"
	case OutcomeNotSelected:
		return "Not selected"
	}
	return string(o)
}

func levelLabel(l Level) string { return strings.ToUpper(string(l)) }

// The view model: everything the templates show, computed here so the templates stay plain.
type htmlReport struct {
	C            *Conformance
	Title        string
	Verdict      string
	VerdictHead  string // "NOT CONFORMANT"
	VerdictTail  string // the counts
	BadgeNote    string
	Conformant   bool
	Date         string
	Duration     string
	Outcomes     []Outcome
	Donut        []donutSegment
	Undeclared   []string // capabilities some case needs that the target did not declare
	LevelRows    []countRow
	CapRows      []countRow
	Areas        []htmlArea
	ProblemCount int
	Problems     []Case // FAIL and NON-STRICT cases, listed first on the page with links
}

type donutSegment struct {
	Outcome Outcome
	Count   int
	Dash    string // stroke-dasharray on a circle of circumference 100
	Offset  string // stroke-dashoffset
}

type countRow struct {
	Name     string
	Declared bool // capability rows: declared by the target (or the core set)
	Counts   []int
	Total    int
	Bar      []barSegment
}

// barSegment is one piece of a 100-unit wide stacked bar.
type barSegment struct {
	Outcome Outcome
	Count   int
	X, W    string
}

type htmlArea struct {
	Name   string
	Anchor string
	Row    countRow
	Cases  []htmlCase
}

type htmlCase struct {
	Case
	Duration string
	Details  bool
	Evidence string // the summary line of the details
	Wire     []htmlWire
}

type htmlWire struct {
	Offset    string
	Conn      string
	ConnIndex int // colors the connection names of one case apart
	Dir       string
	Sent      bool
	Text      string
}

// WriteHTML writes one self-contained page for the report: no external assets, inline CSS and
// SVG, and a few lines of inline script that only filter rows. Everything from the report is
// escaped by html/template.
func WriteHTML(w io.Writer, c *Conformance) error {
	if c == nil {
		return errors.New("reports: nil report")
	}
	return renderPage(w, "report", newHTMLReport(normalized(c)))
}

func newHTMLReport(n *Conformance) htmlReport {
	s := n.Summary
	r := htmlReport{
		C:          n,
		Title:      displayName(n),
		Verdict:    verdict(n),
		Conformant: s.Conformant,
		Duration:   formatMS(n.DurationMS),
		Outcomes:   shownOutcomes(s),
	}
	// The head may hold a scope with colons of its own; the counts follow the last ": ".
	if i := strings.LastIndex(r.Verdict, ": "); i >= 0 {
		r.VerdictHead, r.VerdictTail = r.Verdict[:i], r.Verdict[i+2:]
	}
	r.BadgeNote = badgeNote(n)
	if !n.Started.IsZero() {
		r.Date = n.Started.Format("2 January 2006, 15:04 MST")
	}
	r.Donut = donut(s.ByOutcome, s.Total)
	for _, l := range Levels() {
		r.LevelRows = append(r.LevelRows, newCountRow(levelLabel(l), s.ByLevel[l], r.Outcomes))
	}
	caps := make([]string, 0, len(s.ByCapability))
	for cp := range s.ByCapability {
		if cp != CoreCapability {
			caps = append(caps, cp)
		}
	}
	slices.Sort(caps)
	if _, ok := s.ByCapability[CoreCapability]; ok {
		caps = append([]string{CoreCapability}, caps...)
	}
	for _, cp := range caps {
		row := newCountRow(cp, s.ByCapability[cp], r.Outcomes)
		row.Declared = cp == CoreCapability || slices.Contains(n.Capabilities, cp)
		if !row.Declared {
			r.Undeclared = append(r.Undeclared, cp)
		}
		r.CapRows = append(r.CapRows, row)
	}
	for _, a := range areas(n.Areas, n.Cases) {
		ha := htmlArea{Name: a.Name, Anchor: anchor(a.Name), Row: newCountRow(a.Name, s.ByArea[a.Name], r.Outcomes)}
		for _, k := range a.Cases {
			hc := htmlCase{Case: k, Duration: formatMS(k.DurationMS)}
			if k.DurationMS == 0 && (k.Outcome == OutcomeNotSupported || k.Outcome == OutcomeSkipped || k.Outcome == OutcomeInterrupted || k.Outcome == OutcomeNotSelected) {
				hc.Duration = "—"
			}
			hc.Details = k.Expected != "" || k.Actual != "" || len(k.Observed) > 0 || len(k.Wire) > 0 || hasStepDetail(k.Steps)
			hc.Evidence = evidenceLine(k)
			if k.Outcome == OutcomeFail || k.Outcome == OutcomeNonStrict {
				r.ProblemCount++
				r.Problems = append(r.Problems, k)
			}
			if len(k.Wire) > 0 {
				start := k.Wire[0].At
				conns := map[string]int{}
				for _, e := range k.Wire {
					if _, ok := conns[e.Conn]; !ok {
						conns[e.Conn] = len(conns) % 6
					}
					hc.Wire = append(hc.Wire, htmlWire{
						ConnIndex: conns[e.Conn],
						Offset:    "+" + strconv.FormatFloat(e.At.Sub(start).Seconds(), 'f', 3, 64) + "s",
						Conn:      e.Conn, Dir: e.Dir, Sent: e.Dir == DirSent, Text: e.Text,
					})
				}
			}
			ha.Cases = append(ha.Cases, hc)
		}
		r.Areas = append(r.Areas, ha)
	}
	slices.SortStableFunc(r.Problems, func(a, b Case) int { // MUST failures first
		rank := func(k Case) int {
			if k.Outcome == OutcomeFail {
				return 0
			}
			return 1
		}
		return cmp.Compare(rank(a), rank(b))
	})
	return r
}

// evidenceLine says what the details of a case hold: "Evidence: expected vs actual · 7 steps · 25 frames".
func evidenceLine(k Case) string {
	parts := []string{}
	switch {
	case k.Expected != "":
		parts = append(parts, "expected vs actual")
	case k.Actual != "" || len(k.Observed) > 0:
		parts = append(parts, "observed behaviour")
	}
	if n := len(k.Steps); n > 0 {
		parts = append(parts, plural(n, "step"))
	}
	if n := len(k.Wire); n > 0 {
		parts = append(parts, plural(n, "frame")+" on the wire")
	}
	return "Evidence: " + strings.Join(parts, " · ")
}

// badgeNote says under the verdict badge what the verdict rests on.
func badgeNote(c *Conformance) string {
	s := c.Summary
	bad := s.ByOutcome[OutcomeFail]
	what := "MUST"
	if c.Strict {
		bad += s.ByOutcome[OutcomeNonStrict]
		what = "MUST/SHOULD"
	}
	switch {
	case c.Baseline != nil:
		return baselineLine(c.Baseline)
	case bad > 0:
		return plural(bad, what+" failure")
	case c.Strict:
		return "every MUST and SHOULD met"
	default:
		return "every MUST requirement met"
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func hasStepDetail(steps []Step) bool {
	for _, st := range steps {
		if st.Status != StepPassed {
			return true
		}
	}
	return false
}

func displayName(c *Conformance) string {
	name := strings.TrimSpace(c.Implementation.Name + " " + c.Implementation.Version)
	if name == "" {
		return "Unnamed implementation"
	}
	return name
}

func newCountRow(name string, counts map[Outcome]int, outs []Outcome) countRow {
	row := countRow{Name: name}
	for _, o := range outs {
		row.Counts = append(row.Counts, counts[o])
		row.Total += counts[o]
	}
	row.Bar = bar(counts, row.Total)
	return row
}

func bar(counts map[Outcome]int, total int) []barSegment {
	if total == 0 {
		return nil
	}
	var segs []barSegment
	x := 0.0
	for _, o := range Outcomes() {
		n := counts[o]
		if n == 0 {
			continue
		}
		w := 100 * float64(n) / float64(total)
		segs = append(segs, barSegment{Outcome: o, Count: n, X: num(x), W: num(w)})
		x += w
	}
	return segs
}

// donut lays out the outcome ring: circumference 100, starting at twelve o'clock.
func donut(counts map[Outcome]int, total int) []donutSegment {
	if total == 0 {
		return nil
	}
	var segs []donutSegment
	start := 0.0
	for _, o := range Outcomes() {
		n := counts[o]
		if n == 0 {
			continue
		}
		p := 100 * float64(n) / float64(total)
		segs = append(segs, donutSegment{
			Outcome: o, Count: n,
			Dash:   num(p) + " " + num(100-p),
			Offset: num(25 - start),
		})
		start += p
	}
	return segs
}

func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}

// anchor makes an element id from an area name.
func anchor(s string) string {
	var b strings.Builder
	b.WriteString("area-")
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
