//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// raiseFileLimit makes room for need open files: the soft RLIMIT_NOFILE goes up to the hard limit
// (Go does that much at start), and past it when the process may (root): the hard limit then rises
// too. It returns the limit in force, and an error that says what to do when it stays too low.
func raiseFileLimit(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if uint64(lim.Cur) >= need {
		return uint64(lim.Cur), nil
	}
	if uint64(lim.Max) < need {
		raised := lim
		setTo(&raised.Cur, need)
		setTo(&raised.Max, need)
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return need, nil
		}
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if cur := uint64(lim.Cur); cur < need {
		return cur, fmt.Errorf("about %d open files are needed but the limit is %d, and this process may not raise it: some clients will not connect (raise the hard limit, ulimit -Hn, as a user allowed to)", need, cur)
	}
	return uint64(lim.Cur), nil
}

// peakRSSKiB is an exited process's peak resident memory.
func peakRSSKiB(st *os.ProcessState) int64 {
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) // KiB on Linux
	}
	return 0
}

// setTo stores v in a limit field, whose type is uint64 on Linux and darwin and int64 on the BSDs.
func setTo[T int64 | uint64](field *T, v uint64) { *field = T(v) }

// ownGroup puts a child in a process group of its own: a terminal's Ctrl-C, sent to the whole
// foreground group, then reaches load alone, which ends its run in order instead of finding its
// embedded server already gone. Where the system can (Linux), the child also gets SIGKILL when
// load ends without a word, so no embedded server outlives a killed run.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
}
