package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// matrix is the implementation-by-case table shared by the text and HTML renderings.
type matrix struct {
	Impls    []matrixImpl
	Rows     []matrixRow
	Outcomes []Outcome
	Totals   []matrixTotal // one per outcome, a count per implementation
	Diverge  int
}

type matrixImpl struct {
	Title      string
	Suite      string
	Date       string
	Strict     bool
	Conformant bool
	Verdict    string
	Total      int
	Bar        []barSegment
	Declared   string // the capabilities the implementation declared, comma-separated
	Scope      string // what the verdict covers when not every case ran (see scope)
}

// matrixCell is one implementation's outcome of one case, and why when it is not a pass.
type matrixCell struct {
	Outcome Outcome
	Reason  string
}

type matrixRow struct {
	ID, Name, Area string
	Level          Level
	AreaStart      bool          // first row of its area, for the HTML group heading
	Cells          []*matrixCell // nil: the implementation's report has no such case
	Diverge        bool          // implementations that ran the case disagree
}

type matrixTotal struct {
	Outcome Outcome
	Counts  []int
}

func newMatrix(reports []*Conformance) (*matrix, error) {
	if len(reports) == 0 {
		return nil, errors.New("reports: matrix needs at least one report")
	}
	m := &matrix{Outcomes: Outcomes()}
	if !slices.ContainsFunc(reports, func(r *Conformance) bool { return r != nil && interrupted(r.Cases) }) {
		m.Outcomes = slices.DeleteFunc(m.Outcomes, func(o Outcome) bool { return o == OutcomeInterrupted })
	}
	type caseInfo struct {
		Case
		outcomes map[int]matrixCell
	}
	byID := map[string]*caseInfo{}
	var order []string
	for i, r := range reports {
		if r == nil {
			return nil, fmt.Errorf("reports: matrix: report %d is nil", i)
		}
		n := normalized(r)
		im := matrixImpl{
			Title:      displayName(n),
			Suite:      strings.TrimSpace(n.Suite.Name + " " + n.Suite.Version),
			Strict:     n.Strict,
			Conformant: n.Summary.Conformant,
			Verdict:    "CONFORMANT",
			Total:      n.Summary.Total,
			Bar:        bar(n.Summary.ByOutcome, n.Summary.Total),
			Declared:   strings.Join(n.Capabilities, ", "),
			Scope:      scope(n),
		}
		if !n.Summary.Conformant {
			im.Verdict = "NOT CONFORMANT"
		}
		if !n.Started.IsZero() {
			im.Date = n.Started.Format("2006-01-02")
		}
		m.Impls = append(m.Impls, im)
		order = append(order, n.Areas...)
		for _, k := range n.Cases {
			ci := byID[k.ID]
			if ci == nil {
				// Name, area and level come from the first report that has the case.
				ci = &caseInfo{Case: k, outcomes: map[int]matrixCell{}}
				byID[k.ID] = ci
			}
			cell := matrixCell{Outcome: k.Outcome}
			if k.Outcome != OutcomePass {
				cell.Reason = firstLine(k.Message)
			}
			ci.outcomes[i] = cell
		}
	}
	var all []Case
	for _, ci := range byID {
		all = append(all, ci.Case)
	}
	slices.SortFunc(all, func(a, b Case) int { return compareIDs(a.ID, b.ID) })
	for _, a := range areas(order, all) {
		for j, k := range a.Cases {
			row := matrixRow{ID: k.ID, Name: k.Name, Area: k.Area, Level: k.Level, AreaStart: j == 0}
			seen := map[Outcome]bool{}
			for i := range reports {
				if o, ok := byID[k.ID].outcomes[i]; ok {
					row.Cells = append(row.Cells, &o)
					seen[o.Outcome] = true
				} else {
					row.Cells = append(row.Cells, nil)
				}
			}
			row.Diverge = len(seen) > 1
			if row.Diverge {
				m.Diverge++
			}
			m.Rows = append(m.Rows, row)
		}
	}
	for _, o := range m.Outcomes {
		t := matrixTotal{Outcome: o, Counts: make([]int, len(reports))}
		for _, row := range m.Rows {
			for i, c := range row.Cells {
				if c != nil && c.Outcome == o {
					t.Counts[i]++
				}
			}
		}
		m.Totals = append(m.Totals, t)
	}
	return m, nil
}

// WriteMatrixText writes several implementations side by side: one row per case ID (the union
// of all reports, sorted), one column per implementation, then the counts and verdict of each.
// Rows where implementations disagree are marked with '*'; '·' means the report lacks the case.
func WriteMatrixText(w io.Writer, reports []*Conformance) error {
	m, err := newMatrix(reports)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	line := func(s string) { bw.WriteString(strings.TrimRight(s, " ") + "\n") }

	line(fmt.Sprintf("Conformance matrix: %d implementations, %d cases, %d with differing outcomes",
		len(m.Impls), len(m.Rows), m.Diverge))
	line("")
	tw := 0
	for _, im := range m.Impls {
		tw = max(tw, len([]rune(clean(im.Title))))
	}
	for i, im := range m.Impls {
		mode := ""
		if im.Strict {
			mode = ", strict"
		}
		line(fmt.Sprintf("  %-4s %-*s  %-14s  %s", col(i), tw, clean(im.Title), im.Verdict+mode,
			strings.TrimSpace(clean(im.Suite)+"  "+im.Date)))
		line(fmt.Sprintf("  %-4s %-*s  declared: %s", "", tw, "", orText(clean(im.Declared), "none")))
		if im.Scope != "" {
			line(fmt.Sprintf("  %-4s %-*s  verdict on part of the suite: %s", "", tw, "", clean(im.Scope)))
		}
	}
	const cw = len(OutcomeNotSupported) + 2
	line("")
	head := fmt.Sprintf("  %-10s %-6s ", "ID", "level")
	for i := range m.Impls {
		head += fmt.Sprintf("%-*s", cw, col(i))
	}
	line(head + "case")
	rows := slices.Clone(m.Rows)
	slices.SortFunc(rows, func(a, b matrixRow) int { return compareIDs(a.ID, b.ID) })
	for _, r := range rows {
		mark := " "
		if r.Diverge {
			mark = "*"
		}
		s := fmt.Sprintf("%s %-10s %-6s ", mark, clean(r.ID), r.Level)
		for _, c := range r.Cells {
			v := "·"
			if c != nil {
				v = string(c.Outcome)
			}
			s += fmt.Sprintf("%-*s", cw, v)
		}
		line(s + clean(r.Name))
	}
	var why []string
	for _, r := range rows {
		for i, c := range r.Cells {
			if r.Diverge && c != nil && c.Reason != "" {
				why = append(why, fmt.Sprintf("  %-10s %-4s %s: %s", clean(r.ID), col(i), c.Outcome, clean(c.Reason)))
			}
		}
	}
	if len(why) > 0 {
		line("")
		line("Why they differ")
		for _, w := range why {
			line(w)
		}
	}
	line("")
	for _, t := range m.Totals {
		s := fmt.Sprintf("  %-17s ", t.Outcome)
		for _, n := range t.Counts {
			s += fmt.Sprintf("%-*s", cw, strconv.Itoa(n))
		}
		line(s)
	}
	s := fmt.Sprintf("  %-17s ", "verdict")
	for _, im := range m.Impls {
		v := "yes"
		if !im.Conformant {
			v = "NO"
		}
		s += fmt.Sprintf("%-*s", cw, v)
	}
	line(s)
	return bw.Flush()
}

func col(i int) string { return "[" + strconv.Itoa(i+1) + "]" }

// WriteMatrixHTML writes the matrix as one self-contained page, with the same styling and the
// same guarantees as WriteHTML.
func WriteMatrixHTML(w io.Writer, reports []*Conformance) error {
	m, err := newMatrix(reports)
	if err != nil {
		return err
	}
	return renderPage(w, "matrix", m)
}
