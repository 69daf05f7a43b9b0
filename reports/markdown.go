package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// markdownCell is the most of one value a Markdown table cell shows.
const markdownCell = 300

// WriteMarkdown writes the report as GitHub-flavoured Markdown, for a CI job's summary
// ($GITHUB_STEP_SUMMARY) or a pull request comment: the verdict, the table by level and
// outcome, each failing and non-strict case with why, and what the INFO cases recorded. Text
// that came from the target is escaped, so it cannot break the table or inject markup.
func WriteMarkdown(w io.Writer, c *Conformance) error {
	if c == nil {
		return errors.New("reports: nil report")
	}
	n := normalized(c)
	bw := bufio.NewWriter(w)
	name := strings.TrimSpace(n.Implementation.Name + " " + n.Implementation.Version)
	mark := "PASSED"
	if !n.Summary.Conformant {
		mark = "FAILED"
	}
	fmt.Fprintf(bw, "## pushcert conformance: %s %s\n\n", mdText(name), mark)
	fmt.Fprintf(bw, "**%s**\n\n", mdText(verdict(n)))
	if n.Baseline != nil {
		fmt.Fprintf(bw, "%s\n\n", mdText(baselineLine(n.Baseline)))
	}
	target := n.Target.WebSocketURL
	if n.Target.Embedded {
		target += " (embedded reference server)"
	}
	suite := strings.TrimSpace(n.Suite.Name + " " + n.Suite.Version)
	if n.Suite.Commit != "" {
		suite += " (" + short(n.Suite.Commit) + ")"
	}
	fmt.Fprintf(bw, "Target `%s`, suite %s, run %s in %s.\n\n", mdCode(target), mdText(suite),
		n.Started.UTC().Format("2006-01-02 15:04Z"), formatMS(n.DurationMS))
	markdownTable(bw, n.Summary)
	markdownProblems(bw, n)
	markdownRecorded(bw, n)
	return bw.Flush()
}

func markdownTable(w io.Writer, s Summary) {
	outs := shownOutcomes(s)
	head, rule := "| level |", "|---|"
	for _, o := range outs {
		head += " " + string(o) + " |"
		rule += "---:|"
	}
	fmt.Fprintln(w, head+" total |")
	fmt.Fprintln(w, rule+"---:|")
	row := func(name string, counts map[Outcome]int) {
		line, total := "| "+name+" |", 0
		for _, o := range outs {
			total += counts[o]
			cell := "-"
			if counts[o] > 0 {
				cell = strconv.Itoa(counts[o])
			}
			line += " " + cell + " |"
		}
		fmt.Fprintf(w, "%s %d |\n", line, total)
	}
	for _, l := range Levels() {
		row(string(l), s.ByLevel[l])
	}
	row("**total**", s.ByOutcome)
	fmt.Fprintln(w)
}

func markdownProblems(w io.Writer, c *Conformance) {
	bad := problemCases(c)
	if len(bad) == 0 {
		return
	}
	fmt.Fprintf(w, "### Failures and non-strict results (%d)\n\n", len(bad))
	fmt.Fprintln(w, "| case | outcome | level | scenario | why |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, k := range bad {
		why := k.Message
		if k.Known != "" {
			why = "known: " + k.Known + "; " + why
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", mdCode(k.ID), k.Outcome, k.Level, mdText(k.Name), mdText(why))
	}
	fmt.Fprintln(w, "\nEach failure's steps and wire log are in the HTML and JSON reports.")
	fmt.Fprintln(w)
}

func markdownRecorded(w io.Writer, c *Conformance) {
	info := recordedCases(c)
	if len(info) == 0 {
		return
	}
	fmt.Fprintf(w, "<details><summary>Recorded behaviour (%d INFO cases)</summary>\n\n", len(info))
	for _, k := range info {
		fmt.Fprintf(w, "- `%s` %s: %s\n", mdCode(k.ID), mdText(k.Name), mdText(strings.Join(k.Observed, "; ")))
	}
	fmt.Fprintln(w, "\n</details>")
}

// mdText is untrusted text made safe for a Markdown line or table cell: control characters
// gone, one line, at most markdownCell characters, and the characters that make markup
// (table bars, emphasis, links, HTML) escaped.
func mdText(s string) string {
	s = clean(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > markdownCell {
		s = string(r[:markdownCell]) + "…"
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '|', '\\', '`', '*', '_', '[', ']', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode is untrusted text for inside a code span: one line, no backticks, no table bars.
func mdCode(s string) string {
	s = clean(strings.Join(strings.Fields(s), " "))
	return strings.NewReplacer("`", "'", "|", "¦").Replace(s)
}

// short is a commit's first 12 characters.
func short(commit string) string {
	if len(commit) > 12 && !strings.Contains(commit[:12], "+") {
		return commit[:12]
	}
	return commit
}
