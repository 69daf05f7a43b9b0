package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/reports"
)

const reportUsage = `usage: pushcert report <what> [flags] FILE...

  matrix a.json b.json ...   several implementations side by side, case by case
  html report.json           render a JSON conformance report as the HTML page
  console report.json        render a JSON conformance report as the console summary`

func runReport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, reportUsage)
		return exitUsage
	}
	what := args[0]
	fs := pflag.NewFlagSet("report "+what, pflag.ContinueOnError)
	out := fs.StringP("output", "o", "", "write to this file instead of standard output")
	htmlOut := fs.String("html", "", "matrix: also write the HTML matrix to this file")
	if code := parseFlags(fs, args[1:], stdout, stderr); code >= 0 {
		return code
	}
	var reps []*reports.Conformance
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert report:", err)
			return exitUsage
		}
		r, err := reports.ReadJSON(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "pushcert report: %s: %v\n", path, err)
			return exitUsage
		}
		reps = append(reps, r)
	}
	emit := func(write func(io.Writer) error) int {
		if *out == "" {
			if err := write(stdout); err != nil {
				fmt.Fprintln(stderr, "pushcert report:", err)
				return exitFail
			}
			return exitOK
		}
		if err := writeFile(*out, write); err != nil {
			fmt.Fprintln(stderr, "pushcert report:", err)
			return exitFail
		}
		return exitOK
	}
	switch what {
	case "matrix":
		if len(reps) < 1 {
			fmt.Fprintln(stderr, "pushcert report matrix: give one or more JSON conformance reports")
			return exitUsage
		}
		if *htmlOut != "" {
			if err := writeFile(*htmlOut, func(w io.Writer) error { return reports.WriteMatrixHTML(w, reps) }); err != nil {
				fmt.Fprintln(stderr, "pushcert report:", err)
				return exitFail
			}
		}
		return emit(func(w io.Writer) error { return reports.WriteMatrixText(w, reps) })
	case "html", "console":
		if len(reps) != 1 {
			fmt.Fprintf(stderr, "pushcert report %s: give exactly one JSON conformance report\n", what)
			return exitUsage
		}
		if what == "html" {
			return emit(func(w io.Writer) error { return reports.WriteHTML(w, reps[0]) })
		}
		return emit(func(w io.Writer) error { return reports.WriteConsole(w, reps[0], false) })
	default:
		fmt.Fprintf(stderr, "pushcert report: unknown %q\n\n%s\n", what, reportUsage)
		return exitUsage
	}
}
