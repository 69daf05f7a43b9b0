package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/loadgen"
	"github.com/pushcert/pushcert/steps"
)

// Shell completion and man pages come from the commands' own flag definitions: each command is
// run with a flagProbe for its output, which parseFlags hands the command's FlagSet to instead
// of parsing, and the command stops there. The flags are laid into a cobra tree, and cobra
// writes the completion scripts (whose __complete calls come back here) and the man pages.

// subVerbs are the second words of the commands that have them, each with flags of its own.
var subVerbs = map[string][]struct{ name, summary string }{
	"check": {{"list", "print the catalogue of cases without running them"}},
	"report": {
		{"matrix", "several implementations' conformance reports side by side, case by case"},
		{"html", "render a JSON conformance report as the HTML page"},
		{"console", "render a JSON conformance report as the console summary"},
		{"markdown", "render a JSON conformance report as a Markdown summary"},
		{"merge", "merge load shard summaries losslessly (histograms, not percentiles)"},
		{"compare", "exit 1 when a load run's p50, p99, p99.9 or reach regressed against a base run"},
	},
	"sign": {
		{"channel", "auth of a private, encrypted or presence subscription"},
		{"user", "auth of a user sign-in"},
		{"request", "signature of an HTTP API request"},
		{"webhook", "X-Pusher-Signature of a webhook body"},
		{"shared-secret", "shared_secret of an encrypted channel from the base64 master key"},
	},
}

// commandArgs are the arguments after the flags, for the man pages' synopses.
var commandArgs = map[string]string{
	"check":           "[CASE-ID | ID-PREFIX- | area ...]",
	"trigger":         "CHANNEL[,CHANNEL...] EVENT [DATA]",
	"channels":        "[CHANNEL]",
	"watch":           "CHANNEL...",
	"completion":      "bash|zsh|fish",
	"man":             "DIR",
	"report matrix":   "REPORT.json...",
	"report html":     "REPORT.json",
	"report console":  "REPORT.json",
	"report markdown": "REPORT.json",
	"report merge":    "SUMMARY.json... -o MERGED.json",
	"report compare":  "BASE.json NEW.json",
}

// use is a cobra Use line: the name, [flags] and the arguments.
func use(name, path string) string {
	u := name + " [flags]"
	if a := commandArgs[path]; a != "" {
		u += " " + a
	}
	return u
}

// flagProbe is the standard output of a run that only shows its flags.
type flagProbe struct{ fs *pflag.FlagSet }

func (*flagProbe) Write(p []byte) (int, error) { return len(p), nil }

// commandFlags is the FlagSet of a command (and sub-verb, when given), as it defines it.
func commandFlags(c command, verb string) *pflag.FlagSet {
	p := &flagProbe{}
	args := []string{}
	if verb != "" {
		args = append(args, verb)
	}
	c.run(context.Background(), args, p, io.Discard)
	if p.fs == nil {
		return pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	}
	return p.fs
}

// cliTree is pushcert's commands as a cobra tree with their real flags: what completion and the
// man pages are made from. Nothing runs through it but cobra's own __complete.
func cliTree() *cobra.Command {
	root := &cobra.Command{
		Use:   "pushcert COMMAND",
		Short: "conformance suite, reference server and load generator for Pusher-compatible real-time servers",
		Long: "pushcert certifies a Pusher Channels server (pushcert check), runs the reference server " +
			"(pushcert serve) and loads a server with seat-selecting clients (pushcert load).",
		Version:           versionString(),
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		DisableAutoGenTag: true,
	}
	for _, c := range commands() {
		sub := &cobra.Command{Use: use(c.name, c.name), Short: c.summary, DisableAutoGenTag: true, Run: func(*cobra.Command, []string) {}}
		verbs := subVerbs[c.name]
		if c.name != "report" && c.name != "sign" { // their flags are the sub-verbs'
			sub.Flags().AddFlagSet(commandFlags(c, ""))
		}
		for _, v := range verbs {
			vc := &cobra.Command{Use: use(v.name, c.name+" "+v.name), Short: v.summary, DisableAutoGenTag: true, Run: func(*cobra.Command, []string) {}}
			vc.Flags().AddFlagSet(commandFlags(c, v.name))
			sub.AddCommand(vc)
		}
		if c.name == "check" {
			sub.ValidArgsFunction = completeCases
		}
		completeValues(sub)
		root.AddCommand(sub)
	}
	return root
}

// completeCases offers case IDs, ID prefixes and areas to `pushcert check`.
func completeCases(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cases, err := features.Catalog(features.FS)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	seen := map[string]bool{}
	var out []string
	add := func(s, desc string) {
		if !seen[s] && strings.HasPrefix(strings.ToLower(s), strings.ToLower(toComplete)) {
			seen[s] = true
			out = append(out, s+"\t"+desc)
		}
	}
	for _, c := range cases {
		prefix, _, _ := strings.Cut(c.ID, "-")
		add(prefix+"-", c.Area)
	}
	for _, c := range cases {
		add(c.ID, c.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeValues offers the values of the flags that take one of a known set.
func completeValues(c *cobra.Command) {
	fixed := map[string][]string{
		"supports": append([]string{"all", "auto"}, steps.AllCapabilities...),
		"scenario": loadgen.Scenarios,
	}
	for name, values := range fixed {
		if c.Flags().Lookup(name) == nil {
			continue
		}
		_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		})
	}
}

func runCompletion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("completion", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(stdout, `usage: pushcert completion bash|zsh|fish

Prints the shell's completion script for pushcert: commands, sub-verbs, every flag with its
help, the values of --supports and --scenario, and check's case IDs and areas.

  bash   source <(pushcert completion bash)        (needs the bash-completion package)
  zsh    pushcert completion zsh > "${fpath[1]}/_pushcert"
  fish   pushcert completion fish > ~/.config/fish/completions/pushcert.fish
`)
	}
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "pushcert completion: name one shell: bash, zsh or fish\nRun 'pushcert completion --help' for how to install it.")
		return exitUsage
	}
	root := cliTree()
	var err error
	switch fs.Arg(0) {
	case "bash":
		err = root.GenBashCompletionV2(stdout, true)
	case "zsh":
		err = root.GenZshCompletion(stdout)
	case "fish":
		err = root.GenFishCompletion(stdout, true)
	default:
		fmt.Fprintf(stderr, "pushcert completion: unknown shell %q: bash, zsh or fish\n", fs.Arg(0))
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "pushcert completion:", err)
		return exitFail
	}
	return exitOK
}

func runMan(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("man", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(stdout, "usage: pushcert man DIR\n\nWrites a man page for pushcert and each command (pushcert.1, pushcert-check.1, ...) into DIR.\n\n  pushcert man /usr/local/share/man/man1 && man pushcert-check\n")
	}
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "pushcert man: name the directory to write the pages into\nRun 'pushcert man --help' for an example.")
		return exitUsage
	}
	dir := fs.Arg(0)
	// The flags' defaults come from the environment where a PUSHCERT_ name is set: a page shows
	// the built-in ones, never this shell's (a secret among them). The names are back after.
	for _, kv := range os.Environ() {
		if name, value, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PUSHCERT_") {
			os.Unsetenv(name)
			defer os.Setenv(name, value)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "pushcert man:", err)
		return exitFail
	}
	header := &doc.GenManHeader{Title: "PUSHCERT", Section: "1", Source: "pushcert " + versionString(), Manual: "pushcert manual"}
	if err := doc.GenManTree(cliTree(), header, dir); err != nil {
		fmt.Fprintln(stderr, "pushcert man:", err)
		return exitFail
	}
	fmt.Fprintln(stdout, "wrote the man pages into", dir)
	return exitOK
}

// runCobraComplete answers the completion scripts' calls (pushcert __complete ARGS...).
func runCobraComplete(args []string, stdout, stderr io.Writer) int {
	root := cliTree()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		return exitFail
	}
	return exitOK
}
