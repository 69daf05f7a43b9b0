//go:build !linux

package clock

func newAlarm() (alarm, error) { return timerAlarm{}, nil }
