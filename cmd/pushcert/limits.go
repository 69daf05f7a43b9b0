package main

import (
	"fmt"
	"syscall"
)

// fdHeadroom is what a process needs besides its clients' connections: listeners, the
// publishers' HTTP connections, the timetables' alarms, the runtime's own.
const fdHeadroom = 512

// raiseFileLimit makes room for need open files: the soft RLIMIT_NOFILE goes up to the hard limit
// (Go does that much at start), and past it when the process may (root): the hard limit then rises
// too. It returns the limit in force, and an error that says what to do when it stays too low.
func raiseFileLimit(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	if lim.Max < need {
		raised := syscall.Rlimit{Cur: need, Max: need}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return need, nil
		}
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < need {
		return lim.Cur, fmt.Errorf("about %d open files are needed but the limit is %d, and this process may not raise it: some clients will not connect (raise the hard limit, ulimit -Hn, as a user allowed to)", need, lim.Cur)
	}
	return lim.Cur, nil
}
