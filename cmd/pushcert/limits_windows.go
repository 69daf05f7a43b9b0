//go:build windows

package main

import "os"

// raiseFileLimit: Windows has no per-process limit of open sockets to raise.
func raiseFileLimit(need uint64) (uint64, error) { return need, nil }

// peakRSSKiB is not read on Windows.
func peakRSSKiB(*os.ProcessState) int64 { return 0 }
