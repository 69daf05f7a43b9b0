package reports

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Format names the JSON layout written by WriteJSON. ReadJSON refuses any other value.
const Format = "pushcert.conformance/v1"

// Outcome is the verdict of one case. The vocabulary is defined once, here.
type Outcome string

// The outcomes, in the order every rendering lists them.
const (
	OutcomePass         Outcome = "PASS"          // every expectation met
	OutcomeFail         Outcome = "FAIL"          // a MUST broken: the target is not conformant
	OutcomeNonStrict    Outcome = "NON-STRICT"    // a SHOULD broken: conformant, except in strict mode
	OutcomeInfo         Outcome = "INFO"          // an @info case that ran: behaviour the spec leaves open
	OutcomeNotSupported Outcome = "NOT-SUPPORTED" // needs a capability the target did not declare
	OutcomeSkipped      Outcome = "SKIPPED"       // not run: needs control of the server the run was not given
	OutcomeInterrupted  Outcome = "INTERRUPTED"   // not finished: the run was interrupted (Ctrl-C, SIGTERM)
	OutcomeNotSelected  Outcome = "NOT-SELECTED"  // left out by the run's case selectors
)

// Outcomes returns every outcome in display order.
func Outcomes() []Outcome {
	return []Outcome{OutcomePass, OutcomeFail, OutcomeNonStrict, OutcomeInfo, OutcomeNotSupported, OutcomeSkipped, OutcomeInterrupted, OutcomeNotSelected}
}

// shownOutcomes are the outcomes a rendering of s lists: every one, less INTERRUPTED when the
// run was not interrupted.
func shownOutcomes(s Summary) []Outcome {
	if s.ByOutcome[OutcomeInterrupted] > 0 {
		return Outcomes()
	}
	return slices.DeleteFunc(Outcomes(), func(o Outcome) bool { return o == OutcomeInterrupted })
}

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool { return slices.Contains(Outcomes(), o) }

// Level is the normative weight of a case, from its @must, @should or @info tag.
type Level string

// The levels, strongest first.
const (
	LevelMust   Level = "must"
	LevelShould Level = "should"
	LevelInfo   Level = "info"
)

// Levels returns every level, strongest first.
func Levels() []Level { return []Level{LevelMust, LevelShould, LevelInfo} }

// Valid reports whether l is one of the defined levels.
func (l Level) Valid() bool { return slices.Contains(Levels(), l) }

// allows reports whether a case of level l may end with outcome o. FAIL is reserved to MUST,
// NON-STRICT to SHOULD and INFO to @info cases, so a report cannot contradict the definitions.
func (l Level) allows(o Outcome) bool {
	switch o {
	case OutcomeFail:
		return l == LevelMust
	case OutcomeNonStrict:
		return l == LevelShould
	case OutcomeInfo:
		return l == LevelInfo
	case OutcomePass:
		return l != LevelInfo
	default:
		return true
	}
}

// StepStatus is the result of one Gherkin step, as godog names it.
type StepStatus string

// Step statuses. Pending and ambiguous come from godog; the suite itself should not produce them.
const (
	StepPassed    StepStatus = "passed"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
	StepUndefined StepStatus = "undefined"
	StepPending   StepStatus = "pending"
	StepAmbiguous StepStatus = "ambiguous"
)

// Valid reports whether s is a known step status.
func (s StepStatus) Valid() bool {
	switch s {
	case StepPassed, StepFailed, StepSkipped, StepUndefined, StepPending, StepAmbiguous:
		return true
	}
	return false
}

// Wire directions, seen from the suite's client.
const (
	DirSent     = "->" // client to server
	DirReceived = "<-" // server to client
)

// CoreCapability is the key under which Summary.ByCapability counts cases that need no capability.
const CoreCapability = "core"

// Conformance is the result of one run of the conformance suite against one target.
type Conformance struct {
	Format         string         `json:"format"`
	Suite          Suite          `json:"suite"`
	Implementation Implementation `json:"implementation"`
	Target         Target         `json:"target"`
	// Capabilities are the ones the target declared; cases needing others are NOT-SUPPORTED.
	Capabilities []string `json:"capabilities"`
	// Probed is true when the capabilities were found by probing the target (--supports auto).
	Probed bool `json:"capabilities_probed,omitempty"`
	// Areas orders the areas as the suite's feature files do (connection first); renderings
	// follow it. Areas not listed come after, in the order of their first case ID.
	Areas      []string  `json:"areas,omitempty"`
	Strict     bool      `json:"strict"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	DurationMS int64     `json:"duration_ms"`
	Cases      []Case    `json:"cases"`
	Summary    Summary   `json:"summary"`
	// Baseline, when the run was judged against a list of known failures, says how it compared.
	Baseline *BaselineResult `json:"baseline,omitempty"`
}

// Suite identifies the conformance suite that produced the report: with its commit and the
// digest of its feature files, a verdict can be traced to the exact cases that made it.
type Suite struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`          // the VCS revision the binary was built from ("+dirty" when modified)
	Digest  string `json:"features_sha256,omitempty"` // SHA-256 of the feature files, in name order
}

// Implementation identifies the server under test, as the vendor names it.
type Implementation struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target says how the server was reached.
type Target struct {
	WebSocketURL string `json:"websocket_url"`
	APIURL       string `json:"api_url"`
	AppID        string `json:"app_id"`
	// Embedded is true when the suite ran against its in-process reference server.
	Embedded bool `json:"embedded"`
	// Name, when set, says what the target is (the load generator's null server).
	Name string `json:"name,omitempty"`
	// Nodes are the WebSocket URLs of a cluster's nodes, the first being WebSocketURL.
	Nodes []string `json:"nodes,omitempty"`
}

// Case is one scenario of the suite and its result.
type Case struct {
	ID           string   `json:"id"`   // stable tag, e.g. "PRES-004"
	Name         string   `json:"name"` // scenario title
	Area         string   `json:"area"` // feature name, e.g. "Presence channels"
	Level        Level    `json:"level"`
	Capabilities []string `json:"capabilities,omitempty"`
	Checklist    []int    `json:"checklist,omitempty"` // items of the seed's testing checklist
	NeedsControl bool     `json:"needs_control,omitempty"`
	// Spec cites the section of the specification the case comes from, and Sentence is the
	// normative sentence it checks, as h2spec puts the RFC's sentence above each case.
	Spec     string  `json:"spec,omitempty"`
	Sentence string  `json:"sentence,omitempty"`
	Outcome  Outcome `json:"outcome"`
	// Message says why: the broken expectation, the recorded behaviour, the missing capability.
	Message  string `json:"message,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Observed is what the case recorded: an INFO case's observation, or a fact behind a
	// verdict (a connection the server closed while a negative step watched it).
	Observed []string `json:"observed,omitempty"`
	// Known is the baseline's reason when the run's baseline lists this failing case.
	Known      string      `json:"known,omitempty"`
	Steps      []Step      `json:"steps,omitempty"`
	Wire       []WireEntry `json:"wire,omitempty"`
	DurationMS int64       `json:"duration_ms"`
}

// Step is one Gherkin step of a case.
type Step struct {
	Keyword string     `json:"keyword"` // "Given ", "When ", "Then ", "And "...
	Text    string     `json:"text"`
	Status  StepStatus `json:"status"`
	Error   string     `json:"error,omitempty"`
}

// WireEntry is one frame (or connection event) on one of the case's connections.
type WireEntry struct {
	At   time.Time `json:"at"`
	Conn string    `json:"conn"` // the suite's name for the connection, e.g. "alice#1"
	Dir  string    `json:"dir"`  // DirSent or DirReceived
	Text string    `json:"text"`
}

// Summary counts the cases. It is derived data: Summarize computes it from the cases.
type Summary struct {
	Total int `json:"total"`
	// ByOutcome holds every outcome, zero counts included.
	ByOutcome map[Outcome]int `json:"by_outcome"`
	// The nested maps hold only non-zero counts.
	ByLevel      map[Level]map[Outcome]int  `json:"by_level"`
	ByCapability map[string]map[Outcome]int `json:"by_capability"` // CoreCapability: cases needing none
	ByArea       map[string]map[Outcome]int `json:"by_area"`
	// Conformant: no FAIL; in strict mode, no NON-STRICT either.
	Conformant bool `json:"conformant"`
}

// Summarize recomputes c.Summary from c.Cases and c.Strict.
func (c *Conformance) Summarize() {
	s := Summary{
		ByOutcome:    make(map[Outcome]int, len(Outcomes())),
		ByLevel:      map[Level]map[Outcome]int{},
		ByCapability: map[string]map[Outcome]int{},
		ByArea:       map[string]map[Outcome]int{},
	}
	for _, o := range Outcomes() {
		s.ByOutcome[o] = 0
	}
	add := func(m map[string]map[Outcome]int, k string, o Outcome) {
		if m[k] == nil {
			m[k] = map[Outcome]int{}
		}
		m[k][o]++
	}
	for _, k := range c.Cases {
		s.Total++
		s.ByOutcome[k.Outcome]++
		if s.ByLevel[k.Level] == nil {
			s.ByLevel[k.Level] = map[Outcome]int{}
		}
		s.ByLevel[k.Level][k.Outcome]++
		if len(k.Capabilities) == 0 {
			add(s.ByCapability, CoreCapability, k.Outcome)
		}
		for _, cp := range k.Capabilities {
			add(s.ByCapability, cp, k.Outcome)
		}
		add(s.ByArea, k.Area, k.Outcome)
	}
	s.Conformant = conformant(c.Cases, c.Strict)
	c.Summary = s
}

func conformant(cases []Case, strict bool) bool {
	for _, k := range cases {
		if k.Outcome == OutcomeFail || k.Outcome == OutcomeInterrupted || (strict && k.Outcome == OutcomeNonStrict) {
			return false
		}
	}
	return true
}

// interrupted reports whether the run was cut short before every case finished.
func interrupted(cases []Case) bool {
	for _, k := range cases {
		if k.Outcome == OutcomeInterrupted {
			return true
		}
	}
	return false
}

// Exit codes of `pushcert check` that the report decides. Usage errors (2) and an unreachable
// target (3) never produce a report.
const (
	ExitConformant    = 0
	ExitNotConformant = 1
	ExitInterrupted   = 130 // as a shell reports a command ended by Ctrl-C
)

// ExitCode returns ExitConformant when every MUST passed (and, with Strict, every SHOULD too),
// else ExitNotConformant. It looks at the cases, not at a possibly stale Summary. A run judged
// against a baseline passes when it has no new failure and no stale entry.
func (c *Conformance) ExitCode() int {
	if interrupted(c.Cases) {
		return ExitInterrupted
	}
	if b := c.Baseline; b != nil {
		if len(b.New) == 0 && len(b.Stale) == 0 {
			return ExitConformant
		}
		return ExitNotConformant
	}
	if conformant(c.Cases, c.Strict) {
		return ExitConformant
	}
	return ExitNotConformant
}

// Validate checks what a renderer relies on: known outcomes, levels, step statuses and wire
// directions, unique non-empty case IDs, and outcomes that agree with the case's level.
func (c *Conformance) Validate() error {
	if c == nil {
		return errors.New("reports: nil report")
	}
	var errs []error
	if !writableTime(c.Started) || !writableTime(c.Finished) {
		errs = append(errs, errors.New("start or finish time outside the years 0 to 9999 (UTC)"))
	}
	seen := make(map[string]bool, len(c.Cases))
	for i, k := range c.Cases {
		where := "case " + strconv.Itoa(i)
		if k.ID != "" {
			where += " (" + k.ID + ")"
		}
		switch {
		case k.ID == "":
			errs = append(errs, fmt.Errorf("%s: empty id", where))
		case seen[k.ID]:
			errs = append(errs, fmt.Errorf("%s: duplicate id", where))
		}
		seen[k.ID] = true
		if !k.Outcome.Valid() {
			errs = append(errs, fmt.Errorf("%s: unknown outcome %q", where, k.Outcome))
		}
		if !k.Level.Valid() {
			errs = append(errs, fmt.Errorf("%s: unknown level %q", where, k.Level))
		}
		if k.Outcome.Valid() && k.Level.Valid() && !k.Level.allows(k.Outcome) {
			errs = append(errs, fmt.Errorf("%s: outcome %s is not possible at level %s", where, k.Outcome, k.Level))
		}
		for j, st := range k.Steps {
			if !st.Status.Valid() {
				errs = append(errs, fmt.Errorf("%s: step %d: unknown status %q", where, j, st.Status))
			}
		}
		for j, w := range k.Wire {
			if w.Dir != DirSent && w.Dir != DirReceived {
				errs = append(errs, fmt.Errorf("%s: wire entry %d: unknown direction %q", where, j, w.Dir))
			}
			if !writableTime(w.At) {
				errs = append(errs, fmt.Errorf("%s: wire entry %d: time outside the years 0 to 9999 (UTC)", where, j))
			}
		}
		if k.DurationMS < 0 {
			errs = append(errs, fmt.Errorf("%s: negative duration", where))
		}
	}
	return errors.Join(errs...)
}

// normalized returns a copy of c in canonical form: cases sorted by ID, capability and checklist
// lists sorted, times in UTC, empty lists as empty rather than nil where the JSON always has the
// key, and the summary recomputed. c itself is not modified.
func normalized(c *Conformance) *Conformance {
	n := *c
	n.Format = Format
	n.Areas = slices.Clone(c.Areas)
	n.Capabilities = sortedCopy(c.Capabilities)
	if n.Capabilities == nil {
		n.Capabilities = []string{}
	}
	n.Started, n.Finished = utc(c.Started), utc(c.Finished)
	n.Cases = make([]Case, len(c.Cases))
	for i, k := range c.Cases {
		k.Capabilities = sortedCopy(k.Capabilities)
		if k.Checklist != nil {
			k.Checklist = slices.Sorted(slices.Values(k.Checklist))
		}
		k.Steps = slices.Clone(k.Steps)
		k.Observed = slices.Clone(k.Observed)
		k.Wire = slices.Clone(k.Wire)
		for j := range k.Wire {
			k.Wire[j].At = utc(k.Wire[j].At)
		}
		n.Cases[i] = k
	}
	slices.SortStableFunc(n.Cases, func(a, b Case) int { return compareIDs(a.ID, b.ID) })
	n.Summarize()
	return &n
}

// writableTime reports whether t, once in UTC, is a time encoding/json can write.
func writableTime(t time.Time) bool {
	y := t.UTC().Year()
	return t.IsZero() || (y >= 0 && y <= 9999)
}

func sortedCopy(s []string) []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// compareIDs orders case IDs by prefix, then by number, so "CONN-10" follows "CONN-9".
func compareIDs(a, b string) int {
	pa, na, oka := splitID(a)
	pb, nb, okb := splitID(b)
	if oka && okb && pa == pb {
		if c := cmp.Compare(na, nb); c != 0 {
			return c
		}
	}
	if oka && okb {
		if c := cmp.Compare(pa, pb); c != 0 {
			return c
		}
	}
	return cmp.Compare(a, b)
}

func splitID(id string) (prefix string, n int, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return id[:i], n, true
}

// area is a group of cases sharing Case.Area.
type area struct {
	Name  string
	Cases []Case
}

// areas groups sorted cases by area: first the areas in the given order, then the others in the
// order of their first case ID. Either way the order does not depend on the order of the cases,
// so a report renders the same from the runner and from a JSON file.
func areas(order []string, cases []Case) []area {
	var out []area
	idx := map[string]int{}
	present := map[string]bool{}
	for _, k := range cases {
		present[k.Area] = true
	}
	for _, name := range order {
		if _, dup := idx[name]; dup || !present[name] {
			continue
		}
		idx[name] = len(out)
		out = append(out, area{Name: name})
	}
	for _, k := range cases {
		i, ok := idx[k.Area]
		if !ok {
			i = len(out)
			idx[k.Area] = i
			out = append(out, area{Name: k.Area})
		}
		out[i].Cases = append(out[i].Cases, k)
	}
	return out
}

// summaryEqual compares two summaries, treating nil and empty maps alike.
func summaryEqual(a, b Summary) bool {
	return a.Total == b.Total && a.Conformant == b.Conformant &&
		reflect.DeepEqual(nonNil(a.ByOutcome), nonNil(b.ByOutcome)) &&
		reflect.DeepEqual(nonNilNested(a.ByLevel), nonNilNested(b.ByLevel)) &&
		reflect.DeepEqual(nonNilNested(a.ByCapability), nonNilNested(b.ByCapability)) &&
		reflect.DeepEqual(nonNilNested(a.ByArea), nonNilNested(b.ByArea))
}

// nonNil is m without its zero counts: a report written before an outcome existed (no
// INTERRUPTED key) reads the same as one that counts it 0.
func nonNil[K comparable](m map[K]int) map[K]int {
	out := map[K]int{}
	for k, n := range m {
		if n != 0 {
			out[k] = n
		}
	}
	return out
}

func nonNilNested[K comparable](m map[K]map[Outcome]int) map[K]map[Outcome]int {
	out := map[K]map[Outcome]int{}
	for k, inner := range m {
		out[k] = nonNil(inner)
	}
	return out
}

// verdict is the one-line conclusion shared by the console and HTML renderings.
func verdict(c *Conformance) string {
	s := c.Summary
	head := "CONFORMANT"
	switch {
	case s.ByOutcome[OutcomeInterrupted] > 0: // no verdict on a run cut short
		head = "INTERRUPTED"
	case !s.Conformant:
		head = "NOT CONFORMANT"
	}
	if c.Strict {
		head += " (strict)"
	}
	if sc := scope(c); sc != "" {
		head += " (" + sc + ")"
	}
	mustFail := s.ByLevel[LevelMust][OutcomeFail]
	parts := []string{
		fmt.Sprintf("%d passed", s.ByOutcome[OutcomePass]),
		fmt.Sprintf("%d failed (must)", mustFail),
		fmt.Sprintf("%d non-strict (should)", s.ByOutcome[OutcomeNonStrict]),
	}
	if n := s.ByOutcome[OutcomeInfo]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d info", n))
	}
	if n := s.ByOutcome[OutcomeNotSupported]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d not supported", n))
	}
	if n := s.ByOutcome[OutcomeSkipped]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", n))
	}
	if n := s.ByOutcome[OutcomeInterrupted]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d interrupted", n))
	}
	if n := s.ByOutcome[OutcomeNotSelected]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d not selected", n))
	}
	return head + ": " + strings.Join(parts, ", ")
}

// scope says what a verdict covers when some cases did not run, so that a verdict on part of
// the suite cannot be read as one on all of it: "core only, 40 of 122 cases run; undeclared:
// presence, user-auth". It is empty when every case ran.
func scope(c *Conformance) string {
	s := c.Summary
	ran := s.Total - s.ByOutcome[OutcomeNotSupported] - s.ByOutcome[OutcomeSkipped] - s.ByOutcome[OutcomeInterrupted] - s.ByOutcome[OutcomeNotSelected]
	if ran == s.Total {
		return ""
	}
	out := fmt.Sprintf("%d of %d cases run", ran, s.Total)
	if len(c.Capabilities) == 0 {
		out = "core only, " + out
	}
	var undeclared []string
	for _, k := range c.Cases {
		if k.Outcome != OutcomeNotSupported {
			continue
		}
		for _, cp := range k.Capabilities {
			if !slices.Contains(c.Capabilities, cp) && !slices.Contains(undeclared, cp) {
				undeclared = append(undeclared, cp)
			}
		}
	}
	if len(undeclared) > 0 {
		slices.Sort(undeclared)
		what := "undeclared: "
		if c.Probed {
			what = "not found by --supports auto: "
		}
		out += "; " + what + strings.Join(undeclared, ", ")
	}
	return out
}

// specLine is a case's section and sentence on one line, or "" when it has neither.
func specLine(k Case) string {
	switch {
	case k.Spec == "":
		return k.Sentence
	case k.Sentence == "":
		return k.Spec
	}
	return k.Spec + ": " + k.Sentence
}

// problemCases are the failing and non-strict cases, in report order.
func problemCases(c *Conformance) []Case {
	var out []Case
	for _, k := range c.Cases {
		if k.Outcome == OutcomeFail || k.Outcome == OutcomeNonStrict {
			out = append(out, k)
		}
	}
	return out
}

// recordedCases are the INFO cases that recorded something, in report order.
func recordedCases(c *Conformance) []Case {
	var out []Case
	for _, k := range c.Cases {
		if k.Outcome == OutcomeInfo && len(k.Observed) > 0 {
			out = append(out, k)
		}
	}
	return out
}
