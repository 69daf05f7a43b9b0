package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childrenOf lists the PIDs of a process's children.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestChildrenDieWithTheRun: a check --cluster or load --cluster killed without a word
// (SIGKILL, as a SIGPIPE or an OOM kill would end it) leaves no redis-server and no embedded
// server behind.
func TestChildrenDieWithTheRun(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		args []string
		want int // children to wait for: check runs its nodes in process, load as serve children
	}{
		{[]string{"check", "--cluster", "2", "CLUS-", "--timeout-factor", "5"}, 1},
		{[]string{"load", "--cluster", "2", "--clients", "20", "--duration", "60s", "--quiet"}, 3},
	} {
		cmd := exec.Command(bin, tc.args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var kids []int
		for deadline := time.Now().Add(30 * time.Second); len(kids) < tc.want && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			kids = childrenOf(cmd.Process.Pid)
		}
		if len(kids) < tc.want {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s: %d children within 30s, want %d", tc.args[0], len(kids), tc.want)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		for _, kid := range kids {
			waitGone(t, tc.args[0], kid)
		}
	}
}

// waitGone waits up to 10 s for a process to end (or be a zombie that listens no more).
func waitGone(t *testing.T, run string, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s killed with SIGKILL: its child %d (%s) outlived it", run, pid, strings.TrimSpace(string(comm)))
		}
	}
}
