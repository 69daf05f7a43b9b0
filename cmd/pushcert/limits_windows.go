//go:build windows

package main

import (
	"os"
	"os/exec"
)

// raiseFileLimit: Windows has no per-process limit of open sockets to raise.
func raiseFileLimit(need uint64) (uint64, error) { return need, nil }

// peakRSSKiB is not read on Windows.
func peakRSSKiB(*os.ProcessState) int64 { return 0 }

// ownGroup leaves the child as it is: a console's Ctrl-C is another matter on Windows.
func ownGroup(*exec.Cmd) {}
