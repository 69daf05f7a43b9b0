package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/reports"
)

const reportUsage = `usage: pushcert report <what> [flags] FILE...

  matrix a.json b.json ...        conformance: several implementations side by side, case by case
  html report.json                conformance: render a JSON report as the HTML page
  console report.json             conformance: render a JSON report as the console summary
  markdown report.json            conformance: render a JSON report as a Markdown summary (a CI job's, a PR comment)
  merge s1.json s2.json ... -o m.json
                                  load: merge shard summaries losslessly (histograms, not percentiles)
  compare base.json new.json --max-regression 10%
                                  load: exit 1 when p50/p99/p99.9 or reach regressed`

func runReport(_ context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprintln(stderr, reportUsage)
		return exitUsage
	case args[0] == "-h" || args[0] == "--help":
		fmt.Fprintln(stdout, reportUsage)
		return exitOK
	}
	what := args[0]
	if what == "merge" || what == "compare" {
		return runLoadReport(what, args[1:], stdout, stderr)
	}
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
	case "html", "console", "markdown":
		if len(reps) != 1 {
			fmt.Fprintf(stderr, "pushcert report %s: give exactly one JSON conformance report\n", what)
			return exitUsage
		}
		switch what {
		case "html":
			return emit(func(w io.Writer) error { return reports.WriteHTML(w, reps[0]) })
		case "markdown":
			return emit(func(w io.Writer) error { return reports.WriteMarkdown(w, reps[0]) })
		}
		return emit(func(w io.Writer) error { return reports.WriteConsole(w, reps[0], false) })
	default:
		fmt.Fprintf(stderr, "pushcert report: unknown %q\n\n%s\n", what, reportUsage)
		return exitUsage
	}
}

func readLoadSummary(path string) (*reports.LoadSummary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := reports.ReadLoad(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// runLoadReport merges shard summaries or compares two runs.
func runLoadReport(what string, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("report "+what, pflag.ContinueOnError)
	out := fs.StringP("output", "o", "", "merge: write the merged summary.json here (and .hgrm files and report.html beside it)")
	maxReg := fs.String("max-regression", "10%", "compare: allowed increase of a latency percentile, e.g. 10%")
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	var parts []*reports.LoadSummary
	for _, p := range fs.Args() {
		s, err := readLoadSummary(p)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert report:", err)
			return exitUsage
		}
		parts = append(parts, s)
	}
	if what == "compare" {
		if len(parts) != 2 {
			fmt.Fprintln(stderr, "pushcert report compare: give BASE.json NEW.json")
			return exitUsage
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(*maxReg, "%"), 64)
		if err != nil || pct < 0 {
			fmt.Fprintf(stderr, "pushcert report compare: --max-regression %q: want a percentage like 10%%\n", *maxReg)
			return exitUsage
		}
		regs, err := reports.CompareLoad(parts[0], parts[1], pct/100)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert report compare:", err)
			return exitUsage
		}
		if err := reports.WriteCompare(stdout, regs); err != nil {
			return exitFail
		}
		for _, r := range regs {
			if r.Regressed {
				return exitFail
			}
		}
		return exitOK
	}
	if len(parts) < 2 {
		fmt.Fprintln(stderr, "pushcert report merge: give two or more shard summaries")
		return exitUsage
	}
	merged, err := reports.MergeLoad(parts)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert report merge:", err)
		return exitUsage
	}
	if err := reports.WriteLoadConsole(stdout, merged); err != nil {
		return exitFail
	}
	if *out != "" {
		if err := writeLoadFiles(filepath.Dir(*out), merged); err != nil {
			fmt.Fprintln(stderr, "pushcert report merge:", err)
			return exitFail
		}
		if filepath.Base(*out) != "summary.json" {
			if err := os.Rename(filepath.Join(filepath.Dir(*out), "summary.json"), *out); err != nil {
				fmt.Fprintln(stderr, "pushcert report merge:", err)
				return exitFail
			}
		}
	}
	return exitOK
}
