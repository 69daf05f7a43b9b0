//go:build unix

package main

import (
	"syscall"
	"testing"
)

// TestRaiseFileLimit: the soft limit reaches what is asked when the hard limit allows it, and
// asking for more than the process may have is an error that says so.
func TestRaiseFileLimit(t *testing.T) {
	var before syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &before); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &before) })
	got, err := raiseFileLimit(before.Max)
	if err != nil || got < before.Max {
		t.Errorf("raiseFileLimit(hard %d) = %d, %v", before.Max, got, err)
	}
	var now syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if now.Cur < before.Max {
		t.Errorf("soft limit %d after raising to the hard limit %d", now.Cur, before.Max)
	}
	// Past the system's ceiling (fs.nr_open is at most 2^30 or so) nobody may go.
	if got, err := raiseFileLimit(1 << 40); err == nil {
		t.Errorf("raiseFileLimit(2^40) = %d, nil; want an error", got)
	}
}
