package reports

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestBaseline(t *testing.T) {
	run := func(outcomes map[string]Outcome) *Conformance {
		c := &Conformance{}
		for _, id := range []string{"A-001", "A-002", "A-003", "A-004"} {
			o, ok := outcomes[id]
			if !ok {
				o = OutcomePass
			}
			c.Cases = append(c.Cases, Case{ID: id, Level: LevelMust, Outcome: o, Message: "expected: x\n  actual: y"})
		}
		c.Summarize()
		return c
	}
	first := run(map[string]Outcome{"A-001": OutcomeFail, "A-002": OutcomeFail})
	var buf bytes.Buffer
	if err := WriteBaseline(&buf, first); err != nil {
		t.Fatal(err)
	}
	b, err := ReadBaseline(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.Entries); got != 2 || b.Entries[0].ID != "A-001" || !strings.Contains(b.Entries[0].Reason, "expected: x") {
		t.Fatalf("round trip: %+v", b.Entries)
	}
	for _, tc := range []struct {
		name               string
		now                map[string]Outcome
		known, newF, stale []string
		exit               int
	}{
		{"the same failures", map[string]Outcome{"A-001": OutcomeFail, "A-002": OutcomeFail}, []string{"A-001", "A-002"}, nil, nil, ExitConformant},
		{"a new failure", map[string]Outcome{"A-001": OutcomeFail, "A-002": OutcomeFail, "A-003": OutcomeFail}, []string{"A-001", "A-002"}, []string{"A-003"}, nil, ExitNotConformant},
		{"a listed case passes", map[string]Outcome{"A-001": OutcomeFail}, []string{"A-001"}, nil, []string{"A-002"}, ExitNotConformant},
		{"a listed case did not run", map[string]Outcome{"A-001": OutcomeFail, "A-002": OutcomeNotSupported}, []string{"A-001"}, nil, nil, ExitConformant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := run(tc.now)
			if err := c.Judge(b, "base.txt"); err != nil {
				t.Fatal(err)
			}
			r := c.Baseline
			if !slices.Equal(r.Known, emptyIfNil(tc.known)) || !slices.Equal(r.New, emptyIfNil(tc.newF)) || !slices.Equal(r.Stale, emptyIfNil(tc.stale)) {
				t.Errorf("got known %v new %v stale %v, want %v %v %v", r.Known, r.New, r.Stale, tc.known, tc.newF, tc.stale)
			}
			if got := c.ExitCode(); got != tc.exit {
				t.Errorf("exit %d, want %d", got, tc.exit)
			}
		})
	}
	if _, err := ReadBaseline(strings.NewReader("A-001 one\nA-001 two\n")); err == nil {
		t.Error("a repeated ID was accepted")
	}
	if err := run(nil).Judge(Baseline{Entries: []BaselineEntry{{ID: "Z-999"}}}, "b"); err == nil {
		t.Error("an unknown ID was accepted")
	}
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
