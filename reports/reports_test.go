package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	c := fixtureReport()
	s := c.Summary
	if got, want := s.Total, 20; got != want {
		t.Errorf("Total: got %d, want %d", got, want)
	}
	wantOutcome := map[Outcome]int{
		OutcomePass: 10, OutcomeFail: 2, OutcomeNonStrict: 2, OutcomeInfo: 2, OutcomeNotSupported: 2, OutcomeSkipped: 2,
	}
	for o, want := range wantOutcome {
		if got := s.ByOutcome[o]; got != want {
			t.Errorf("ByOutcome[%s]: got %d, want %d", o, got, want)
		}
	}
	checks := []struct {
		name string
		got  int
		want int
	}{
		{"must FAIL", s.ByLevel[LevelMust][OutcomeFail], 2},
		{"should NON-STRICT", s.ByLevel[LevelShould][OutcomeNonStrict], 2},
		{"info INFO", s.ByLevel[LevelInfo][OutcomeInfo], 2},
		{"presence FAIL", s.ByCapability["presence"][OutcomeFail], 1},
		{"presence INFO", s.ByCapability["presence"][OutcomeInfo], 1},
		{"core PASS", s.ByCapability[CoreCapability][OutcomePass], 5},
		{"client-events NOT-SUPPORTED", s.ByCapability["client-events"][OutcomeNotSupported], 2},
		{"Connection NON-STRICT", s.ByArea["Connection"][OutcomeNonStrict], 1},
		{"HTTP API total", sum(s.ByArea["HTTP API"]), 4},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %d, want %d", ck.name, ck.got, ck.want)
		}
	}
	if s.Conformant {
		t.Error("Conformant: got true, want false (two MUST failures)")
	}
}

func sum(m map[Outcome]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestExitCode(t *testing.T) {
	mk := func(strict bool, cases ...Case) *Conformance {
		return &Conformance{Strict: strict, Cases: cases}
	}
	must := func(o Outcome) Case { return Case{ID: "M-1", Level: LevelMust, Outcome: o} }
	should := func(o Outcome) Case { return Case{ID: "S-1", Level: LevelShould, Outcome: o} }
	info := Case{ID: "I-1", Level: LevelInfo, Outcome: OutcomeInfo}
	tests := []struct {
		name string
		c    *Conformance
		want int
	}{
		{"no cases", mk(false), 0},
		{"all pass", mk(false, must(OutcomePass), should(OutcomePass), info), 0},
		{"must fails", mk(false, must(OutcomeFail), should(OutcomePass)), 1},
		{"should fails, default", mk(false, must(OutcomePass), should(OutcomeNonStrict)), 0},
		{"should fails, strict", mk(true, must(OutcomePass), should(OutcomeNonStrict)), 1},
		{"must fails, strict", mk(true, must(OutcomeFail)), 1},
		{"not supported and skipped", mk(true, must(OutcomeNotSupported), should(OutcomeSkipped)), 0},
		{"info only, strict", mk(true, info), 0},
		{"interrupted", mk(false, must(OutcomePass), should(OutcomeInterrupted)), 130},
		{"fixture", fixtureReport(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.ExitCode(); got != tt.want {
				t.Errorf("ExitCode: got %d, want %d", got, tt.want)
			}
			tt.c.Summarize()
			if got, want := tt.c.Summary.Conformant, tt.want == 0; got != want {
				t.Errorf("Summary.Conformant: got %v, want %v", got, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := func() Case { return Case{ID: "X-1", Level: LevelMust, Outcome: OutcomePass} }
	tests := []struct {
		name   string
		mutate func(*Case)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Case) {}, ""},
		{"unknown outcome", func(k *Case) { k.Outcome = "OK" }, `unknown outcome "OK"`},
		{"unknown level", func(k *Case) { k.Level = "may" }, `unknown level "may"`},
		{"empty id", func(k *Case) { k.ID = "" }, "empty id"},
		{"FAIL on should", func(k *Case) { k.Level = LevelShould; k.Outcome = OutcomeFail }, "not possible at level should"},
		{"NON-STRICT on must", func(k *Case) { k.Outcome = OutcomeNonStrict }, "not possible at level must"},
		{"PASS on info", func(k *Case) { k.Level = LevelInfo }, "not possible at level info"},
		{"bad step status", func(k *Case) { k.Steps = []Step{{Status: "green"}} }, `unknown status "green"`},
		{"bad wire dir", func(k *Case) { k.Wire = []WireEntry{{Dir: "<>"}} }, `unknown direction "<>"`},
		{"negative duration", func(k *Case) { k.DurationMS = -1 }, "negative duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := ok()
			tt.mutate(&k)
			err := (&Conformance{Cases: []Case{k}}).Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
	dup := &Conformance{Cases: []Case{ok(), ok()}}
	if err := dup.Validate(); err == nil || !strings.Contains(err.Error(), "duplicate id") {
		t.Errorf("duplicate ids: got %v, want a duplicate id error", err)
	}
}

func TestCompareIDs(t *testing.T) {
	ids := []string{"PRES-10", "CONN-2", "PRES-9", "API-001", "CONN-10", "odd", "CONN-1"}
	want := []string{"API-001", "CONN-1", "CONN-2", "CONN-10", "PRES-9", "PRES-10", "odd"}
	c := &Conformance{}
	for _, id := range ids {
		c.Cases = append(c.Cases, Case{ID: id, Level: LevelMust, Outcome: OutcomePass})
	}
	n := normalized(c)
	for i, k := range n.Cases {
		if k.ID != want[i] {
			t.Errorf("position %d: got %s, want %s", i, k.ID, want[i])
		}
	}
}

func TestNormalizedLeavesInputAlone(t *testing.T) {
	c := fixtureReport()
	first := c.Cases[0].ID
	caps := strings.Join(c.Capabilities, ",")
	if err := WriteJSON(io.Discard, c); err != nil {
		t.Fatal(err)
	}
	if c.Cases[0].ID != first || strings.Join(c.Capabilities, ",") != caps {
		t.Error("WriteJSON reordered the caller's report")
	}
}

func TestJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "conformance.json", buf.Bytes())
}

func TestJSONRoundTrip(t *testing.T) {
	var first bytes.Buffer
	if err := WriteJSON(&first, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	c, err := ReadJSON(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatalf("ReadJSON: %v", err)
	}
	var second bytes.Buffer
	if err := WriteJSON(&second, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("Write→Read→Write differs:\n%s", firstDiff(second.Bytes(), first.Bytes()))
	}
	if !strings.HasSuffix(first.String(), "}\n") || !strings.HasPrefix(first.String(), "{\n  \"format\"") {
		t.Error("canonical JSON: want 2-space indent and a trailing newline")
	}
	if got, want := c.ExitCode(), 1; got != want {
		t.Errorf("ExitCode after ReadJSON: got %d, want %d", got, want)
	}
}

func TestReadJSONRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"not JSON", "<html>", "decode JSON"},
		{"unknown outcome", strings.Replace(good, `"outcome": "PASS"`, `"outcome": "OK"`, 1), `unknown outcome "OK"`},
		{"unknown level", strings.Replace(good, `"level": "must"`, `"level": "may"`, 1), `unknown level "may"`},
		{"unknown format", strings.Replace(good, Format, "pushcert.conformance/v9", 1), "unknown format"},
		{"summary lies", strings.Replace(good, `"conformant": false`, `"conformant": true`, 1), "summary disagrees"},
		{"year out of range in UTC", strings.Replace(good, `"started": "2026-05-04T09:30:00Z"`, `"started": "0000-01-01T00:00:00+01:00"`, 1), "outside the years"},
		{"unknown outcome in summary", strings.Replace(good, `"NOT-SUPPORTED": 2,`, `"NOT-SUPPORTED": 2, "MAYBE": 0,`, 1), `unknown outcome "MAYBE"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == good {
				t.Fatal("the test's replacement did not apply")
			}
			_, err := ReadJSON(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// A minimal hand-written report without summary or format is accepted.
	c, err := ReadJSON(strings.NewReader(`{"cases":[{"id":"CONN-001","level":"must","outcome":"FAIL"}]}`))
	if err != nil {
		t.Fatalf("minimal report: %v", err)
	}
	if c.Summary.Total != 1 || c.Summary.Conformant {
		t.Errorf("minimal report summary: got %+v, want 1 case, not conformant", c.Summary)
	}
}

func FuzzReadJSON(f *testing.F) {
	// Small seeds: the full fixture round-trips in TestJSONRoundTrip, and a 20 KB seed makes the
	// fuzzer spend its time minimizing.
	f.Add([]byte(`{"format":"pushcert.conformance/v1","capabilities":["presence"],"strict":true,` +
		`"started":"2026-05-04T09:30:00Z","cases":[{"id":"PRES-4","name":"n","area":"Presence","level":"must",` +
		`"capabilities":["presence"],"checklist":[4],"outcome":"FAIL","message":"m","expected":"e","actual":"a",` +
		`"steps":[{"keyword":"Then ","text":"t","status":"failed","error":"x"}],` +
		`"wire":[{"at":"2026-05-04T09:30:01Z","conn":"c1","dir":"<-","text":"<b>"}],"duration_ms":5},` +
		`{"id":"CONN-1","area":"Connection","level":"should","outcome":"NON-STRICT"}]}`))
	f.Add([]byte(`{"cases":[{"id":"A-1","level":"must","outcome":"PASS","wire":[{"dir":"->"}]}]}`))
	f.Add([]byte(`{"summary":{"by_outcome":{"PASS":1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever ReadJSON accepts, every renderer must handle, and JSON must round-trip.
		var a, b bytes.Buffer
		if err := WriteJSON(&a, c); err != nil {
			t.Fatal(err)
		}
		c2, err := ReadJSON(bytes.NewReader(a.Bytes()))
		if err != nil {
			t.Fatalf("re-read of written report: %v", err)
		}
		if err := WriteJSON(&b, c2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("round trip differs")
		}
		for name, write := range map[string]func(io.Writer) error{
			"console": func(w io.Writer) error { return WriteConsole(w, c, true) },
			"junit":   func(w io.Writer) error { return WriteJUnit(w, c) },
			"html":    func(w io.Writer) error { return WriteHTML(w, c) },
			"matrix":  func(w io.Writer) error { return WriteMatrixText(w, []*Conformance{c, c}) },
		} {
			if err := write(io.Discard); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func TestConsoleGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteConsole(&buf, fixtureReport(), false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b") {
		t.Error("color=false output contains an escape sequence")
	}
	for _, want := range []string{
		"  PASS           CONN-001  must    Connecting returns",
		"NOT CONFORMANT (16 of 20 cases run; undeclared: client-events, rate-limits): 10 passed, 2 failed (must), 2 non-strict (should), 2 info, 2 not supported, 2 skipped",
		"wire log (last 20 of 25 frames)",
		"    expected  {\"event\":\"pusher_internal:member_removed\"",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q", want)
		}
	}
	golden(t, "console.txt", buf.Bytes())
}

func TestConsoleColorAndHostileText(t *testing.T) {
	c := fixtureReport()
	c.Cases[0].Wire[len(c.Cases[0].Wire)-1].Text = "\x1b[2J\x1b]0;pwned\x07frame"
	var buf bytes.Buffer
	if err := WriteConsole(&buf, c, true); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, ansiGreen+"PASS") {
		t.Error("color=true: PASS is not green")
	}
	if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\x07") {
		t.Error("control characters from the wire log reached the terminal")
	}
	if !strings.Contains(out, `\x1b[2J\x1b]0;pwned\afram`) {
		t.Error("control characters are not shown as escapes")
	}

	c.Strict = false
	pass := &Conformance{Cases: []Case{{ID: "A-1", Level: LevelMust, Outcome: OutcomePass}, {ID: "A-2", Level: LevelShould, Outcome: OutcomeNonStrict}}}
	buf.Reset()
	if err := WriteConsole(&buf, pass, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nCONFORMANT: 1 passed, 0 failed (must), 1 non-strict (should)\n") {
		t.Errorf("verdict of a conformant run: got\n%s", buf.String())
	}
	pass.Strict = true
	buf.Reset()
	if err := WriteConsole(&buf, pass, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nNOT CONFORMANT (strict): ") {
		t.Errorf("verdict of a strict run with a SHOULD failure: got\n%s", buf.String())
	}
}

// junitDoc mirrors the parts of JUnit XML the tests check.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func decodeJUnit(t *testing.T, data []byte) junitDoc {
	t.Helper()
	// Walk every token first: Unmarshal alone would not notice trailing garbage.
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("JUnit XML is not well-formed: %v", err)
		}
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode JUnit: %v", err)
	}
	return doc
}

func TestJUnit(t *testing.T) {
	for _, strict := range []bool{false, true} {
		name := "default"
		if strict {
			name = "strict"
		}
		t.Run(name, func(t *testing.T) {
			c := fixtureReport()
			c.Strict = strict
			// Text the XML cannot carry must not break the document.
			c.Cases[0].Wire[0].Text += "\x00\x1b\xff\uFFFE]]></failure>"
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, c); err != nil {
				t.Fatal(err)
			}
			doc := decodeJUnit(t, buf.Bytes())
			wantFail := 2
			if strict {
				wantFail = 4
			}
			if doc.Tests != 20 || doc.Failures != wantFail || doc.Skipped != 4 {
				t.Errorf("totals: got tests=%d failures=%d skipped=%d, want 20, %d, 4", doc.Tests, doc.Failures, doc.Skipped, wantFail)
			}
			if got, want := len(doc.Suites), 6; got != want {
				t.Fatalf("testsuites: got %d, want %d", got, want)
			}
			var tests, fails, skips int
			byName := map[string]int{}
			for si, s := range doc.Suites {
				tests += s.Tests
				fails += s.Failures
				skips += s.Skipped
				if len(s.Cases) != s.Tests {
					t.Errorf("suite %s: tests=%d but %d testcases", s.Name, s.Tests, len(s.Cases))
				}
				props := map[string]string{}
				for _, p := range s.Props {
					props[p.Name] = p.Value
				}
				if props["implementation.name"] != "Acme Realtime" || props["capabilities"] != "http-api,presence,user-auth,webhooks" {
					t.Errorf("suite %s: properties %v", s.Name, props)
				}
				for ci, k := range s.Cases {
					if k.Classname != s.Name {
						t.Errorf("%s: classname %q, want %q", k.Name, k.Classname, s.Name)
					}
					byName[strings.Fields(k.Name)[0]] = si<<8 | ci
				}
			}
			if tests != doc.Tests || fails != doc.Failures || skips != doc.Skipped {
				t.Errorf("suite counts do not add up to the totals")
			}
			caseOf := func(id string) (string, *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Body    string `xml:",chardata"`
			}, string, string) {
				i, ok := byName[id]
				if !ok {
					t.Fatalf("no testcase for %s", id)
				}
				k := doc.Suites[i>>8].Cases[i&0xff]
				skip := ""
				if k.Skipped != nil {
					skip = k.Skipped.Message
				}
				return k.Name, k.Failure, skip, k.SystemOut
			}
			name, f, _, _ := caseOf("PRES-004")
			if name != "PRES-004 member_removed is sent when the last connection of a user closes" {
				t.Errorf("testcase name: got %q", name)
			}
			if f == nil || f.Type != "FAIL" || !strings.Contains(f.Body, "expected:") || !strings.Contains(f.Body, "wire log:") || !strings.Contains(f.Body, `pusher:subscribe`) {
				t.Errorf("PRES-004 failure: got %+v", f)
			}
			_, f, _, out := caseOf("CONN-003")
			if strict && (f == nil || f.Type != "NON-STRICT") {
				t.Errorf("strict: NON-STRICT case has failure %+v, want one of type NON-STRICT", f)
			}
			if !strict && (f != nil || !strings.HasPrefix(out, "NON-STRICT")) {
				t.Errorf("default: NON-STRICT case: failure %+v, system-out %q; want no failure and a note", f, out)
			}
			if _, _, skip, _ := caseOf("CLI-001"); !strings.HasPrefix(skip, "NOT-SUPPORTED: capability client-events") {
				t.Errorf("CLI-001 skipped message: got %q", skip)
			}
			if _, _, skip, _ := caseOf("CONN-004"); !strings.HasPrefix(skip, "SKIPPED: needs control") {
				t.Errorf("CONN-004 skipped message: got %q", skip)
			}
		})
	}
}

func TestJUnitGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", buf.Bytes())
}

// assetRef finds anything a browser would fetch from elsewhere.
var assetRef = regexp.MustCompile(`(?i)<link\b|<script[^>]*\bsrc\s*=|<img\b|<iframe\b|\b(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?\s*(https?:|//)|@import`)

func TestHTML(t *testing.T) {
	c := fixtureReport()
	c.Cases[1].Wire = append(c.Cases[1].Wire, WireEntry{At: t0, Conn: `c1"><img src=x onerror=alert(1)>`, Dir: DirReceived,
		Text: `{"event":"chat.message","data":"<script>alert(document.cookie)</script>"}`})
	c.Implementation.Name = `Acme <b>Realtime</b>`
	var buf bytes.Buffer
	if err := WriteHTML(&buf, c); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if m := assetRef.FindString(page); m != "" {
		t.Errorf("page references an external asset: %q", m)
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>Realtime</b>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(document.cookie)&lt;/script&gt;",
		"Acme &lt;b&gt;Realtime&lt;/b&gt; 2.3.1",
		"NOT CONFORMANT",
		"<svg", "<details",
		`id="PRES-004"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("got %d script elements, want 1 (the inline filter)", n)
	}
}

func TestHTMLGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, fixtureReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.html", buf.Bytes())
}

func TestMatrix(t *testing.T) {
	reps := matrixFixture()
	var text bytes.Buffer
	if err := WriteMatrixText(&text, reps); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{
		"Conformance matrix: 3 implementations, 20 cases, 7 with differing outcomes",
		"* PRES-004   must   PASS           FAIL           PASS           member_removed",
		"  API-010    should SKIPPED        SKIPPED        ·              A batch",
		"  verdict           yes            NO             NO",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix text lacks %q", want)
		}
	}
	golden(t, "matrix.txt", text.Bytes())

	var page bytes.Buffer
	if err := WriteMatrixHTML(&page, reps); err != nil {
		t.Fatal(err)
	}
	if m := assetRef.FindString(page.String()); m != "" {
		t.Errorf("matrix page references an external asset: %q", m)
	}
	if got, want := strings.Count(page.String(), `<tr class="diverge">`), 7; got != want {
		t.Errorf("diverging rows: got %d, want %d", got, want)
	}
	golden(t, "matrix.html", page.Bytes())

	for _, bad := range [][]*Conformance{nil, {reps[0], nil}} {
		if err := WriteMatrixText(io.Discard, bad); err == nil {
			t.Errorf("WriteMatrixText(%d reports with a nil): got no error", len(bad))
		}
	}
}

func TestNilReport(t *testing.T) {
	for name, err := range map[string]error{
		"json":    WriteJSON(io.Discard, nil),
		"console": WriteConsole(io.Discard, nil, false),
		"junit":   WriteJUnit(io.Discard, nil),
		"html":    WriteHTML(io.Discard, nil),
	} {
		if err == nil {
			t.Errorf("%s: got no error for a nil report", name)
		}
	}
}

// A verdict on part of the suite says which part: never a bare CONFORMANT when cases did not run.
func TestVerdictNamesItsScope(t *testing.T) {
	cases := func(outcomes ...Outcome) []Case {
		var out []Case
		for i, o := range outcomes {
			k := Case{ID: fmt.Sprintf("X-%03d", i), Level: LevelMust, Outcome: o}
			if o == OutcomeNotSupported {
				k.Capabilities = []string{"presence"}
			}
			out = append(out, k)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		caps []string
		cs   []Case
		want string
	}{
		{"everything ran", []string{"presence"}, cases(OutcomePass, OutcomePass), "CONFORMANT: 2 passed"},
		{"nothing declared", nil, cases(OutcomePass, OutcomeNotSupported), "CONFORMANT (core only, 1 of 2 cases run; undeclared: presence): 1 passed"},
		{"selected", []string{"presence"}, cases(OutcomePass, OutcomeNotSelected), "CONFORMANT (1 of 2 cases run): 1 passed"},
		{"interrupted", []string{"presence"}, cases(OutcomePass, OutcomeInterrupted), "INTERRUPTED (1 of 2 cases run): 1 passed, 0 failed (must), 0 non-strict (should), 1 interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conformance{Capabilities: tc.caps, Cases: tc.cs}
			c.Summarize()
			if got := verdict(c); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want it to start with %q", got, tc.want)
			}
		})
	}
}

// TestReadsReportsOfEarlierVersions: a report written before the INTERRUPTED outcome existed
// (its summary has no INTERRUPTED count) still reads.
func TestReadsReportsOfEarlierVersions(t *testing.T) {
	f, err := os.Open("testdata/conformance-before-interrupted.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ReadJSON(f); err != nil {
		t.Errorf("a report of the previous release: %v", err)
	}
}

// TestMarkdownGolden: the Markdown summary of the fixture, a failure's hostile text escaped so
// it can break neither the table nor the page.
func TestMarkdownGolden(t *testing.T) {
	c := fixtureReport()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.md", buf.Bytes())
	for _, k := range c.Cases {
		if k.Outcome == OutcomeFail {
			k.Message = "a | b <script>alert(1)</script> **x**\nsecond line"
			c.Cases[0] = k
			break
		}
	}
	c.Cases[0].Outcome, c.Cases[0].Message = OutcomeFail, "a | b <script>alert(1)</script> **x**\nsecond line"
	buf.Reset()
	if err := WriteMarkdown(&buf, c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<script>") || strings.Contains(out, "a | b") || strings.Contains(out, "**x**") {
		t.Errorf("hostile text not escaped:\n%s", out)
	}
	if !strings.Contains(out, `a \| b &lt;script&gt;alert(1)&lt;/script&gt; \*\*x\*\* second line`) {
		t.Errorf("the escaped message is not in the table:\n%s", out)
	}
}
