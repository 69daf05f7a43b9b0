//go:build windows

package loadgen

import (
	"syscall"
	"time"
)

// cpuTime is the CPU this process used, kernel and user.
func cpuTime() time.Duration {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0
	}
	var creation, exit, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &creation, &exit, &kernel, &user); err != nil {
		return 0
	}
	ticks := func(f syscall.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) } // 100 ns
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
