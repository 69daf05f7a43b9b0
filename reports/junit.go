package reports

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The JUnit XML schema as CI servers (Jenkins, GitLab, GitHub test reporters) read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitText is element text written as CDATA, so multi-line evidence stays readable in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the report as JUnit XML: one testsuite per area, one testcase per case named
// "ID Name". FAIL is a failure with expected, actual and the wire log in its body; NON-STRICT is a
// failure only in strict mode, otherwise a passing test with a note in system-out; NOT-SUPPORTED
// and SKIPPED are skipped. The suite, implementation, target and capabilities are properties of
// every testsuite, since the schema has no properties at the top level.
func WriteJUnit(w io.Writer, c *Conformance) error {
	if c == nil {
		return errors.New("reports: nil report")
	}
	n := normalized(c)
	props := []junitProperty{
		{"suite.name", n.Suite.Name},
		{"suite.version", n.Suite.Version},
		{"implementation.name", n.Implementation.Name},
		{"implementation.version", n.Implementation.Version},
		{"target.websocket_url", n.Target.WebSocketURL},
		{"target.api_url", n.Target.APIURL},
		{"target.app_id", n.Target.AppID},
		{"target.embedded", strconv.FormatBool(n.Target.Embedded)},
		{"capabilities", strings.Join(n.Capabilities, ",")},
		{"strict", strconv.FormatBool(n.Strict)},
		{"verdict", verdict(n)},
	}
	if len(n.Target.Nodes) > 1 {
		props = append(props, junitProperty{"target.nodes", strings.Join(n.Target.Nodes, " ")})
	}
	root := junitSuites{
		Name: strings.TrimSpace(n.Suite.Name + " " + n.Suite.Version + ": " +
			n.Implementation.Name + " " + n.Implementation.Version),
		Time: seconds(n.DurationMS),
	}
	timestamp := ""
	if !n.Started.IsZero() {
		timestamp = n.Started.Format("2006-01-02T15:04:05")
	}
	for _, a := range areas(n.Areas, n.Cases) {
		s := junitSuite{Name: a.Name, Timestamp: timestamp, Properties: props}
		var ms int64
		for _, k := range a.Cases {
			jc := junitCase{Name: k.ID + " " + k.Name, Classname: a.Name, Time: seconds(k.DurationMS)}
			switch {
			case k.Outcome == OutcomeFail || (k.Outcome == OutcomeNonStrict && n.Strict):
				jc.Failure = &junitFailure{Message: firstLine(k.Message), Type: string(k.Outcome), Body: xmlText(evidence(k))}
				s.Failures++
			case k.Outcome == OutcomeNonStrict:
				jc.SystemOut = &junitText{xmlText("NON-STRICT: a SHOULD is not met; conformant outside strict mode.\n\n" + evidence(k))}
			case k.Outcome == OutcomeNotSupported || k.Outcome == OutcomeSkipped || k.Outcome == OutcomeInterrupted || k.Outcome == OutcomeNotSelected:
				msg := k.Message
				if msg == "" {
					msg = string(k.Outcome)
				}
				jc.Skipped = &junitSkipped{Message: string(k.Outcome) + ": " + firstLine(msg)}
				s.Skipped++
			case k.Outcome == OutcomeInfo:
				jc.SystemOut = &junitText{xmlText("INFO: " + evidence(k))}
			}
			s.Tests++
			ms += k.DurationMS
			s.Cases = append(s.Cases, jc)
		}
		s.Time = seconds(ms)
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Skipped += s.Skipped
		root.Suites = append(root.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("reports: encode JUnit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// evidence is the plain-text body of a failure: why, expected, actual, the failed steps and the
// whole wire log (CI pages fold long bodies, and the wire log is what explains a failure).
func evidence(k Case) string {
	var b strings.Builder
	field := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s:\n%s\n\n", label, indent(v, "  "))
		}
	}
	field("spec", specLine(k))
	field("why", k.Message)
	field("expected", k.Expected)
	field("actual", k.Actual)
	for _, st := range k.Steps {
		if st.Status != StepPassed && st.Status != StepSkipped {
			field("step "+string(st.Status), st.Keyword+st.Text+"\n"+st.Error)
		}
	}
	if len(k.Wire) > 0 {
		b.WriteString("wire log:\n")
		start := k.Wire[0].At
		for _, e := range k.Wire {
			fmt.Fprintf(&b, "  %s  %s %s %s\n", offset(start, e.At), e.Conn, e.Dir, e.Text)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// xmlText keeps newlines and tabs and shows every other control character, and anything XML 1.0
// cannot carry, as an escape: CDATA sections are not escaped by encoding/xml, and a wire log may
// hold anything a server sent.
func xmlText(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case isControl(r) || r == 0xFFFE || r == 0xFFFF:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func seconds(ms int64) string {
	return strconv.FormatFloat((time.Duration(ms) * time.Millisecond).Seconds(), 'f', 3, 64)
}
