//go:build race

package steps

// The race detector slows everything several times over; the suite's waits scale with it.
const raceEnabled = true
