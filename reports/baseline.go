package reports

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Baseline is a CI's list of known failures: case IDs with the reason each is accepted for
// now. A run judged against it passes while every failure is listed, and fails on a new failure
// or on a listed case that passes again (a stale entry, to remove).
type Baseline struct {
	Entries []BaselineEntry
}

// BaselineEntry is one known failure.
type BaselineEntry struct {
	ID     string
	Reason string
}

// ReadBaseline reads the text form: one entry per line, the case ID then the reason; blank
// lines and lines starting with # are ignored. A repeated ID is an error.
func ReadBaseline(r io.Reader) (Baseline, error) {
	var b Baseline
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if prev, dup := seen[id]; dup {
			return b, fmt.Errorf("line %d: %s is listed twice (also line %d)", n, id, prev)
		}
		seen[id] = n
		b.Entries = append(b.Entries, BaselineEntry{ID: id, Reason: strings.TrimSpace(reason)})
	}
	return b, sc.Err()
}

// WriteBaseline writes a baseline accepting every flagged case of c (FAIL and NON-STRICT),
// each with the first line of its message as the reason.
func WriteBaseline(w io.Writer, c *Conformance) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# pushcert known failures of %s, written from the run of %s.\n", displayName(c), c.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintln(bw, "# One case per line: its ID, then why it is accepted for now. Remove a line when the case passes.")
	for _, k := range normalized(c).Cases {
		if flagged(k.Outcome) {
			fmt.Fprintf(bw, "%s %s %s\n", k.ID, k.Outcome, clean(firstLine(k.Message)))
		}
	}
	return bw.Flush()
}

func flagged(o Outcome) bool { return o == OutcomeFail || o == OutcomeNonStrict }

// BaselineResult is how a run compares with its baseline.
type BaselineResult struct {
	File  string   `json:"file"`
	Known []string `json:"known"` // listed and still failing: accepted
	New   []string `json:"new"`   // failing and not listed: the run fails
	Stale []string `json:"stale"` // listed but passing now: the run fails until the line goes
}

// Judge compares the report's cases with b and records the result in c.Baseline. Listed IDs
// the catalogue does not have are an error; listed cases that did not run are neither known nor
// stale.
func (c *Conformance) Judge(b Baseline, file string) error {
	byID := map[string]Case{}
	for _, k := range c.Cases {
		byID[k.ID] = k
	}
	r := &BaselineResult{File: file, Known: []string{}, New: []string{}, Stale: []string{}}
	listed := map[string]bool{}
	index := map[string]int{}
	for i, k := range c.Cases {
		index[k.ID] = i
	}
	for _, e := range b.Entries {
		k, ok := byID[e.ID]
		if !ok {
			return fmt.Errorf("baseline %s lists %s, which is not a case of this suite", file, e.ID)
		}
		listed[e.ID] = true
		switch {
		case flagged(k.Outcome):
			r.Known = append(r.Known, e.ID)
			c.Cases[index[e.ID]].Known = orText(e.Reason, "listed in the baseline")
		case k.Outcome == OutcomePass:
			r.Stale = append(r.Stale, e.ID)
		}
	}
	for _, k := range c.Cases {
		if failsRun(k.Outcome, c.Strict) && !listed[k.ID] {
			r.New = append(r.New, k.ID)
		}
	}
	for _, s := range [][]string{r.Known, r.New, r.Stale} {
		slices.SortFunc(s, compareIDs)
	}
	c.Baseline = r
	return nil
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// failsRun reports whether a case with outcome o breaks conformance.
func failsRun(o Outcome, strict bool) bool {
	return o == OutcomeFail || (strict && o == OutcomeNonStrict)
}

// baselineLine is the one-line account of a run judged against its baseline.
func baselineLine(r *BaselineResult) string {
	s := fmt.Sprintf("baseline %s: %d known, %d new, %d stale", r.File, len(r.Known), len(r.New), len(r.Stale))
	if len(r.New) > 0 {
		s += "; new failures: " + strings.Join(r.New, ", ")
	}
	if len(r.Stale) > 0 {
		s += "; passing now, remove from the baseline: " + strings.Join(r.Stale, ", ")
	}
	return s
}
