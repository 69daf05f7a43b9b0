// Package loadgen simulates thousands of seat-selecting clients against any Pusher-compatible
// server and measures it honestly:
//
//   - Open model: publishes and client events follow a fixed timetable (Pacer); latency is
//     measured from the intended send time carried in the payload, so a slow server cannot slow
//     the test down and hide its own latency (no coordinated omission).
//   - On receipt only the "ts" and "seq" fields are read from the raw frame.
//   - HdrHistograms (1 µs to 60 s, 3 significant digits) per metric, striped over a few shards so
//     readers rarely meet on a lock; one aggregator swaps and merges them every second into the
//     interval log and the run's totals.
//   - Every expected delivery is counted: reach, losses, duplicates and out-of-order arrivals.
//   - Phases: ramp (connect), steady (the only phase that sends, so the only one behind the
//     delivery numbers), drain (waiting for what is still in flight).
//   - The generator reports its own CPU, memory and schedule lag, and marks the run INVALID when
//     it could not keep its timetable.
package loadgen
