package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/webhook"
	"github.com/pushcert/pushcert/refserver"
	"github.com/pushcert/pushcert/reports"
	"github.com/pushcert/pushcert/steps"
)

// maxClusterNodes bounds --cluster: every node is a server in this process.
const maxClusterNodes = 16

// exitUnreachable is check's exit code when the target cannot be reached.
const exitUnreachable = 3

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "list" {
		return runCheckList(args[1:], stdout, stderr)
	}
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: pushcert check [flags] [CASE-ID | ID-PREFIX- | area ...]\n       pushcert check list [--json]\n\nflags:")
		fs.PrintDefaults()
	}
	t := targetFlags(fs)
	imageFlags(fs, t)
	fs.IntVar(&t.cluster, "cluster", 0, "run the embedded reference server as N nodes on a real Redis (redis-server from PATH, on a free loopback port), for the cluster cases too")
	supports := fs.StringSlice("supports", nil, "capabilities the target declares, a comma list, \"all\", or \"auto\" to probe the target (embedded: all): "+strings.Join(steps.AllCapabilities, ", "))
	strict := fs.Bool("strict", false, "a failed SHOULD case also fails the run")
	profile := fs.String("profile", "", "a server profile (JSON): apps of the target with settings of their own, for the cases that need them")
	restartCmd := fs.String("restart-cmd", "", "a shell command that restarts the target (clients closed with 4200, the server back when it returns), for the restart cases")
	crashCmd := fs.String("node-crash-cmd", "", "a shell command that kills node $PUSHCERT_NODE of the cluster without a word (SIGKILL) and starts it again ($PUSHCERT_NODE_URL, $PUSHCERT_NODE_API_URL: its URLs), for the node-death case")
	exclude := fs.StringSlice("exclude", nil, "case IDs, ID prefixes (PRES-) or areas to leave out")
	factor := fs.Float64("timeout-factor", 1, "multiply every wait of the suite, for slow targets or networks")
	concurrency := fs.Int("concurrency", 4, "scenarios run at once")
	impl := fs.String("implementation", "", "implementation name for the report (default: the reference server, or the target URL)")
	implVersion := fs.String("implementation-version", "", "implementation version for the report")
	jsonOut := fs.String("json", "", "write the JSON report to this file")
	junitOut := fs.String("junit", "", "write a JUnit XML report to this file")
	cucumberOut := fs.String("cucumber", "", "write a cucumber JSON report to this file")
	htmlOut := fs.String("html", "", "write the self-contained HTML report to this file")
	mdOut := fs.String("markdown", "", "write a Markdown summary to this file: verdict, counts, failures (for $GITHUB_STEP_SUMMARY or a pull request comment)")
	outDir := fs.String("out", "", "write report.json, junit.xml, cucumber.json, report.html and summary.md into this directory")
	expected := fs.String("expected-failures", "", "a baseline file of known failures (CASE-ID reason, one a line): exit 0 while every failure is listed, 1 on a new failure or a listed case that passes")
	writeBase := fs.String("write-baseline", "", "write every FAIL and NON-STRICT case of this run to a baseline file, for --expected-failures")
	verbose := fs.BoolP("verbose", "v", false, "print every failure's wire log")
	color := fs.Bool("color", colorByDefault(stdout, os.Getenv), "color the console summary (default: on a terminal, unless NO_COLOR is set)")
	hookListen := fs.String("webhook-listen", "", "run the webhook receiver on this address (host:port) for the webhook cases; the target posts app ID's webhooks to http://ADDR/hooks/ID (embedded: on a free loopback port)")
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	t.outDir = *outDir
	switch {
	case t.cluster > 0 && t.image.ref != "":
		fmt.Fprintln(stderr, "pushcert check: --cluster starts embedded nodes, --target-image a server of its own: give one")
		return exitUsage
	case t.cluster < 0 || t.cluster == 1 || t.cluster > maxClusterNodes:
		fmt.Fprintf(stderr, "pushcert check: --cluster %d: give 2 to %d nodes\n", t.cluster, maxClusterNodes)
		return exitUsage
	case t.cluster > 0 && !t.embedded():
		fmt.Fprintln(stderr, "pushcert check: --cluster starts embedded nodes; to certify your own cluster, give --target and --api-url once per node")
		return exitUsage
	}
	if *factor <= 0 || *concurrency < 1 {
		fmt.Fprintln(stderr, "pushcert check: --timeout-factor must be > 0 and --concurrency >= 1")
		return exitUsage
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			fmt.Fprintln(stderr, "pushcert check:", err)
			return exitUsage
		}
		def := func(p *string, name string) {
			if *p == "" {
				*p = filepath.Join(*outDir, name)
			}
		}
		def(jsonOut, "report.json")
		def(junitOut, "junit.xml")
		def(cucumberOut, "cucumber.json")
		def(htmlOut, "report.html")
		def(mdOut, "summary.md")
	}
	opts := steps.Options{Include: fs.Args(), Exclude: *exclude, TimeoutFactor: *factor, Concurrency: *concurrency, Strict: *strict, Output: io.Discard}
	if *cucumberOut != "" {
		opts.Format = "cucumber:" + *cucumberOut
	}
	rcv, code := startReceiver(*hookListen, t.embedded(), stderr)
	if code >= 0 {
		return code
	}
	if rcv != nil {
		defer rcv.Close()
		opts.Webhooks = rcv
	}
	// The embedded app counts subscriptions (it declares subscription-count) and, with the
	// receiver, sends its webhooks there.
	app := refserver.App{SubscriptionCount: true}
	if rcv != nil && t.embedded() {
		app.Webhooks = []refserver.Webhook{{URL: rcv.URL(target.EmbeddedAppID)}}
	}
	var prof *target.Profile
	if *profile != "" {
		p, err := target.LoadProfile(*profile)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert check:", err)
			return exitUsage
		}
		prof = p
		if p.Image != nil {
			t.image.fromProfile(p.Image, fs.Changed)
		}
	}
	tg, stop, code := resolveTarget(ctx, "check", t, app, stderr)
	if code >= 0 {
		return code
	}
	defer stop()
	opts.Target = tg
	if *profile != "" || *restartCmd != "" || *crashCmd != "" {
		if tg.Embedded {
			fmt.Fprintln(stderr, "pushcert check: --profile, --restart-cmd and --node-crash-cmd describe a --target; the embedded server needs none of them")
			return exitUsage
		}
		if *crashCmd != "" && tg.NodeCount() < 2 {
			fmt.Fprintln(stderr, "pushcert check: --node-crash-cmd crashes a node of a cluster: give --target and --api-url once per node")
			return exitUsage
		}
		opts.NodeCrashCmd = *crashCmd
		opts.Profile = prof
		opts.RestartCmd = *restartCmd
	}
	if tg.Embedded {
		opts.Control, opts.Capabilities = true, steps.AllCapabilities
		if *impl == "" {
			*impl, *implVersion = "pushcert refserver", versionString()
		}
	} else if *impl == "" {
		*impl = cmp.Or(t.image.ref, tg.WebSocketURL)
	}
	if fs.Changed("supports") {
		opts.Capabilities = *supports
		switch {
		case len(*supports) == 1 && (*supports)[0] == "all":
			opts.Capabilities = steps.AllCapabilities
		case len(*supports) == 1 && (*supports)[0] == "auto":
			opts.Capabilities = nil
			for _, r := range steps.Probe(ctx, tg, rcv) {
				fmt.Fprintf(stderr, "  %-19s %s\n", r.Capability, r.Why)
				if r.Found {
					opts.Capabilities = append(opts.Capabilities, r.Capability)
				}
			}
			opts.Probed = true
			fmt.Fprintf(stderr, "pushcert check: --supports auto declared: pin it with --supports %s\n", strings.Join(opts.Capabilities, ","))
		}
	}
	switch {
	case tg.NodeCount() > 1 && !contains(opts.Capabilities, "cluster"):
		opts.Capabilities = append(opts.Capabilities, "cluster") // several nodes are a cluster's
	case tg.NodeCount() < 2 && contains(opts.Capabilities, "cluster"):
		if fs.Changed("supports") && contains(*supports, "cluster") {
			fmt.Fprintln(stderr, "pushcert check: --supports cluster needs the cluster's nodes: give --target and --api-url once per node (or --cluster N for the embedded one)")
			return exitUsage
		}
		opts.Capabilities = slices.DeleteFunc(slices.Clone(opts.Capabilities), func(c string) bool { return c == "cluster" })
	}
	if !tg.Embedded && !contains(opts.Capabilities, "http-api") {
		opts.Capabilities = append(opts.Capabilities, "http-api") // --api-url is given: the HTTP API is tested
	}
	for _, c := range opts.Capabilities {
		if !contains(steps.AllCapabilities, c) {
			fmt.Fprintf(stderr, "pushcert check: unknown capability %q (known: %s)\n", c, strings.Join(steps.AllCapabilities, ", "))
			return exitUsage
		}
	}
	var baseline *reports.Baseline
	if *expected != "" {
		b, err := readBaseline(*expected)
		if err == nil {
			err = knownCases(b)
		}
		if err != nil {
			fmt.Fprintln(stderr, "pushcert check:", err)
			return exitUsage
		}
		baseline = &b
	}
	started := time.Now()
	results, err := steps.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert check:", err)
		return exitUsage
	}
	rep := steps.Report(results, opts, steps.Meta{SuiteVersion: versionString(), SuiteCommit: commitString(), Implementation: *impl, ImplementationVersion: *implVersion, Started: started, Finished: time.Now()})
	if baseline != nil {
		if err := rep.Judge(*baseline, *expected); err != nil {
			fmt.Fprintln(stderr, "pushcert check:", err)
			return exitUsage
		}
	}
	if err := reports.WriteConsole(stdout, rep, *color); err != nil {
		fmt.Fprintln(stderr, "pushcert check:", err)
		return exitFail
	}
	if *verbose {
		for _, r := range results {
			if r.Outcome == steps.Fail || r.Outcome == steps.NonStrict {
				fmt.Fprintf(stdout, "\n%s %s: %s\n", r.Case.ID, r.Outcome, r.Message)
				for _, e := range r.Wire {
					fmt.Fprintf(stdout, "  %s %s %s\n", e.Conn, e.Dir, e.Text)
				}
			}
		}
	}
	writers := []struct {
		path  string
		write func(io.Writer, *reports.Conformance) error
	}{{*jsonOut, reports.WriteJSON}, {*junitOut, reports.WriteJUnit}, {*htmlOut, reports.WriteHTML}, {*mdOut, reports.WriteMarkdown}}
	for _, wr := range writers {
		if wr.path == "" {
			continue
		}
		if err := writeFile(wr.path, func(w io.Writer) error { return wr.write(w, rep) }); err != nil {
			fmt.Fprintln(stderr, "pushcert check:", err)
			return exitFail
		}
		fmt.Fprintln(stdout, "wrote", wr.path)
	}
	if *cucumberOut != "" {
		fmt.Fprintln(stdout, "wrote", *cucumberOut)
	}
	if *writeBase != "" {
		if err := writeFile(*writeBase, func(w io.Writer) error { return reports.WriteBaseline(w, rep) }); err != nil {
			fmt.Fprintln(stderr, "pushcert check:", err)
			return exitFail
		}
		fmt.Fprintln(stdout, "wrote", *writeBase, "(run with --expected-failures", *writeBase+")")
		return exitOK
	}
	return rep.ExitCode()
}

func readBaseline(path string) (reports.Baseline, error) {
	f, err := os.Open(path)
	if err != nil {
		return reports.Baseline{}, err
	}
	defer f.Close()
	b, err := reports.ReadBaseline(f)
	if err != nil {
		return b, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// knownCases refuses a baseline naming a case the catalogue does not have (a typo, or a case
// renamed), before the suite runs.
func knownCases(b reports.Baseline) error {
	cases, err := steps.Catalogue()
	if err != nil {
		return err
	}
	for _, e := range b.Entries {
		if !slices.ContainsFunc(cases, func(c features.Case) bool { return c.ID == e.ID }) {
			return fmt.Errorf("the baseline lists %s, which is not a case of this suite (pushcert check list)", e.ID)
		}
	}
	return nil
}

func runCheckList(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("check list", pflag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the catalogue as JSON")
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	cases, err := features.Catalog(features.FS)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert check list:", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cases); err != nil {
			return exitFail
		}
		return exitOK
	}
	fmt.Fprint(stdout, features.CatalogText(cases))
	return exitOK
}

func writeFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// colorByDefault says whether the console is colored without --color: on a terminal, unless
// NO_COLOR is set to anything but the empty string (no-color.org).
func colorByDefault(w io.Writer, getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && isTerminal(w)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startReceiver starts the suite's webhook receiver on addr, or on a free loopback port for the
// embedded target; none for another target without --webhook-listen (its webhook cases skip).
func startReceiver(addr string, embedded bool, stderr io.Writer) (*webhook.Receiver, int) {
	if addr == "" && !embedded {
		return nil, -1
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	rcv, err := webhook.Listen(addr)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert check: --webhook-listen:", err)
		return nil, exitUsage
	}
	return rcv, -1
}
