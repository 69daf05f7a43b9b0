package features

import (
	"fmt"
	"strings"
)

// CatalogText renders the catalogue for `pushcert check list`: one line per case.
func CatalogText(cases []Case) string {
	var b strings.Builder
	area := ""
	for _, c := range cases {
		if c.Area != area {
			area = c.Area
			fmt.Fprintf(&b, "\n%s (%s)\n", area, c.File)
		}
		fmt.Fprintf(&b, "  %-10s %-6s %s%s\n", c.ID, c.Level, c.Name, meta(c, " [", "]"))
	}
	return strings.TrimPrefix(b.String(), "\n")
}

func meta(c Case, open, close string) string {
	var parts []string
	if len(c.Capabilities) > 0 {
		parts = append(parts, "cap: "+strings.Join(c.Capabilities, ", "))
	}
	if len(c.Checklist) > 0 {
		parts = append(parts, "checklist: "+strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.Checklist)), ", "), "[]"))
	}
	if c.NeedsControl {
		parts = append(parts, "needs control")
	}
	if len(parts) == 0 {
		return ""
	}
	return open + strings.Join(parts, "; ") + close
}

// checklistItems are the items of the seed's testing checklist.
var checklistItems = []string{
	"WebSocket server starts and accepts connections",
	"Public channels work without authentication",
	"Private channels require valid auth token",
	"Presence channels show/track members correctly",
	"Ticket availability broadcasts on purchase",
	"Order status updates broadcast to customer",
	"Seat selection broadcasts to other users",
	"Chat messages broadcast in real-time",
	"Push notifications reach customer channel",
	"Admin dashboard receives live metrics",
	"Rate limiting prevents abuse",
	"Reconnection handling works",
	"Multiple browser tabs receive updates",
}

// CatalogMarkdown renders features/CATALOG.md: every case, then the checklist coverage.
func CatalogMarkdown(cases []Case) string {
	var b strings.Builder
	b.WriteString("# Conformance catalogue\n\n")
	b.WriteString("Generated from the feature files by `go test ./features -update`; a test fails when it is stale.\n\n")
	levels := map[string]int{}
	for _, c := range cases {
		levels[c.Level]++
	}
	fmt.Fprintf(&b, "%d cases: %d MUST, %d SHOULD, %d INFO.\n\n", len(cases), levels["must"], levels["should"], levels["info"])
	b.WriteString("| ID | level | case, and the sentence it checks | spec | capabilities | checklist | control |\n|---|---|---|---|---|---|---|\n")
	for _, c := range cases {
		ctl := ""
		if c.NeedsControl {
			ctl = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s (`%s:%d`)<br>*%s* | %s | %s | %s | %s |\n", c.ID, c.Level, c.Name, c.File, c.Line,
			strings.ReplaceAll(c.Sentence, "|", "\\|"), SpecRef(c.Spec), strings.Join(c.Capabilities, ", "), strings.Trim(strings.Join(strings.Fields(fmt.Sprint(c.Checklist)), ", "), "[]"), ctl)
	}
	b.WriteString("\n## The seed's testing checklist\n\n| item | cases |\n|---|---|\n")
	for i, item := range checklistItems {
		var ids []string
		for _, c := range cases {
			for _, n := range c.Checklist {
				if n == i+1 {
					ids = append(ids, c.ID)
				}
			}
		}
		fmt.Fprintf(&b, "| %d. %s | %s |\n", i+1, item, strings.Join(ids, ", "))
	}
	return b.String()
}

// UncoveredChecklist returns the checklist items no case covers.
func UncoveredChecklist(cases []Case) []int {
	covered := map[int]bool{}
	for _, c := range cases {
		for _, n := range c.Checklist {
			covered[n] = true
		}
	}
	var out []int
	for i := range checklistItems {
		if !covered[i+1] {
			out = append(out, i+1)
		}
	}
	return out
}
