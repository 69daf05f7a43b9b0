package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushcert/pushcert/reports"
)

func loadSummary(t *testing.T, path string) *reports.LoadSummary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s reports.LoadSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestShardsMergeToOneRun runs one plan as two shard processes against a separate server,
// merges their summaries, and compares the totals with one process running the whole plan.
func TestShardsMergeToOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three load processes")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	addr := startServe(t, bin, "--app-id", "1", "--key", "k", "--secret", "s", "--client-event-rate", "1000", "--log-level", "error")

	plan := []string{"load", "--target", "ws://" + addr, "--api-url", "http://" + addr, "--app-id", "1", "--key", "k", "--secret", "s",
		"--scenario", "seats,availability", "--clients", "200", "--rooms", "4", "--rate", "20", "--duration", "2s", "--ramp", "500ms", "--quiet"}
	run := func(out string, extra ...string) {
		cmd := exec.Command(bin, append(append(plan, "--out", out), extra...)...)
		if b, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(b), "INVALID") {
			t.Errorf("%v: %v\n%s", extra, err, b)
		}
	}
	// The second shard starts a second after the first, as pods of a Job do; --start-at lines
	// their steady phases up.
	startAt := time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339)
	var wg sync.WaitGroup
	for k, sh := range []string{"1/2", "2/2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(k) * time.Second)
			run(filepath.Join(dir, "shard"+sh[:1]), "--shard", sh, "--start-at", startAt)
		}()
	}
	wg.Wait()
	run(filepath.Join(dir, "single"))
	merged := filepath.Join(dir, "merged", "summary.json")
	code, out, errs := runCmd("report", "merge", filepath.Join(dir, "shard1", "summary.json"), filepath.Join(dir, "shard2", "summary.json"), "-o", merged)
	if code != exitOK {
		t.Fatalf("merge: exit %d\n%s\n%s", code, out, errs)
	}
	m, one := loadSummary(t, merged), loadSummary(t, filepath.Join(dir, "single", "summary.json"))
	overlap := false
	for _, c := range m.Checks {
		if c.Name == "steady windows overlap" {
			overlap = true
			if !c.Pass || !strings.Contains(c.Detail, "for 100.0%") {
				t.Errorf("%s: %s", c.Name, c.Detail)
			}
		}
	}
	if !overlap {
		t.Errorf("no overlap check in the merged summary: %+v", m.Checks)
	}
	if m.Plan.Clients != one.Plan.Clients || m.Shards != 2 {
		t.Errorf("merged plan: %d clients in %d shards; single: %d clients", m.Plan.Clients, m.Shards, one.Plan.Clients)
	}
	if m.Delivery.Expected != one.Delivery.Expected || m.Delivery.Received != one.Delivery.Received || m.Delivery.Lost != one.Delivery.Lost {
		t.Errorf("delivery: merged %+v, single %+v", m.Delivery, one.Delivery)
	}
	for _, name := range []string{"connect", "subscribe", "delivery", "client_event", "fanout"} {
		a, _ := m.Metric(name)
		b, _ := one.Metric(name)
		if a.Count != b.Count || a.Count == 0 {
			t.Errorf("%s: merged count %d, single %d", name, a.Count, b.Count)
		}
	}
	for _, f := range []string{"report.html", "delivery.hgrm"} {
		if _, err := os.Stat(filepath.Join(dir, "merged", f)); err != nil {
			t.Errorf("merged %s: %v", f, err)
		}
	}
}

func TestReportCompareGatesRegressions(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base", "summary.json")
	if code, out, errs := runCmd("load", "--clients", "40", "--rooms", "2", "--duration", "1s", "--ramp", "200ms", "--quiet", "--out", filepath.Dir(base)); code != exitOK && code != exitInvalid {
		t.Fatalf("load: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, _ := runCmd("report", "compare", base, base, "--max-regression", "10%"); code != exitOK {
		t.Errorf("a run compared with itself: exit %d, want 0", code)
	}
	s := loadSummary(t, base)
	s.Delivery.Reach -= 0.01
	worse := filepath.Join(dir, "worse.json")
	b, _ := json.Marshal(s)
	os.WriteFile(worse, b, 0o644)
	if code, out, _ := runCmd("report", "compare", base, worse); code != exitFail {
		t.Errorf("lower reach: exit %d, want %d\n%s", code, exitFail, out)
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in      string
		env     [2]string
		i, n    int
		wantErr bool
	}{
		{"1/1", [2]string{}, 0, 1, false},
		{"3/4", [2]string{}, 2, 4, false},
		{"0/4", [2]string{}, 0, 0, true},
		{"5/4", [2]string{}, 0, 0, true},
		{"x", [2]string{}, 0, 0, true},
		{"indexed", [2]string{"2", "4"}, 2, 4, false},
		{"indexed", [2]string{"4", "4"}, 0, 0, true},
	} {
		t.Setenv("JOB_COMPLETION_INDEX", tc.env[0])
		t.Setenv("SHARDS", tc.env[1])
		i, n, err := parseShard(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && (i != tc.i || n != tc.n)) {
			t.Errorf("%q %v: got %d/%d %v, want %d/%d err=%v", tc.in, tc.env, i, n, err, tc.i, tc.n, tc.wantErr)
		}
	}
}

// TestLoadRestartAt: --restart-at restarts the embedded server in the steady phase and every
// client comes back; against another target it is a usage error, since only the operator can
// restart that server.
func TestLoadRestartAt(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCmd("load", "--clients", "20", "--rooms", "2", "--rate", "10", "--duration", "2s", "--ramp", "300ms",
		"--restart-at", "700ms", "--quiet", "--out", dir)
	if code != exitOK && code != exitInvalid {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	s := loadSummary(t, filepath.Join(dir, "summary.json"))
	// On a busy machine the generator may fall behind its timetable and call the run INVALID,
	// rightly; that is a measurement verdict, not the restart's. Every check must still pass.
	for _, c := range s.Checks {
		if !c.Pass {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	if code == exitInvalid && (s.Valid || !s.Generator.Saturated) {
		t.Errorf("exit %d from a run that is valid or not saturated:\n%s", exitInvalid, out)
	}
	if s.Delivery.Reconnects != 20 || s.Delivery.Lost != 0 {
		t.Errorf("delivery after the restart: %+v, want 20 reconnections and nothing lost", s.Delivery)
	}
	if !strings.Contains(out, "20 reconnections") {
		t.Errorf("console summary does not tell the reconnections:\n%s", out)
	}
	// The embedded server ran as a child process, twice: its usage is in the summary.
	if u := s.Server; u == nil || u.Processes != 2 || u.CPUSeconds <= 0 || u.MaxRSSKiB <= 0 {
		t.Errorf("server usage: %+v, want two processes with CPU and memory", u)
	}
	if len(s.Restarts) != 1 {
		t.Errorf("restarts: %v, want one", s.Restarts)
	}
	code, _, errs = runCmd("load", "--target", "ws://127.0.0.1:1", "--api-url", "http://127.0.0.1:1", "--app-id", "1", "--key", "k", "--secret", "s",
		"--restart-at", "1s", "--quiet")
	if code != exitUsage {
		t.Errorf("--restart-at against a target: exit %d (%s), want a usage error", code, errs)
	}
}

// TestLoadNullServerRefusesWhatItCannotCheck: the null server keeps no presence state, so churn
// and private (whose ghost check asks the server) and a target or a restart are usage errors.
func TestLoadNullServerRefusesWhatItCannotCheck(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "seats,churn"},
		{"--scenario", "private"},
		{"--restart-at", "1s"},
		{"--target", "ws://127.0.0.1:1", "--api-url", "http://127.0.0.1:1", "--app-id", "1", "--key", "k", "--secret", "s"},
	} {
		code, _, errs := runCmd(append([]string{"load", "--null-server", "--quiet"}, args...)...)
		if code != exitUsage || !strings.Contains(errs, "--null-server") {
			t.Errorf("%v: exit %d (%s), want a usage error about --null-server", args, code, errs)
		}
	}
}

// TestLoadFailsWhenMessagesAreLost: a server that drops deliveries fails the run's reach check,
// and the run exits 1 although the generator itself was not saturated.
func TestLoadFailsWhenMessagesAreLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	bin := buildBinary(t)
	addr := startServe(t, bin, "--app-id", "1", "--key", "k", "--secret", "s", "--fault", "drop-deliveries=0.05", "--log-level", "error")
	code, out, errs := runCmd("load", "--target", "ws://"+addr, "--api-url", "http://"+addr, "--app-id", "1", "--key", "k", "--secret", "s",
		"--scenario", "availability", "--clients", "20", "--rooms", "1", "--rate", "20", "--duration", "1s", "--ramp", "200ms", "--quiet")
	// exit 4 comes first if a busy machine also made the run INVALID; the reach check must fail.
	if (code != exitFail && code != exitInvalid) || !strings.Contains(out, "FAIL  reach") {
		t.Errorf("exit %d, want %d with the reach check failed\n%s\n%s", code, exitFail, out, errs)
	}
}

// TestLoadFailsAgainstAKilledServer: a server killed (SIGKILL) in the steady phase never passes.
// Killed for good, its clients are not connected at the end and the events due after the kill
// are lost; killed and started again by someone else than the run, what it refused while it was
// down is lost, although every client came back.
func TestLoadFailsAgainstAKilledServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	bin := buildBinary(t)
	creds := []string{"--app-id", "1", "--key", "k", "--secret", "s"}
	for _, back := range []bool{false, true} {
		addr := freeAddr(t)
		srv := serveAt(t, bin, addr, append(creds, "--log-level", "error")...)
		dir := t.TempDir()
		args := append([]string{"load", "--target", "ws://" + addr, "--api-url", "http://" + addr, "--scenario", "seats,availability",
			"--clients", "20", "--rooms", "2", "--rate", "10", "--duration", "3s", "--ramp", "300ms", "--quiet", "--out", dir}, creds...)
		type result struct {
			code      int
			out, errs string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errs := runCmd(args...)
			done <- result{code, out, errs}
		}()
		time.Sleep(2500 * time.Millisecond) // the ramp takes 300 ms, the steady phase 3 s
		_ = srv.Process.Kill()
		if back {
			time.Sleep(700 * time.Millisecond)
			serveAt(t, bin, addr, append(creds, "--log-level", "error")...)
		}
		res := <-done
		code, out, errs := res.code, res.out, res.errs
		if code != exitFail && code != exitInvalid {
			t.Fatalf("back %v: exit %d, want %d (or %d on a busy machine)\n%s\n%s", back, code, exitFail, exitInvalid, out, errs)
		}
		s := loadSummary(t, filepath.Join(dir, "summary.json"))
		failed := map[string]bool{}
		for _, c := range s.Checks {
			failed[c.Name] = !c.Pass
		}
		if !failed["reach"] || s.Delivery.Lost == 0 {
			t.Errorf("back %v: reach passed or nothing lost: %+v\n%s", back, s.Delivery, out)
		}
		if failed["connected at the end"] == back {
			t.Errorf("back %v: check connected at the end failed %v\n%s", back, failed["connected at the end"], out)
		}
	}
}

// TestLoadRefusesABadPlanAtOnce: a plan that cannot run, or a threshold that names no metric,
// is refused before anything starts, with one line saying why.
func TestLoadRefusesABadPlanAtOnce(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--clients", "0"}, "--clients 0: want at least 2"},
		{[]string{"--clients", "10", "--rooms", "6"}, "need at least 2 clients per room"},
		{[]string{"--threshold", "delivry.p99<10ms"}, `no metric "delivry"`},
		{[]string{"--threshold", "reach>=100"}, "reach is a fraction"},
		{[]string{"--start-at", "12:00"}, "want an RFC 3339 time"},
		{[]string{"--start-at", "2020-01-01T00:00:00Z"}, "in the past"},
		{[]string{"--webhook-listen", "9090"}, "--webhook-listen \"9090\": want host:port"},
		{[]string{"--webhook-listen", "127.0.0.1:0", "--shard", "1/2"}, "a server posts its webhooks to one URL"},
		{[]string{"--webhook-listen", "127.0.0.1:0", "--null-server"}, "--null-server sends none"},
		{[]string{"--webhook-listen", "127.0.0.1:0", "--webhook-wait", "-1s"}, "webhook wait -1s: want a positive duration"},
	} {
		code, out, errs := runCmd(append([]string{"load", "--quiet"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %d bytes; want exit %d saying %q, and no run", tc.args, code, errs, len(out), exitUsage, tc.want)
		}
	}
}

// TestLoadInterrupted: Ctrl-C (the context's end here, as main's signal handler does) stops a
// run within seconds; the summary is written, says it was interrupted and counts only what was
// due before, and the exit code is 130.
func TestLoadInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	var out, errs bytes.Buffer
	code := run(ctx, []string{"load", "--scenario", "seats,availability", "--clients", "40", "--rooms", "2", "--rate", "10",
		"--duration", "30s", "--ramp", "300ms", "--quiet", "--out", dir}, &out, &errs)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the interrupted run took %v", took.Round(time.Millisecond))
	}
	if code != reports.ExitInterrupted {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, reports.ExitInterrupted, out.String(), errs.String())
	}
	s := loadSummary(t, filepath.Join(dir, "summary.json"))
	if !s.Interrupted || s.Valid || !strings.Contains(strings.Join(s.Invalid, " "), "interrupted") {
		t.Errorf("summary: interrupted %v, valid %v, invalid %q; want an interrupted, invalid run saying so", s.Interrupted, s.Valid, s.Invalid)
	}
	// What was due before the interruption was owed and arrived; the rest of the 30 s plan is
	// owed to no one.
	if d := s.Delivery; d.Expected == 0 || d.Lost != 0 {
		t.Errorf("delivery %+v: want what was due before the interruption, all of it arrived", d)
	}
}

// TestLoadCountsWebhooks: with --webhook-listen the embedded server posts its webhooks to the
// run, which counts them against its clients in summary.json: balanced on a correct server. A
// listen address already taken fails at once, saying so.
func TestLoadCountsWebhooks(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCmd("load", "--scenario", "seats,churn", "--clients", "40", "--rooms", "2", "--duration", "2s",
		"--lifetime", "300ms", "--ramp", "200ms", "--webhook-listen", "127.0.0.1:0", "--quiet", "--out", dir)
	if code != exitOK && code != exitInvalid { // INVALID: a busy machine may saturate the generator
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	s := loadSummary(t, filepath.Join(dir, "summary.json"))
	if s.Webhooks == nil || s.Webhooks.Requests == 0 || len(s.Webhooks.Kinds) != 4 {
		t.Fatalf("webhooks %+v, want the four kinds counted", s.Webhooks)
	}
	for _, k := range s.Webhooks.Kinds {
		if k.Expected == 0 || k.Lost != 0 || k.Duplicates != 0 {
			t.Errorf("%s: %+v, want some expected, none lost or duplicated", k.Name, k)
		}
	}
	if !strings.Contains(out, "Webhooks") || !strings.Contains(out, "PASS  webhooks") {
		t.Errorf("the console report has no webhook section or check:\n%s", out)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, _, errs = runCmd("load", "--clients", "4", "--duration", "1s", "--webhook-listen", taken.Addr().String(), "--quiet")
	if code != exitFail || !strings.Contains(errs, "--webhook-listen") || !strings.Contains(errs, "address already in use") {
		t.Errorf("a taken address: exit %d, stderr %q", code, errs)
	}
}
