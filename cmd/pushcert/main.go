// Command pushcert is the conformance suite, reference server and load generator for
// Pusher-compatible real-time servers. Each subcommand lives in a file of its own: flags in,
// one library call, an exit code out.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"check", "run the conformance suite against the embedded server or any --target", runCheck},
		{"load", "load a server with seat-selecting clients; honest latency, every lost message counted", runLoad},
		{"serve", "run the reference Pusher Channels server", runServe},
		{"report", "render and compare conformance reports (matrix, html, console)", runReport},
		{"sign", "compute or check channel-auth, user sign-in, HTTP API and webhook signatures", runSign},
		{"trigger", "publish an event through a server's HTTP API, signed (one, or a batch)", runTrigger},
		{"channels", "list a server's occupied channels, one channel's attributes, or a presence channel's users", runChannels},
		{"watch", "subscribe to channels (private and presence signed with the secret) and print what arrives", runWatch},
		{"version", "print the version and the commit it was built from", runVersion},
		{"completion", "print the shell completion script (bash, zsh, fish)", runCompletion},
		{"man", "write the man pages into a directory", runMan},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-v"):
		return runVersion(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd):
		return runCobraComplete(args, stdout, stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "pushcert: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pushcert <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pushcert <command> --help' for a command's flags.")
}

// parseFlags parses a subcommand's flags; it returns the exit code to stop with, or -1 to go on.
// --help prints the subcommand's help once, on stdout, exit 0; a mistyped flag or a bad value
// prints one line saying what is wrong and where the help is, on stderr, exit 2. pflag itself
// prints nothing: with ContinueOnError it would stay silent on errors and print help twice.
func parseFlags(fs *pflag.FlagSet, args []string, stdout, stderr io.Writer) int {
	if fs.Lookup("version") == nil {
		fs.Bool("version", false, "print the version and exit")
	}
	if p, ok := stdout.(*flagProbe); ok { // completion and man pages want the flags alone
		p.fs = fs
		return exitOK
	}
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, pflag.ErrHelp):
		fs.SetOutput(stdout)
		if usage != nil {
			usage()
		} else {
			fmt.Fprintf(stdout, "usage: pushcert %s [flags]\n\nflags:\n", fs.Name())
			fs.PrintDefaults()
		}
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "pushcert %s: %v\nRun 'pushcert %s --help' for its flags.\n", fs.Name(), err, fs.Name())
		return exitUsage
	}
	if v, _ := fs.GetBool("version"); v && fs.Name() != "version" {
		return runVersion(context.Background(), nil, stdout, stderr)
	}
	return -1
}
