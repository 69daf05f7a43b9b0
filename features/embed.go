// Package features is the conformance specification: Gherkin files, one per area, embedded in
// the binary. Catalog parses them into the list of cases with their metadata tags.
package features

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
)

// FS holds the feature files.
//
//go:embed *.feature
var FS embed.FS

// Digest is the hex SHA-256 of the feature files, each name and content in name order: which
// exact cases a report's verdicts come from.
func Digest() string {
	files, _ := fs.Glob(FS, "*.feature")
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, _ := fs.ReadFile(FS, f)
		fmt.Fprintf(h, "%s\n%d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Case is one scenario of the suite and its metadata.
type Case struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Area         string   `json:"area"`
	File         string   `json:"file"`
	Line         int      `json:"line"`
	Level        string   `json:"level"` // must, should or info
	Capabilities []string `json:"capabilities,omitempty"`
	Checklist    []int    `json:"checklist,omitempty"`
	NeedsControl bool     `json:"needs_control,omitempty"`
	NeedsRestart bool     `json:"needs_restart,omitempty"` // restarts the server: runs alone on a shared one
	Spec         string   `json:"spec"`                    // the section it comes from (@spec:N), a key of Sections
	Sentence     string   `json:"sentence"`                // the normative sentence it checks: the scenario's description
	Tags         []string `json:"tags"`
}

var idPattern = regexp.MustCompile(`^[A-Z]+-[0-9]{3}$`)

// Catalog parses every feature file of fsys and checks the tags of each scenario: a unique
// @id:AREA-NNN, exactly one of @must, @should, @info, and well-formed @cap:, @checklist:N.
func Catalog(fsys fs.FS) ([]Case, error) {
	files, err := fs.Glob(fsys, "*.feature")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var cases []Case
	var errs []string
	seen := map[string]string{}
	for _, file := range files {
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		newID := (&messages.Incrementing{}).NewId
		doc, err := gherkin.ParseGherkinDocument(strings.NewReader(string(b)), newID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if doc.Feature == nil {
			continue
		}
		lines, sentences := scenarioLines(doc)
		for _, p := range gherkin.Pickles(*doc, file, newID) {
			c := Case{Name: p.Name, Area: doc.Feature.Name, File: file, Line: lines[p.AstNodeIds[0]], Sentence: sentences[p.AstNodeIds[0]]}
			levels := 0
			for _, t := range p.Tags {
				tag := strings.TrimPrefix(t.Name, "@")
				c.Tags = append(c.Tags, tag)
				switch {
				case strings.HasPrefix(tag, "id:"):
					c.ID = strings.TrimPrefix(tag, "id:")
				case tag == "must" || tag == "should" || tag == "info":
					c.Level = tag
					levels++
				case strings.HasPrefix(tag, "cap:"):
					c.Capabilities = append(c.Capabilities, strings.TrimPrefix(tag, "cap:"))
				case strings.HasPrefix(tag, "checklist:"):
					n, err := strconv.Atoi(strings.TrimPrefix(tag, "checklist:"))
					if err != nil || n < 1 || n > 13 {
						errs = append(errs, fmt.Sprintf("%s:%d: bad tag @%s (checklist items are 1-13)", file, c.Line, tag))
					}
					c.Checklist = append(c.Checklist, n)
				case tag == "needs:control":
					c.NeedsControl = true
				case tag == "needs:restart":
					c.NeedsRestart = true
				case strings.HasPrefix(tag, "spec:"):
					c.Spec = strings.TrimPrefix(tag, "spec:")
				}
			}
			switch {
			case !idPattern.MatchString(c.ID):
				errs = append(errs, fmt.Sprintf("%s:%d: scenario %q needs an @id:AREA-NNN tag", file, c.Line, c.Name))
			case seen[c.ID] != "":
				errs = append(errs, fmt.Sprintf("%s:%d: duplicate @id:%s (also %s)", file, c.Line, c.ID, seen[c.ID]))
			default:
				seen[c.ID] = fmt.Sprintf("%s:%d", file, c.Line)
			}
			if _, ok := Sections[c.Spec]; !ok {
				errs = append(errs, fmt.Sprintf("%s:%d: scenario %s needs a @spec:N tag naming a section of features.Sections", file, c.Line, c.ID))
			}
			if c.Sentence == "" {
				errs = append(errs, fmt.Sprintf("%s:%d: scenario %s needs its normative sentence as the scenario's description", file, c.Line, c.ID))
			}
			if levels != 1 {
				errs = append(errs, fmt.Sprintf("%s:%d: scenario %s needs exactly one of @must, @should, @info", file, c.Line, c.ID))
			}
			cases = append(cases, c)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("feature tags:\n  %s", strings.Join(errs, "\n  "))
	}
	return cases, nil
}

// scenarioLines returns each scenario's line and its description (the normative sentence),
// by AST node id.
func scenarioLines(doc *messages.GherkinDocument) (map[string]int, map[string]string) {
	lines, sentences := map[string]int{}, map[string]string{}
	add := func(s *messages.Scenario) {
		lines[s.Id] = int(s.Location.Line)
		sentences[s.Id] = strings.Join(strings.Fields(s.Description), " ")
	}
	for _, ch := range doc.Feature.Children {
		if ch.Scenario != nil {
			add(ch.Scenario)
		}
		if ch.Rule != nil {
			for _, rc := range ch.Rule.Children {
				if rc.Scenario != nil {
					add(rc.Scenario)
				}
			}
		}
	}
	return lines, sentences
}
