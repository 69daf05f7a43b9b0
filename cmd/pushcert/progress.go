package main

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/pushcert/pushcert/loadgen"
)

// loadProgress shows a run's progress: live bars on a terminal, a plain line a second elsewhere
// (CI logs). It returns the callback for loadgen and a function to call when the run is over.
func loadProgress(w io.Writer, clients int, steadyS float64) (func(loadgen.Snapshot), func()) {
	if !isTerminal(w) {
		return func(s loadgen.Snapshot) {
			fmt.Fprintf(w, "%4ds %-6s conns %6d  sent %6d/s  recv %7d/s  delivery p99 %7.2f ms  errors %d\n",
				s.T, s.Phase, s.Connections, s.Sent, s.Received, s.P99US/1000, s.Errors)
		}, func() {}
	}
	p := mpb.New(mpb.WithOutput(w), mpb.WithWidth(40))
	var lastP atomic.Pointer[loadgen.Snapshot] // written by the run, read by mpb's renderer
	lastP.Store(&loadgen.Snapshot{})
	last := func() loadgen.Snapshot { return *lastP.Load() }
	conns := p.AddBar(int64(clients),
		mpb.PrependDecorators(decor.Name("connections ", decor.WC{W: 13}), decor.CountersNoUnit("%d / %d", decor.WC{W: 16})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return fmt.Sprintf("errors %d/s", last().Errors) })))
	steady := p.AddBar(int64(steadyS*10),
		mpb.PrependDecorators(decor.Name("steady ", decor.WC{W: 13}), decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf("%4.0f / %.0f s", last().SteadyDone, steadyS)
		}, decor.WC{W: 16})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			return fmt.Sprintf("sent %d/s  recv %d/s  delivery p99 %.2f ms", last().Sent, last().Received, last().P99US/1000)
		})))
	update := func(s loadgen.Snapshot) {
		lastP.Store(&s)
		conns.SetCurrent(s.Connections)
		steady.SetCurrent(int64(s.SteadyDone * 10))
	}
	done := func() {
		conns.SetTotal(-1, true)
		steady.SetTotal(-1, true)
		p.Wait()
	}
	return update, done
}
