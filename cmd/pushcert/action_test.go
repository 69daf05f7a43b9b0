package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestActionScript runs the GitHub Action's conformance step (action/check.sh) as the runner
// would: inputs in INPUT_* variables, the job's summary and outputs in files. The Markdown
// summary lands in the job's summary, the exit code and the report directory in its outputs,
// and the step itself exits 0 so that the reports are uploaded before the verdict.
func TestActionScript(t *testing.T) {
	bin := buildBinary(t)
	tmp := t.TempDir()
	summary, outputs := filepath.Join(tmp, "summary"), filepath.Join(tmp, "outputs")
	run := func(args string) (string, string) {
		t.Helper()
		os.Remove(summary)
		os.Remove(outputs)
		cmd := exec.Command("bash", "../../action/check.sh")
		cmd.Env = append(os.Environ(), "PUSHCERT_BIN="+bin, "RUNNER_TEMP="+tmp, "GITHUB_STEP_SUMMARY="+summary,
			"GITHUB_OUTPUT="+outputs, "INPUT_ARGS="+args, "PUSHCERT_TARGET=", "INPUT_SUPPORTS=auto")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("check.sh %q: %v\n%s", args, err, out)
		}
		s, _ := os.ReadFile(summary)
		o, _ := os.ReadFile(outputs)
		return string(s), string(o)
	}
	s, o := run("CONN-001 PUB-002")
	if !strings.Contains(s, "## pushcert conformance:") || !strings.Contains(s, "**CONFORMANT (2 of") {
		t.Errorf("job summary:\n%s", s)
	}
	if !strings.Contains(o, "exit-code=0\n") || !strings.Contains(o, "report-dir="+filepath.Join(tmp, "pushcert-report")) {
		t.Errorf("outputs:\n%s", o)
	}
	if _, err := os.Stat(filepath.Join(tmp, "pushcert-report", "junit.xml")); err != nil {
		t.Errorf("no JUnit report to upload: %v", err)
	}
	if _, o = run("--no-such-flag"); !strings.Contains(o, "exit-code=2\n") {
		t.Errorf("a usage error's outputs:\n%s", o)
	}
}
