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
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &timerfdAlarm{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

func (a *timerfdAlarm) sleep(ctx context.Context, until time.Time) bool {
	d := time.Until(until) // monotonic: a step of the wall clock changes nothing
	if d <= 0 {
		return ctx.Err() == nil
	}
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &now); err != nil {
		return timerAlarm{}.sleep(ctx, until)
	}
	_ = a.f.SetReadDeadline(time.Time{})
	// Absolute on the monotonic clock; arming resets any expiry a cancelled sleep left unread.
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(now.Nano() + int64(d))}
	if err := unix.TimerfdSettime(a.fd, unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		return timerAlarm{}.sleep(ctx, until)
	}
	// Cancelling sets a past read deadline. Once the callback has started it must finish before
	// the alarm goes back to the pool, or it could cut short another user's sleep.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { _ = a.f.SetReadDeadline(time.Now()); close(fired) })
	var expirations [8]byte
	_, err := a.f.Read(expirations[:])
	if !stop() {
		<-fired
		return false
	}
	if err != nil { // not a cancellation: sleep what is left on a Go timer
		return timerAlarm{}.sleep(ctx, until)
	}
	return true
}

func (a *timerfdAlarm) close() { _ = a.f.Close() }
