package reports_test

import (
	"fmt"
	"os"

	"github.com/pushcert/pushcert/reports"
)

func ExampleWriteConsole() {
	c := &reports.Conformance{
		Suite:          reports.Suite{Name: "pushcert", Version: "0.4.0"},
		Implementation: reports.Implementation{Name: "example-server", Version: "1.0"},
		Target:         reports.Target{WebSocketURL: "ws://127.0.0.1:6001/app/key"},
		Capabilities:   []string{"presence"},
		Cases: []reports.Case{
			{ID: "CONN-001", Name: "Connection established", Area: "Connection", Level: reports.LevelMust, Outcome: reports.OutcomePass},
			{ID: "PRES-007", Name: "Full presence channel refused with 4100", Area: "Presence channels",
				Level: reports.LevelShould, Capabilities: []string{"presence"}, Outcome: reports.OutcomeNonStrict,
				Message: "refused with 4009", Expected: "pusher:error 4100", Actual: "pusher:error 4009"},
			{ID: "CLI-001", Name: "Client event reaches others", Area: "Client events", Level: reports.LevelMust,
				Capabilities: []string{"client-events"}, Outcome: reports.OutcomeNotSupported},
		},
		Areas: []string{"Connection", "Presence channels", "Client events"},
	}
	c.Summarize()
	if err := reports.WriteConsole(os.Stdout, c, false); err != nil {
		fmt.Println(err)
	}
	fmt.Println("exit code:", c.ExitCode())
	// Output:
	// Conformance of example-server 1.0 — pushcert 0.4.0
	//   target    ws://127.0.0.1:6001/app/key
	//   declared  presence
	//   mode      default (SHOULD failures are NON-STRICT, still conformant)
	//
	// Connection
	//   PASS           CONN-001  must    Connection established
	//
	// Presence channels
	//   NON-STRICT     PRES-007  should  Full presence channel refused with 4100
	//
	// Client events
	//   NOT-SUPPORTED  CLI-001   must    Client event reaches others
	//
	// Failures and non-strict results (1)
	//
	//   NON-STRICT  PRES-007  should  Full presence channel refused with 4100
	//     area      Presence channels
	//     why       refused with 4009
	//     expected  pusher:error 4100
	//     actual    pusher:error 4009
	//
	// Summary
	//   level    PASS  FAIL  NON-STRICT  INFO  NOT-SUPPORTED  SKIPPED  NOT-SELECTED  total
	//   must        1     -           -     -              1        -             -      2
	//   should      -     -           1     -              -        -             -      1
	//   info        -     -           -     -              -        -             -      0
	//   total       1     -           1     -              1        -             -      3
	//
	// CONFORMANT (2 of 3 cases run; undeclared: client-events): 1 passed, 0 failed (must), 1 non-strict (should), 1 not supported
	// exit code: 0
}
