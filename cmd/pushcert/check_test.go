package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushcert/pushcert/reports"
)

type outcomeFile struct {
	Cases []struct {
		ID      string `json:"id"`
		Outcome string `json:"outcome"`
	} `json:"cases"`
}

func readOutcomes(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f outcomeFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range f.Cases {
		out[c.ID] = c.Outcome
	}
	return out
}

// TestCheckExternalMatchesEmbedded is the vendor's recipe: a separately started `pushcert serve`
// (deploy/profile/start.sh, with the apps of deploy/profile/serve.json) checked through --target
// with the server profile, a restart command and the suite's webhook receiver gives the verdicts
// of the embedded run, case by case, the cases that need control of the server included.
func TestCheckExternalMatchesEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite twice")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	addr := freeAddr(t)
	deploy, err := filepath.Abs("../../deploy/profile")
	if err != nil {
		t.Fatal(err)
	}
	hooks := freeAddr(t)
	env := append(os.Environ(), "PUSHCERT_BIN="+bin, "PUSHCERT_ADDR="+addr, "PUSHCERT_PROFILE_DIR="+dir, "PUSHCERT_WEBHOOK_ADDR="+hooks)
	start := exec.Command("sh", filepath.Join(deploy, "start.sh"))
	start.Env = env
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if pid, err := os.ReadFile(filepath.Join(dir, "serve.pid")); err == nil {
			exec.Command("kill", strings.TrimSpace(string(pid))).Run()
		}
	})
	for i := 0; i < 100; i++ { // the server starts in the background
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	factor := "2" // two full runs must agree case by case, SHOULD and INFO included: room for a busy machine
	if raceEnabled {
		factor = "3"
	}
	// The two runs go side by side: each mostly waits.
	embedded := filepath.Join(dir, "embedded.json")
	var embeddedRun sync.WaitGroup
	embeddedRun.Add(1)
	go func() {
		defer embeddedRun.Done()
		if code, out, errs := runCmd("check", "--json", embedded, "--timeout-factor", factor); code != exitOK {
			t.Errorf("embedded check: exit %d\n%s\n%s", code, out, errs)
		}
	}()
	external := filepath.Join(dir, "external.json")
	restart := "PUSHCERT_BIN=" + bin + " PUSHCERT_ADDR=" + addr + " PUSHCERT_PROFILE_DIR=" + dir + " PUSHCERT_WEBHOOK_ADDR=" + hooks + " sh " + filepath.Join(deploy, "restart.sh")
	code, out, errs := runCmd("check", "--target", "ws://"+addr, "--api-url", "http://"+addr, "--app-id", "1",
		"--key", "app-key", "--secret", "app-secret", "--supports", "all", "--json", external, "--timeout-factor", factor,
		"--profile", filepath.Join(deploy, "profile.json"), "--restart-cmd", restart, "--webhook-listen", hooks)
	embeddedRun.Wait()
	if code != exitOK {
		t.Fatalf("external check: exit %d\n%s\n%s", code, out, errs)
	}
	if t.Failed() {
		return
	}
	a, b := readOutcomes(t, embedded), readOutcomes(t, external)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("embedded has %d cases, external %d", len(a), len(b))
	}
	for id, o := range a {
		if b[id] != o {
			t.Errorf("%s: embedded %s, external %s", id, o, b[id])
		}
		if o == "SKIPPED" {
			t.Errorf("%s: SKIPPED; with the profile and the restart command every case runs", id)
		}
	}
}

func TestCheckExitCodes(t *testing.T) {
	if code, _, _ := runCmd("check", "--target", "ws://127.0.0.1:1", "--api-url", "http://127.0.0.1:1", "--app-id", "a", "--key", "k", "--secret", "s"); code != exitUnreachable {
		t.Errorf("unreachable target: exit %d, want %d", code, exitUnreachable)
	}
	if code, _, _ := runCmd("check", "--target", "ws://127.0.0.1:1"); code != exitUsage {
		t.Errorf("missing credentials: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCmd("check", "--supports", "telepathy"); code != exitUsage {
		t.Errorf("unknown capability: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCmd("check", "NOPE-999"); code != exitUsage {
		t.Errorf("empty selection: exit %d, want %d", code, exitUsage)
	}
	code, out, _ := runCmd("check", "list")
	if code != exitOK || !strings.Contains(out, "CONN-001") || !strings.Contains(out, "SHOP-012") {
		t.Errorf("check list: exit %d\n%s", code, out)
	}
}

// TestCheckFailsAFaultyServer: a MUST failure gives exit 1 and a FAIL in the JSON report.
func TestCheckFailsAFaultyServer(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pushcert")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	serve := exec.Command(bin, "serve", "--addr", addr, "--app-id", "v", "--key", "k", "--secret", "s", "--fault", "echo-client-events", "--log-level", "error")
	stdout, _ := serve.StdoutPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { serve.Process.Signal(os.Interrupt); serve.Wait() }()
	bufio.NewReader(stdout).ReadString('\n')
	report := filepath.Join(dir, "r.json")
	code, out, _ := runCmd("check", "CEV-", "--target", "ws://"+addr, "--api-url", "http://"+addr, "--app-id", "v", "--key", "k", "--secret", "s",
		"--supports", "all", "--json", report)
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s", code, exitFail, out)
	}
	if got := readOutcomes(t, report)["CEV-001"]; got != "FAIL" {
		t.Errorf("CEV-001: got %s, want FAIL", got)
	}
}

// TestCheckPreflight: wrong credentials and a pasted client URL are told in one line before any
// case runs; a run without --supports names what it left out.
func TestCheckPreflight(t *testing.T) {
	bin := buildBinary(t)
	addr := startServe(t, bin, "--app-id", "v", "--key", "k", "--secret", "s", "--log-level", "error")
	base := []string{"check", "--target", "ws://" + addr, "--api-url", "http://" + addr}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong secret", []string{"--app-id", "v", "--key", "k", "--secret", "nope"}, exitUsage, "check --secret"},
		{"wrong key", []string{"--app-id", "v", "--key", "nope", "--secret", "s"}, exitUsage, "does not know the app key"},
		{"wrong app id", []string{"--app-id", "nope", "--key", "k", "--secret", "s"}, exitUsage, "check --app-id"},
	} {
		code, out, errs := runCmd(append(slices.Clone(base), tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit %d and one line saying %q", tc.name, code, out, errs, tc.code, tc.want)
		}
	}
	code, out, errs := runCmd("check", "CONN-001", "--target", "ws://"+addr+"/app/k?protocol=7&client=js", "--api-url", "http://"+addr, "--app-id", "v", "--secret", "s")
	if code != exitOK || !strings.Contains(errs, "taken as ws://"+addr) {
		t.Errorf("pasted URL: exit %d, stderr %q\n%s", code, errs, out)
	}
	code, out, _ = runCmd("check", "CONN-", "PRES-001", "--target", "ws://"+addr, "--api-url", "http://"+addr, "--app-id", "v", "--key", "k", "--secret", "s")
	if code != exitOK || !strings.Contains(out, "undeclared: presence") || !strings.Contains(out, "not selected") {
		t.Errorf("no --supports: exit %d; the verdict must name what was not run:\n%s", code, out)
	}
}

// TestCheckInterrupted: Ctrl-C in the middle of a run reports the cases it cut short as
// INTERRUPTED, not as failures, gives no verdict on the server, writes the reports, and exits 130.
func TestCheckInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite as a process")
	}
	bin, dir := buildBinary(t), t.TempDir()
	cmd := exec.Command(bin, "check", "--out", dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != reports.ExitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, reports.ExitInterrupted, out.String())
	}
	if !strings.Contains(out.String(), "\nINTERRUPTED (") {
		t.Errorf("the verdict does not say the run was interrupted:\n%s", out.String())
	}
	rep := readReport(t, filepath.Join(dir, "report.json"))
	if n := rep.Summary.ByOutcome[reports.OutcomeInterrupted]; n == 0 || rep.Summary.ByOutcome[reports.OutcomeFail] != 0 {
		t.Errorf("report: %d interrupted, %d failed; want cases interrupted and none failed for it", n, rep.Summary.ByOutcome[reports.OutcomeFail])
	}
}

// readReport reads a conformance report the run wrote.
func readReport(t *testing.T, path string) *reports.Conformance {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := reports.ReadJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
