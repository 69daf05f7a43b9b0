//go:build !race

package steps

const raceEnabled = false
