package steps

import (
	"strings"
	"time"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/reports"
)

// Meta is what a report says about the run besides its cases.
type Meta struct {
	SuiteVersion          string
	SuiteCommit           string
	Implementation        string
	ImplementationVersion string
	Started, Finished     time.Time
}

// Report turns the results of a run into the conformance report.
func Report(results []Result, opts Options, meta Meta) *reports.Conformance {
	r := &reports.Conformance{
		Format:         reports.Format,
		Suite:          reports.Suite{Name: "pushcert", Version: meta.SuiteVersion, Commit: meta.SuiteCommit, Digest: features.Digest()},
		Implementation: reports.Implementation{Name: meta.Implementation, Version: meta.ImplementationVersion},
		Capabilities:   append([]string{}, opts.Capabilities...),
		Probed:         opts.Probed,
		Strict:         opts.Strict,
		Started:        meta.Started.UTC(),
		Finished:       meta.Finished.UTC(),
		DurationMS:     meta.Finished.Sub(meta.Started).Milliseconds(),
	}
	if t := opts.Target; t != nil {
		r.Target = reports.Target{WebSocketURL: t.WebSocketURL, APIURL: t.APIURL, AppID: t.AppID, Embedded: t.Embedded}
		for _, n := range t.Nodes {
			r.Target.Nodes = append(r.Target.Nodes, n.WebSocketURL)
		}
	}
	seen := map[string]bool{}
	for _, res := range results {
		c := res.Case
		if !seen[c.Area] {
			seen[c.Area] = true
			r.Areas = append(r.Areas, c.Area)
		}
		rc := reports.Case{
			ID: c.ID, Name: c.Name, Area: c.Area, Level: reports.Level(c.Level),
			Capabilities: c.Capabilities, Checklist: c.Checklist, NeedsControl: c.NeedsControl,
			Spec: features.SpecRef(c.Spec), Sentence: c.Sentence,
			Outcome: reports.Outcome(res.Outcome), Message: firstLine(res.Message),
			Expected: res.Expected, Actual: res.Actual, DurationMS: res.Duration.Milliseconds(),
			Observed: res.Notes,
		}
		if rc.Outcome == reports.OutcomeInfo && rc.Message == "" && len(res.Notes) > 0 {
			rc.Message = "recorded: " + strings.Join(res.Notes, "; ")
		}
		for _, s := range res.Steps {
			rc.Steps = append(rc.Steps, reports.Step{Text: s.Text, Status: reports.StepStatus(s.Status), Error: s.Error})
		}
		for _, e := range res.Wire {
			rc.Wire = append(rc.Wire, reports.WireEntry{At: e.At.UTC(), Conn: e.Conn, Dir: string(e.Dir), Text: e.Text})
		}
		r.Cases = append(r.Cases, rc)
	}
	r.Summarize()
	return r
}

// firstLine keeps a message short; the expected and actual texts carry the detail.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Catalogue returns the cases of the embedded features.
func Catalogue() ([]features.Case, error) { return features.Catalog(features.FS) }
