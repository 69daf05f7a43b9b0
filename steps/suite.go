package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/webhook"
)

// Options select and shape a run of the suite.
type Options struct {
	Target        *target.Target
	Capabilities  []string        // declared by the target; cases needing others are NOT-SUPPORTED
	Probed        bool            // the capabilities were found by --supports auto, not declared
	Control       bool            // the runner may start servers of its own (embedded target only)
	Profile       *target.Profile // apps with settings of their own on a target the runner does not control
	RestartCmd    string          // restarts the target (overrides the profile's restart_cmd)
	NodeCrashCmd  string          // kills a node of the target's cluster without a word and starts it again
	Include       []string        // case IDs (CONN-001), ID prefixes (CONN-) or areas; empty is all
	Exclude       []string        // same forms, removed after Include
	TimeoutFactor float64         // multiplies every "within" of the features; 0 is 1
	Concurrency   int             // scenarios run at once; 0 is 4
	Output        io.Writer
	Format        string // godog formatters, e.g. "progress" or "cucumber:out/cucumber.json"
	Strict        bool
	// Webhooks is the suite's webhook receiver, which the server posts the app's webhooks to;
	// nil skips the webhook cases.
	Webhooks *webhook.Receiver
}

// Outcome of one case, as design.md defines the vocabulary.
type Outcome string

const (
	Pass         Outcome = "PASS"
	Fail         Outcome = "FAIL"
	NonStrict    Outcome = "NON-STRICT"
	Info         Outcome = "INFO"
	NotSupported Outcome = "NOT-SUPPORTED"
	Skipped      Outcome = "SKIPPED"
	Interrupted  Outcome = "INTERRUPTED"
	NotSelected  Outcome = "NOT-SELECTED"
)

// interruptedMsg is the message of a case the run's end cut short.
const interruptedMsg = "the run was interrupted before this case finished"

// StepResult is one step of a case as it ran.
type StepResult struct {
	Text   string
	Status string
	Error  string
	// Setup is true for a Given step (and the And steps after it): the scene, not the subject.
	Setup bool
}

// Result is the outcome of one case with its evidence.
type Result struct {
	Case     features.Case
	Outcome  Outcome
	Message  string
	Expected string
	Actual   string
	Notes    []string // observations: what an INFO case recorded, how a refutation ended
	Steps    []StepResult
	Wire     []client.Entry
	Duration time.Duration
}

// AllCapabilities are those the reference server implements.
var AllCapabilities = []string{"presence", "client-events", "user-auth", "cache-channels", "encrypted", "http-api", "rate-limits", "watchlist", "terminate", "webhooks", "cluster", "subscription-count"}

// Selected reports whether a case is chosen by include and exclude selectors.
func Selected(c features.Case, include, exclude []string) bool {
	match := func(sel string) bool {
		return strings.EqualFold(sel, c.ID) || (strings.HasSuffix(sel, "-") && strings.HasPrefix(c.ID, strings.ToUpper(sel))) ||
			strings.EqualFold(sel, c.Area) || strings.EqualFold(sel, strings.TrimSuffix(c.File, ".feature"))
	}
	if len(include) > 0 && !slices.ContainsFunc(include, match) {
		return false
	}
	return !slices.ContainsFunc(exclude, match)
}

// Run plays the selected cases against the target and returns one result per case of the
// catalogue, in catalogue order. An error means the suite itself could not run.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	runCtx := ctx // ended by Ctrl-C or SIGTERM: what it cuts short is interrupted, not failed
	if opts.TimeoutFactor <= 0 {
		opts.TimeoutFactor = 1
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	if opts.Format == "" {
		opts.Format = "progress"
	}
	cases, err := features.Catalog(features.FS)
	if err != nil {
		return nil, err
	}
	shopApp, err := startApp(opts.Target)
	if err != nil {
		return nil, fmt.Errorf("start the ticketing application: %w", err)
	}
	defer shopApp.Stop()
	if opts.Webhooks != nil {
		// the app's webhooks reach its endpoint through the receiver, which records them too
		opts.Webhooks.Handle(opts.Target.AppID, shopApp.Webhooks)
	}
	// shared: the run may restart the very server every case uses (a --restart-cmd).
	shared := !opts.Control && (opts.RestartCmd != "" || opts.NodeCrashCmd != "" || (opts.Profile != nil && opts.Profile.RestartCmd != "") ||
		(opts.Target != nil && (opts.Target.Restart != nil || opts.Target.CrashNode != nil)))
	var gate sync.RWMutex
	byName := map[string]features.Case{}
	results := map[string]*Result{}
	var mu sync.Mutex
	for _, c := range cases {
		byName[c.File+":"+c.Name] = c
		results[c.ID] = &Result{Case: c, Outcome: NotSelected, Message: "left out by the case selectors"}
	}
	caseOf := func(sc *godog.Scenario) (features.Case, bool) {
		c, ok := byName[sc.Uri+":"+sc.Name]
		return c, ok
	}
	scenarioInit := func(sc *godog.ScenarioContext) {
		sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
			c, ok := caseOf(s)
			if !ok {
				return ctx, fmt.Errorf("scenario %q is not in the catalogue", s.Name)
			}
			r := &Result{Case: c}
			mu.Lock()
			results[c.ID] = r
			mu.Unlock()
			if missing := missingCaps(c, opts.Capabilities); len(missing) > 0 {
				r.Outcome, r.Message = NotSupported, "capability not declared: "+strings.Join(missing, ", ")
				return ctx, godog.ErrSkip
			}
			w := newWorld(opts.Target, &opts, shopApp)
			w.result = r
			// A case that restarts a shared server runs alone: it takes the gate for writing,
			// every other case for reading.
			if shared {
				if c.NeedsRestart {
					gate.Lock()
					w.release = gate.Unlock
				} else {
					gate.RLock()
					w.release = gate.RUnlock
				}
			}
			return withWorld(ctx, w), nil
		})
		sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
			if w, ok := ctx.Value(worldKey{}).(*World); ok {
				sr := StepResult{Text: st.Text, Status: status.String(), Setup: st.Type == messages.PickleStepType_CONTEXT}
				if err != nil {
					sr.Error = err.Error()
				}
				if errors.Is(err, godog.ErrSkip) && w.skipped == "" {
					// godog ends the scenario without passing the error on
					w.skipped = strings.TrimPrefix(err.Error(), godog.ErrSkip.Error()+": ")
				}
				w.result.Steps = append(w.result.Steps, sr)
			}
			return ctx, err
		})
		sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
			c, _ := caseOf(s)
			mu.Lock()
			r := results[c.ID]
			mu.Unlock()
			w, _ := ctx.Value(worldKey{}).(*World)
			if w != nil {
				w.close()
				if w.release != nil {
					w.release()
				}
				r.Wire = w.Log.Entries()
				ctx = godog.Attach(ctx, godog.Attachment{Body: []byte(w.Log.String()), FileName: "wire.log", MediaType: "text/plain"})
			}
			if r.Outcome != "" { // decided before it ran: not supported or skipped
				return ctx, nil
			}
			r.Duration = time.Since(w.started)
			if w.skipped != "" {
				r.Outcome, r.Message = Skipped, w.skipped
				return ctx, nil
			}
			if err != nil && runCtx.Err() != nil {
				r.Outcome, r.Message = Interrupted, interruptedMsg
				return ctx, nil
			}
			finish(r, err)
			return ctx, nil
		})
		registerSteps(sc)
	}
	var selected []string
	for _, c := range cases {
		if Selected(c, opts.Include, opts.Exclude) {
			selected = append(selected, "@id:"+c.ID)
		}
	}
	if len(selected) == 0 {
		return nil, errors.New("no case matches the selection")
	}
	suite := godog.TestSuite{
		Name:                "pushcert",
		ScenarioInitializer: scenarioInit,
		Options: &godog.Options{
			FS:             features.FS,
			Paths:          []string{"."},
			Format:         opts.Format,
			Output:         opts.Output,
			Concurrency:    opts.Concurrency,
			Tags:           strings.Join(selected, ","),
			Strict:         true,
			NoColors:       true,
			DefaultContext: ctx,
		},
	}
	suite.Run()
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		r := results[c.ID]
		switch {
		case r.Outcome == "" && runCtx.Err() != nil:
			r.Outcome, r.Message = Interrupted, interruptedMsg
		case r.Outcome == "":
			r.Outcome, r.Message = Skipped, "the scenario did not finish"
		}
		out = append(out, *r)
	}
	return out, nil
}

func missingCaps(c features.Case, declared []string) []string {
	var missing []string
	for _, cp := range c.Capabilities {
		if !slices.Contains(declared, cp) {
			missing = append(missing, cp)
		}
	}
	return missing
}

// finish turns a scenario's error into an outcome by the case's level.
func finish(r *Result, err error) {
	if err == nil {
		r.Outcome = Pass
		if r.Case.Level == "info" {
			r.Outcome = Info
		}
		return
	}
	if errors.Is(err, godog.ErrSkip) {
		r.Outcome, r.Message = Skipped, err.Error()
		return
	}
	r.Message = err.Error()
	var m *Mismatch
	if errors.As(err, &m) {
		r.Expected, r.Actual = m.Expected, m.Actual
	}
	switch r.Case.Level {
	case "must":
		r.Outcome = Fail
	case "should":
		r.Outcome = NonStrict
	default:
		r.Outcome = Info
	}
}
