//go:build linux

package clock

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerfdAlarm is a timerfd in the runtime's poller: the kernel's high-resolution timer makes it
// readable at the instant, which wakes the poller's epoll_wait at once.
type timerfdAlarm struct {
	fd int
	f  *os.File
}

func newAlarm() (alarm, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_REALTIME, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &timerfdAlarm{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

func (a *timerfdAlarm) sleep(ctx context.Context, until time.Time) bool {
	if !time.Now().Before(until) {
		return ctx.Err() == nil
	}
	_ = a.f.SetReadDeadline(time.Time{})
	// Absolute wall-clock time; arming resets any expiry a cancelled sleep left unread.
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(until.UnixNano())}
	if err := unix.TimerfdSettime(a.fd, unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		return timerAlarm{}.sleep(ctx, until)
	}
	stop := context.AfterFunc(ctx, func() { _ = a.f.SetReadDeadline(time.Now()) })
	defer stop()
	var expirations [8]byte
	_, err := a.f.Read(expirations[:])
	return err == nil
}

func (a *timerfdAlarm) close() { _ = a.f.Close() }
